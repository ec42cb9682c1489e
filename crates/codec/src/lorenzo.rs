//! First-order Lorenzo prediction for 1 to 4 dimensions, with full quantize/recover drivers.
//!
//! The predictor of a point is the alternating sum of its "lower" neighbours: for every non-empty
//! subset `S` of the axes, the neighbour one step back along each axis of `S`, with sign
//! `(-1)^(|S|+1)`. In 2-D that is `p(i-1,j) + p(i,j-1) - p(i-1,j-1)`. Out-of-range neighbours
//! are 0. Axes are in LibPressio order (`dims[0]` fastest); axes of extent 1 are dropped first,
//! and more than four non-trivial axes are refused (merge slow axes beforehand).
//!
//! The float drivers predict from **reconstructed** values, exactly as the decoder sees them
//! ([`compress`] / [`decompress`]). The dual-quantization drivers ([`dual_compress`] /
//! [`dual_decompress`]) predict from the pre-quantized integers, which the decoder recovers
//! exactly.

use crate::interp::squeeze_dims;
use crate::quantizer::{coded_bits, Dequantizer, Float, LinearQuantizer};
use pressio_ml_core::{PressioError, Result};

/// Codes and unpredictable values of a quantized field.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantized<T: Float> {
    /// One code per value in traversal order (code 0 = unpredictable).
    pub codes: Vec<u32>,
    /// The unpredictable values, stored exactly, in traversal order.
    pub unpredictables: Vec<T>,
}

/// The output of [`dual_compress`].
#[derive(Debug, Clone, PartialEq)]
pub struct DualQuantized<T: Float> {
    /// One code per value in C traversal order (code 0 = outlier).
    pub codes: Vec<u32>,
    /// The exact residuals of the outliers, in traversal order.
    pub outliers: Vec<i64>,
    /// Values that pre-quantization cannot represent within the bound: `(index, exact value)`.
    pub exceptions: Vec<(u64, T)>,
}

/// Values the Lorenzo stencil can run on (floats, and wrapping `i64` for dual quantization).
pub trait LorenzoValue: Copy + Default {
    /// `self + other` (wrapping for integers).
    fn l_add(self, other: Self) -> Self;
    /// `self - other` (wrapping for integers).
    fn l_sub(self, other: Self) -> Self;
}

impl LorenzoValue for f32 {
    #[inline(always)]
    fn l_add(self, o: Self) -> Self {
        self + o
    }
    #[inline(always)]
    fn l_sub(self, o: Self) -> Self {
        self - o
    }
}
impl LorenzoValue for f64 {
    #[inline(always)]
    fn l_add(self, o: Self) -> Self {
        self + o
    }
    #[inline(always)]
    fn l_sub(self, o: Self) -> Self {
        self - o
    }
}
impl LorenzoValue for i64 {
    #[inline(always)]
    fn l_add(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
    #[inline(always)]
    fn l_sub(self, o: Self) -> Self {
        self.wrapping_sub(o)
    }
}

/// A padded working grid: one leading zero layer along every axis so the stencil needs no bounds
/// logic.
pub(crate) struct Padded<V> {
    /// Interior extents, fastest first (1 to 4 of them).
    pub(crate) dims: Vec<usize>,
    /// Offsets of one step along each padded axis.
    pub(crate) offs: [usize; 4],
    buf: Vec<V>,
}

impl<V: LorenzoValue> Padded<V> {
    pub(crate) fn new(dims: &[usize]) -> Result<Self> {
        let pdims: Vec<usize> = dims.iter().map(|&d| d + 1).collect();
        let total = pdims
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| PressioError::InvalidDims(format!("{dims:?} is too large")))?;
        let mut offs = [0usize; 4];
        let mut acc = 1;
        for (i, &p) in pdims.iter().enumerate() {
            offs[i] = acc;
            acc *= p;
        }
        Ok(Padded {
            dims: dims.to_vec(),
            offs,
            buf: vec![V::default(); total],
        })
    }

    /// Padded offset of the first interior point of every interior row (fastest axis), in C
    /// order.
    fn row_starts(&self) -> Vec<usize> {
        let n = self.dims.len();
        let ext = |a: usize| if a < n { self.dims[a] } else { 1 };
        let pad = |a: usize| usize::from(a < n);
        let mut rows = Vec::with_capacity(ext(1) * ext(2) * ext(3));
        for m in 0..ext(3) {
            for l in 0..ext(2) {
                for j in 0..ext(1) {
                    rows.push(
                        1 + (j + pad(1)) * self.offs[1]
                            + (l + pad(2)) * self.offs[2]
                            + (m + pad(3)) * self.offs[3],
                    );
                }
            }
        }
        rows
    }

    /// Visit every interior point in C order (fastest axis innermost), calling
    /// `f(buf, padded_index, interior_index, prediction)`.
    pub(crate) fn traverse(
        &mut self,
        mut f: impl FnMut(&mut [V], usize, usize, V) -> Result<()>,
    ) -> Result<()> {
        let [o0, o1, o2, o3] = self.offs;
        let n0 = self.dims[0];
        let rows = self.row_starts();
        let mut k = 0usize;
        macro_rules! sweep {
            (|$b:ident, $x:ident| $pred:expr) => {
                for &start in &rows {
                    for $x in start..start + n0 {
                        let p = {
                            let $b = &self.buf;
                            $pred
                        };
                        f(&mut self.buf, $x, k, p)?;
                        k += 1;
                    }
                }
            };
        }
        match self.dims.len() {
            1 => sweep!(|b, x| b[x - o0]),
            2 => sweep!(|b, x| b[x - o0].l_add(b[x - o1]).l_sub(b[x - o0 - o1])),
            3 => sweep!(|b, x| b[x - o0]
                .l_add(b[x - o1])
                .l_add(b[x - o2])
                .l_sub(b[x - o0 - o1])
                .l_sub(b[x - o0 - o2])
                .l_sub(b[x - o1 - o2])
                .l_add(b[x - o0 - o1 - o2])),
            4 => sweep!(|b, x| {
                let singles = b[x - o0].l_add(b[x - o1]).l_add(b[x - o2]).l_add(b[x - o3]);
                let pairs = b[x - o0 - o1]
                    .l_add(b[x - o0 - o2])
                    .l_add(b[x - o0 - o3])
                    .l_add(b[x - o1 - o2])
                    .l_add(b[x - o1 - o3])
                    .l_add(b[x - o2 - o3]);
                let triples = b[x - o0 - o1 - o2]
                    .l_add(b[x - o0 - o1 - o3])
                    .l_add(b[x - o0 - o2 - o3])
                    .l_add(b[x - o1 - o2 - o3]);
                let quad = b[x - o0 - o1 - o2 - o3];
                singles.l_sub(pairs).l_add(triples).l_sub(quad)
            }),
            n => {
                return Err(PressioError::InvalidDims(format!(
                    "Lorenzo supports 1 to 4 dimensions, not {n}"
                )))
            }
        }
        Ok(())
    }

    /// Copy `values` (interior, C order) into the padded grid.
    pub(crate) fn fill(&mut self, values: &[V]) {
        let n0 = self.dims[0];
        for (r, start) in self.row_starts().into_iter().enumerate() {
            self.buf[start..start + n0].copy_from_slice(&values[r * n0..(r + 1) * n0]);
        }
    }
}

pub(crate) fn check_len(dims: &[usize], len: usize) -> Result<Vec<usize>> {
    let d = squeeze_dims(dims, len)?;
    if d.len() > 4 {
        return Err(PressioError::InvalidDims(format!(
            "Lorenzo supports at most 4 non-trivial dimensions, got {dims:?}"
        )));
    }
    Ok(d)
}

/// The Lorenzo prediction at interior coordinates `coord` (fastest first) of a dense array
/// `values` with extents `dims` (1 to 4 axes, no squeezing), out-of-range neighbours read as 0.
/// A slow, general helper for callers that mix Lorenzo with other predictors.
pub fn predict_at<V: LorenzoValue>(values: &[V], dims: &[usize], coord: &[usize]) -> Result<V> {
    if dims.is_empty() || dims.len() > 4 || coord.len() != dims.len() {
        return Err(PressioError::InvalidDims(format!(
            "bad Lorenzo query {coord:?} in {dims:?}"
        )));
    }
    let n = dims.len();
    let mut strides = [0usize; 4];
    let mut acc = 1usize;
    for i in 0..n {
        if coord[i] >= dims[i] {
            return Err(PressioError::InvalidDims(format!(
                "{coord:?} is outside {dims:?}"
            )));
        }
        strides[i] = acc;
        acc = acc.saturating_mul(dims[i]);
    }
    if acc != values.len() {
        return Err(PressioError::InvalidDims(format!(
            "{} values do not match dims {dims:?}",
            values.len()
        )));
    }
    let base: usize = (0..n).map(|i| coord[i] * strides[i]).sum();
    let mut pred = V::default();
    'subsets: for mask in 1u32..(1 << n) {
        let mut idx = base;
        for i in 0..n {
            if mask & (1 << i) != 0 {
                if coord[i] == 0 {
                    continue 'subsets;
                }
                idx -= strides[i];
            }
        }
        pred = if mask.count_ones() % 2 == 1 {
            pred.l_add(values[idx])
        } else {
            pred.l_sub(values[idx])
        };
    }
    Ok(pred)
}

/// Quantize `data` (extents `dims`, fastest first) with Lorenzo prediction and the linear
/// quantizer (bound `eb`, radius `radius`). Codes come out in C order.
pub fn compress<T: Float + LorenzoValue>(
    data: &[T],
    dims: &[usize],
    eb: f64,
    radius: u32,
) -> Result<Quantized<T>> {
    let d = check_len(dims, data.len())?;
    let mut quant = LinearQuantizer::<T>::new(eb, radius)?;
    let mut grid = Padded::<T>::new(&d)?;
    grid.fill(data);
    let mut codes = vec![0u32; data.len()];
    grid.traverse(|buf, x, k, pred| {
        codes[k] = quant.quantize_and_overwrite(&mut buf[x], pred);
        Ok(())
    })?;
    Ok(Quantized {
        codes,
        unpredictables: quant.take_unpredictables(),
    })
}

/// Estimated compressed bits of Lorenzo coding of `samples` (blocks such as
/// [`crate::interp::sample_blocks`] returns) through the real back end, comparable with
/// [`crate::interp::estimate_bits`].
pub fn estimate_bits<T: Float + LorenzoValue>(
    samples: &[(Vec<T>, Vec<usize>)],
    eb: f64,
    radius: u32,
) -> Result<f64> {
    let mut codes = Vec::new();
    let mut unpred = 0usize;
    for (vals, bdims) in samples {
        let enc = compress(vals, bdims, eb, radius)?;
        codes.extend_from_slice(&enc.codes);
        unpred += enc.unpredictables.len();
    }
    coded_bits(&codes, unpred, (T::BYTES * 8) as u32)
}

/// Invert [`compress`].
pub fn decompress<T: Float + LorenzoValue>(
    dims: &[usize],
    eb: f64,
    radius: u32,
    codes: &[u32],
    unpredictables: &[T],
) -> Result<Vec<T>> {
    let mut out = vec![T::ZERO; codes.len()];
    decompress_into(dims, eb, radius, codes, unpredictables, &mut out)?;
    Ok(out)
}

/// [`decompress`] into a caller's buffer of `codes.len()` values.
pub fn decompress_into<T: Float + LorenzoValue>(
    dims: &[usize],
    eb: f64,
    radius: u32,
    codes: &[u32],
    unpredictables: &[T],
    out: &mut [T],
) -> Result<()> {
    let d = check_len(dims, codes.len())?;
    if out.len() != codes.len() {
        return Err(PressioError::InvalidDims(format!(
            "output of {} values for {} codes",
            out.len(),
            codes.len()
        )));
    }
    let mut deq = Dequantizer::new(eb, radius, unpredictables)?;
    let mut grid = Padded::<T>::new(&d)?;
    grid.traverse(|buf, x, k, pred| {
        let v = deq.recover(pred, codes[k])?;
        buf[x] = v;
        out[k] = v;
        Ok(())
    })?;
    deq.finish()
}

/// Dual quantization with integer Lorenzo prediction: pre-quantize every value, predict each
/// integer from its (exact) pre-quantized neighbours, and code the residuals (the hybrid
/// driver of [`crate::hybrid`] without cross-field predictors).
pub fn dual_compress<T: Float>(
    data: &[T],
    dims: &[usize],
    eb: f64,
    radius: u32,
) -> Result<DualQuantized<T>> {
    crate::hybrid::hybrid_compress(
        data,
        dims,
        eb,
        radius,
        &[],
        &crate::hybrid::Blend::lorenzo(0),
    )
}

/// Invert [`dual_compress`].
pub fn dual_decompress<T: Float>(
    dims: &[usize],
    eb: f64,
    radius: u32,
    encoded: &DualQuantized<T>,
) -> Result<Vec<T>> {
    crate::hybrid::hybrid_decompress(
        dims,
        eb,
        radius,
        &[],
        &crate::hybrid::Blend::lorenzo(0),
        encoded,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stencil_matches_general_helper() {
        let dims = [3usize, 4, 2, 2];
        let vals: Vec<f64> = (0..48).map(|i| ((i * 37) % 11) as f64 - 3.5).collect();
        let mut grid = Padded::<f64>::new(&dims).unwrap();
        grid.fill(&vals);
        let mut preds = vec![0.0; 48];
        grid.traverse(|_, _, k, p| {
            preds[k] = p;
            Ok(())
        })
        .unwrap();
        for (k, &expected) in preds.iter().enumerate() {
            let c = [k % 3, (k / 3) % 4, (k / 12) % 2, k / 24];
            let p = predict_at(&vals, &dims, &c).unwrap();
            assert!((p - expected).abs() < 1e-12, "{k}");
        }
    }

    #[test]
    fn linear_ramp_is_predicted_exactly() {
        let dims = [5usize, 6, 7];
        let data: Vec<f32> = (0..210)
            .map(|k| (k % 5) as f32 + 2.0 * ((k / 5) % 6) as f32)
            .collect();
        let enc = compress(&data, &dims, 1e-3, 32768).unwrap();
        let interior = enc.codes.iter().filter(|&&c| c == 32768).count();
        assert!(interior > 150);
        let dec = decompress(&dims, 1e-3, 32768, &enc.codes, &enc.unpredictables).unwrap();
        for (a, b) in data.iter().zip(&dec) {
            assert!((*a as f64 - *b as f64).abs() <= 1e-3);
        }
    }
}
