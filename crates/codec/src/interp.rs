//! SZ3/QoZ-style multilevel interpolation prediction for 1 to 4 dimensions.
//!
//! # Hierarchy
//!
//! Axes are in LibPressio order (`dims[0]` fastest) after dropping extents of 1
//! ([`squeeze_dims`]). An *anchor grid* (every coordinate a multiple of the anchor stride `A`,
//! a power of two) is stored losslessly. When every extent is at most the requested stride the
//! grid degenerates to the single first point and `A` becomes the next power of two of the largest
//! extent, which is SZ3's "first point" scheme. Then `log2(A)` levels follow, coarsest first: level
//! `l` (numbered `L..1`) has stride `s = 2^(l-1)` and predicts every point on the `s` grid that is
//! not on the `2s` grid.
//!
//! Within a level the axes are processed one at a time in the level's `dim_order`: the pass along
//! axis `a` predicts the points at odd multiples of `s` along `a`, at multiples of `s` along the
//! axes already processed in this level and at multiples of `2s` along the others, from their
//! reconstructed neighbours at `+-s` and `+-3s` along `a`. Every pass only reads points fixed by
//! earlier passes, so the decoder replays it exactly.
//!
//! # Predictors
//!
//! Along a line of `n` points (index `i` odd, `x_k` the value `k` steps of `s` away):
//!
//! * linear: `(x_-1 + x_1) / 2`; the last point without a right neighbour extrapolates
//!   `-x_-3 / 2 + 3 x_-1 / 2` (or copies `x_-1` when `i == 1`);
//! * cubic: `(-x_-3 + 9 x_-1 + 9 x_1 - x_3) / 16` inside; `(3 x_-1 + 6 x_1 - x_3) / 8` at `i == 1`;
//!   `(-x_-3 + 6 x_-1 + 3 x_1) / 8` next to the end; the linear rules where even those neighbours
//!   are missing (SZ3's boundary fallbacks, applied to whole lines instead of SZ3's 32-point
//!   blocks).
//! * external: a per-level prediction array supplied by an [`ExternalPredictor`] (the hook that
//!   learned compressors use to replace the interpolation of some levels). The predictor may
//!   leave some classes of points to interpolation ([`ExternalPredictor::covers`]); those are
//!   interpolated with the level's fallback formula from the values reconstructed so far.
//!   [`compress_choosing`] lets the encoder keep, per level, whichever of the two codes smaller.
//!
//! Each level has its own error bound (QoZ: `e_l = e / min(alpha^(l-1), beta)`, see
//! [`InterpPlan::standard`]), all quantized with [`LinearQuantizer`] into one code stream in
//! traversal order.

use crate::quantizer::{
    CodeStats, Dequantizer, Float, LinearQuantizer, SizeEstimator, DEFAULT_RADIUS, MAX_RADIUS,
};
use pressio_ml_core::{PressioError, Result};
use rayon::prelude::*;

/// Drop extents of 1 from `dims` (fastest first) after checking that they describe `len` values.
/// Returns `[1]` for a single value. Zero extents, overflow and mismatches are errors.
pub fn squeeze_dims(dims: &[usize], len: usize) -> Result<Vec<usize>> {
    if dims.is_empty() {
        return Err(PressioError::InvalidDims("no dimensions".into()));
    }
    let total = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| PressioError::InvalidDims(format!("{dims:?} overflows")))?;
    if total == 0 {
        return Err(PressioError::InvalidDims(format!(
            "{dims:?} has a zero extent"
        )));
    }
    if total != len {
        return Err(PressioError::InvalidDims(format!(
            "{len} values do not match dims {dims:?}"
        )));
    }
    let d: Vec<usize> = dims.iter().copied().filter(|&x| x > 1).collect();
    Ok(if d.is_empty() { vec![1] } else { d })
}

/// Merge the slowest axes so that at most four remain (`[a, b, c, d, e]` becomes
/// `[a, b, c, d * e]`); the memory layout is unchanged.
pub fn merge_to_four(dims: &[usize]) -> Vec<usize> {
    if dims.len() <= 4 {
        return dims.to_vec();
    }
    let mut d = dims[..3].to_vec();
    d.push(dims[3..].iter().product());
    d
}

/// The interpolation formula family of a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterpKind {
    /// Linear interpolation (two neighbours).
    Linear,
    /// Cubic interpolation (four neighbours) with quadratic/linear boundary fallbacks.
    Cubic,
}

/// How the points of one level are predicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelPredictor {
    /// Built-in interpolation.
    Interp(InterpKind),
    /// Predictions supplied by an [`ExternalPredictor`]; the points it does not cover
    /// ([`ExternalPredictor::covers`]) are interpolated with this formula.
    External(InterpKind),
}

/// The settings of one level.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelPlan {
    /// Predictor of the level.
    pub predictor: LevelPredictor,
    /// Order of the axis passes (a permutation of `0..ndims`, axes of the squeezed dims).
    pub dim_order: Vec<usize>,
    /// Absolute error bound of the level (must not exceed the field's bound).
    pub eb: f64,
}

/// What an [`ExternalPredictor`] is asked to predict.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelInfo {
    /// Position of the level in [`InterpPlan::levels`] (0 = coarsest).
    pub index: usize,
    /// Stride `s` of the level: the level predicts the points on the `s` grid that are not on
    /// the `2s` grid; the points on the `2s` grid are already reconstructed.
    pub stride: usize,
    /// Squeezed dims, fastest first.
    pub dims: Vec<usize>,
}

/// A source of predictions for levels whose predictor is [`LevelPredictor::External`]
/// (e.g. a super-resolution network). It must be deterministic: the decoder calls it with the
/// same reconstructed values as the encoder.
pub trait ExternalPredictor<T: Float> {
    /// Write into `pred` a prediction for every point of the level (other entries are ignored).
    /// `recon` holds the reconstruction on the `2 * level.stride` grid and zeros everywhere
    /// else (the same array in the encoder and the decoder).
    fn predict_level(&mut self, level: &LevelInfo, recon: &[T], pred: &mut [T]) -> Result<()>;

    /// Whether `pred` holds the predictions of the level's points whose odd axes (coordinate an
    /// odd multiple of the stride) are the set bits of `odd_axes` (bit `a` for axis `a`, never
    /// 0). Uncovered points are interpolated from the reconstruction, after the covered points
    /// of earlier axis passes. The default covers every point.
    fn covers(&self, level: &LevelInfo, odd_axes: u8) -> bool {
        let _ = (level, odd_axes);
        true
    }
}

/// Tuning knobs for [`InterpPlan::standard`].
#[derive(Debug, Clone, PartialEq)]
pub struct InterpParams {
    /// Interpolation formula for every level.
    pub kind: InterpKind,
    /// Axis pass order for every level; `None` is slowest axis first (SZ3's default direction).
    pub dim_order: Option<Vec<usize>>,
    /// Level-wise bound growth `alpha >= 1` (1 = same bound on every level).
    pub alpha: f64,
    /// Cap `beta >= 1` on the level-wise bound reduction.
    pub beta: f64,
    /// Requested anchor stride (a power of two; 0 = [`default_anchor_stride`]).
    pub anchor_stride: usize,
    /// Quantization radius.
    pub radius: u32,
}

impl Default for InterpParams {
    fn default() -> Self {
        InterpParams {
            kind: InterpKind::Cubic,
            dim_order: None,
            alpha: 1.25,
            beta: 2.0,
            anchor_stride: 0,
            radius: DEFAULT_RADIUS,
        }
    }
}

/// SZ3 3.x's default anchor stride for `ndims` squeezed axes: 4096, 128, 32, 16.
pub fn default_anchor_stride(ndims: usize) -> usize {
    match ndims {
        0 | 1 => 4096,
        2 => 128,
        3 => 32,
        _ => 16,
    }
}

/// The complete, serializable description of an interpolation run (the decoder needs exactly
/// the encoder's plan).
#[derive(Debug, Clone, PartialEq)]
pub struct InterpPlan {
    dims: Vec<usize>,
    anchor_stride: usize,
    radius: u32,
    levels: Vec<LevelPlan>,
    /// `(eb, alpha, beta)` while the levels are exactly [`InterpPlan::standard`]'s (a compact
    /// serialization).
    standard: Option<(f64, f64, f64)>,
}

/// `min(alpha^(l-1), beta)` by repeated multiplication (bit-identical on every platform).
fn level_ratio(alpha: f64, beta: f64, level: usize) -> f64 {
    let mut r = 1.0f64;
    for _ in 1..level {
        if r >= beta {
            break;
        }
        r *= alpha;
    }
    r.min(beta)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Largest anchor stride accepted (2^40).
const MAX_ANCHOR_STRIDE: usize = 1 << 40;

fn check_order(order: &[usize], ndims: usize) -> Result<()> {
    let mut seen = [false; 4];
    if order.len() != ndims || ndims > 4 {
        return Err(PressioError::InvalidArgument(format!(
            "dimension order {order:?} is not a permutation of 0..{ndims}"
        )));
    }
    for &a in order {
        if a >= ndims || seen[a] {
            return Err(PressioError::InvalidArgument(format!(
                "dimension order {order:?} is not a permutation of 0..{ndims}"
            )));
        }
        seen[a] = true;
    }
    Ok(())
}

impl InterpPlan {
    /// A plan for squeezed `dims` (1 to 4 axes, each > 1 unless there is a single value) with the
    /// requested anchor stride (a power of two, or 0 for [`default_anchor_stride`]) and radius.
    /// Every level starts as cubic, slowest axis first, with bound `eb`.
    pub fn new(dims: &[usize], anchor_stride: usize, radius: u32, eb: f64) -> Result<Self> {
        if dims.is_empty() || dims.len() > 4 || dims.contains(&0) {
            return Err(PressioError::InvalidDims(format!(
                "interpolation needs 1 to 4 non-empty dimensions, got {dims:?}"
            )));
        }
        if dims
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .is_none()
        {
            return Err(PressioError::InvalidDims(format!("{dims:?} overflows")));
        }
        if radius == 0 || radius > MAX_RADIUS {
            return Err(PressioError::InvalidArgument(format!(
                "bad radius {radius}"
            )));
        }
        if !eb.is_finite() || eb < 0.0 {
            return Err(PressioError::InvalidArgument(format!(
                "bad error bound {eb}"
            )));
        }
        let requested = if anchor_stride == 0 {
            default_anchor_stride(dims.len())
        } else {
            anchor_stride
        };
        if !requested.is_power_of_two() || requested > MAX_ANCHOR_STRIDE {
            return Err(PressioError::InvalidArgument(format!(
                "anchor stride {requested} is not a power of two <= 2^40"
            )));
        }
        let max_dim = dims.iter().copied().max().unwrap_or(1);
        let anchor = if max_dim > requested {
            requested
        } else {
            max_dim.next_power_of_two()
        };
        let nlevels = anchor.trailing_zeros() as usize;
        let order: Vec<usize> = (0..dims.len()).rev().collect();
        let levels = (0..nlevels)
            .map(|_| LevelPlan {
                predictor: LevelPredictor::Interp(InterpKind::Cubic),
                dim_order: order.clone(),
                eb,
            })
            .collect();
        Ok(InterpPlan {
            dims: dims.to_vec(),
            anchor_stride: anchor,
            radius,
            levels,
            standard: None,
        })
    }

    /// The standard plan: `params.kind` everywhere, `params.dim_order`, and level bounds
    /// `e_l = eb / min(alpha^(l-1), beta)` for level number `l` (stride `2^(l-1)`).
    pub fn standard(dims: &[usize], eb: f64, params: &InterpParams) -> Result<Self> {
        if !(params.alpha >= 1.0
            && params.alpha.is_finite()
            && params.beta >= 1.0
            && params.beta.is_finite())
        {
            return Err(PressioError::InvalidArgument(format!(
                "alpha {} and beta {} must be finite and >= 1",
                params.alpha, params.beta
            )));
        }
        let mut plan = InterpPlan::new(dims, params.anchor_stride, params.radius, eb)?;
        if let Some(o) = &params.dim_order {
            check_order(o, dims.len())?;
        }
        let n = plan.levels.len();
        for (i, lv) in plan.levels.iter_mut().enumerate() {
            lv.eb = eb / level_ratio(params.alpha, params.beta, n - i);
            lv.predictor = LevelPredictor::Interp(params.kind);
            if let Some(o) = &params.dim_order {
                lv.dim_order = o.clone();
            }
        }
        plan.standard = Some((eb, params.alpha, params.beta));
        Ok(plan)
    }

    /// Squeezed dims, fastest first.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// Number of values.
    pub fn num_elements(&self) -> usize {
        self.dims.iter().product()
    }

    /// Effective anchor stride (a power of two).
    pub fn anchor_stride(&self) -> usize {
        self.anchor_stride
    }

    /// Quantization radius.
    pub fn radius(&self) -> u32 {
        self.radius
    }

    /// Number of anchor points.
    pub fn num_anchors(&self) -> usize {
        self.dims
            .iter()
            .map(|&d| (d - 1) / self.anchor_stride + 1)
            .product()
    }

    /// Number of quantization codes (every non-anchor point).
    pub fn num_codes(&self) -> usize {
        self.num_elements() - self.num_anchors()
    }

    /// The levels, coarsest first.
    pub fn levels(&self) -> &[LevelPlan] {
        &self.levels
    }

    /// The levels, mutably (to change predictors, orders or bounds; [`InterpPlan::validate`]
    /// checks the result before use).
    pub fn levels_mut(&mut self) -> &mut [LevelPlan] {
        self.standard = None;
        &mut self.levels
    }

    /// Stride of level `index` (0 = coarsest).
    pub fn stride(&self, index: usize) -> usize {
        self.anchor_stride >> (index + 1)
    }

    /// Largest level bound (the bound the plan guarantees).
    pub fn max_eb(&self) -> f64 {
        self.levels.iter().map(|l| l.eb).fold(0.0, f64::max)
    }

    /// Check the levels (permutations, bounds).
    pub fn validate(&self) -> Result<()> {
        if self.levels.len() != self.anchor_stride.trailing_zeros() as usize {
            return Err(PressioError::InvalidArgument(
                "level count does not match the anchor stride".into(),
            ));
        }
        for lv in &self.levels {
            check_order(&lv.dim_order, self.dims.len())?;
            if !lv.eb.is_finite() || lv.eb < 0.0 {
                return Err(PressioError::InvalidArgument(format!(
                    "bad level bound {}",
                    lv.eb
                )));
            }
        }
        Ok(())
    }

    /// Append the plan to `out` (read back by [`InterpPlan::read_from`]). Layout: ndims u8,
    /// dims as varints, log2 anchor stride u8, radius varint, then either 1 and one
    /// predictor/order pair plus `eb`, `alpha`, `beta` (f64 LE) for a [`InterpPlan::standard`]
    /// plan, or 0 and a predictor u8, order u8 and bound f64 per level.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        fn level_bytes(lv: &LevelPlan) -> [u8; 2] {
            let p = match lv.predictor {
                LevelPredictor::Interp(InterpKind::Linear) => 0u8,
                LevelPredictor::Interp(InterpKind::Cubic) => 1,
                LevelPredictor::External(InterpKind::Linear) => 2,
                LevelPredictor::External(InterpKind::Cubic) => 3,
            };
            let mut order = 0u8;
            for (i, &a) in lv.dim_order.iter().enumerate() {
                order |= (a as u8) << (2 * i);
            }
            [p, order]
        }
        out.push(self.dims.len() as u8);
        for &d in &self.dims {
            put_varint(out, d as u64);
        }
        out.push(self.anchor_stride.trailing_zeros() as u8);
        put_varint(out, self.radius as u64);
        match (self.standard, self.levels.first()) {
            (Some((eb, alpha, beta)), Some(first)) => {
                out.push(1);
                out.extend_from_slice(&level_bytes(first));
                for v in [eb, alpha, beta] {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            _ => {
                out.push(0);
                for lv in &self.levels {
                    out.extend_from_slice(&level_bytes(lv));
                    out.extend_from_slice(&lv.eb.to_le_bytes());
                }
            }
        }
    }

    /// Parse a plan written by [`InterpPlan::write_to`]; returns it and the bytes consumed.
    pub fn read_from(bytes: &[u8]) -> Result<(Self, usize)> {
        let mut r = PlanReader { bytes, pos: 0 };
        let nd = r.u8()? as usize;
        if nd == 0 || nd > 4 {
            return Err(plan_error(&format!("{nd} dims")));
        }
        let mut dims = Vec::with_capacity(nd);
        for _ in 0..nd {
            let v = r.varint()?;
            dims.push(usize::try_from(v).map_err(|_| plan_error("dimension too large"))?);
        }
        let log_anchor = r.u8()? as u32;
        if log_anchor > 40 {
            return Err(plan_error("anchor stride too large"));
        }
        let radius = u32::try_from(r.varint()?).map_err(|_| plan_error("radius too large"))?;
        let anchor = 1usize << log_anchor;
        let parse_level = |r: &mut PlanReader<'_>| -> Result<(LevelPredictor, Vec<usize>)> {
            let p = match r.u8()? {
                0 => LevelPredictor::Interp(InterpKind::Linear),
                1 => LevelPredictor::Interp(InterpKind::Cubic),
                2 => LevelPredictor::External(InterpKind::Linear),
                3 => LevelPredictor::External(InterpKind::Cubic),
                p => return Err(plan_error(&format!("unknown level predictor {p}"))),
            };
            let order = r.u8()?;
            Ok((
                p,
                (0..nd).map(|i| ((order >> (2 * i)) & 3) as usize).collect(),
            ))
        };
        let plan = match r.u8()? {
            1 => {
                let (p, order) = parse_level(&mut r)?;
                let (eb, alpha, beta) = (r.f64()?, r.f64()?, r.f64()?);
                let LevelPredictor::Interp(kind) = p else {
                    return Err(plan_error("external level in a standard plan"));
                };
                let params = InterpParams {
                    kind,
                    dim_order: Some(order),
                    alpha,
                    beta,
                    anchor_stride: anchor,
                    radius,
                };
                InterpPlan::standard(&dims, eb, &params).map_err(|e| plan_error(&e.to_string()))?
            }
            0 => {
                let mut plan = InterpPlan::new(&dims, anchor, radius, 0.0)
                    .map_err(|e| plan_error(&e.to_string()))?;
                for lv in plan.levels.iter_mut() {
                    let (p, order) = parse_level(&mut r)?;
                    lv.predictor = p;
                    lv.dim_order = order;
                    lv.eb = r.f64()?;
                }
                plan
            }
            f => return Err(plan_error(&format!("unknown layout {f}"))),
        };
        if plan.anchor_stride != anchor {
            return Err(plan_error("inconsistent anchor stride"));
        }
        plan.validate().map_err(|e| plan_error(&e.to_string()))?;
        Ok((plan, r.pos))
    }
}

fn plan_error(what: &str) -> PressioError {
    PressioError::corrupt(format!("bad interpolation plan: {what}"))
}

/// Bounds-checked reader of serialized plans.
struct PlanReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl PlanReader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let s = self
            .bytes
            .get(self.pos..self.pos + n)
            .ok_or_else(|| plan_error("truncated"))?;
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn f64(&mut self) -> Result<f64> {
        let b: [u8; 8] = self
            .take(8)?
            .try_into()
            .map_err(|_| plan_error("truncated"))?;
        Ok(f64::from_le_bytes(b))
    }
    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(plan_error("varint too long"))
    }
}

/// The output of [`compress`].
#[derive(Debug, Clone, PartialEq)]
pub struct InterpEncoded<T: Float> {
    /// Anchor values, exact, in C order.
    pub anchors: Vec<T>,
    /// One code per non-anchor point in traversal order (0 = unpredictable).
    pub codes: Vec<u32>,
    /// Unpredictable values, exact, in traversal order.
    pub unpredictables: Vec<T>,
}

/// Padded 4-D geometry.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    n: [usize; 4],
    st: [usize; 4],
}

impl Geometry {
    fn new(dims: &[usize]) -> Self {
        let mut n = [1usize; 4];
        n[..dims.len()].copy_from_slice(dims);
        let st = [1, n[0], n[0] * n[1], n[0] * n[1] * n[2]];
        Geometry { n, st }
    }
}

/// Boundary-dependent formula of one point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stencil {
    Cubic,
    Quad1,
    Quad2,
    Linear,
    Extrap,
    Copy,
}

#[inline(always)]
fn choose(i: usize, n: usize, kind: InterpKind) -> Stencil {
    match kind {
        InterpKind::Linear => {
            if i + 1 < n {
                Stencil::Linear
            } else if i >= 3 {
                Stencil::Extrap
            } else {
                Stencil::Copy
            }
        }
        InterpKind::Cubic => {
            if i >= 3 {
                if i + 3 < n {
                    Stencil::Cubic
                } else if i + 1 < n {
                    Stencil::Quad2
                } else {
                    Stencil::Extrap
                }
            } else if i + 3 < n {
                Stencil::Quad1
            } else if i + 1 < n {
                Stencil::Linear
            } else {
                Stencil::Copy
            }
        }
    }
}

#[inline(always)]
fn eval<T: Float>(st: Stencil, d: &[T], x: usize, o: usize) -> T {
    match st {
        Stencil::Cubic => {
            (T::constant(9.0) * (d[x - o] + d[x + o]) - (d[x - 3 * o] + d[x + 3 * o]))
                * T::constant(0.0625)
        }
        Stencil::Quad1 => {
            (T::constant(3.0) * d[x - o] + T::constant(6.0) * d[x + o] - d[x + 3 * o])
                * T::constant(0.125)
        }
        Stencil::Quad2 => {
            (T::constant(6.0) * d[x - o] + T::constant(3.0) * d[x + o] - d[x - 3 * o])
                * T::constant(0.125)
        }
        Stencil::Linear => (d[x - o] + d[x + o]) * T::constant(0.5),
        Stencil::Extrap => T::constant(1.5) * d[x - o] - T::constant(0.5) * d[x - 3 * o],
        Stencil::Copy => d[x - o],
    }
}

/// Fill the odd entries of `line` from its even entries with the hierarchy's formulas of `kind`
/// (the same stencils and boundary rules as a level's axis pass, applied to a whole line at
/// stride 1). Used to build interpolation baselines outside the hierarchy.
pub fn fill_odd<T: Float>(line: &mut [T], kind: InterpKind) {
    let n = line.len();
    let mut i = 1;
    while i < n {
        line[i] = eval(choose(i, n, kind), line, i, 1);
        i += 2;
    }
}

/// Receives every predicted point in traversal order.
trait Sink<T: Float> {
    fn put(&mut self, data: &mut [T], idx: usize, pred: T) -> Result<()>;
}

struct Encoder<'a, T: Float> {
    quant: &'a mut LinearQuantizer<T>,
    codes: &'a mut Vec<u32>,
}

impl<T: Float> Sink<T> for Encoder<'_, T> {
    #[inline(always)]
    fn put(&mut self, data: &mut [T], idx: usize, pred: T) -> Result<()> {
        let c = self.quant.quantize_and_overwrite(&mut data[idx], pred);
        self.codes.push(c);
        Ok(())
    }
}

struct Decoder<'a, 'b, T: Float> {
    deq: &'a mut Dequantizer<'b, T>,
    codes: &'a [u32],
    pos: usize,
}

impl<T: Float> Sink<T> for Decoder<'_, '_, T> {
    #[inline(always)]
    fn put(&mut self, data: &mut [T], idx: usize, pred: T) -> Result<()> {
        let c = *self
            .codes
            .get(self.pos)
            .ok_or_else(|| PressioError::corrupt("too few interpolation codes"))?;
        self.pos += 1;
        data[idx] = self.deq.recover(pred, c)?;
        Ok(())
    }
}

/// Per-point hooks of an interpolation run ([`compress_in_place_with`],
/// [`decompress_into_with`]): predictions supplied from outside for chosen points, and a record
/// of what every point was predicted with.
pub struct PointHooks<'a, T: Float> {
    /// Per point (flat index, C order of the plan's dims): a prediction that replaces the
    /// level's own where it is not NaN (e.g. an autoencoder's prediction of the points of the
    /// blocks it codes). The decoder must be given the same array.
    pub overrides: Option<&'a [T]>,
    /// Filled with the prediction and the level bound of every predicted point.
    pub record: Option<&'a mut PredictionRecord<T>>,
}

impl<T: Float> Default for PointHooks<'_, T> {
    fn default() -> Self {
        PointHooks {
            overrides: None,
            record: None,
        }
    }
}

/// What every predicted point of an encoding was predicted with (anchors keep 0).
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionRecord<T> {
    /// The prediction the point was quantized against.
    pub pred: Vec<T>,
    /// The bound of the point's level (0 for anchors).
    pub eb: Vec<f32>,
}

impl<T: Float> PredictionRecord<T> {
    /// An empty record for `n` points.
    pub fn new(n: usize) -> Self {
        PredictionRecord {
            pred: vec![T::ZERO; n],
            eb: vec![0.0; n],
        }
    }
}

/// A sink that applies [`PointHooks`] before handing the point to `inner`.
struct Hooked<'h, T: Float, S> {
    inner: S,
    overrides: Option<&'h [T]>,
    record: Option<&'h mut PredictionRecord<T>>,
    eb: f32,
}

impl<T: Float, S: Sink<T>> Sink<T> for Hooked<'_, T, S> {
    #[inline(always)]
    fn put(&mut self, data: &mut [T], idx: usize, pred: T) -> Result<()> {
        let pred = match self.overrides {
            Some(o) if !o[idx].as_f64().is_nan() => o[idx],
            _ => pred,
        };
        if let Some(r) = self.record.as_deref_mut() {
            r.pred[idx] = pred;
            r.eb[idx] = self.eb;
        }
        self.inner.put(data, idx, pred)
    }
}

fn check_hooks<T: Float>(hooks: &PointHooks<'_, T>, n: usize) -> Result<()> {
    let bad = hooks.overrides.is_some_and(|o| o.len() != n)
        || hooks
            .record
            .as_ref()
            .is_some_and(|r| r.pred.len() != n || r.eb.len() != n);
    if bad {
        return Err(PressioError::InvalidDims(format!(
            "interpolation hooks do not cover the plan's {n} values"
        )));
    }
    Ok(())
}

/// Where one axis' coordinates start and how they step in a pass.
#[inline(always)]
fn axis_range(axis: usize, current: usize, done: &[bool; 4], s: usize) -> (usize, usize) {
    if axis == current {
        (s, 2 * s)
    } else if done[axis] {
        (0, s)
    } else {
        (0, 2 * s)
    }
}

/// The external predictions of a level and which classes of points they cover (indexed by the
/// odd-axes mask, see [`ExternalPredictor::covers`]).
#[derive(Clone, Copy)]
struct ExtLevel<'a, T> {
    pred: &'a [T],
    cover: [bool; 16],
}

/// One axis pass of one level.
#[allow(clippy::too_many_arguments)]
fn pass<T: Float, S: Sink<T>>(
    data: &mut [T],
    g: &Geometry,
    s: usize,
    axis: usize,
    done: &[bool; 4],
    kind: InterpKind,
    ext: Option<ExtLevel<'_, T>>,
    sink: &mut S,
) -> Result<()> {
    let n_line = (g.n[axis] - 1) / s + 1;
    let o = s * g.st[axis];
    let r: [(usize, usize); 4] = std::array::from_fn(|a| axis_range(a, axis, done, s));
    let odd = |c: usize, a: usize| (((c / s) & 1) as u8) << a;
    let mut c3 = r[3].0;
    while c3 < g.n[3] {
        let mut c2 = r[2].0;
        while c2 < g.n[2] {
            let mut c1 = r[1].0;
            while c1 < g.n[1] {
                let base = c3 * g.st[3] + c2 * g.st[2] + c1 * g.st[1];
                // odd axes among 1..3 (the pass axis among them when it is not 0)
                let outer = odd(c1, 1) | odd(c2, 2) | odd(c3, 3);
                if axis == 0 {
                    let covered = ext.filter(|e| e.cover[usize::from(outer | 1)]);
                    let mut c0 = s;
                    while c0 < g.n[0] {
                        let x = base + c0;
                        let pred = match covered {
                            Some(e) => e.pred[x],
                            None => eval(choose(c0 / s, n_line, kind), data, x, o),
                        };
                        sink.put(data, x, pred)?;
                        c0 += 2 * s;
                    }
                } else {
                    let ca = [c1, c2, c3][axis - 1];
                    let st = choose(ca / s, n_line, kind);
                    let (start0, step0) = r[0];
                    let mut c0 = start0;
                    match ext {
                        Some(e) => {
                            while c0 < g.n[0] {
                                let x = base + c0;
                                let pred = if e.cover[usize::from(outer | odd(c0, 0))] {
                                    e.pred[x]
                                } else {
                                    eval(st, data, x, o)
                                };
                                sink.put(data, x, pred)?;
                                c0 += step0;
                            }
                        }
                        None => {
                            macro_rules! run {
                                ($st:expr) => {
                                    while c0 < g.n[0] {
                                        let x = base + c0;
                                        let pred = eval($st, data, x, o);
                                        sink.put(data, x, pred)?;
                                        c0 += step0;
                                    }
                                };
                            }
                            match st {
                                Stencil::Cubic => run!(Stencil::Cubic),
                                Stencil::Quad1 => run!(Stencil::Quad1),
                                Stencil::Quad2 => run!(Stencil::Quad2),
                                Stencil::Linear => run!(Stencil::Linear),
                                Stencil::Extrap => run!(Stencil::Extrap),
                                Stencil::Copy => run!(Stencil::Copy),
                            }
                        }
                    }
                }
                c1 += r[1].1;
            }
            c2 += r[2].1;
        }
        c3 += r[3].1;
    }
    Ok(())
}

/// Visit the anchor points in C order.
fn for_each_anchor(g: &Geometry, a: usize, mut f: impl FnMut(usize) -> Result<()>) -> Result<()> {
    let mut c3 = 0;
    while c3 < g.n[3] {
        let mut c2 = 0;
        while c2 < g.n[2] {
            let mut c1 = 0;
            while c1 < g.n[1] {
                let mut c0 = 0;
                while c0 < g.n[0] {
                    f(c0 + c1 * g.st[1] + c2 * g.st[2] + c3 * g.st[3])?;
                    c0 += a;
                }
                c1 += a;
            }
            c2 += a;
        }
        c3 += a;
    }
    Ok(())
}

/// Run the external predictor of level `li` on the `2s` grid of `data`; returns the
/// coverage table.
fn external_predictions<T: Float>(
    data: &[T],
    g: &Geometry,
    plan: &InterpPlan,
    li: usize,
    external: &mut Option<&mut dyn ExternalPredictor<T>>,
    out: &mut Vec<T>,
) -> Result<[bool; 16]> {
    let ext = external.as_deref_mut().ok_or_else(|| {
        PressioError::InvalidArgument(
            "the interpolation plan has an external level but no external predictor was given"
                .into(),
        )
    })?;
    let s = plan.stride(li);
    out.resize(data.len(), T::ZERO);
    let info = LevelInfo {
        index: li,
        stride: s,
        dims: plan.dims.clone(),
    };
    // The predictor sees only the 2s grid (zeros elsewhere), identically in the encoder
    // (whose other points still hold original values) and the decoder.
    let mut coarse = vec![T::ZERO; data.len()];
    for_each_anchor(g, 2 * s, |i| {
        coarse[i] = data[i];
        Ok(())
    })?;
    ext.predict_level(&info, &coarse, out)?;
    let nd = plan.dims.len();
    Ok(std::array::from_fn(|m| {
        m > 0 && m < (1 << nd) && ext.covers(&info, m as u8)
    }))
}

/// The axis passes of one level.
#[allow(clippy::too_many_arguments)]
fn level_passes<T: Float, S: Sink<T>>(
    data: &mut [T],
    g: &Geometry,
    s: usize,
    order: &[usize],
    kind: InterpKind,
    ext: Option<ExtLevel<'_, T>>,
    sink: &mut S,
) -> Result<()> {
    let mut done = [false; 4];
    for &axis in order {
        pass(data, g, s, axis, &done, kind, ext, sink)?;
        done[axis] = true;
    }
    Ok(())
}

fn run_levels<T: Float, S: Sink<T>>(
    data: &mut [T],
    plan: &InterpPlan,
    mut external: Option<&mut dyn ExternalPredictor<T>>,
    sink: &mut S,
    mut set_eb: impl FnMut(&mut S, f64) -> Result<()>,
) -> Result<()> {
    let g = Geometry::new(&plan.dims);
    let mut ext_buf: Vec<T> = Vec::new();
    for (li, lv) in plan.levels.iter().enumerate() {
        let s = plan.stride(li);
        set_eb(sink, lv.eb)?;
        match lv.predictor {
            LevelPredictor::Interp(kind) => {
                level_passes(data, &g, s, &lv.dim_order, kind, None, sink)?;
            }
            LevelPredictor::External(kind) => {
                let cover = external_predictions(data, &g, plan, li, &mut external, &mut ext_buf)?;
                let ext = ExtLevel {
                    pred: &ext_buf,
                    cover,
                };
                level_passes(data, &g, s, &lv.dim_order, kind, Some(ext), sink)?;
            }
        }
    }
    Ok(())
}

/// Quantize `work` (squeezed dims as in `plan`) in place: on return `work` holds the
/// reconstruction the decoder will produce.
pub fn compress_in_place<T: Float>(
    work: &mut [T],
    plan: &InterpPlan,
    external: Option<&mut dyn ExternalPredictor<T>>,
) -> Result<InterpEncoded<T>> {
    compress_in_place_reusing(work, plan, external, Vec::new())
}

/// What every encoder starts from: the checked plan's geometry, the anchors (exact, C order), a
/// quantizer at the plan's largest bound, and `codes` emptied with room for the plan's codes.
fn begin_encoding<T: Float>(
    work: &[T],
    plan: &InterpPlan,
    codes: &mut Vec<u32>,
) -> Result<(Geometry, Vec<T>, LinearQuantizer<T>)> {
    plan.validate()?;
    if work.len() != plan.num_elements() {
        return Err(PressioError::InvalidDims(format!(
            "{} values do not match the plan's dims {:?}",
            work.len(),
            plan.dims
        )));
    }
    let g = Geometry::new(&plan.dims);
    let mut anchors = Vec::with_capacity(plan.num_anchors());
    for_each_anchor(&g, plan.anchor_stride, |i| {
        anchors.push(work[i]);
        Ok(())
    })?;
    let quant = LinearQuantizer::<T>::new(plan.max_eb(), plan.radius)?;
    codes.clear();
    codes.reserve(plan.num_codes());
    Ok((g, anchors, quant))
}

/// [`compress_in_place`] writing the codes into `codes` (cleared first; its capacity is reused,
/// which spares the page faults of a fresh allocation when one buffer serves many calls). The
/// buffer comes back as [`InterpEncoded::codes`].
pub fn compress_in_place_reusing<T: Float>(
    work: &mut [T],
    plan: &InterpPlan,
    external: Option<&mut dyn ExternalPredictor<T>>,
    mut codes: Vec<u32>,
) -> Result<InterpEncoded<T>> {
    let (_, anchors, mut quant) = begin_encoding(work, plan, &mut codes)?;
    {
        let mut sink = Encoder {
            quant: &mut quant,
            codes: &mut codes,
        };
        run_levels(work, plan, external, &mut sink, |s, eb| s.quant.set_eb(eb))?;
    }
    Ok(InterpEncoded {
        anchors,
        codes,
        unpredictables: quant.take_unpredictables(),
    })
}

/// [`compress_in_place_reusing`] with per-point [`PointHooks`] (no external predictor). Without
/// hooks it is [`compress_in_place_reusing`] itself: the plain path keeps its plain sink.
pub fn compress_in_place_with<T: Float>(
    work: &mut [T],
    plan: &InterpPlan,
    hooks: PointHooks<'_, T>,
    mut codes: Vec<u32>,
) -> Result<InterpEncoded<T>> {
    if hooks.overrides.is_none() && hooks.record.is_none() {
        return compress_in_place_reusing(work, plan, None, codes);
    }
    let (_, anchors, mut quant) = begin_encoding(work, plan, &mut codes)?;
    check_hooks(&hooks, work.len())?;
    {
        let mut sink = Hooked {
            inner: Encoder {
                quant: &mut quant,
                codes: &mut codes,
            },
            overrides: hooks.overrides,
            record: hooks.record,
            eb: 0.0,
        };
        run_levels(work, plan, None, &mut sink, |s, eb| {
            s.eb = eb as f32;
            s.inner.quant.set_eb(eb)
        })?;
    }
    Ok(InterpEncoded {
        anchors,
        codes,
        unpredictables: quant.take_unpredictables(),
    })
}

/// [`compress_in_place_reusing`] that decides, level by level, between the external predictor
/// and interpolation: every level whose plan says [`LevelPredictor::External`] is coded both
/// ways (the external predictor runs once), and the one with the smaller estimated code size
/// ([`CodeStats::bits`] of the level's codes and unpredictables) is kept; `plan` is updated to
/// record the choice (`External(k)` or `Interp(k)`), which the decoder replays. Returns the
/// encoding and, per level, whether the external predictor was kept.
pub fn compress_choosing<T: Float>(
    work: &mut [T],
    plan: &mut InterpPlan,
    mut external: Option<&mut dyn ExternalPredictor<T>>,
    mut codes: Vec<u32>,
) -> Result<(InterpEncoded<T>, Vec<bool>)> {
    let (g, anchors, mut quant) = begin_encoding(work, plan, &mut codes)?;
    let mut ext_buf: Vec<T> = Vec::new();
    let mut kept = Vec::with_capacity(plan.levels.len());
    let value_bits = 8 * T::BYTES as u32;
    for li in 0..plan.levels.len() {
        let s = plan.stride(li);
        let lv = plan.levels[li].clone();
        quant.set_eb(lv.eb)?;
        let kind = match lv.predictor {
            LevelPredictor::External(kind) => kind,
            LevelPredictor::Interp(kind) => {
                let mut sink = Encoder {
                    quant: &mut quant,
                    codes: &mut codes,
                };
                level_passes(work, &g, s, &lv.dim_order, kind, None, &mut sink)?;
                kept.push(false);
                continue;
            }
        };
        let cover = external_predictions(work, &g, plan, li, &mut external, &mut ext_buf)?;
        let ext = Some(ExtLevel {
            pred: &ext_buf,
            cover,
        });
        let snapshot = work.to_vec();
        let (c0, u0) = (codes.len(), quant.unpredictables().len());
        let cost = |ext: Option<ExtLevel<'_, T>>,
                    work: &mut [T],
                    quant: &mut LinearQuantizer<T>,
                    codes: &mut Vec<u32>|
         -> Result<f64> {
            work.copy_from_slice(&snapshot);
            codes.truncate(c0);
            quant.truncate_unpredictables(u0);
            let mut sink = Encoder {
                quant: &mut *quant,
                codes: &mut *codes,
            };
            level_passes(work, &g, s, &lv.dim_order, kind, ext, &mut sink)?;
            let mut st = CodeStats::new();
            st.add(&codes[c0..], quant.unpredictables().len() - u0);
            Ok(st.bits(value_bits))
        };
        let with_ext = cost(ext, work, &mut quant, &mut codes)?;
        let plain = cost(None, work, &mut quant, &mut codes)?;
        if with_ext < plain {
            cost(ext, work, &mut quant, &mut codes)?;
        } else {
            plan.levels[li].predictor = LevelPredictor::Interp(kind);
        }
        kept.push(with_ext < plain);
    }
    Ok((
        InterpEncoded {
            anchors,
            codes,
            unpredictables: quant.take_unpredictables(),
        },
        kept,
    ))
}

/// Quantize `data` (squeezed dims as in `plan`).
pub fn compress<T: Float>(
    data: &[T],
    plan: &InterpPlan,
    external: Option<&mut dyn ExternalPredictor<T>>,
) -> Result<InterpEncoded<T>> {
    let mut work = data.to_vec();
    compress_in_place(&mut work, plan, external)
}

/// Invert [`compress`].
pub fn decompress<T: Float>(
    plan: &InterpPlan,
    anchors: &[T],
    codes: &[u32],
    unpredictables: &[T],
    external: Option<&mut dyn ExternalPredictor<T>>,
) -> Result<Vec<T>> {
    let mut out = vec![T::ZERO; plan.num_elements()];
    decompress_into(plan, anchors, codes, unpredictables, external, &mut out)?;
    Ok(out)
}

/// [`decompress`] into a caller's buffer of [`InterpPlan::num_elements`] values (its previous
/// contents are ignored).
pub fn decompress_into<T: Float>(
    plan: &InterpPlan,
    anchors: &[T],
    codes: &[u32],
    unpredictables: &[T],
    external: Option<&mut dyn ExternalPredictor<T>>,
    out: &mut [T],
) -> Result<()> {
    decode_with(plan, anchors, codes, unpredictables, external, None, out)
}

/// [`decompress_into`] of a stream made by [`compress_in_place_with`] with `overrides`.
pub fn decompress_into_with<T: Float>(
    plan: &InterpPlan,
    anchors: &[T],
    codes: &[u32],
    unpredictables: &[T],
    overrides: &[T],
    out: &mut [T],
) -> Result<()> {
    if overrides.len() != out.len() {
        return Err(PressioError::InvalidDims(format!(
            "{} override predictions for {} values",
            overrides.len(),
            out.len()
        )));
    }
    decode_with(
        plan,
        anchors,
        codes,
        unpredictables,
        None,
        Some(overrides),
        out,
    )
}

fn decode_with<T: Float>(
    plan: &InterpPlan,
    anchors: &[T],
    codes: &[u32],
    unpredictables: &[T],
    external: Option<&mut dyn ExternalPredictor<T>>,
    overrides: Option<&[T]>,
    out: &mut [T],
) -> Result<()> {
    plan.validate()?;
    if anchors.len() != plan.num_anchors() || codes.len() != plan.num_codes() {
        return Err(PressioError::corrupt(format!(
            "{} anchors and {} codes, expected {} and {}",
            anchors.len(),
            codes.len(),
            plan.num_anchors(),
            plan.num_codes()
        )));
    }
    if out.len() != plan.num_elements() {
        return Err(PressioError::InvalidDims(format!(
            "output of {} values for a plan of {}",
            out.len(),
            plan.num_elements()
        )));
    }
    let g = Geometry::new(&plan.dims);
    let mut k = 0;
    for_each_anchor(&g, plan.anchor_stride, |i| {
        out[i] = anchors[k];
        k += 1;
        Ok(())
    })?;
    let mut deq = Dequantizer::new(plan.max_eb(), plan.radius, unpredictables)?;
    let mut sink = Decoder {
        deq: &mut deq,
        codes,
        pos: 0,
    };
    match overrides {
        None => run_levels(out, plan, external, &mut sink, |s, eb| s.deq.set_eb(eb))?,
        Some(o) => {
            let mut hooked = Hooked {
                inner: sink,
                overrides: Some(o),
                record: None,
                eb: 0.0,
            };
            run_levels(out, plan, external, &mut hooked, |s, eb| {
                s.inner.deq.set_eb(eb)
            })?
        }
    }
    deq.finish()
}

/// The candidates [`tune_params`] searches, each list starting with the default.
#[derive(Debug, Clone, PartialEq)]
pub struct TuneSpace {
    /// Interpolation formulas to try.
    pub kinds: Vec<InterpKind>,
    /// Axis pass orders to try (permutations of the squeezed axes).
    pub orders: Vec<Vec<usize>>,
    /// `(alpha, beta)` level-bound pairs to try.
    pub level_bounds: Vec<(f64, f64)>,
    /// Relative gain a candidate needs over the running best to replace it, per list (formulas,
    /// orders, level bounds).
    pub margins: [f64; 3],
    /// Test-compress the sample blocks on the current rayon pool (the choice is the same).
    pub parallel: bool,
}

impl TuneSpace {
    /// The full default space for `ndims` axes: linear and cubic; slowest-first, fastest-first
    /// and (in 3-D and 4-D) every rotation; SZ3's four level-bound pairs, uniform bounds first.
    pub fn full(ndims: usize) -> Self {
        let slowest: Vec<usize> = (0..ndims).rev().collect();
        let mut orders = vec![slowest.clone()];
        if ndims >= 2 {
            orders.push((0..ndims).collect());
        }
        if ndims >= 3 {
            for r in 1..ndims {
                let mut o = slowest.clone();
                o.rotate_left(r);
                if !orders.contains(&o) {
                    orders.push(o);
                }
            }
        }
        TuneSpace {
            kinds: vec![InterpKind::Cubic, InterpKind::Linear],
            orders,
            level_bounds: vec![(1.0, 1.0), (1.25, 2.0), (1.5, 2.5), (2.0, 3.0)],
            margins: [0.01; 3],
            parallel: false,
        }
    }
}

/// An axis pass order from per-axis roughness: the mean absolute error of cubic interpolation
/// at stride 1 along each axis (measured on every 13th point; linear interpolation on axes shorter
/// than 7, the copy error on axes of extent 2),
/// roughest axis first, so that the smoothest axis, whose pass predicts the most points, comes
/// last. Ties keep slowest first.
pub fn roughness_order<T: Float>(data: &[T], dims: &[usize]) -> Vec<usize> {
    roughness_order_on(data, dims, false)
}

/// Points of one independent piece of [`roughness_order`]'s walk: the field is walked in pieces
/// of this many points whose sums are added in order, on the current rayon pool or not, so the
/// order never depends on the thread count.
const ROUGHNESS_PIECE: usize = 1 << 20;

/// [`roughness_order`], its pieces on the current rayon pool when `parallel` (same result).
pub fn roughness_order_on<T: Float>(data: &[T], dims: &[usize], parallel: bool) -> Vec<usize> {
    const STEP: usize = 13;
    let nd = dims.len();
    let mut order: Vec<usize> = (0..nd).rev().collect();
    if !(2..=4).contains(&nd) || data.len() != dims.iter().product::<usize>() {
        return order;
    }
    let g = Geometry::new(dims);
    // sums over every STEP-th point of [start, end), coordinates kept with carries
    let piece = |k: usize| -> ([f64; 4], [usize; 4]) {
        let start = k * ROUGHNESS_PIECE;
        let end = (start + ROUGHNESS_PIECE).min(data.len());
        let mut sum = [0.0f64; 4];
        let mut cnt = [0usize; 4];
        let mut i = start.next_multiple_of(STEP);
        let mut c = [0usize; 4];
        let mut rest = i;
        for (c, &n) in c.iter_mut().zip(&g.n).take(nd) {
            *c = rest % n;
            rest /= n;
        }
        while i < end {
            let x = data[i].as_f64();
            for a in 0..nd {
                let (n, o, ca) = (g.n[a], g.st[a], c[a]);
                let e = if n >= 7 {
                    if ca < 3 || ca + 3 >= n {
                        continue;
                    }
                    x - (9.0 * (data[i - o].as_f64() + data[i + o].as_f64())
                        - data[i - 3 * o].as_f64()
                        - data[i + 3 * o].as_f64())
                        / 16.0
                } else if ca >= 1 && ca + 1 < n {
                    x - 0.5 * (data[i - o].as_f64() + data[i + o].as_f64())
                } else if n == 2 && ca == 1 {
                    x - data[i - o].as_f64()
                } else {
                    continue;
                };
                if e.is_finite() {
                    sum[a] += e.abs();
                    cnt[a] += 1;
                }
            }
            i += STEP;
            c[0] += STEP;
            let mut a = 0;
            while a + 1 < 4 && c[a] >= g.n[a] {
                let carry = c[a] / g.n[a];
                c[a] %= g.n[a];
                c[a + 1] += carry;
                a += 1;
            }
        }
        (sum, cnt)
    };
    let pieces = data.len().div_ceil(ROUGHNESS_PIECE);
    let parts: Vec<([f64; 4], [usize; 4])> = if parallel {
        (0..pieces).into_par_iter().map(piece).collect()
    } else {
        (0..pieces).map(piece).collect()
    };
    let mut sum = [0.0f64; 4];
    let mut cnt = [0usize; 4];
    for (s, c) in &parts {
        for a in 0..4 {
            sum[a] += s[a];
            cnt[a] += c[a];
        }
    }
    let rough: Vec<f64> = (0..nd)
        .map(|a| {
            if cnt[a] > 0 {
                sum[a] / cnt[a] as f64
            } else {
                0.0
            }
        })
        .collect();
    order.sort_by(|&a, &b| {
        rough[b]
            .partial_cmp(&rough[a])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    order
}

/// Up to `max_values` values of `data` (squeezed `dims`) as whole blocks of side `2^k + 1`
/// (clipped to short axes), spread evenly over the array. Returns `(values, block dims)` pairs.
/// Small arrays come back whole.
pub fn sample_blocks<T: Float>(
    data: &[T],
    dims: &[usize],
    max_values: usize,
) -> Vec<(Vec<T>, Vec<usize>)> {
    let n: usize = dims.iter().product();
    if n != data.len() || dims.is_empty() || dims.len() > 4 {
        return Vec::new();
    }
    if n <= max_values.max(1) {
        return vec![(data.to_vec(), dims.to_vec())];
    }
    // Block side: the largest 2^k + 1 (k <= 6) whose block is at most an eighth of the budget.
    let mut side = 65usize;
    let block_len = |side: usize| dims.iter().map(|&d| d.min(side)).product::<usize>();
    while side > 9 && block_len(side) * 4 > max_values {
        side = (side - 1) / 2 + 1;
    }
    let per_block = block_len(side);
    let want = (max_values / per_block).max(1);
    // Blocks per axis: spread `want` blocks over the axes that have room for several.
    let room: Vec<usize> = dims
        .iter()
        .map(|&d| if d > side { d / side } else { 1 })
        .collect();
    let total_room: usize = room.iter().product();
    let per_axis = |a: usize| -> usize {
        if total_room <= want {
            room[a]
        } else {
            let free = room.iter().filter(|&&r| r > 1).count().max(1) as f64;
            ((want as f64).powf(1.0 / free).floor() as usize).clamp(1, room[a])
        }
    };
    let counts: Vec<usize> = (0..dims.len()).map(per_axis).collect();
    let starts: Vec<Vec<usize>> = (0..dims.len())
        .map(|a| {
            let ext = dims[a].min(side);
            let span = dims[a] - ext;
            let k = counts[a];
            (0..k)
                .map(|i| if k == 1 { span / 2 } else { i * span / (k - 1) })
                .collect()
        })
        .collect();
    let bdims: Vec<usize> = dims.iter().map(|&d| d.min(side)).collect();
    let g = Geometry::new(dims);
    let bg = Geometry::new(&bdims);
    let mut out = Vec::new();
    let mut idx = [0usize; 4];
    loop {
        let origin: usize = (0..dims.len()).map(|a| starts[a][idx[a]] * g.st[a]).sum();
        let mut block = Vec::with_capacity(per_block);
        for c3 in 0..bg.n[3] {
            for c2 in 0..bg.n[2] {
                for c1 in 0..bg.n[1] {
                    let row = origin + c3 * g.st[3] + c2 * g.st[2] + c1 * g.st[1];
                    block.extend_from_slice(&data[row..row + bg.n[0]]);
                }
            }
        }
        out.push((block, bdims.clone()));
        // Next block index (odometer).
        let mut a = 0;
        loop {
            if a == dims.len() {
                return out;
            }
            idx[a] += 1;
            if idx[a] < counts[a] {
                break;
            }
            idx[a] = 0;
            a += 1;
        }
    }
}

/// Estimated compressed bits of `samples` (blocks from [`sample_blocks`]) under `params`: the
/// codes of all blocks through the real back end ([`crate::quantizer::coded_bits`]). A block
/// smaller than the anchor spacing uses its corners as anchors, perturbed by a deterministic
/// error of the size the full array's quantization leaves there.
pub fn estimate_bits<T: Float>(
    samples: &[(Vec<T>, Vec<usize>)],
    eb: f64,
    params: &InterpParams,
) -> Result<f64> {
    estimate_bits_with(&mut SizeEstimator::new()?, samples, eb, params, false)
}

/// The codes and the unpredictable count of sample block `b` (see [`estimate_bits_with`]).
fn block_codes<T: Float>(
    b: usize,
    vals: &[T],
    bdims: &[usize],
    eb: f64,
    params: &InterpParams,
) -> Result<(Vec<u32>, usize)> {
    let real = InterpPlan::standard(bdims, eb, params)?;
    let side = bdims.iter().copied().max().unwrap_or(1);
    let fit = side.saturating_sub(1).next_power_of_two().max(2);
    let enc = if real.anchor_stride() <= fit {
        // The block holds real anchors (a whole array, or blocks spanning the anchor grid).
        compress(vals, &real, None)?
    } else {
        // A block smaller than the anchor spacing gets anchors at its corners. In the full
        // array those points are quantized at the level above the block's top level, so
        // they carry an error up to that level's bound: add a deterministic error of that
        // size, or exact corners would hide the gain of tighter coarse levels.
        let p = InterpParams {
            anchor_stride: fit,
            ..params.clone()
        };
        let plan = InterpPlan::standard(bdims, eb, &p)?;
        let top_level = fit.trailing_zeros() as usize + 1;
        let noise = eb / level_ratio(params.alpha, params.beta, top_level);
        let mut noisy = vals.to_vec();
        let g = Geometry::new(bdims);
        let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ (b as u64).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        for_each_anchor(&g, fit, |i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let u = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            let v = T::from_f64_round(noisy[i].as_f64() + u * noise);
            if v.finite() {
                noisy[i] = v;
            }
            Ok(())
        })?;
        compress(&noisy, &plan, None)?
    };
    Ok((enc.codes, enc.unpredictables.len()))
}

/// [`estimate_bits`] with a reusable [`SizeEstimator`].
pub fn estimate_bits_with<T: Float>(
    est: &mut SizeEstimator,
    samples: &[(Vec<T>, Vec<usize>)],
    eb: f64,
    params: &InterpParams,
    parallel: bool,
) -> Result<f64> {
    let coded = |(b, (vals, bdims)): (usize, &(Vec<T>, Vec<usize>))| {
        block_codes(b, vals, bdims, eb, params)
    };
    // blocks are coded independently and gathered in order: the same codes on any pool
    let blocks: Vec<(Vec<u32>, usize)> = if parallel {
        samples
            .par_iter()
            .enumerate()
            .map(coded)
            .collect::<Result<_>>()?
    } else {
        samples
            .iter()
            .enumerate()
            .map(coded)
            .collect::<Result<_>>()?
    };
    let mut codes = Vec::with_capacity(blocks.iter().map(|b| b.0.len()).sum());
    let mut unpred = 0usize;
    for (c, u) in &blocks {
        codes.extend_from_slice(c);
        unpred += u;
    }
    est.coded_bits(&codes, unpred, (T::BYTES * 8) as u32)
}

/// Pick interpolation parameters for `data` (squeezed `dims`, bound `eb`) by test-compressing
/// sampled blocks (at most `max_sample` values, see [`sample_blocks`]); see [`tune_params_on`].
pub fn tune_params<T: Float>(
    data: &[T],
    dims: &[usize],
    eb: f64,
    base: &InterpParams,
    space: &TuneSpace,
    max_sample: usize,
) -> Result<InterpParams> {
    let samples = sample_blocks(data, dims, max_sample);
    Ok(tune_params_on(&samples, eb, base, space)?.0)
}

/// Pick interpolation parameters by comparing estimated sizes ([`estimate_bits`]) on `samples`:
/// the formulas at the first level bounds, then every level bound with the best formula, then
/// the other formulas at the best bound, then the axis order; each search starts from the
/// running best and switches only for a gain above the margin (the larger of the formula and
/// level-bound margins for the first three). Anchor stride and
/// radius come from `base`. Returns the parameters and their estimate (`None` when nothing was
/// evaluated: no samples, a zero bound, or single-candidate lists).
pub fn tune_params_on<T: Float>(
    samples: &[(Vec<T>, Vec<usize>)],
    eb: f64,
    base: &InterpParams,
    space: &TuneSpace,
) -> Result<(InterpParams, Option<f64>)> {
    let mut best = base.clone();
    if let Some(first) = space.kinds.first() {
        best.kind = *first;
    }
    if let Some(first) = space.orders.first() {
        best.dim_order = Some(first.clone());
    }
    if let Some(&(a, b)) = space.level_bounds.first() {
        best.alpha = a;
        best.beta = b;
    }
    if eb <= 0.0 || samples.is_empty() {
        return Ok((best, None));
    }
    // Evaluated candidates, so that the running best is not test-compressed again.
    let mut memo: Vec<(InterpParams, f64)> = Vec::new();
    let mut est = SizeEstimator::new()?;
    let mut best_bits = None;
    let mut try_list = |best: &mut InterpParams,
                        variants: Vec<InterpParams>,
                        margin: f64|
     -> Result<Option<f64>> {
        let mut list_bits = f64::INFINITY;
        let mut chosen = None;
        for (i, v) in variants.into_iter().enumerate() {
            let bits = match memo.iter().find(|(p, _)| *p == v) {
                Some(&(_, b)) => b,
                None => {
                    let b = estimate_bits_with(&mut est, samples, eb, &v, space.parallel)?;
                    memo.push((v.clone(), b));
                    b
                }
            };
            if i == 0 || bits < list_bits * (1.0 - margin) {
                list_bits = bits;
                chosen = Some(v);
            }
        }
        if let Some(c) = chosen {
            *best = c;
        }
        Ok(Some(list_bits))
    };
    // Formulas and level bounds interact: the formulas at the first bounds, then every bound
    // with the best formula, then the other formulas at the best bound; then the order.
    if space.kinds.len() > 1 || space.level_bounds.len() > 1 {
        let margin = space.margins[0].max(space.margins[2]);
        let with = |k: InterpKind, (a, b): (f64, f64), base: &InterpParams| InterpParams {
            kind: k,
            alpha: a,
            beta: b,
            ..base.clone()
        };
        let first_bounds = (best.alpha, best.beta);
        if space.kinds.len() > 1 {
            let v = space
                .kinds
                .iter()
                .map(|&k| with(k, first_bounds, &best))
                .collect();
            best_bits = try_list(&mut best, v, margin)?;
        }
        if space.level_bounds.len() > 1 {
            let v = space
                .level_bounds
                .iter()
                .map(|&ab| with(best.kind, ab, &best))
                .collect();
            best_bits = try_list(&mut best, v, margin)?;
            if space.kinds.len() > 1 && (best.alpha, best.beta) != first_bounds {
                let mut v = vec![best.clone()];
                v.extend(
                    space
                        .kinds
                        .iter()
                        .filter(|&&k| k != best.kind)
                        .map(|&k| with(k, (best.alpha, best.beta), &best)),
                );
                best_bits = try_list(&mut best, v, margin)?;
            }
        }
    }
    if space.orders.len() > 1 {
        let v = space
            .orders
            .iter()
            .map(|o| InterpParams {
                dim_order: Some(o.clone()),
                ..best.clone()
            })
            .collect();
        best_bits = try_list(&mut best, v, space.margins[1])?;
    }
    Ok((best, best_bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_point_visited_once() {
        for dims in [
            vec![1usize],
            vec![2],
            vec![7],
            vec![5, 3],
            vec![9, 1 + 64, 3],
            vec![3, 2, 5, 4],
        ] {
            for anchor in [2usize, 4, 64] {
                let plan = InterpPlan::new(&dims, anchor, 16, 0.0).unwrap();
                let n = plan.num_elements();
                let data: Vec<f64> = (0..n).map(|i| i as f64).collect();
                let enc = compress(&data, &plan, None).unwrap();
                assert_eq!(enc.codes.len(), plan.num_codes());
                let dec =
                    decompress(&plan, &enc.anchors, &enc.codes, &enc.unpredictables, None).unwrap();
                assert_eq!(dec, data);
            }
        }
    }

    #[test]
    fn overrides_replace_predictions_and_decode_alike() {
        let dims = [37usize, 29, 5];
        let n: usize = dims.iter().product();
        let data: Vec<f32> = (0..n)
            .map(|i| ((i % 37) as f32 * 0.3).sin() * 4.0 + ((i / 37) as f32 * 0.11).cos())
            .collect();
        let eb = 0.05;
        let plan = InterpPlan::standard(&dims, eb, &InterpParams::default()).unwrap();
        // exact predictions for every third point, none elsewhere
        let ov: Vec<f32> = (0..n)
            .map(|i| if i % 3 == 0 { data[i] } else { f32::NAN })
            .collect();
        let mut work = data.clone();
        let mut rec = PredictionRecord::new(n);
        let hooks = PointHooks {
            overrides: Some(&ov),
            record: Some(&mut rec),
        };
        let enc = compress_in_place_with(&mut work, &plan, hooks, Vec::new()).unwrap();
        let mut out = vec![0f32; n];
        decompress_into_with(
            &plan,
            &enc.anchors,
            &enc.codes,
            &enc.unpredictables,
            &ov,
            &mut out,
        )
        .unwrap();
        assert_eq!(
            out, work,
            "the decoder reproduces the encoder's reconstruction"
        );
        for i in 0..n {
            assert!((out[i] as f64 - data[i] as f64).abs() <= eb);
            if rec.eb[i] > 0.0 && i % 3 == 0 {
                // overridden points were predicted exactly: zero residual, exact value
                assert_eq!(rec.pred[i], data[i]);
                assert_eq!(out[i], data[i]);
            }
        }
        assert!(rec.eb.iter().filter(|&&e| e > 0.0).count() == plan.num_codes());
        // without the overrides the stream decodes to other values
        let mut plain = vec![0f32; n];
        decompress_into(
            &plan,
            &enc.anchors,
            &enc.codes,
            &enc.unpredictables,
            None,
            &mut plain,
        )
        .unwrap();
        assert_ne!(plain, out);
        // hooks of the wrong size are refused
        let short = vec![f32::NAN; n - 1];
        assert!(decompress_into_with(
            &plan,
            &enc.anchors,
            &enc.codes,
            &enc.unpredictables,
            &short,
            &mut out
        )
        .is_err());
        let hooks = PointHooks {
            overrides: Some(&short),
            record: None,
        };
        assert!(compress_in_place_with(&mut data.clone(), &plan, hooks, Vec::new()).is_err());
    }

    #[test]
    fn plan_serialization() {
        let mut plan = InterpPlan::standard(
            &[100, 30, 7],
            0.01,
            &InterpParams {
                dim_order: Some(vec![0, 2, 1]),
                ..Default::default()
            },
        )
        .unwrap();
        plan.levels_mut()[0].predictor = LevelPredictor::External(InterpKind::Cubic);
        let mut b = Vec::new();
        plan.write_to(&mut b);
        let (p2, used) = InterpPlan::read_from(&b).unwrap();
        assert_eq!(used, b.len());
        assert_eq!(p2, plan);
        assert!(InterpPlan::read_from(&b[..b.len() - 1]).is_err());
        // A standard plan uses the compact layout and round-trips exactly.
        let std_plan = InterpPlan::standard(&[100, 30, 7], 0.01, &InterpParams::default()).unwrap();
        let mut c = Vec::new();
        std_plan.write_to(&mut c);
        assert!(c.len() < b.len());
        assert_eq!(InterpPlan::read_from(&c).unwrap().0, std_plan);
    }
}
