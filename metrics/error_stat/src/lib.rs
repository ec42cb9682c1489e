//! The `error_stat` metric: pointwise error statistics between the uncompressed input and the
//! decompressed output, with LibPressio's `error_stat` result keys.
//!
//! The metric keeps a copy of the input in `begin_compress` and computes in `end_decompress`
//! (also through `Metrics::evaluate` with both buffers). Every value is computed in `f64`
//! whatever the dtypes (integers and floats of any width; byte and bool buffers read as `u8`).
//! With `x` the original and `x̂` the decompressed value, over the `n` pairs used (the valid
//! points, see *Fill values* below):
//!
//! * `value_min`, `value_max`, `value_mean`, `value_std` (population, divided by `n`) and
//!   `value_range = value_max - value_min` describe the original data;
//! * `diff = x - x̂`, `error = |diff|`; `min_error`, `max_error`, `average_error`,
//!   `average_difference`, `difference_range = max diff - min diff`,
//!   `error_range = max_error - min_error`;
//! * `mse = Σ diff² / n`, `rmse = sqrt(mse)`, `psnr = -20·log10(rmse / value_range)`;
//! * `min_rel_error = min_error / value_range`, `max_rel_error = max_error / value_range`;
//! * `min_pw_rel_error`, `max_pw_rel_error`: extremes of `error / |x|` over the pairs with
//!   `x != 0`.
//!
//! # Fill values
//!
//! The metric honours the generic fill keys `pressio:fill_mode` (`auto` by default, `values`,
//! `none`), `pressio:fill_value` and `pressio:fill_values` (a compressor handle forwards them to
//! its metric). Under `auto` or `values`, the fill points of a `float` or `double` input (per
//! `FillSpec::detect`: `_FillValue`, GrADS UNDEF `-2.56e33`, land masks at `1e20`, …) are left
//! out of every statistic whatever the decompressed buffer holds there, so `value_range` (and
//! with it `psnr`, `min_rel_error`, `max_rel_error`) is the range of the valid values. Under
//! `none` every pair is used, as in LibPressio. Integer, byte and bool buffers have no fill
//! points. `error_stat:valid_points` counts the points finite in the input and not fill points
//! (under `none`: the finite points); it equals `n` unless non-finite values were not
//! reproduced (below).
//!
//! # Special values
//!
//! * **Non-finite data** (the same rule in every fill mode). A pair whose two values are the same
//!   non-finite value (both NaN, or both `+inf`, or both `-inf`) was reproduced exactly; it is
//!   skipped by every statistic and not counted in `error_stat:n`. Every other pair is used with IEEE arithmetic, so a
//!   non-finite value that was not reproduced makes the statistics it reaches NaN or infinite
//!   (minima and maxima propagate NaN instead of ignoring it).
//! * **`mse == 0`** (exact reconstruction): `psnr = +inf`, also when `value_range == 0` (where
//!   the formula alone would give NaN). With `value_range == 0` and `mse > 0`, `psnr = -inf`
//!   and the relative errors follow IEEE division (`+inf`, or NaN for `0 / 0`).
//! * **No pair used** (empty buffers, or only matched non-finite pairs): `error_stat:n = 0` and
//!   every double is NaN.
//! * **No `x != 0`**: both pointwise relative errors are NaN.
//! * Buffers with different element counts, or a buffer with dims but no bytes, are an
//!   `InvalidInput` error; the results then go back to placeholders.

#![warn(missing_docs)]

use pressio_ml_core::{
    DType, Data, Element, FillSpec, Options, PressioError, RegistryBuilder, Result,
};
use pressio_ml_metric_common::{
    fill_mask, held_elements, same_non_finite, Extremes, Moments, PairMetric, PairStatistic,
    WindowSums,
};

/// Registry id and key prefix of the metric.
pub const ID: &str = "error_stat";
/// Result key: value-range PSNR in dB (`double`).
pub const PSNR: &str = "error_stat:psnr";
/// Result key: mean squared error (`double`).
pub const MSE: &str = "error_stat:mse";
/// Result key: root mean squared error (`double`).
pub const RMSE: &str = "error_stat:rmse";
/// Result key: mean of the original values (`double`).
pub const VALUE_MEAN: &str = "error_stat:value_mean";
/// Result key: population standard deviation of the original values (`double`).
pub const VALUE_STD: &str = "error_stat:value_std";
/// Result key: minimum original value (`double`).
pub const VALUE_MIN: &str = "error_stat:value_min";
/// Result key: maximum original value (`double`).
pub const VALUE_MAX: &str = "error_stat:value_max";
/// Result key: maximum minus minimum original value (`double`).
pub const VALUE_RANGE: &str = "error_stat:value_range";
/// Result key: smallest absolute error (`double`).
pub const MIN_ERROR: &str = "error_stat:min_error";
/// Result key: largest absolute error (`double`).
pub const MAX_ERROR: &str = "error_stat:max_error";
/// Result key: smallest absolute error over the value range (`double`).
pub const MIN_REL_ERROR: &str = "error_stat:min_rel_error";
/// Result key: largest absolute error over the value range (`double`).
pub const MAX_REL_ERROR: &str = "error_stat:max_rel_error";
/// Result key: smallest pointwise relative error (`double`).
pub const MIN_PW_REL_ERROR: &str = "error_stat:min_pw_rel_error";
/// Result key: largest pointwise relative error (`double`).
pub const MAX_PW_REL_ERROR: &str = "error_stat:max_pw_rel_error";
/// Result key: mean signed difference original minus decompressed (`double`).
pub const AVERAGE_DIFFERENCE: &str = "error_stat:average_difference";
/// Result key: mean absolute error (`double`).
pub const AVERAGE_ERROR: &str = "error_stat:average_error";
/// Result key: largest minus smallest signed difference (`double`).
pub const DIFFERENCE_RANGE: &str = "error_stat:difference_range";
/// Result key: largest minus smallest absolute error (`double`).
pub const ERROR_RANGE: &str = "error_stat:error_range";
/// Result key: number of value pairs used (`uint64`).
pub const N: &str = "error_stat:n";
/// Result key: number of valid points, finite in the input and not fill points (`uint64`).
pub const VALID_POINTS: &str = "error_stat:valid_points";

/// Register the `error_stat` metric.
pub fn register(builder: &mut RegistryBuilder) -> Result<()> {
    builder.metric(ID, |_| Box::new(ErrorStatMetric::default()))?;
    Ok(())
}

/// The statistics the metric reports (see the crate documentation for the definitions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorStats {
    /// Number of value pairs used.
    pub n: u64,
    /// Number of points finite in the input and not fill points.
    pub valid_points: u64,
    /// Value-range PSNR in dB.
    pub psnr: f64,
    /// Mean squared error.
    pub mse: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean of the original values.
    pub value_mean: f64,
    /// Population standard deviation of the original values.
    pub value_std: f64,
    /// Minimum original value.
    pub value_min: f64,
    /// Maximum original value.
    pub value_max: f64,
    /// `value_max - value_min`.
    pub value_range: f64,
    /// Smallest absolute error.
    pub min_error: f64,
    /// Largest absolute error.
    pub max_error: f64,
    /// `min_error / value_range`.
    pub min_rel_error: f64,
    /// `max_error / value_range`.
    pub max_rel_error: f64,
    /// Smallest `|x - x̂| / |x|` over `x != 0`.
    pub min_pw_rel_error: f64,
    /// Largest `|x - x̂| / |x|` over `x != 0`.
    pub max_pw_rel_error: f64,
    /// Mean of `x - x̂`.
    pub average_difference: f64,
    /// Mean of `|x - x̂|`.
    pub average_error: f64,
    /// Largest minus smallest `x - x̂`.
    pub difference_range: f64,
    /// `max_error - min_error`.
    pub error_range: f64,
}

impl ErrorStats {
    /// Every result key of the metric with these values.
    pub fn to_options(&self) -> Options {
        let mut o = Options::new();
        o.set(N, self.n);
        o.set(VALID_POINTS, self.valid_points);
        for (k, v) in self.doubles() {
            o.set(k, v);
        }
        o
    }

    fn doubles(&self) -> [(&'static str, f64); 18] {
        [
            (PSNR, self.psnr),
            (MSE, self.mse),
            (RMSE, self.rmse),
            (VALUE_MEAN, self.value_mean),
            (VALUE_STD, self.value_std),
            (VALUE_MIN, self.value_min),
            (VALUE_MAX, self.value_max),
            (VALUE_RANGE, self.value_range),
            (MIN_ERROR, self.min_error),
            (MAX_ERROR, self.max_error),
            (MIN_REL_ERROR, self.min_rel_error),
            (MAX_REL_ERROR, self.max_rel_error),
            (MIN_PW_REL_ERROR, self.min_pw_rel_error),
            (MAX_PW_REL_ERROR, self.max_pw_rel_error),
            (AVERAGE_DIFFERENCE, self.average_difference),
            (AVERAGE_ERROR, self.average_error),
            (DIFFERENCE_RANGE, self.difference_range),
            (ERROR_RANGE, self.error_range),
        ]
    }
}

/// The keys of the 18 `double` results, in the order of [`ErrorStats::to_options`].
pub const DOUBLE_KEYS: [&str; 18] = [
    PSNR,
    MSE,
    RMSE,
    VALUE_MEAN,
    VALUE_STD,
    VALUE_MIN,
    VALUE_MAX,
    VALUE_RANGE,
    MIN_ERROR,
    MAX_ERROR,
    MIN_REL_ERROR,
    MAX_REL_ERROR,
    MIN_PW_REL_ERROR,
    MAX_PW_REL_ERROR,
    AVERAGE_DIFFERENCE,
    AVERAGE_ERROR,
    DIFFERENCE_RANGE,
    ERROR_RANGE,
];

/// Neumaier-compensated running sum.
#[derive(Debug, Clone, Copy, Default)]
struct Sum {
    sum: f64,
    comp: f64,
}

impl Sum {
    fn add(&mut self, v: f64) {
        let t = self.sum + v;
        if self.sum.abs() >= v.abs() {
            self.comp += (self.sum - t) + v;
        } else {
            self.comp += (v - t) + self.sum;
        }
        self.sum = t;
    }

    fn value(&self) -> f64 {
        let v = self.sum + self.comp;
        // once infinities or NaN appear the compensation is meaningless
        if v.is_finite() {
            v
        } else {
            self.sum
        }
    }
}

/// Streaming accumulator of the statistics over (original, decompressed) pairs.
#[derive(Debug, Clone, Default)]
struct Accumulator {
    valid: u64,
    /// Moments of the pairs used in the finished chunks (the original's mean and variance are
    /// reported).
    moments: Moments,
    /// Sums of the pairs used in the current chunk.
    chunk: WindowSums,
    values: Extremes,
    sum_diff: Sum,
    sum_err: Sum,
    sum_sq: Sum,
    diffs: Extremes,
    errors: Extremes,
    pw_n: u64,
    pw: Extremes,
}

impl Accumulator {
    #[inline]
    fn push(&mut self, x: f64, y: f64) {
        if x.is_finite() {
            self.valid += 1;
        }
        // the same non-finite value on both sides was reproduced exactly: skip it
        if same_non_finite(x, y) {
            return;
        }
        self.chunk.push(x, y);
        self.values.push(x);
        let diff = x - y;
        let err = diff.abs();
        self.sum_diff.add(diff);
        self.sum_err.add(err);
        self.sum_sq.add(diff * diff);
        self.diffs.push(diff);
        self.errors.push(err);
        if x != 0.0 {
            self.pw_n += 1;
            self.pw.push(err / x.abs());
        }
    }

    /// Fold the current chunk's sums into the moments.
    fn end_chunk(&mut self) {
        self.moments.merge(&self.chunk.moments());
        self.chunk = WindowSums::default();
    }

    fn finish(&mut self) -> ErrorStats {
        self.end_chunk();
        let nan = f64::NAN;
        let count = self.moments.count();
        if count == 0 {
            return ErrorStats {
                n: 0,
                valid_points: self.valid,
                psnr: nan,
                mse: nan,
                rmse: nan,
                value_mean: nan,
                value_std: nan,
                value_min: nan,
                value_max: nan,
                value_range: nan,
                min_error: nan,
                max_error: nan,
                min_rel_error: nan,
                max_rel_error: nan,
                min_pw_rel_error: nan,
                max_pw_rel_error: nan,
                average_difference: nan,
                average_error: nan,
                difference_range: nan,
                error_range: nan,
            };
        }
        let n = count as f64;
        let value_range = self.values.span();
        let mse = self.sum_sq.value() / n;
        let rmse = mse.sqrt();
        let psnr = if mse == 0.0 {
            f64::INFINITY
        } else {
            -20.0 * (rmse / value_range).log10()
        };
        let (pwmin, pwmax) = if self.pw_n == 0 {
            (nan, nan)
        } else {
            (self.pw.min(), self.pw.max())
        };
        let (emin, emax) = (self.errors.min(), self.errors.max());
        ErrorStats {
            n: count,
            valid_points: self.valid,
            psnr,
            mse,
            rmse,
            value_mean: self.moments.mean_x(),
            value_std: self.moments.var_x().sqrt(),
            value_min: self.values.min(),
            value_max: self.values.max(),
            value_range,
            min_error: emin,
            max_error: emax,
            min_rel_error: emin / value_range,
            max_rel_error: emax / value_range,
            min_pw_rel_error: pwmin,
            max_pw_rel_error: pwmax,
            average_difference: self.sum_diff.value() / n,
            average_error: self.sum_err.value() / n,
            difference_range: self.diffs.span(),
            error_range: self.errors.span(),
        }
    }
}

/// Convert elements `start..start + out.len()` of `d` to `f64`.
fn read_f64(d: &Data, start: usize, out: &mut [f64]) {
    fn conv<T: Element>(d: &Data, start: usize, out: &mut [f64]) {
        if let Ok(s) = d.as_slice::<T>() {
            let end = start + out.len();
            for (o, v) in out.iter_mut().zip(&s[start..end]) {
                *o = v.to_f64();
            }
        }
    }
    match d.dtype() {
        DType::Double => conv::<f64>(d, start, out),
        DType::Float => conv::<f32>(d, start, out),
        DType::Uint8 => conv::<u8>(d, start, out),
        DType::Uint16 => conv::<u16>(d, start, out),
        DType::Uint32 => conv::<u32>(d, start, out),
        DType::Uint64 => conv::<u64>(d, start, out),
        DType::Int8 => conv::<i8>(d, start, out),
        DType::Int16 => conv::<i16>(d, start, out),
        DType::Int32 => conv::<i32>(d, start, out),
        DType::Int64 => conv::<i64>(d, start, out),
        DType::Byte | DType::Bool => {
            let end = start + out.len();
            for (o, b) in out.iter_mut().zip(&d.bytes()[start..end]) {
                *o = *b as f64;
            }
        }
    }
}

fn accumulate(
    acc: &mut Accumulator,
    original: &Data,
    decompressed: &Data,
    fill: &FillSpec,
) -> Result<()> {
    let n = held_elements(original, ID, "uncompressed")?;
    let m = held_elements(decompressed, ID, "decompressed")?;
    if n != m {
        return Err(PressioError::InvalidInput(format!(
            "error_stat: uncompressed data has {n} elements, decompressed data has {m}"
        )));
    }
    let mask = fill_mask(original, fill)?;
    const CHUNK: usize = 4096;
    let mut xs = [0f64; CHUNK];
    let mut ys = [0f64; CHUNK];
    let mut start = 0;
    while start < n {
        let len = CHUNK.min(n - start);
        read_f64(original, start, &mut xs[..len]);
        read_f64(decompressed, start, &mut ys[..len]);
        let pairs = xs[..len].iter().zip(&ys[..len]);
        match &mask {
            None => pairs.for_each(|(&x, &y)| acc.push(x, y)),
            // fill points are left out whatever the decompressed buffer holds there
            Some(mask) => pairs
                .zip(&mask[start..start + len])
                .filter(|(_, f)| !**f)
                .for_each(|((&x, &y), _)| acc.push(x, y)),
        }
        acc.end_chunk();
        start += len;
    }
    Ok(())
}

/// Statistics of `decompressed` against `original` (element by element, in memory order) over
/// the valid points under `fill` (`FillSpec::none()`: every pair, as LibPressio).
pub fn error_stats(original: &Data, decompressed: &Data, fill: &FillSpec) -> Result<ErrorStats> {
    error_stats_many(&[(original, decompressed)], fill)
}

/// Statistics over several (original, decompressed) pairs taken together as one sequence,
/// over the valid points of each under `fill`.
pub fn error_stats_many(pairs: &[(&Data, &Data)], fill: &FillSpec) -> Result<ErrorStats> {
    let mut acc = Accumulator::default();
    for (o, d) in pairs {
        accumulate(&mut acc, o, d, fill)?;
    }
    Ok(acc.finish())
}

/// The `error_stat` statistic behind [`ErrorStatMetric`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorStat;

/// The `error_stat` metrics plugin.
pub type ErrorStatMetric = PairMetric<ErrorStat>;

impl PairStatistic for ErrorStat {
    type Output = ErrorStats;

    fn id(&self) -> &'static str {
        ID
    }

    fn compute(&self, pairs: &[(&Data, &Data)], fill: &FillSpec) -> Result<ErrorStats> {
        error_stats_many(pairs, fill)
    }

    fn results(&self, output: Option<&ErrorStats>) -> Options {
        match output {
            Some(s) => s.to_options(),
            None => {
                let mut o = Options::new();
                o.set_or_placeholder::<u64>(N, None);
                o.set_or_placeholder::<u64>(VALID_POINTS, None);
                for k in DOUBLE_KEYS {
                    o.set_or_placeholder::<f64>(k, None);
                }
                o
            }
        }
    }

    fn documentation(&self) -> Options {
        let mut d = Options::new();
        d.set(
            pressio_ml_core::keys::DESCRIPTION,
            "error_stat metric: pointwise error statistics (PSNR, MSE, value range, absolute, \
             range-relative and pointwise-relative errors) between the input and the \
             decompressed output, computed in double precision over the valid points (fill \
             points under pressio:fill_mode auto or values are left out)",
        );
        let docs: [(&str, &str); 20] = [
            (N, "number of value pairs used: the valid points, plus the non-finite values that were not reproduced exactly (pairs holding the same non-finite value on both sides, and fill points unless pressio:fill_mode is none, are skipped)"),
            (VALID_POINTS, "number of valid points: finite in the input and not fill points under pressio:fill_mode (under none: the finite points); the statistics are over these"),
            (PSNR, "value-range PSNR in dB: -20 log10(rmse / value_range); +inf when mse is 0"),
            (MSE, "mean squared error: sum of (x - x_hat)^2 / n"),
            (RMSE, "root mean squared error: sqrt(mse)"),
            (VALUE_MEAN, "mean of the original values"),
            (VALUE_STD, "population standard deviation of the original values"),
            (VALUE_MIN, "minimum original value (fill points left out)"),
            (VALUE_MAX, "maximum original value (fill points left out)"),
            (VALUE_RANGE, "value_max - value_min of the original data: the valid range unless pressio:fill_mode is none"),
            (MIN_ERROR, "smallest absolute error |x - x_hat|"),
            (MAX_ERROR, "largest absolute error |x - x_hat|"),
            (MIN_REL_ERROR, "min_error / value_range"),
            (MAX_REL_ERROR, "max_error / value_range"),
            (MIN_PW_REL_ERROR, "smallest |x - x_hat| / |x| over the values with x != 0 (NaN if none)"),
            (MAX_PW_REL_ERROR, "largest |x - x_hat| / |x| over the values with x != 0 (NaN if none)"),
            (AVERAGE_DIFFERENCE, "mean signed difference x - x_hat"),
            (AVERAGE_ERROR, "mean absolute error |x - x_hat|"),
            (DIFFERENCE_RANGE, "largest minus smallest signed difference x - x_hat"),
            (ERROR_RANGE, "max_error - min_error"),
        ];
        for (k, v) in docs {
            d.set(k, v);
        }
        d
    }
}
