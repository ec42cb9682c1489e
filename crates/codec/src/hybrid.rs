//! Cross-field hybrid prediction on dual-quantized integers (the CFNN hybrid of Liu et al.).
//!
//! Every value is pre-quantized to `q = round(x / 2e)` (so the bound holds by construction, as in
//! [`crate::lorenzo::dual_compress`]). A point's integer prediction blends its Lorenzo
//! prediction `f_L` with one cross-field predictor per axis, `f_a = q(one step back along a) +
//! d_a`, where `d_a` is an externally predicted backward difference of the field along `a` (for
//! CFNN: a network's output from other fields), in pre-quantization units:
//!
//! ```text
//! f_H  = f_L + sum_a w_a (f_a - f_L) + b          (f64, this order of operations)
//! pred = round(f_H)                               (saturating to i64)
//! code = postquantize(q - pred)                   (outliers stored as exact residuals)
//! ```
//!
//! The blend is an affine combination (weights sum to one: the paper's `w0 = 1 - sum w_a`, a
//! choice where it is silent, which keeps the least-squares fit well conditioned); `w_a` and `b`
//! are fitted per stream by [`fit_blend`]. With no difference arrays at all this is exactly
//! dual-quantized Lorenzo ([`crate::lorenzo::dual_compress`] is that case). Differences are snapped to a grid of
//! `2^-SNAP_BITS` pre-quantization units ([`snap_differences`]) so that the stream depends
//! only on the snapped values; every operation is IEEE `+ - * /` and exact rounding, so encoder
//! and decoder compute the same `pred` on every host. With all weights zero and no bias this
//! is exactly dual-quantized Lorenzo.

use crate::lorenzo::{check_len, DualQuantized, Padded};
use crate::quantizer::{DualQuantizer, Float, Prequantized};
use pressio_ml_core::{PressioError, Result};

/// Differences are snapped to multiples of `2^-SNAP_BITS` pre-quantization units.
pub const SNAP_BITS: i32 = 12;

/// The blend of Lorenzo with the cross-field predictors.
#[derive(Debug, Clone, PartialEq)]
pub struct Blend {
    /// One weight per axis (fastest first), for `f_a - f_L`.
    pub weights: Vec<f64>,
    /// Bias, in pre-quantization units.
    pub bias: f64,
}

impl Blend {
    /// Pure Lorenzo over `axes` axes (all weights zero).
    pub fn lorenzo(axes: usize) -> Blend {
        Blend {
            weights: vec![0.0; axes],
            bias: 0.0,
        }
    }

    /// An error unless every parameter is finite and there are `axes` weights.
    pub fn check(&self, axes: usize) -> Result<()> {
        if self.weights.len() != axes
            || !self.bias.is_finite()
            || self.weights.iter().any(|w| !w.is_finite())
        {
            return Err(PressioError::corrupt(format!(
                "hybrid blend {self:?} for {axes} axes"
            )));
        }
        Ok(())
    }

    #[inline]
    fn predict(&self, f_l: i64, back: &[i64], diffs: &[&[f64]], k: usize) -> i64 {
        let fl = f_l as f64;
        let mut h = fl;
        for (a, w) in self.weights.iter().enumerate() {
            h += w * ((back[a] as f64 + diffs[a][k]) - fl);
        }
        h += self.bias;
        h.round() as i64
    }
}

/// Differences in data units (one array per squeezed axis, fastest first) to pre-quantization
/// units `d / 2e`, snapped to the `2^-SNAP_BITS` grid; non-finite ones become 0.
pub fn snap_differences(diffs: &[Vec<f32>], eb: f64) -> Vec<Vec<f64>> {
    let scale = (2f64).powi(SNAP_BITS);
    diffs
        .iter()
        .map(|d| {
            d.iter()
                .map(|&v| {
                    let u = (v as f64 / (2.0 * eb) * scale).round() / scale;
                    if u.is_finite() {
                        u
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

/// Either no differences (pure Lorenzo) or one array of `n` per non-trivial axis.
fn check_diffs(d: &[usize], n: usize, diffs: &[Vec<f64>]) -> Result<()> {
    if !(diffs.is_empty() || diffs.len() == d.len()) || diffs.iter().any(|v| v.len() != n) {
        return Err(PressioError::InvalidArgument(format!(
            "{} difference arrays for a field of {} non-trivial axes and {n} values",
            diffs.len(),
            d.len()
        )));
    }
    Ok(())
}

/// Visit every point in C order with its pre-quantized value's Lorenzo prediction and its
/// backward neighbours (0 outside), on a padded grid that `value(k, pred, back)` fills.
fn sweep(d: &[usize], mut value: impl FnMut(usize, i64, &[i64]) -> Result<i64>) -> Result<()> {
    let mut grid = Padded::<i64>::new(d)?;
    let offs = grid.offs;
    let axes = d.len();
    let mut back = [0i64; 4];
    grid.traverse(|buf, x, k, pred| {
        for (a, b) in back.iter_mut().enumerate().take(axes) {
            *b = buf[x - offs[a]];
        }
        buf[x] = value(k, pred, &back[..axes])?;
        Ok(())
    })
}

/// Fit the blend by least squares of `q - f_L` on `f_a - f_L` and a constant, over every point
/// of the pre-quantized field `q`. Falls back to pure Lorenzo when the system is singular.
pub fn fit_blend(q: &[i64], dims: &[usize], diffs: &[Vec<f64>]) -> Result<Blend> {
    let d = check_len(dims, q.len())?;
    check_diffs(&d, q.len(), diffs)?;
    let m = d.len() + 1;
    let mut ata = vec![0f64; m * m];
    let mut atb = vec![0f64; m];
    let mut feat = vec![0f64; m];
    sweep(&d, |k, f_l, back| {
        let q = q[k];
        let fl = f_l as f64;
        for (a, f) in feat.iter_mut().take(m - 1).enumerate() {
            *f = back[a] as f64 + diffs[a][k] - fl;
        }
        feat[m - 1] = 1.0;
        let y = q.wrapping_sub(f_l) as f64;
        for i in 0..m {
            atb[i] += feat[i] * y;
            for j in 0..m {
                ata[i * m + j] += feat[i] * feat[j];
            }
        }
        Ok(q)
    })?;
    Ok(match solve(&mut ata, &mut atb, m) {
        Some(x) if x.iter().all(|v| v.is_finite()) => Blend {
            weights: x[..m - 1].to_vec(),
            bias: x[m - 1],
        },
        _ => Blend::lorenzo(m - 1),
    })
}

/// Solve `a x = b` (`m x m`, row-major) by Gaussian elimination with partial pivoting and a
/// tiny ridge; `None` when singular.
fn solve(a: &mut [f64], b: &mut [f64], m: usize) -> Option<Vec<f64>> {
    let scale = (0..m).map(|i| a[i * m + i].abs()).fold(0f64, f64::max);
    if scale == 0.0 {
        return None;
    }
    for i in 0..m {
        a[i * m + i] += scale * 1e-12;
    }
    for c in 0..m {
        let p = (c..m).max_by(|&x, &y| a[x * m + c].abs().total_cmp(&a[y * m + c].abs()))?;
        if a[p * m + c].abs() <= scale * 1e-14 {
            return None;
        }
        if p != c {
            for j in 0..m {
                a.swap(p * m + j, c * m + j);
            }
            b.swap(p, c);
        }
        for r in c + 1..m {
            let f = a[r * m + c] / a[c * m + c];
            for j in c..m {
                a[r * m + j] -= f * a[c * m + j];
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = vec![0f64; m];
    for c in (0..m).rev() {
        let mut s = b[c];
        for j in c + 1..m {
            s -= a[c * m + j] * x[j];
        }
        x[c] = s / a[c * m + c];
    }
    Some(x)
}

/// Dual-quantize `data` and code it against the hybrid prediction.
pub fn hybrid_compress<T: Float>(
    data: &[T],
    dims: &[usize],
    eb: f64,
    radius: u32,
    diffs: &[Vec<f64>],
    blend: &Blend,
) -> Result<DualQuantized<T>> {
    let pre = DualQuantizer::new(eb, radius)?.prequantize_all(data);
    hybrid_code(&pre, dims, eb, radius, diffs, blend)
}

/// Code an already pre-quantized field (bound `eb`) against the hybrid prediction, so that a
/// caller trying several blends pre-quantizes once.
pub fn hybrid_code<T: Float>(
    pre: &Prequantized<T>,
    dims: &[usize],
    eb: f64,
    radius: u32,
    diffs: &[Vec<f64>],
    blend: &Blend,
) -> Result<DualQuantized<T>> {
    let n = pre.q.len();
    let d = check_len(dims, n)?;
    check_diffs(&d, n, diffs)?;
    blend.check(diffs.len())?;
    let dq = DualQuantizer::new(eb, radius)?;
    let views: Vec<&[f64]> = diffs.iter().map(Vec::as_slice).collect();
    let mut codes = vec![0u32; n];
    let mut outliers = Vec::new();
    sweep(&d, |k, f_l, back| {
        let q = pre.q[k];
        let pred = blend.predict(f_l, back, &views, k);
        let c = dq.postquantize(q, pred);
        if c == 0 {
            outliers.push(DualQuantizer::residual(q, pred));
        }
        codes[k] = c;
        Ok(q)
    })?;
    Ok(DualQuantized {
        codes,
        outliers,
        exceptions: pre.exceptions.clone(),
    })
}

/// Invert [`hybrid_compress`] (same `diffs` and `blend`).
pub fn hybrid_decompress<T: Float>(
    dims: &[usize],
    eb: f64,
    radius: u32,
    diffs: &[Vec<f64>],
    blend: &Blend,
    encoded: &DualQuantized<T>,
) -> Result<Vec<T>> {
    let n = encoded.codes.len();
    let d = check_len(dims, n)?;
    check_diffs(&d, n, diffs)?;
    blend.check(diffs.len())?;
    let dq = DualQuantizer::new(eb, radius)?;
    let views: Vec<&[f64]> = diffs.iter().map(Vec::as_slice).collect();
    let mut q = vec![0i64; n];
    let mut next = encoded.outliers.iter();
    sweep(&d, |k, f_l, back| {
        let pred = blend.predict(f_l, back, &views, k);
        let v = match encoded.codes[k] {
            0 => DualQuantizer::recover_outlier(
                pred,
                *next
                    .next()
                    .ok_or_else(|| PressioError::corrupt("more outlier codes than residuals"))?,
            ),
            c => dq.recover(pred, c)?,
        };
        q[k] = v;
        Ok(v)
    })?;
    if next.next().is_some() {
        return Err(PressioError::corrupt("unused outlier residuals"));
    }
    dq.dequantize_all(&q, &encoded.exceptions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lorenzo::dual_compress;

    /// A 2-D field whose x-differences another "field" knows: t = sin-like + a sharp ramp.
    fn field(nx: usize, ny: usize) -> (Vec<f32>, Vec<Vec<f32>>) {
        let f = |x: usize, y: usize| {
            let (xf, yf) = (x as f32, y as f32);
            (0.37 * xf).sin() * 20.0 + (0.11 * yf).cos() * 5.0 + ((x * 7 + y * 13) % 5) as f32
        };
        let mut t = Vec::with_capacity(nx * ny);
        let (mut dx, mut dy) = (Vec::new(), Vec::new());
        for y in 0..ny {
            for x in 0..nx {
                t.push(f(x, y));
                dx.push(if x > 0 { f(x, y) - f(x - 1, y) } else { 0.0 });
                dy.push(if y > 0 { f(x, y) - f(x, y - 1) } else { 0.0 });
            }
        }
        (t, vec![dx, dy])
    }

    #[test]
    fn bound_roundtrip_and_gain_from_good_differences() {
        let (nx, ny) = (61, 47);
        let (t, d) = field(nx, ny);
        let eb = 0.01;
        let diffs = snap_differences(&d, eb);
        let pre = DualQuantizer::new(eb, 32768).unwrap().prequantize_all(&t);
        let blend = fit_blend(&pre.q, &[nx, ny], &diffs).unwrap();
        // the cross-field predictors are exact here: most weight goes to them
        assert!(blend.weights.iter().sum::<f64>() > 0.8, "{blend:?}");
        let enc = hybrid_compress(&t, &[nx, ny], eb, 32768, &diffs, &blend).unwrap();
        let dec = hybrid_decompress(&[nx, ny], eb, 32768, &diffs, &blend, &enc).unwrap();
        for (a, b) in t.iter().zip(&dec) {
            assert!((*a as f64 - *b as f64).abs() <= eb);
        }
        // same reconstruction as the Lorenzo baseline (the distortion depends on e only)
        let base = dual_compress(&t, &[nx, ny], eb, 32768).unwrap();
        let lorenzo =
            hybrid_compress(&t, &[nx, ny], eb, 32768, &diffs, &Blend::lorenzo(2)).unwrap();
        assert_eq!(lorenzo, base);
        // residuals are far smaller than Lorenzo's
        let spread = |e: &DualQuantized<f32>| {
            e.codes
                .iter()
                .map(|&c| (c as i64 - 32768).abs())
                .sum::<i64>()
        };
        assert!(
            spread(&enc) * 4 < spread(&base),
            "{} vs {}",
            spread(&enc),
            spread(&base)
        );
    }

    #[test]
    fn useless_differences_keep_lorenzo_quality_and_bad_input_is_refused() {
        let (nx, ny) = (40, 30);
        let (t, _) = field(nx, ny);
        let noise: Vec<Vec<f32>> = (0..2)
            .map(|a| {
                (0..nx * ny)
                    .map(|i| ((i * 31 + a * 7) % 17) as f32 - 8.0)
                    .collect()
            })
            .collect();
        let eb = 0.05;
        let diffs = snap_differences(&noise, eb);
        let pre = DualQuantizer::new(eb, 32768).unwrap().prequantize_all(&t);
        let blend = fit_blend(&pre.q, &[nx, ny], &diffs).unwrap();
        let enc = hybrid_code(&pre, &[nx, ny], eb, 32768, &diffs, &blend).unwrap();
        assert_eq!(
            enc,
            hybrid_compress(&t, &[nx, ny], eb, 32768, &diffs, &blend).unwrap()
        );
        let dec = hybrid_decompress(&[nx, ny], eb, 32768, &diffs, &blend, &enc).unwrap();
        assert!(t
            .iter()
            .zip(&dec)
            .all(|(a, b)| (*a as f64 - *b as f64).abs() <= eb));
        assert!(hybrid_compress(&t, &[nx, ny], eb, 32768, &diffs[..1], &blend).is_err());
        let bad = Blend {
            weights: vec![f64::NAN, 0.0],
            bias: 0.0,
        };
        assert!(hybrid_compress(&t, &[nx, ny], eb, 32768, &diffs, &bad).is_err());
        // another blend decodes to other values: the decoder needs the encoder's
        let other = Blend {
            weights: vec![0.5, 0.5],
            bias: 0.0,
        };
        let wrong = hybrid_decompress(&[nx, ny], eb, 32768, &diffs, &other, &enc);
        assert!(wrong.map(|w| w != dec).unwrap_or(true));
    }
}
