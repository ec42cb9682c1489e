//! Choosing a compressor's bound for a quality target: by DeepCQ's predictions (one real
//! compression to verify, more only when the prediction missed), or by plain bisection with
//! real compressions (the baseline OptZConfig-style searches pay).
//!
//! The search by prediction refines a miss in two ways: while every measurement lies on one
//! side of the target, it shifts the predicted curve by the last measured error and reads the
//! next bound off it; once measurements bracket the target, it takes a secant step between the
//! two closest (in log bound against the metric's target space). Both stay inside the bracket
//! the measurements allow, falling back to its geometric midpoint.
//!
//! Targets: a compression ratio, a PSNR, or a minimum SSIM (the loosest bound whose SSIM stays
//! at or above it). A ratio or PSNR is reached when the measured value is within `tolerance`
//! (relative) of the target; a minimum SSIM when the measured SSIM is at least the target and
//! its distortion `1 - SSIM` is within `tolerance` of the allowed `1 - target`.

use crate::labels::measure;
use crate::model::LoadedModel;
use crate::net::HeadKind;
use crate::targets::Quality;
use pressio_ml_core::{Data, PressioError, Registry, Result};
use serde::Serialize;
use std::time::Instant;

/// A quality target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A compression ratio.
    Ratio(f64),
    /// A PSNR in dB.
    Psnr(f64),
    /// A minimum SSIM.
    MinSsim(f64),
}

impl Target {
    /// The metric the target is about.
    pub fn quality(self) -> Quality {
        match self {
            Target::Ratio(_) => Quality::Ratio,
            Target::Psnr(_) => Quality::Psnr,
            Target::MinSsim(_) => Quality::Ssim,
        }
    }

    /// The target value.
    pub fn value(self) -> f64 {
        match self {
            Target::Ratio(v) | Target::Psnr(v) | Target::MinSsim(v) => v,
        }
    }

    /// Refuse non-finite values, ratios <= 1 and SSIMs outside (0, 1).
    pub fn validate(self) -> Result<()> {
        let ok = match self {
            Target::Ratio(r) => r > 1.0 && r.is_finite(),
            Target::Psnr(p) => p > 0.0 && p.is_finite(),
            Target::MinSsim(s) => s > 0.0 && s < 1.0,
        };
        if ok {
            Ok(())
        } else {
            Err(PressioError::InvalidArgument(format!(
                "invalid target {self:?} (a ratio above 1, a positive PSNR, or an SSIM in (0, 1))"
            )))
        }
    }

    /// Whether `actual` meets the target within `tolerance`.
    pub fn met(self, actual: f64, tolerance: f64) -> bool {
        match self {
            Target::Ratio(v) | Target::Psnr(v) => ((actual - v) / v).abs() <= tolerance,
            Target::MinSsim(s) => actual >= s && (1.0 - actual) >= (1.0 - s) * (1.0 - tolerance),
        }
    }

    /// +1 when the bound must grow to get closer, -1 when it must shrink.
    fn direction(self, actual: f64) -> f64 {
        match self {
            Target::Ratio(v) => (v - actual).signum(),
            Target::Psnr(v) => (actual - v).signum(),
            Target::MinSsim(s) => {
                if actual >= s {
                    1.0
                } else {
                    -1.0
                }
            }
        }
    }

    /// The value a search aims at (a minimum SSIM aims inside its tolerance band).
    fn aim(self, tolerance: f64) -> f64 {
        match self {
            Target::MinSsim(s) => 1.0 - (1.0 - s) * (1.0 - tolerance / 2.0),
            t => t.value(),
        }
    }
}

/// One real compression of a search.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Relative bound tried.
    pub bound: f64,
    /// Predicted value there (searches by prediction).
    pub predicted: Option<f64>,
    /// Measured value.
    pub actual: f64,
}

/// The result of a search.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The bound chosen (the one closest to the target when it was not met).
    pub bound: f64,
    /// Measured value at that bound.
    pub actual: f64,
    /// Whether the target was met.
    pub met: bool,
    /// Real compressions used.
    pub compressions: usize,
    /// Wall time in seconds, prediction included.
    pub seconds: f64,
    /// Every real compression, in order.
    pub steps: Vec<Step>,
}

fn quality_at(
    registry: &Registry,
    compressor: &str,
    data: &Data,
    rel: f64,
    q: Quality,
) -> Result<f64> {
    let v = measure(registry, compressor, data, rel)?;
    Ok(v[match q {
        Quality::Ratio => 0,
        Quality::Psnr => 1,
        Quality::Ssim => 2,
    }])
}

/// Bracketed search in log-bound space: `propose` gives the next bound from the bracket and
/// the history; falls back to the bracket's geometric midpoint when it proposes nothing useful.
#[allow(clippy::too_many_arguments)]
fn bracketed(
    registry: &Registry,
    compressor: &str,
    data: &Data,
    target: Target,
    tolerance: f64,
    range: [f64; 2],
    max_compressions: usize,
    first: f64,
    mut propose: impl FnMut(&[Step], f64, f64) -> Option<f64>,
    predicted: impl Fn(f64) -> Option<f64>,
) -> Result<Outcome> {
    let started = Instant::now();
    let q = target.quality();
    let (mut lo, mut hi) = (range[0].ln(), range[1].ln());
    let mut steps: Vec<Step> = Vec::new();
    let mut b = first.clamp(range[0], range[1]);
    loop {
        let actual = quality_at(registry, compressor, data, b, q)?;
        steps.push(Step {
            bound: b,
            predicted: predicted(b),
            actual,
        });
        if target.met(actual, tolerance) || steps.len() >= max_compressions {
            break;
        }
        if target.direction(actual) > 0.0 {
            lo = lo.max(b.ln());
        } else {
            hi = hi.min(b.ln());
        }
        // a bracket narrower than 0.1% of the bound: the metric jumps there (zfp's ratio moves
        // in steps), and no bound inside reaches the target
        if hi - lo < 1e-3 {
            break;
        }
        let mid = ((lo + hi) / 2.0).exp();
        b = match propose(&steps, lo.exp(), hi.exp()) {
            Some(p) if p.ln() > lo + 1e-9 && p.ln() < hi - 1e-9 => p,
            _ => mid,
        };
        if steps.iter().any(|s| (s.bound / b - 1.0).abs() < 1e-9) {
            b = mid;
        }
    }
    // the last step that met the target, else the closest one
    let miss = |s: &Step| ((s.actual - target.value()) / target.value()).abs();
    let best = steps
        .iter()
        .rev()
        .find(|s| target.met(s.actual, tolerance))
        .or_else(|| steps.iter().min_by(|a, b| miss(a).total_cmp(&miss(b))))
        .cloned()
        .ok_or_else(|| PressioError::Internal("search without a step".into()))?;
    Ok(Outcome {
        bound: best.bound,
        actual: best.actual,
        met: target.met(best.actual, tolerance),
        compressions: steps.len(),
        seconds: started.elapsed().as_secs_f64(),
        steps,
    })
}

/// Plain bisection of the relative bound in log space over `range`, with real compressions.
pub fn bisection(
    registry: &Registry,
    compressor: &str,
    data: &Data,
    target: Target,
    tolerance: f64,
    range: [f64; 2],
    max_compressions: usize,
) -> Result<Outcome> {
    target.validate()?;
    let first = (range[0] * range[1]).sqrt();
    bracketed(
        registry,
        compressor,
        data,
        target,
        tolerance,
        range,
        max_compressions,
        first,
        |_, _, _| None,
        |_| None,
    )
}

/// Bounds of the dense prediction grid.
pub const GRID: usize = 200;

/// Search guided by DeepCQ: predict the metric over a dense grid of bounds in the model's
/// range, start at the bound whose prediction meets the target, and when the measured value
/// misses, shift the predicted curve by the observed error (in the metric's target space) and
/// read the next bound off it, inside the bracket the measurements allow.
#[allow(clippy::too_many_arguments)]
pub fn by_prediction(
    registry: &Registry,
    model: &LoadedModel,
    kind: HeadKind,
    compressor: &str,
    data: &Data,
    target: Target,
    tolerance: f64,
    max_compressions: usize,
) -> Result<Outcome> {
    target.validate()?;
    let started = Instant::now();
    let q = target.quality();
    let head = model
        .hyper
        .heads
        .iter()
        .position(|h| h.compressor == compressor && h.quality == q)
        .ok_or_else(|| {
            PressioError::InvalidArgument(format!(
                "deepcq model `{}` has no {} head for compressor `{compressor}` (it has: {})",
                model.manifest.name,
                q.name(),
                model.hyper.compressors().join(", ")
            ))
        })?;
    let (features, _) = model.data_features(data, &pressio_ml_core::FillSpec::default())?;
    let range = model.hyper.bound_range;
    let grid = crate::labels::log_bounds(range[0], range[1], GRID);
    let h = model.hyper.heads.len();
    let all = model.predict(&features, &grid, kind)?;
    let curve: Vec<f64> = (0..GRID).map(|i| all[i * h + head]).collect();
    let to_t = |v: f64| q.to_target(v).unwrap_or(f64::NAN);
    let aim = to_t(target.aim(tolerance));
    // the grid bound whose shifted prediction is closest to the aim, within [lo, hi]
    let read = |shift: f64, lo: f64, hi: f64| -> Option<f64> {
        grid.iter()
            .zip(&curve)
            .filter(|(b, _)| **b > lo && **b < hi)
            .map(|(b, p)| (*b, (to_t(*p) + shift - aim).abs()))
            .filter(|(_, d)| d.is_finite())
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(b, _)| b)
    };
    let first = match target {
        Target::MinSsim(s) => grid
            .iter()
            .zip(&curve)
            .filter(|(_, p)| **p >= target.aim(tolerance).max(s))
            .map(|(b, _)| *b)
            .next_back()
            .unwrap_or(range[0]),
        _ => read(0.0, 0.0, f64::INFINITY).unwrap_or((range[0] * range[1]).sqrt()),
    };
    let predicted_at = |b: f64| -> Option<f64> {
        let i = grid
            .iter()
            .enumerate()
            .min_by(|x, y| {
                (x.1.ln() - b.ln())
                    .abs()
                    .total_cmp(&(y.1.ln() - b.ln()).abs())
            })?
            .0;
        Some(curve[i])
    };
    let mut outcome = bracketed(
        registry,
        compressor,
        data,
        target,
        tolerance,
        [range[0] * 1e-2, range[1] * 10.0],
        max_compressions,
        first,
        |steps, lo, hi| {
            // measurements on both sides of the aim: interpolate between the closest two (in
            // log bound and the metric's target space), as a secant step
            let side = |s: &&Step| target.direction(s.actual) > 0.0;
            let below = steps
                .iter()
                .filter(side)
                .max_by(|a, b| a.bound.total_cmp(&b.bound));
            let above = steps
                .iter()
                .filter(|s| !side(s))
                .min_by(|a, b| a.bound.total_cmp(&b.bound));
            if let (Some(a), Some(b)) = (below, above) {
                let (ta, tb) = (to_t(a.actual), to_t(b.actual));
                if ta.is_finite() && tb.is_finite() && (tb - ta).abs() > 1e-12 {
                    let x = a.bound.ln() + (aim - ta) * (b.bound.ln() - a.bound.ln()) / (tb - ta);
                    return Some(x.exp());
                }
            }
            // otherwise the predicted curve, shifted by the last measurement's error
            let last = steps.last()?;
            let shift = to_t(last.actual) - to_t(predicted_at(last.bound)?);
            read(shift, lo, hi)
        },
        predicted_at,
    )?;
    outcome.seconds = started.elapsed().as_secs_f64();
    Ok(outcome)
}

/// Option: target compression ratio of [`run_options`].
pub const KEY_TARGET_RATIO: &str = "deepcq:target_ratio";
/// Option: target PSNR of [`run_options`].
pub const KEY_TARGET_PSNR: &str = "deepcq:target_psnr";
/// Option: minimum SSIM of [`run_options`].
pub const KEY_MIN_SSIM: &str = "deepcq:min_ssim";
/// Option: relative tolerance of [`run_options`] (default 0.05).
pub const KEY_TOLERANCE: &str = "deepcq:tolerance";
/// Option: most real compressions of [`run_options`] (default 16).
pub const KEY_MAX_COMPRESSIONS: &str = "deepcq:max_compressions";
/// Option: `deepcq` (default) or `bisection`.
pub const KEY_SEARCH: &str = "deepcq:search";

/// The search as an options-in, options-out call (what the C ABI's
/// `pressio_ml_deepcq_search` runs): `settings` holds exactly one of `deepcq:target_ratio`,
/// `deepcq:target_psnr`, `deepcq:min_ssim` (doubles), and optionally `deepcq:tolerance`
/// (double), `deepcq:max_compressions` (uint32), `deepcq:search` (`deepcq` or `bisection`),
/// `deepcq:model` and `deepcq:head`. Results: `deepcq:search:bound` (the relative bound to
/// use), `deepcq:search:achieved`, `deepcq:search:met` (bool), `deepcq:search:compressions`
/// (uint32) and `deepcq:search:seconds`.
pub fn run_options(
    registry: &Registry,
    compressor: &str,
    data: &Data,
    settings: &pressio_ml_core::Options,
) -> Result<pressio_ml_core::Options> {
    if !registry.has_compressor(compressor) {
        return Err(PressioError::UnknownCompressor(compressor.to_string()));
    }
    let get = |k: &str| settings.get_typed::<f64>(k);
    let target = match (
        get(KEY_TARGET_RATIO)?,
        get(KEY_TARGET_PSNR)?,
        get(KEY_MIN_SSIM)?,
    ) {
        (Some(r), None, None) => Target::Ratio(r),
        (None, Some(p), None) => Target::Psnr(p),
        (None, None, Some(s)) => Target::MinSsim(s),
        _ => {
            return Err(PressioError::InvalidArgument(format!(
                "set exactly one of {KEY_TARGET_RATIO}, {KEY_TARGET_PSNR}, {KEY_MIN_SSIM}"
            )))
        }
    };
    let tolerance = get(KEY_TOLERANCE)?.unwrap_or(0.05);
    if !(tolerance > 0.0 && tolerance < 1.0) {
        return Err(PressioError::invalid_option(
            KEY_TOLERANCE,
            "must be in (0, 1)",
        ));
    }
    let max = settings
        .get_typed::<u32>(KEY_MAX_COMPRESSIONS)?
        .unwrap_or(16)
        .clamp(1, 1000) as usize;
    let model_name = settings
        .get_typed::<String>(crate::metric::KEY_MODEL)?
        .unwrap_or_else(|| crate::model::DEFAULT_MODEL.to_string());
    let model = LoadedModel::load(&model_name)?;
    let kind = match settings
        .get_typed::<String>(crate::metric::KEY_HEAD)?
        .as_deref()
    {
        None | Some("auto") => model.hyper.default_head,
        Some(h) => HeadKind::parse(h).ok_or_else(|| {
            PressioError::invalid_option(crate::metric::KEY_HEAD, "auto, mlp or moe")
        })?,
    };
    let outcome = match settings.get_typed::<String>(KEY_SEARCH)?.as_deref() {
        None | Some("deepcq") => by_prediction(
            registry, &model, kind, compressor, data, target, tolerance, max,
        )?,
        Some("bisection") => bisection(
            registry,
            compressor,
            data,
            target,
            tolerance,
            model.hyper.bound_range,
            max,
        )?,
        Some(other) => {
            return Err(PressioError::invalid_option(
                KEY_SEARCH,
                format!("`{other}`: expected deepcq or bisection"),
            ))
        }
    };
    let mut o = pressio_ml_core::Options::new();
    o.set("deepcq:search:bound", outcome.bound);
    o.set("deepcq:search:achieved", outcome.actual);
    o.set("deepcq:search:met", outcome.met);
    o.set("deepcq:search:compressions", outcome.compressions as u32);
    o.set("deepcq:search:seconds", outcome.seconds);
    Ok(o)
}
