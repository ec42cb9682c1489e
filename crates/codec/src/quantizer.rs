//! SZ3-semantics linear quantizer and cuSZ-style dual quantization.
//!
//! # Linear quantizer
//!
//! With radius `R` (default [`DEFAULT_RADIUS`] = 32768) codes live in `[0, 2R)`; code 0 is
//! reserved for "unpredictable". A value `x` with prediction `p` and bound `e > 0` is quantized
//! into bins of width `2e`:
//!
//! ```text
//! qi   = floor(|x - p| / e) + 1
//! half = qi >> 1                      (round half up of |x - p| / 2e)
//! q    = sign(x - p) * half
//! x'   = p + 2 q e                    (evaluated in f64, rounded once to T)
//! code = R + q    if qi < 2R and |x' - x| <= e (checked in f64 on the T values)
//! code = 0        otherwise: x is stored exactly as an unpredictable value
//! ```
//!
//! Callers must write `x'` (or the exact `x` for unpredictables) back into their working array,
//! because the decoder only sees reconstructed values: [`LinearQuantizer::quantize`] returns both
//! the code and the reconstructed value. With `e == 0` (or a bound so small that `1 / e` is not
//! finite) only exact predictions get a code (`R`); everything else is unpredictable.
//!
//! # Dual quantization
//!
//! [`DualQuantizer`] first maps every value to an integer `q = round(x / 2e)` (pre-quantization,
//! error at most `e`, exceptions stored exactly), then codes the exact integer residual of an
//! integer prediction (post-quantization, outliers stored as raw residuals). The distortion
//! depends only on `e`, so the prediction may be computed in parallel from the pre-quantized
//! integers.

use pressio_ml_core::{Element, PressioError, Result};
use std::fmt::Debug;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// Default quantization radius: codes in `[0, 65536)`, as SZ3.
pub const DEFAULT_RADIUS: u32 = 32768;

/// Largest radius accepted (codes must fit comfortably in a `u32` alphabet).
pub const MAX_RADIUS: u32 = 1 << 30;

/// The floating-point element types the codec substrate works on (`f32` and `f64`).
///
/// Predictions are computed in `Self`; conversions to `f64` are exact.
pub trait Float:
    Element
    + Copy
    + Debug
    + Default
    + PartialOrd
    + PartialEq
    + Send
    + Sync
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + 'static
{
    /// Size of one value in bytes.
    const BYTES: usize;
    /// Zero.
    const ZERO: Self;
    /// Exact widening to `f64`.
    fn as_f64(self) -> f64;
    /// Rounding narrowing from `f64` (round to nearest even; overflow gives an infinity).
    fn from_f64_round(v: f64) -> Self;
    /// A constant converted to `Self` (for interpolation coefficients).
    fn constant(v: f64) -> Self;
    /// Absolute value.
    fn abs_val(self) -> Self;
    /// True when neither NaN nor infinite.
    fn finite(self) -> bool;
    /// Raw IEEE bits, widened to `u64`.
    fn to_bits_u64(self) -> u64;
    /// Append the little-endian bytes of `self` to `out`.
    fn write_le(self, out: &mut Vec<u8>);
    /// Read a value from the first [`Float::BYTES`] bytes of `bytes` (little endian); `None` when
    /// `bytes` is too short.
    fn read_le(bytes: &[u8]) -> Option<Self>;
}

impl Float for f32 {
    const BYTES: usize = 4;
    const ZERO: Self = 0.0;
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn from_f64_round(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn constant(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn abs_val(self) -> Self {
        self.abs()
    }
    #[inline(always)]
    fn finite(self) -> bool {
        self.is_finite()
    }
    #[inline(always)]
    fn to_bits_u64(self) -> u64 {
        self.to_bits() as u64
    }
    #[inline]
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    #[inline]
    fn read_le(bytes: &[u8]) -> Option<Self> {
        let b: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
        Some(f32::from_le_bytes(b))
    }
}

impl Float for f64 {
    const BYTES: usize = 8;
    const ZERO: Self = 0.0;
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_f64_round(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn constant(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn abs_val(self) -> Self {
        self.abs()
    }
    #[inline(always)]
    fn finite(self) -> bool {
        self.is_finite()
    }
    #[inline(always)]
    fn to_bits_u64(self) -> u64 {
        self.to_bits()
    }
    #[inline]
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    #[inline]
    fn read_le(bytes: &[u8]) -> Option<Self> {
        let b: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
        Some(f64::from_le_bytes(b))
    }
}

/// Serialize values as raw little-endian bytes.
pub fn values_to_le_bytes<T: Float>(values: &[T]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * T::BYTES);
    for &v in values {
        v.write_le(&mut out);
    }
    out
}

/// Parse raw little-endian values; the byte count must be a multiple of the value size.
pub fn values_from_le_bytes<T: Float>(bytes: &[u8]) -> Result<Vec<T>> {
    if bytes.len() % T::BYTES != 0 {
        return Err(PressioError::corrupt(format!(
            "{} bytes is not a whole number of {}-byte values",
            bytes.len(),
            T::BYTES
        )));
    }
    Ok(bytes
        .chunks_exact(T::BYTES)
        .filter_map(T::read_le)
        .collect())
}

fn check_radius(radius: u32) -> Result<()> {
    if radius == 0 || radius > MAX_RADIUS {
        return Err(PressioError::InvalidArgument(format!(
            "quantization radius {radius} is outside 1..={MAX_RADIUS}"
        )));
    }
    Ok(())
}

fn check_bound(eb: f64) -> Result<()> {
    if !eb.is_finite() || eb < 0.0 {
        return Err(PressioError::InvalidArgument(format!(
            "error bound {eb} is not finite and >= 0"
        )));
    }
    Ok(())
}

/// Precomputed constants for one error bound (shared by the encoder and the decoder, so both
/// evaluate the reconstruction formula identically).
#[derive(Debug, Clone, Copy, PartialEq)]
struct BinGeometry {
    /// The bound `e`.
    eb: f64,
    /// `2e`, the bin width.
    twice_eb: f64,
    /// `1 / e`, or 0 in exact-only mode.
    recip: f64,
    /// True when only exact predictions may be coded (`e == 0` or `1/e` not finite).
    exact_only: bool,
}

impl BinGeometry {
    fn new(eb: f64) -> Self {
        let recip = 1.0 / eb;
        let exact_only = eb == 0.0 || !recip.is_finite();
        BinGeometry {
            eb,
            twice_eb: 2.0 * eb,
            recip: if exact_only { 0.0 } else { recip },
            exact_only,
        }
    }

    #[inline(always)]
    fn reconstruct<T: Float>(&self, pred: T, q: i64) -> T {
        // q == 0 gives `pred` back exactly (up to the sign of a zero).
        T::from_f64_round(pred.as_f64() + (q as f64) * self.twice_eb)
    }
}

/// The SZ3 linear quantizer (encoder side). Unpredictable values accumulate in order and are
/// read back by [`Dequantizer`] in the same order.
#[derive(Debug, Clone)]
pub struct LinearQuantizer<T: Float> {
    geom: BinGeometry,
    radius: i64,
    /// `2R - 1` as f64: `|diff| / e` must be below this for a code to exist.
    limit: f64,
    unpred: Vec<T>,
}

impl<T: Float> LinearQuantizer<T> {
    /// A quantizer with bound `eb >= 0` and radius `1 <= radius <= MAX_RADIUS`.
    pub fn new(eb: f64, radius: u32) -> Result<Self> {
        check_bound(eb)?;
        check_radius(radius)?;
        Ok(LinearQuantizer {
            geom: BinGeometry::new(eb),
            radius: radius as i64,
            limit: (2 * radius as i64 - 1) as f64,
            unpred: Vec::new(),
        })
    }

    /// The current bound.
    pub fn eb(&self) -> f64 {
        self.geom.eb
    }

    /// Change the bound (level-wise bounds); unpredictables collected so far are kept.
    pub fn set_eb(&mut self, eb: f64) -> Result<()> {
        check_bound(eb)?;
        self.geom = BinGeometry::new(eb);
        Ok(())
    }

    /// The radius `R`.
    pub fn radius(&self) -> u32 {
        self.radius as u32
    }

    /// Size of the code alphabet, `2R`.
    pub fn alphabet_size(&self) -> u32 {
        2 * self.radius as u32
    }

    /// Quantize `x` against `pred`: returns `(code, reconstructed value)`. Code 0 means `x` was
    /// pushed to the unpredictable list and the reconstructed value is `x` itself.
    #[inline(always)]
    pub fn quantize(&mut self, x: T, pred: T) -> (u32, T) {
        let xf = x.as_f64();
        let diff = xf - pred.as_f64();
        if self.geom.exact_only {
            if diff == 0.0 {
                return (self.radius as u32, pred);
            }
            self.unpred.push(x);
            return (0, x);
        }
        let scaled = diff.abs() * self.geom.recip;
        // NaN differences are unpredictable too.
        if scaled.is_nan() || scaled >= self.limit {
            self.unpred.push(x);
            return (0, x);
        }
        let half = ((scaled as i64) + 1) >> 1;
        // Branch-free sign (the sign of the residual is noise for the branch predictor).
        let neg = (diff < 0.0) as i64;
        let q = (half ^ -neg) + neg;
        let xr = self.geom.reconstruct(pred, q);
        if (xr.as_f64() - xf).abs() <= self.geom.eb {
            ((self.radius + q) as u32, xr)
        } else {
            self.unpred.push(x);
            (0, x)
        }
    }

    /// Quantize `*x` against `pred` and overwrite `*x` with its reconstruction; returns the code.
    #[inline(always)]
    pub fn quantize_and_overwrite(&mut self, x: &mut T, pred: T) -> u32 {
        let (code, xr) = self.quantize(*x, pred);
        *x = xr;
        code
    }

    /// Store `x` as unpredictable unconditionally (returns code 0).
    pub fn force_unpredictable(&mut self, x: T) -> u32 {
        self.unpred.push(x);
        0
    }

    /// The unpredictable values collected so far, in order.
    pub fn unpredictables(&self) -> &[T] {
        &self.unpred
    }

    /// Forget the unpredictable values after the first `n` (an encoder retrying a stretch of
    /// points with another predictor).
    pub fn truncate_unpredictables(&mut self, n: usize) {
        self.unpred.truncate(n);
    }

    /// Take the unpredictable values, leaving the list empty.
    pub fn take_unpredictables(&mut self) -> Vec<T> {
        std::mem::take(&mut self.unpred)
    }
}

/// Histogram of quantization codes plus an unpredictable count, for estimating coded sizes
/// (what samplers compare when choosing predictors and parameters).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CodeStats {
    hist: Vec<u64>,
    total: u64,
    unpred: u64,
}

impl CodeStats {
    /// Empty statistics.
    pub fn new() -> Self {
        Self::default()
    }

    /// Count `codes` and `unpredictables` more exact values.
    pub fn add(&mut self, codes: &[u32], unpredictables: usize) {
        for &c in codes {
            let c = c as usize;
            if c >= self.hist.len() {
                self.hist.resize(c + 1, 0);
            }
            self.hist[c] += 1;
        }
        self.total += codes.len() as u64;
        self.unpred += unpredictables as u64;
    }

    /// Estimated coded size in bits: the Shannon entropy of the codes, `value_bits` per
    /// unpredictable value and 8 bits per distinct code (the code table).
    pub fn bits(&self, value_bits: u32) -> f64 {
        let t = self.total.max(1) as f64;
        let mut entropy = 0.0;
        let mut distinct = 0.0;
        for &c in self.hist.iter().filter(|&&c| c > 0) {
            let c = c as f64;
            entropy -= c * (c / t).log2();
            distinct += 1.0;
        }
        entropy + self.unpred as f64 * value_bits as f64 + distinct * 8.0
    }
}

/// Coded size in bits of `codes` with the real back end (the canonical Huffman code bits, then
/// zstd at level 1, without the code table's fixed cost), plus `value_bits` per unpredictable
/// value: sharper than [`CodeStats::bits`] for codes that zstd compresses beyond their entropy
/// (long runs), and unbiased by table size on small samples. See [`SizeEstimator`] to reuse the
/// zstd context across many estimates.
pub fn coded_bits(codes: &[u32], unpredictables: usize, value_bits: u32) -> Result<f64> {
    SizeEstimator::new()?.coded_bits(codes, unpredictables, value_bits)
}

/// [`coded_bits`] with a reusable zstd context (creating one costs about as much as compressing
/// a small sample).
pub struct SizeEstimator {
    zstd: zstd::bulk::Compressor<'static>,
}

impl std::fmt::Debug for SizeEstimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SizeEstimator")
    }
}

impl SizeEstimator {
    /// A new estimator (zstd level 1).
    pub fn new() -> Result<Self> {
        let zstd = zstd::bulk::Compressor::new(1)
            .map_err(|e| PressioError::backend("zstd", format!("cannot create a context: {e}")))?;
        Ok(SizeEstimator { zstd })
    }

    /// See [`coded_bits`].
    pub fn coded_bits(
        &mut self,
        codes: &[u32],
        unpredictables: usize,
        value_bits: u32,
    ) -> Result<f64> {
        let h = crate::huffman::encode_bitstream(codes)?;
        let z = self
            .zstd
            .compress(&h)
            .map_err(|e| PressioError::backend("zstd", format!("compression failed: {e}")))?;
        Ok((z.len() * 8) as f64 + unpredictables as f64 * value_bits as f64)
    }
}

/// The decoder side of [`LinearQuantizer`]: recovers values from codes, reading unpredictables
/// in order.
#[derive(Debug, Clone)]
pub struct Dequantizer<'a, T: Float> {
    geom: BinGeometry,
    radius: i64,
    unpred: &'a [T],
    pos: usize,
}

impl<'a, T: Float> Dequantizer<'a, T> {
    /// A dequantizer with bound `eb`, radius `radius`, reading unpredictables from `unpred`.
    pub fn new(eb: f64, radius: u32, unpred: &'a [T]) -> Result<Self> {
        check_bound(eb)?;
        check_radius(radius)?;
        Ok(Dequantizer {
            geom: BinGeometry::new(eb),
            radius: radius as i64,
            unpred,
            pos: 0,
        })
    }

    /// The current bound.
    pub fn eb(&self) -> f64 {
        self.geom.eb
    }

    /// Change the bound (must follow the encoder's changes exactly).
    pub fn set_eb(&mut self, eb: f64) -> Result<()> {
        check_bound(eb)?;
        self.geom = BinGeometry::new(eb);
        Ok(())
    }

    /// Recover the value for `code` given `pred`. Fails on a code outside `[0, 2R)` or when the
    /// unpredictable list is exhausted.
    #[inline(always)]
    pub fn recover(&mut self, pred: T, code: u32) -> Result<T> {
        if code == 0 {
            return self.next_unpredictable();
        }
        let q = code as i64 - self.radius;
        if q >= self.radius {
            return Err(PressioError::corrupt(format!(
                "quantization code {code} out of range"
            )));
        }
        if self.geom.exact_only {
            return Ok(pred);
        }
        Ok(self.geom.reconstruct(pred, q))
    }

    /// The next unpredictable value.
    #[inline]
    pub fn next_unpredictable(&mut self) -> Result<T> {
        let v =
            self.unpred.get(self.pos).copied().ok_or_else(|| {
                PressioError::corrupt("more unpredictable codes than stored values")
            })?;
        self.pos += 1;
        Ok(v)
    }

    /// Number of unpredictable values consumed so far.
    pub fn consumed(&self) -> usize {
        self.pos
    }

    /// Fail unless every unpredictable value was consumed (a consistency check after decoding).
    pub fn finish(&self) -> Result<()> {
        if self.pos != self.unpred.len() {
            return Err(PressioError::corrupt(format!(
                "{} unpredictable values stored but {} used",
                self.unpred.len(),
                self.pos
            )));
        }
        Ok(())
    }
}

/// Dual quantization (cuSZ; used by CFNN): integer pre-quantization then integer residual codes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DualQuantizer {
    geom: BinGeometry,
    radius: i64,
}

/// Largest pre-quantized magnitude (keeps sums of a few neighbours far from overflow).
pub const MAX_PREQUANT: i64 = 1 << 52;

/// The output of [`DualQuantizer::prequantize_all`].
#[derive(Debug, Clone, PartialEq)]
pub struct Prequantized<T: Float> {
    /// `round(x / 2e)` for every value (0 for exceptions that do not fit).
    pub q: Vec<i64>,
    /// `(index, exact value)` for every value whose pre-quantized reconstruction misses the bound
    /// (non-finite, too large, or lost to rounding in `T`), in index order.
    pub exceptions: Vec<(u64, T)>,
}

impl DualQuantizer {
    /// A dual quantizer with bound `eb > 0` and radius `radius` for the residual codes.
    pub fn new(eb: f64, radius: u32) -> Result<Self> {
        check_bound(eb)?;
        check_radius(radius)?;
        let geom = BinGeometry::new(eb);
        if geom.exact_only {
            return Err(PressioError::InvalidArgument(
                "dual quantization needs a positive, normal error bound".into(),
            ));
        }
        Ok(DualQuantizer {
            geom,
            radius: radius as i64,
        })
    }

    /// The bound `e`.
    pub fn eb(&self) -> f64 {
        self.geom.eb
    }

    /// The radius `R`.
    pub fn radius(&self) -> u32 {
        self.radius as u32
    }

    /// `round(x / 2e)` when `2e * q` (rounded to `T`) is within `e` of `x`; `None` otherwise.
    #[inline]
    pub fn prequantize<T: Float>(&self, x: T) -> Option<i64> {
        let xf = x.as_f64();
        let r = (xf / self.geom.twice_eb).round();
        if r.is_nan() || r.abs() > MAX_PREQUANT as f64 {
            return None;
        }
        let q = r as i64;
        let xr: T = self.dequantize(q);
        if (xr.as_f64() - xf).abs() <= self.geom.eb {
            Some(q)
        } else {
            None
        }
    }

    /// `2e * q`, rounded to `T`.
    #[inline]
    pub fn dequantize<T: Float>(&self, q: i64) -> T {
        T::from_f64_round(q as f64 * self.geom.twice_eb)
    }

    /// Pre-quantize a whole array. Values that cannot be represented within the bound get
    /// `q = 0` and are listed in [`Prequantized::exceptions`] (a non-finite value, or a finite one
    /// beyond [`MAX_PREQUANT`] bins, or one whose reconstruction rounds outside the bound).
    pub fn prequantize_all<T: Float>(&self, x: &[T]) -> Prequantized<T> {
        let mut q = Vec::with_capacity(x.len());
        let mut exceptions = Vec::new();
        for (i, &v) in x.iter().enumerate() {
            match self.prequantize(v) {
                Some(qi) => q.push(qi),
                None => {
                    // Keep a nearby integer for prediction purposes when the value is finite.
                    let r = (v.as_f64() / self.geom.twice_eb).round();
                    let near = if r.abs() <= MAX_PREQUANT as f64 {
                        r as i64
                    } else {
                        0
                    };
                    q.push(near);
                    exceptions.push((i as u64, v));
                }
            }
        }
        Prequantized { q, exceptions }
    }

    /// Reconstruct values from pre-quantized integers and exceptions.
    pub fn dequantize_all<T: Float>(&self, q: &[i64], exceptions: &[(u64, T)]) -> Result<Vec<T>> {
        let mut out: Vec<T> = q.iter().map(|&v| self.dequantize(v)).collect();
        for &(i, v) in exceptions {
            let slot = usize::try_from(i)
                .ok()
                .and_then(|i| out.get_mut(i))
                .ok_or_else(|| {
                    PressioError::corrupt(format!("exception index {i} out of range"))
                })?;
            *slot = v;
        }
        Ok(out)
    }

    /// Post-quantize: the code of residual `q - pred`, or 0 (outlier) when `|q - pred| >= R`; the
    /// caller stores the outlier's residual (see [`DualQuantizer::residual`]).
    #[inline(always)]
    pub fn postquantize(&self, q: i64, pred: i64) -> u32 {
        match q.checked_sub(pred) {
            Some(d) if d > -self.radius && d < self.radius => (d + self.radius) as u32,
            _ => 0,
        }
    }

    /// The exact residual `q - pred` (wrapping, so that [`DualQuantizer::recover_outlier`] inverts
    /// it for any inputs).
    #[inline(always)]
    pub fn residual(q: i64, pred: i64) -> i64 {
        q.wrapping_sub(pred)
    }

    /// Recover `q` from a non-zero code.
    #[inline(always)]
    pub fn recover(&self, pred: i64, code: u32) -> Result<i64> {
        let d = code as i64 - self.radius;
        if code == 0 || d >= self.radius {
            return Err(PressioError::corrupt(format!(
                "dual-quantization code {code} out of range"
            )));
        }
        Ok(pred.wrapping_add(d))
    }

    /// Recover `q` from an outlier's stored residual.
    #[inline(always)]
    pub fn recover_outlier(pred: i64, residual: i64) -> i64 {
        pred.wrapping_add(residual)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_bins() {
        let mut q = LinearQuantizer::<f64>::new(0.5, DEFAULT_RADIUS).unwrap();
        assert_eq!(q.quantize(0.0, 0.0), (32768, 0.0));
        assert_eq!(q.quantize(0.49, 0.0), (32768, 0.0));
        assert_eq!(q.quantize(0.5, 0.0), (32769, 1.0));
        assert_eq!(q.quantize(-1.6, 0.0), (32766, -2.0));
        assert_eq!(q.quantize(1e9, 0.0).0, 0);
        assert_eq!(q.quantize(f64::NAN, 0.0).0, 0);
        assert_eq!(q.quantize(f64::INFINITY, 0.0).0, 0);
        assert_eq!(q.unpredictables().len(), 3);
        let unpred = q.take_unpredictables();
        let mut d = Dequantizer::new(0.5, DEFAULT_RADIUS, &unpred).unwrap();
        assert_eq!(d.recover(0.0, 32769).unwrap(), 1.0);
        assert_eq!(d.recover(0.0, 0).unwrap(), 1e9);
        assert!(d.recover(0.0, 65536).is_err());
    }

    #[test]
    fn exact_mode() {
        let mut q = LinearQuantizer::<f32>::new(0.0, 4).unwrap();
        assert_eq!(q.quantize(1.5, 1.5), (4, 1.5));
        assert_eq!(q.quantize(1.5, 1.25), (0, 1.5));
        let mut d = Dequantizer::new(0.0, 4, &[1.5f32]).unwrap();
        assert_eq!(d.recover(1.5, 4).unwrap(), 1.5);
        assert_eq!(d.recover(0.0, 0).unwrap(), 1.5);
        assert!(d.finish().is_ok());
    }

    #[test]
    fn dual() {
        let dq = DualQuantizer::new(0.01, 8).unwrap();
        assert_eq!(dq.prequantize(1.0f64), Some(50));
        assert_eq!(dq.prequantize(f32::NAN), None);
        assert_eq!(dq.postquantize(10, 7), 11);
        assert_eq!(dq.postquantize(100, 7), 0);
        assert_eq!(dq.recover(7, 11).unwrap(), 10);
    }
}
