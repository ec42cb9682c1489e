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
//! # Fill values
//!
//! The metric honours the generic fill keys `pressio:fill_mode` (`auto` by default, `values`,
//! `none`), `pressio:fill_value` and `pressio:fill_values` (a compressor handle forwards them to
//! its metric). Under `auto` or `values`, every window that contains a fill point of a `float`
//! or `double` input (per `FillSpec::detect`: land masks at `1e20`, GrADS UNDEF `-2.56e33`, …)
//! is skipped, whatever the decompressed buffer holds there: the mean runs over the windows
//! made of valid points only, so a mask edge neither lowers nor raises the result. Under `none`
//! every window counts, as in QCAT and LibPressio. Integer, byte and bool inputs have no fill
//! points.
//!
//! # Special cases
//!
//! * An extent below 7 leaves no window, and so do a single value and an empty buffer (no
//!   normalized dim): the result is NaN (QCAT only prints an error).
//! * Non-finite values (the same rule in every fill mode): a window containing a non-finite
//!   value is left out of the mean when every non-finite value in it was reproduced exactly (NaN
//!   for NaN, the same infinity); otherwise that window is NaN, which makes the result NaN. No
//!   window left: NaN.
//! * More than 4 normalized dims is an `InvalidDims` error; buffers with different element
//!   counts (or dims without bytes) are an `InvalidInput` error. The decompressed buffer is read
//!   with the original's dims. After an error the result goes back to a placeholder.
//! * The `_many` hooks average over the windows of every (input, output) pair together.

#![warn(missing_docs)]

use pressio_ml_core::{keys, Data, FillSpec, Options, PressioError, RegistryBuilder, Result};
use pressio_ml_metric_common::{
    fill_mask, held_elements, same_non_finite, Extremes, PairMetric, PairStatistic, WindowSums,
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
    builder.metric(ID, |_| Box::new(SsimMetric::default()))?;
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

/// Windows whose points are all finite and valid give their SSIM; `None` means the window is
/// left out (it holds a fill point, or non-finite values all reproduced exactly); NaN means a
/// non-finite value was not reproduced.
fn one_window(
    g: &Geometry,
    x: &[f64],
    y: &[f64],
    fill: Option<&[bool]>,
    origin: usize,
) -> Option<f64> {
    let mut sums = WindowSums::default();
    let mut range = Extremes::default();
    let (mut skip, mut unmatched) = (false, false);
    g.for_each_point(origin, |i| {
        if fill.is_some_and(|f| f[i]) {
            // a fill point: the window is left out whatever was decompressed there
            skip = true;
            return;
        }
        let (a, b) = (x[i], y[i]);
        if !a.is_finite() || !b.is_finite() {
            if same_non_finite(a, b) {
                skip = true;
            } else {
                unmatched = true;
            }
        }
        sums.push(a, b);
        range.push(a);
    });
    if unmatched {
        return Some(f64::NAN);
    }
    if skip {
        return None;
    }
    let moments = sums.moments();
    Some(window_ssim(
        moments.mean_x(),
        moments.mean_y(),
        moments.var_x(),
        moments.var_y(),
        moments.cov(),
        range.span(),
    ))
}

/// Window SSIM total of one pair of value slices laid out with `dims` (normalized, fastest
/// first); windows holding a point flagged in `fill` are left out.
fn total(x: &[f64], y: &[f64], fill: Option<&[bool]>, dims: &[usize]) -> Result<Total> {
    let g = Geometry::new(dims)?;
    let windows = g.windows();
    // fixed chunks summed in order: the result is independent of the thread count
    const CHUNK: usize = 512;
    let chunks: Vec<Total> = (0..windows.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut t = Total::default();
            for w in c * CHUNK..((c + 1) * CHUNK).min(windows) {
                match one_window(&g, x, y, fill, g.origin(w)) {
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

fn pair_total(original: &Data, decompressed: &Data, fill: &FillSpec) -> Result<Total> {
    let dims = original.normalized_dims();
    if dims.len() > MAX_DIMS {
        return Err(PressioError::InvalidDims(format!(
            "ssim handles at most {MAX_DIMS} dims (extents > 1), got {:?}",
            original.dims()
        )));
    }
    let n = held_elements(original, ID, "uncompressed")?;
    let m = held_elements(decompressed, ID, "decompressed")?;
    if n != m {
        return Err(PressioError::InvalidInput(format!(
            "ssim: uncompressed data has {n} elements, decompressed data has {m}"
        )));
    }
    if n == 0 {
        // no value (some extent is 0): no window
        return Ok(Total::default());
    }
    if dims.iter().product::<usize>() != n {
        return Err(PressioError::InvalidDims(format!(
            "ssim: dims {:?} do not describe {n} values",
            original.dims()
        )));
    }
    let mask = fill_mask(original, fill)?;
    total(
        &original.to_f64_vec(),
        &decompressed.to_f64_vec(),
        mask.as_deref(),
        &dims,
    )
}

/// Mean window SSIM of `decompressed` against `original` (see the crate documentation), with
/// the fill rule `fill` (`FillSpec::none()`: every window, as QCAT).
pub fn ssim(original: &Data, decompressed: &Data, fill: &FillSpec) -> Result<f64> {
    ssim_many(&[(original, decompressed)], fill)
}

/// Mean window SSIM over the windows of several (original, decompressed) pairs together.
pub fn ssim_many(pairs: &[(&Data, &Data)], fill: &FillSpec) -> Result<f64> {
    let mut t = Total::default();
    for (o, d) in pairs {
        t.add(pair_total(o, d, fill)?);
    }
    Ok(t.mean())
}

/// Mean window SSIM of two `f64` slices laid out with `dims` (fastest first; extents of 1 are
/// dropped, at most 4 others), with the fill rule `fill` applied to `original`.
pub fn ssim_f64(
    original: &[f64],
    decompressed: &[f64],
    dims: &[usize],
    fill: &FillSpec,
) -> Result<f64> {
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
    let mask = fill.detect(original);
    Ok(total(original, decompressed, mask.as_deref(), &dims)?.mean())
}

/// The `ssim` statistic behind [`SsimMetric`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Ssim;

/// The `ssim` metrics plugin.
pub type SsimMetric = PairMetric<Ssim>;

impl PairStatistic for Ssim {
    type Output = f64;

    fn id(&self) -> &'static str {
        ID
    }

    fn compute(&self, pairs: &[(&Data, &Data)], fill: &FillSpec) -> Result<f64> {
        ssim_many(pairs, fill)
    }

    fn results(&self, output: Option<&f64>) -> Options {
        let mut o = Options::new();
        o.set_or_placeholder(SSIM, output.copied());
        o
    }

    fn documentation(&self) -> Options {
        let mut d = Options::new();
        d.set(
            keys::DESCRIPTION,
            "ssim metric: structural similarity (QCAT definition) between the input and the \
             decompressed output over 7-point windows with stride 2, for 1 to 4 normalized dims; \
             windows holding a fill point are skipped unless pressio:fill_mode is none",
        );
        d.set(
            SSIM,
            "mean SSIM over all 7^d windows (stride 2) with K1 = 0.01, K2 = 0.03, c3 = c2/2 and \
             the window's range of the original as L (1 when 0); windows that hold a fill point \
             (pressio:fill_mode auto or values) or non-finite values reproduced exactly are \
             skipped; 1 means identical, NaN when no window is left",
        );
        d
    }
}
