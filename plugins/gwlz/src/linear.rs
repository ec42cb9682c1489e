//! The linear enhancer: per group, a least-squares filter that predicts the residual
//! `R = X - X'` of a point from the differences between `X'` at its neighbours and at the point
//! (a 3x3x3 neighbourhood plus the second neighbours along each axis in 3-D, 3x3 plus second
//! neighbours in 2-D, two neighbours each side in 1-D), plus a constant.
//!
//! It is the rate-distortion end of GWLZ's tiny enhancers: on the shared fields at the loose
//! bounds where enhancement pays, one such filter (33 coefficients in 3-D, 13 in 2-D, stored as
//! 16-bit integers and one fp32 step) removes
//! 1 to 2.5 dB of an SZ-style compressor's error, as much as the two-layer networks, for a
//! tenth of their bytes and no training loop: the encoder solves the normal equations once.
//!
//! Predictions decide which points the decoder enhances, so they are computed bit for bit the
//! same everywhere: the stored coefficients (integer times step) in f64, the features in f64, summed in
//! stencil order with plain multiplications and additions (no FMA, no BLAS, no threads within a
//! point).

use pressio_ml_codec::bytes::{ByteReader, ByteWriter};
use pressio_ml_core::{PressioError, Result};

/// Most features a stencil has (3-D: 26 + 6 neighbours and the constant).
pub const MAX_FEATURES: usize = 33;
/// Ridge added to the normal equations' diagonal, relative to its mean (keeps flat or
/// constant groups solvable).
const RIDGE: f64 = 1e-6;

/// The neighbourhood of a field: offsets along the up to three fastest axes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stencil {
    /// Extents of the three fastest axes (1 where the field has fewer); slower axes are a
    /// stack of independent volumes.
    pub extent: [usize; 3],
    offsets: Vec<[isize; 3]>,
}

impl Stencil {
    /// The stencil of a field with normalized `dims` (fastest first).
    pub fn new(dims: &[usize]) -> Stencil {
        let mut extent = [1usize; 3];
        for (e, &d) in extent.iter_mut().zip(dims) {
            *e = d.max(1);
        }
        let axes: Vec<usize> = (0..3).filter(|&a| extent[a] > 1).collect();
        let mut offsets = Vec::new();
        // the full 3^k box of the non-trivial axes, centre excluded
        let span = |a: usize| {
            if axes.contains(&a) {
                -1isize..=1
            } else {
                0..=0
            }
        };
        for dz in span(2) {
            for dy in span(1) {
                for dx in span(0) {
                    if (dx, dy, dz) != (0, 0, 0) {
                        offsets.push([dx, dy, dz]);
                    }
                }
            }
        }
        // second neighbours along each axis
        for &a in &axes {
            for s in [-2isize, 2] {
                let mut o = [0isize; 3];
                o[a] = s;
                offsets.push(o);
            }
        }
        debug_assert!(offsets.len() < MAX_FEATURES);
        Stencil { extent, offsets }
    }

    /// Features per point, the constant included.
    pub fn features(&self) -> usize {
        self.offsets.len() + 1
    }

    /// The features of point `i` of `xp` into `out` (length [`Stencil::features`]): each
    /// neighbour's difference from the point divided by `scale` (neighbours beyond an edge
    /// repeat the edge; non-finite values count as no difference), then 1.
    #[inline]
    pub fn features_of(&self, xp: &[f64], i: usize, scale: f64, out: &mut [f64]) {
        let [nx, ny, nz] = self.extent;
        let vol = nx * ny * nz;
        let base = i - i % vol;
        let r = i % vol;
        let c = [r % nx, (r / nx) % ny, r / (nx * ny)];
        let centre = xp[i];
        let clampi = |v: isize, n: usize| v.clamp(0, n as isize - 1) as usize;
        for (f, o) in out.iter_mut().zip(&self.offsets) {
            let x = clampi(c[0] as isize + o[0], nx);
            let y = clampi(c[1] as isize + o[1], ny);
            let z = clampi(c[2] as isize + o[2], nz);
            let d = xp[base + (z * ny + y) * nx + x] - centre;
            *f = if d.is_finite() { d / scale } else { 0.0 };
        }
        out[self.offsets.len()] = 1.0;
    }
}

/// Solve `a x = b` (`a` symmetric positive definite, `n x n` row-major) by Cholesky, with a
/// ridge relative to the diagonal's mean; `None` when it fails.
fn solve_spd(mut a: Vec<f64>, mut b: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    let mean_diag = (0..n).map(|i| a[i * n + i]).sum::<f64>() / n as f64;
    let ridge = RIDGE * mean_diag.max(f64::MIN_POSITIVE);
    for i in 0..n {
        a[i * n + i] += ridge;
    }
    // a = L L^T, L stored in the lower triangle
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if !(d > 0.0 && d.is_finite()) {
            return None;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * n + k] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[k * n + i] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    b.iter().all(|v| v.is_finite()).then_some(b)
}

/// Fit the filter of one group: least squares of `(x - xp) / scale` on the features of
/// `points`. Returns the coefficients, or `None` when the system is singular.
pub fn fit(
    stencil: &Stencil,
    x: &[f64],
    xp: &[f64],
    points: &[usize],
    scale: f64,
) -> Option<Vec<f64>> {
    let p = stencil.features();
    let mut ata = vec![0f64; p * p];
    let mut atb = vec![0f64; p];
    let mut f = vec![0f64; p];
    for &i in points {
        let t = (x[i] - xp[i]) / scale;
        if !t.is_finite() {
            continue;
        }
        stencil.features_of(xp, i, scale, &mut f);
        for a in 0..p {
            let fa = f[a];
            if fa == 0.0 {
                continue;
            }
            let row = &mut ata[a * p..(a + 1) * p];
            for (r, &fb) in row[a..].iter_mut().zip(&f[a..]) {
                *r += fa * fb;
            }
            atb[a] += fa * t;
        }
    }
    for a in 0..p {
        for b in 0..a {
            ata[a * p + b] = ata[b * p + a];
        }
    }
    solve_spd(ata, atb, p)
}

/// A stored filter, ready to predict: its coefficients quantized to 16-bit integers times one
/// fp32 step per filter (`4 + 2 * features` bytes), which costs nothing measurable in gain
/// against fp32 and halves the bytes.
///
/// A point's prediction is `((sum of q_k f_k) * step) * scale`, the sum in stencil order
/// (the *factored* form, gwlz layout 4): the sum does not depend on the step, so the encoder
/// computes it once and tries shrunk predictions ([`Filter::scaled`] keeps the integers and
/// scales the step) for one multiplication each. Layout-3 streams summed `(q_k * step) f_k`;
/// their filters are read unfactored and predict as they did.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    step: f32,
    q: Vec<i16>,
    /// `q_k` (factored) or `q_k * step` (layout 3), as f64.
    wide: Vec<f64>,
    factored: bool,
}

/// Points whose sums one worker computes at a time (results do not depend on it).
const PIECE: usize = 1 << 14;

impl Filter {
    /// Bytes a stored filter of `features` coefficients takes.
    pub const fn stored_bytes(features: usize) -> usize {
        4 + 2 * features
    }

    fn from_parts(step: f32, q: Vec<i16>, factored: bool) -> Result<Filter> {
        if !(step.is_finite() && step >= 0.0) {
            return Err(PressioError::corrupt(format!(
                "linear enhancer step {step}"
            )));
        }
        let wide = q
            .iter()
            .map(|&v| {
                if factored {
                    v as f64
                } else {
                    v as f64 * step as f64
                }
            })
            .collect();
        Ok(Filter {
            step,
            q,
            wide,
            factored,
        })
    }

    /// The filter of `coefs` (one per feature of `stencil`), quantized as stored.
    pub fn quantize(stencil: &Stencil, coefs: &[f64]) -> Result<Filter> {
        if coefs.len() != stencil.features() || coefs.iter().any(|c| !c.is_finite()) {
            return Err(PressioError::InvalidArgument(format!(
                "{} coefficients for a linear enhancer of {} features",
                coefs.len(),
                stencil.features()
            )));
        }
        let top = coefs.iter().fold(0f64, |m, c| m.max(c.abs()));
        let step = (top / i16::MAX as f64) as f32;
        let q = coefs
            .iter()
            .map(|&c| {
                if step > 0.0 {
                    (c / step as f64).round().clamp(-32767.0, 32767.0) as i16
                } else {
                    0
                }
            })
            .collect();
        Filter::from_parts(step, q, true)
    }

    /// This filter predicting `alpha` times as much: the same integers, the step scaled.
    pub fn scaled(&self, alpha: f64) -> Result<Filter> {
        Filter::from_parts(
            (self.step as f64 * alpha) as f32,
            self.q.clone(),
            self.factored,
        )
    }

    /// Append the stored form.
    pub fn write(&self, w: &mut ByteWriter) {
        w.put_f32(self.step);
        for &v in &self.q {
            w.put_u16(v as u16);
        }
    }

    /// Read a stored filter of `stencil`'s feature count, `factored` from gwlz layout 4 on.
    pub fn read(stencil: &Stencil, r: &mut ByteReader<'_>, factored: bool) -> Result<Filter> {
        let step = r.f32()?;
        let q = (0..stencil.features())
            .map(|_| r.u16().map(|v| v as i16))
            .collect::<Result<Vec<i16>>>()?;
        Filter::from_parts(step, q, factored)
    }

    /// The step-free sum of every point of `points`, in order (see [`Filter::residual`]); with
    /// `parallel`, in pieces on the current rayon pool (each point's sum is the same either
    /// way).
    pub fn sums(
        &self,
        stencil: &Stencil,
        xp: &[f64],
        points: &[usize],
        scale: f64,
        parallel: bool,
    ) -> Vec<f64> {
        let piece = |pts: &[usize]| -> Vec<f64> {
            let mut f = vec![0f64; stencil.features()];
            pts.iter()
                .map(|&i| {
                    stencil.features_of(xp, i, scale, &mut f);
                    let mut s = 0f64;
                    for (w, v) in self.wide.iter().zip(&f) {
                        s += w * v;
                    }
                    s
                })
                .collect()
        };
        if parallel && points.len() > PIECE {
            use rayon::prelude::*;
            let parts: Vec<Vec<f64>> = points.par_chunks(PIECE).map(piece).collect();
            parts.concat()
        } else {
            piece(points)
        }
    }

    /// The predicted residual (in data units, clamped to `[-scale, scale]`) of a point whose
    /// [`Filter::sums`] entry is `sum`.
    #[inline]
    pub fn residual(&self, sum: f64, scale: f64) -> f64 {
        let s = if self.factored {
            sum * self.step as f64
        } else {
            sum
        };
        (s * scale).clamp(-scale, scale)
    }

    /// The predicted residual of every point of `points`, in order.
    pub fn predict(&self, stencil: &Stencil, xp: &[f64], points: &[usize], scale: f64) -> Vec<f64> {
        self.sums(stencil, xp, points, scale, false)
            .into_iter()
            .map(|s| self.residual(s, scale))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stencils_by_dimensionality() {
        assert_eq!(Stencil::new(&[100]).features(), 5);
        assert_eq!(Stencil::new(&[30, 20]).features(), 13);
        assert_eq!(Stencil::new(&[30, 20, 10]).features(), MAX_FEATURES);
        assert_eq!(Stencil::new(&[30, 20, 10, 4]).features(), MAX_FEATURES);
    }

    #[test]
    fn a_linear_residual_is_recovered() {
        // the residual is an exact linear function of X''s neighbour differences
        let dims = [20usize, 16, 6];
        let n: usize = dims.iter().product();
        let st = Stencil::new(&dims);
        // a rough X' (a smooth one makes the neighbour differences nearly collinear)
        let mut state = 12345u64;
        let xp: Vec<f64> = (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect();
        let truth: Vec<f64> = (0..st.features()).map(|k| 0.01 * k as f64 - 0.1).collect();
        let scale = 0.5;
        let mut f = vec![0f64; st.features()];
        let x: Vec<f64> = (0..n)
            .map(|i| {
                st.features_of(&xp, i, scale, &mut f);
                xp[i] + scale * f.iter().zip(&truth).map(|(a, b)| a * b).sum::<f64>()
            })
            .collect();
        let points: Vec<usize> = (0..n).collect();
        // predictions are clamped to the residual scale: fit and predict with the largest one
        let scale = x
            .iter()
            .zip(&xp)
            .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
        let w = fit(&st, &x, &xp, &points, scale).unwrap();
        let filter = Filter::quantize(&st, &w).unwrap();
        let r = filter.predict(&st, &xp, &points, scale);
        let worst = points
            .iter()
            .map(|&i| ((x[i] - xp[i]) - r[i]).abs())
            .fold(0f64, f64::max);
        assert!(worst < 1e-4, "{worst}");
        // the stored form gives the same filter and the same bits
        let mut wr = ByteWriter::new();
        filter.write(&mut wr);
        let bytes = wr.into_inner();
        assert_eq!(bytes.len(), Filter::stored_bytes(st.features()));
        let back = Filter::read(&st, &mut ByteReader::new(&bytes, "test"), true).unwrap();
        assert_eq!(back, filter);
        assert_eq!(r, back.predict(&st, &xp, &points, scale));
        // sums on a pool are the same bits, and a shrunk filter scales its step only
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let par = pool.install(|| filter.sums(&st, &xp, &points, scale, true));
        assert_eq!(par, filter.sums(&st, &xp, &points, scale, false));
        let half = filter.scaled(0.5).unwrap();
        let rh = half.predict(&st, &xp, &points, scale);
        for (a, b) in r.iter().zip(&rh) {
            assert!((a * 0.5 - b).abs() <= 1e-6 * a.abs().max(1e-9), "{a} {b}");
        }
        // a layout-3 filter reads the same bytes and predicts with its own formula
        let old = Filter::read(&st, &mut ByteReader::new(&bytes, "test"), false).unwrap();
        let ro = old.predict(&st, &xp, &points, scale);
        let worst_old = r
            .iter()
            .zip(&ro)
            .map(|(a, b)| (a - b).abs())
            .fold(0f64, f64::max);
        assert!(worst_old < 1e-9, "{worst_old}");
    }

    #[test]
    fn bad_coefficients_are_refused() {
        let st = Stencil::new(&[8, 8]);
        assert!(Filter::quantize(&st, &[0.0; 12]).is_err());
        let mut c = vec![0.0f64; 13];
        c[3] = f64::NAN;
        assert!(Filter::quantize(&st, &c).is_err());
        let mut w = ByteWriter::new();
        w.put_f32(f32::INFINITY);
        for _ in 0..13 {
            w.put_u16(1);
        }
        let b = w.into_inner();
        assert!(Filter::read(&st, &mut ByteReader::new(&b, "t"), true).is_err());
        assert!(Filter::read(&st, &mut ByteReader::new(&b[..20], "t"), true).is_err());
        // a constant field has no usable system beyond the ridge: still solvable
        let xp = vec![1.0; 64];
        let x = vec![1.5; 64];
        let pts: Vec<usize> = (0..64).collect();
        let w = fit(&st, &x, &xp, &pts, 0.5).unwrap();
        let r = Filter::quantize(&st, &w)
            .unwrap()
            .predict(&st, &xp, &pts, 0.5);
        assert!(r.iter().all(|v| (v - 0.5).abs() < 1e-3));
    }
}
