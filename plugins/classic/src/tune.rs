//! Choice of the interpolation parameters: fixed settings are used as given, automatic ones are
//! picked by [`pressio_ml_codec::interp::tune_params`] on sampled blocks.

use crate::body::{Choice, Direction, Predictor, Settings};
use pressio_ml_codec::interp::{
    roughness_order_on, sample_blocks, tune_params_on, InterpKind, InterpParams, TuneSpace,
};
use pressio_ml_codec::quantizer::Float;
use pressio_ml_core::Result;

/// Fraction of the values test-compressed per candidate (1/16), within
/// [`MIN_SAMPLE`, `MAX_SAMPLE`].
pub const SAMPLE_DIVISOR: usize = 16;
/// Smallest sample.
pub const MIN_SAMPLE: usize = 16 * 1024;
/// Arrays up to this many values are test-compressed whole (exact comparisons, every order).
pub const EXACT_LIMIT: usize = 64 * 1024;
/// Largest sample.
pub const MAX_SAMPLE: usize = 512 * 1024;

fn order(dir: Direction, ndims: usize) -> Vec<usize> {
    match dir {
        Direction::SlowestFirst => (0..ndims).rev().collect(),
        Direction::FastestFirst => (0..ndims).collect(),
    }
}

/// What the body runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    /// Interpolation with these parameters.
    Interp(InterpParams),
    /// Lorenzo.
    Lorenzo,
    /// Both (interpolation with these parameters, and Lorenzo): the smaller stream wins.
    Both(InterpParams),
}

/// Resolve the predictor and the automatic choices for `values` (squeezed `dims`, absolute
/// bound `abs`). `auto` compresses both ways (sampled estimates proved unreliable for this
/// choice on highly compressible fields) and the body keeps the smaller stream. `parallel`
/// tunes on the current rayon pool.
pub fn resolve<T: Float>(
    values: &[T],
    dims: &[usize],
    abs: f64,
    s: &Settings,
    parallel: bool,
) -> Result<Resolved> {
    let params = || choose_params_on(values, dims, abs, s, parallel);
    match s.predictor {
        Predictor::Lorenzo => Ok(Resolved::Lorenzo),
        Predictor::Interp => Ok(Resolved::Interp(params()?)),
        Predictor::Auto => Ok(Resolved::Both(params()?)),
    }
}

/// Resolve the settings' automatic interpolation choices for `values` (squeezed `dims`,
/// absolute bound `abs`).
pub fn choose_params<T: Float>(
    values: &[T],
    dims: &[usize],
    abs: f64,
    s: &Settings,
) -> Result<InterpParams> {
    choose_params_on(values, dims, abs, s, false)
}

/// [`choose_params`], test-compressing the samples on the current rayon pool when `parallel`
/// (the choice does not depend on it).
pub fn choose_params_on<T: Float>(
    values: &[T],
    dims: &[usize],
    abs: f64,
    s: &Settings,
    parallel: bool,
) -> Result<InterpParams> {
    let mut full = TuneSpace::full(dims.len());
    let budget = if values.len() <= EXACT_LIMIT {
        values.len()
    } else {
        (values.len() / SAMPLE_DIVISOR).clamp(MIN_SAMPLE, MAX_SAMPLE)
    };
    // The roughness order goes first. On sampled blocks, boundary effects make order
    // comparisons unreliable, so only slowest-first is tried against it, with a 5% margin; when
    // the whole array is test-compressed every order competes.
    let rough = roughness_order_on(values, dims, parallel);
    full.orders.retain(|o| *o != rough);
    full.orders.insert(0, rough);
    if values.len() > budget {
        full.orders.truncate(2);
        full.margins[1] = 0.05;
    }
    let space = TuneSpace {
        kinds: match s.interp_algo {
            Choice::Fixed(k) => vec![k],
            Choice::Auto => full.kinds,
        },
        orders: match s.direction {
            Choice::Fixed(d) => vec![order(d, dims.len())],
            Choice::Auto => full.orders,
        },
        level_bounds: match s.level_bounds {
            Choice::Fixed(ab) => vec![ab],
            Choice::Auto => full.level_bounds,
        },
        margins: full.margins,
        parallel,
    };
    let base = InterpParams {
        kind: space.kinds.first().copied().unwrap_or(InterpKind::Cubic),
        dim_order: space.orders.first().cloned(),
        alpha: space.level_bounds.first().map_or(1.25, |p| p.0),
        beta: space.level_bounds.first().map_or(2.0, |p| p.1),
        anchor_stride: s.anchor_stride as usize,
        radius: s.radius,
    };
    let tuned = space.kinds.len() > 1 || space.orders.len() > 1 || space.level_bounds.len() > 1;
    if !tuned || abs <= 0.0 {
        return Ok(tune_params_on::<T>(&[], abs, &base, &space)?.0);
    }
    let samples = sample_blocks(values, dims, budget);
    Ok(tune_params_on(&samples, abs, &base, &space)?.0)
}
