//! The `ssim` metric: structural similarity between the uncompressed input and the decompressed
//! output, as QCAT's `calculateSSIM` and LibPressio's `ssim` metric define it, for 1-D to 4-D
//! data.
//!
//! # Definition
//!
//! The dims are the original buffer's normalized dims (extents of 1 dropped), fastest first; at
//! most 4 may remain. Windows are 7 points wide along every remaining dim and start at offsets
//! `0, 2, 4, …` while `offset + 7 <= extent` (partial windows are skipped). For each window of
//! `np = 7^d` points, with `x` the original and `y` the decompressed data:
//!
//! * means `μx`, `μy`; population variances `σx²`, `σy²` and covariance `σxy` (divided by `np`);
//! * `L = max(x) - min(x)` over the window (a local range of the original), or `1` when that
//!   range is 0;
//! * `c1 = (0.01·L)²`, `c2 = (0.03·L)²`, `c3 = c2 / 2`;
//! * `ssim_w = (2μxμy + c1)/(μx² + μy² + c1) · (2σxσy + c2)/(σx² + σy² + c2) ·
//!   (σxy + c3)/(σxσy + c3)`.
//!
//! `ssim:ssim` is the arithmetic mean of `ssim_w` over all windows. Values are converted to
//! `f64` whatever the dtype; the sums run in a fixed order, so the result does not depend on the
//! number of threads.
//!
//! # Special cases
//!
//! * An extent below 7 leaves no window, and so do a single value and an empty buffer (no
//!   normalized dim): the result is NaN (QCAT only prints an error).
//! * Non-finite values: a window containing a non-finite value is left out of the mean when
//!   every non-finite value in it was reproduced exactly (NaN for NaN, the same infinity);
//!   otherwise that window is NaN, which makes the result NaN. No window left: NaN.
//! * More than 4 normalized dims is an `InvalidDims` error; buffers with different element
//!   counts (or dims without bytes) are an `InvalidInput` error. The decompressed buffer is read
//!   with the original's dims. After an error the result goes back to a placeholder.
//! * The `_many` hooks average over the windows of every (input, output) pair together.

#![warn(missing_docs)]

use pressio_ml_core::{
    keys, metric_configuration, Data, MetricsPlugin, Options, PressioError, RegistryBuilder, Result,
};
use rayon::prelude::*;

/// Registry id and key prefix of the metric.
pub const ID: &str = "ssim";
/// Result key: mean SSIM over all windows (`double`).
pub const SSIM: &str = "ssim:ssim";
/// Window width along every dim.
pub const WINDOW: usize = 7;
/// Offset between consecutive windows along every dim.
pub const STRIDE: usize = 2;
/// Luminance constant factor `K1`.
pub const K1: f64 = 0.01;
/// Contrast constant factor `K2`.
pub const K2: f64 = 0.03;
/// Most dims the metric handles.
pub const MAX_DIMS: usize = 4;

/// Register the `ssim` metric.
pub fn register(builder: &mut RegistryBuilder) -> Result<()> {
    builder.metric(ID, |_| Box::new(SsimMetric::new()))?;
    Ok(())
}

/// Running total of window SSIMs: `sum` over `count` windows; `nan` once any window was NaN.
#[derive(Debug, Clone, Copy, Default)]
struct Total {
    sum: f64,
    count: u64,
    nan: bool,
}

impl Total {
    fn add(&mut self, o: Total) {
        self.sum += o.sum;
        self.count += o.count;
        self.nan |= o.nan;
    }

    fn mean(&self) -> f64 {
        if self.nan || self.count == 0 {
            f64::NAN
        } else {
            self.sum / self.count as f64
        }
    }
}

/// SSIM of one window from its statistics.
fn window_ssim(mx: f64, my: f64, vx: f64, vy: f64, cov: f64, range: f64) -> f64 {
    let l = if range == 0.0 { 1.0 } else { range };
    let c1 = (K1 * l) * (K1 * l);
    let c2 = (K2 * l) * (K2 * l);
    let c3 = c2 / 2.0;
    let (sx, sy) = (vx.sqrt(), vy.sqrt());
    let luminance = (2.0 * mx * my + c1) / (mx * mx + my * my + c1);
    let contrast = (2.0 * sx * sy + c2) / (vx + vy + c2);
    let structure = (cov + c3) / (sx * sy + c3);
    luminance * contrast * structure
}

/// Window geometry: extents and element strides padded to 4 dims, window widths and counts.
struct Geometry {
    stride: [usize; MAX_DIMS],
    width: [usize; MAX_DIMS],
    count: [usize; MAX_DIMS],
}

impl Geometry {
    fn new(dims: &[usize]) -> Result<Geometry> {
        if dims.len() > MAX_DIMS {
            return Err(PressioError::InvalidDims(format!(
                "ssim handles at most {MAX_DIMS} dims (extents > 1), got {dims:?}"
            )));
        }
        let mut g = Geometry {
            stride: [0; MAX_DIMS],
            width: [1; MAX_DIMS],
            count: [1; MAX_DIMS],
        };
        if dims.is_empty() {
            // a single value or no value at all: no 7-point window fits
            g.count = [0; MAX_DIMS];
        }
        let mut s = 1usize;
        for (k, &e) in dims.iter().enumerate() {
            g.stride[k] = s;
            g.width[k] = WINDOW;
            g.count[k] = if e < WINDOW {
                0
            } else {
                (e - WINDOW) / STRIDE + 1
            };
            s = s.saturating_mul(e);
        }
        Ok(g)
    }

    fn windows(&self) -> usize {
        self.count.iter().product()
    }

    /// Flat index of the first point of window number `w` (fastest dim first).
    fn origin(&self, mut w: usize) -> usize {
        let mut at = 0;
        for k in 0..MAX_DIMS {
            let c = self.count[k];
            at += (w % c) * STRIDE * self.stride[k];
            w /= c;
        }
        at
    }

    /// Call `f` with the flat index of every point of the window starting at `origin`.
    #[inline]
    fn for_each_point(&self, origin: usize, mut f: impl FnMut(usize)) {
        let [s0, s1, s2, s3] = self.stride;
        let [w0, w1, w2, w3] = self.width;
        for i3 in 0..w3 {
            let b3 = origin + i3 * s3;
            for i2 in 0..w2 {
                let b2 = b3 + i2 * s2;
                for i1 in 0..w1 {
                    let b1 = b2 + i1 * s1;
                    for i0 in 0..w0 {
                        f(b1 + i0 * s0);
                    }
                }
            }
        }
    }
}

/// Windows whose points are all finite give their SSIM; `None` means the window is left out
/// (its non-finite values all reproduced exactly); NaN means a non-finite value was not.
fn one_window(g: &Geometry, x: &[f64], y: &[f64], origin: usize) -> Option<f64> {
    let (mut sx, mut sy) = (0.0, 0.0);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut np = 0usize;
    let (mut matched, mut unmatched) = (false, false);
    g.for_each_point(origin, |i| {
        let (a, b) = (x[i], y[i]);
        if !a.is_finite() || !b.is_finite() {
            if a == b || (a.is_nan() && b.is_nan()) {
                matched = true;
            } else {
                unmatched = true;
            }
        }
        sx += a;
        sy += b;
        lo = lo.min(a);
        hi = hi.max(a);
        np += 1;
    });
    if unmatched {
        return Some(f64::NAN);
    }
    if matched {
        return None;
    }
    let n = np as f64;
    let (mx, my) = (sx / n, sy / n);
    let (mut vx, mut vy, mut cov) = (0.0, 0.0, 0.0);
    g.for_each_point(origin, |i| {
        let (dx, dy) = (x[i] - mx, y[i] - my);
        vx += dx * dx;
        vy += dy * dy;
        cov += dx * dy;
    });
    Some(window_ssim(mx, my, vx / n, vy / n, cov / n, hi - lo))
}

/// Window SSIM total of one pair of value slices laid out with `dims` (normalized, fastest
/// first).
fn total(x: &[f64], y: &[f64], dims: &[usize]) -> Result<Total> {
    let g = Geometry::new(dims)?;
    let windows = g.windows();
    // fixed chunks summed in order: the result is independent of the thread count
    const CHUNK: usize = 512;
    let chunks: Vec<Total> = (0..windows.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut t = Total::default();
            for w in c * CHUNK..((c + 1) * CHUNK).min(windows) {
                match one_window(&g, x, y, g.origin(w)) {
                    Some(v) if v.is_nan() => t.nan = true,
                    Some(v) => {
                        t.sum += v;
                        t.count += 1;
                    }
                    None => {}
                }
            }
            t
        })
        .collect();
    let mut t = Total::default();
    for c in chunks {
        t.add(c);
    }
    Ok(t)
}

/// Values of a buffer as `f64`, checking that its bytes match its dims.
fn values(d: &Data, what: &str) -> Result<Vec<f64>> {
    let n = d.num_elements();
    if d.num_bytes() != n.saturating_mul(d.dtype().size()) {
        return Err(PressioError::InvalidInput(format!(
            "ssim: the {what} buffer has dims {:?} of {} but holds {} bytes",
            d.dims(),
            d.dtype(),
            d.num_bytes()
        )));
    }
    Ok(d.to_f64_vec())
}

fn pair_total(original: &Data, decompressed: &Data) -> Result<Total> {
    let dims = original.normalized_dims();
    if dims.len() > MAX_DIMS {
        return Err(PressioError::InvalidDims(format!(
            "ssim handles at most {MAX_DIMS} dims (extents > 1), got {:?}",
            original.dims()
        )));
    }
    let x = values(original, "uncompressed")?;
    let y = values(decompressed, "decompressed")?;
    if x.len() != y.len() {
        return Err(PressioError::InvalidInput(format!(
            "ssim: uncompressed data has {} elements, decompressed data has {}",
            x.len(),
            y.len()
        )));
    }
    if x.is_empty() {
        // no value (some extent is 0): no window
        return Ok(Total::default());
    }
    if dims.iter().product::<usize>() != x.len() {
        return Err(PressioError::InvalidDims(format!(
            "ssim: dims {:?} do not describe {} values",
            original.dims(),
            x.len()
        )));
    }
    total(&x, &y, &dims)
}

/// Mean window SSIM of `decompressed` against `original` (see the crate documentation).
pub fn ssim(original: &Data, decompressed: &Data) -> Result<f64> {
    ssim_many(&[(original, decompressed)])
}

/// Mean window SSIM over the windows of several (original, decompressed) pairs together.
pub fn ssim_many(pairs: &[(&Data, &Data)]) -> Result<f64> {
    let mut t = Total::default();
    for (o, d) in pairs {
        t.add(pair_total(o, d)?);
    }
    Ok(t.mean())
}

/// Mean window SSIM of two `f64` slices laid out with `dims` (fastest first; extents of 1 are
/// dropped, at most 4 others).
pub fn ssim_f64(original: &[f64], decompressed: &[f64], dims: &[usize]) -> Result<f64> {
    let n = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if n != Some(original.len()) || original.len() != decompressed.len() {
        return Err(PressioError::InvalidInput(format!(
            "ssim: dims {dims:?} with {} and {} values",
            original.len(),
            decompressed.len()
        )));
    }
    if original.is_empty() {
        return Ok(f64::NAN);
    }
    let dims: Vec<usize> = dims.iter().copied().filter(|&d| d > 1).collect();
    Ok(total(original, decompressed, &dims)?.mean())
}

/// The `ssim` metrics plugin.
#[derive(Debug, Clone, Default)]
pub struct SsimMetric {
    inputs: Vec<Data>,
    value: Option<f64>,
}

impl SsimMetric {
    /// A fresh instance with no input and no result.
    pub fn new() -> Self {
        Self::default()
    }

    fn compute(&mut self, outputs: &[&Data]) -> Result<()> {
        if self.inputs.is_empty() {
            return Ok(());
        }
        if self.inputs.len() != outputs.len() {
            self.value = None;
            return Err(PressioError::InvalidInput(format!(
                "ssim: {} uncompressed buffers but {} decompressed buffers",
                self.inputs.len(),
                outputs.len()
            )));
        }
        let pairs: Vec<(&Data, &Data)> = self.inputs.iter().zip(outputs.iter().copied()).collect();
        let r = ssim_many(&pairs);
        self.value = r.as_ref().ok().copied();
        r.map(|_| ())
    }
}

impl MetricsPlugin for SsimMetric {
    fn id(&self) -> &str {
        ID
    }

    fn begin_compress(&mut self, input: &Data, _output: &Data) -> Result<()> {
        self.inputs = vec![input.clone()];
        Ok(())
    }

    fn end_decompress(&mut self, _input: &Data, output: &Data, ok: bool) -> Result<()> {
        if ok {
            self.compute(&[output])
        } else {
            Ok(())
        }
    }

    fn begin_compress_many(&mut self, inputs: &[&Data], _outputs: &[&Data]) -> Result<()> {
        self.inputs = inputs.iter().map(|d| (*d).clone()).collect();
        Ok(())
    }

    fn end_decompress_many(
        &mut self,
        _inputs: &[&Data],
        outputs: &[&Data],
        ok: bool,
    ) -> Result<()> {
        if ok {
            self.compute(outputs)
        } else {
            Ok(())
        }
    }

    fn results(&mut self, _compressor_results: &Options) -> Options {
        let mut o = Options::new();
        o.set_or_placeholder(SSIM, self.value);
        o
    }

    fn configuration(&self) -> Options {
        metric_configuration(true, &[keys::PREDICTORS_ERROR_DEPENDENT])
    }

    fn documentation(&self) -> Options {
        let mut d = Options::new();
        d.set(
            keys::DESCRIPTION,
            "ssim metric: structural similarity (QCAT definition) between the input and the \
             decompressed output over 7-point windows with stride 2, for 1 to 4 normalized dims",
        );
        d.set(
            SSIM,
            "mean SSIM over all 7^d windows (stride 2) with K1 = 0.01, K2 = 0.03, c3 = c2/2 and \
             the window's range of the original as L (1 when 0); 1 means identical, NaN when no \
             window fits",
        );
        d
    }

    fn clone_metric(&self) -> Box<dyn MetricsPlugin> {
        Box::new(self.clone())
    }
}
