//! The `sperr` body: SPERR 0.8.5 (through the `sperr` crate, serial) behind the pressio-ml field
//! envelope.
//!
//! Shapes: SPERR's C API takes 2-D slices and 3-D volumes (x fastest). Normalized pressio dims
//! (fastest first) map as follows:
//!
//! * 1-D `[n]` is compressed as an `n x 1` slice (SPERR's wavelets and SPECK handle an extent of
//!   1; checked by the tests);
//! * 2-D `[nx, ny]` is a slice; 3-D `[nx, ny, nz]` a volume, cut into `chunks` by SPERR;
//! * 4-D and more are compressed as the volume `[nx, ny, nz * nw * ...]` (the slowest
//!   dimensions merged, which keeps every x-y plane intact).
//!
//! Sections: `SPRS` holds SPERR's bit stream (2-D streams carry SPERR's 10-byte header so the
//! decoder can check dims); `SPRW` holds the values losslessly (zstd) when SPERR cannot be used
//! safely:
//!
//! * point-wise mode with a tolerance below what SPERR's double arithmetic resolves (smaller than
//!   `max|x| * 2^-40`, or `max|x| * 2^-21` for `float` data where the result would be rounded
//!   to float anyway): SPERR then fails or exceeds the tolerance everywhere;
//! * PSNR mode whose target RMSE is below `max|x| * 2^-40`: SPERR's search for the
//!   quantization step does not terminate there (observed: PSNR 360 on data of range 50);
//! * any point-wise compression SPERR reports as failed.
//!
//! Both are within any bound, so the envelope's guarantees hold.
//!
//! # Huge values (issue 10)
//!
//! SPERR itself is never handed a magnitude it mishandles: the values and the tolerance are
//! scaled by a power of two first (see [`scale_exponent`], which documents the SPERR crash this
//! prevents), and the exponent travels in the stream (`SPRN` section, below).
//!
//! Sections, continued: `SPRN` holds the scale exponent `k` (i32, little endian) followed by
//! SPERR's bit stream of the values times `2^k`; streams written before the guard (and streams
//! with `k = 0`) hold `SPRS` instead, which decodes as before.

use ndarray::{ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3};
use pressio_ml_codec::container::{ParsedStream, Section, Tag};
use pressio_ml_codec::field::{FieldCodec, Float};
use pressio_ml_codec::lossless;
use pressio_ml_core::{PressioError, Result};

/// Section holding SPERR's bit stream.
pub const TAG_SPERR: Tag = Tag(*b"SPRS");
/// Section holding the values losslessly (the safe path).
pub const TAG_SPERR_RAW: Tag = Tag(*b"SPRW");
/// Section holding the scale exponent `k` (i32 LE) and SPERR's bit stream of `values * 2^k`.
/// A new tag (rather than an extra section next to `SPRS`) so that a decoder from before the
/// guard refuses such a stream instead of returning values off by `2^k`.
pub const TAG_SPERR_SCALED: Tag = Tag(*b"SPRN");

/// Largest `|k|` a stream may carry: the exponents of finite doubles span -1074..=1023.
pub const MAX_SCALE_EXPONENT: i32 = 1100;

/// SPERR's quality-control mode, with LibPressio's codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SperrMode {
    /// 1: fixed bits per value.
    Bpp,
    /// 2: fixed peak signal-to-noise ratio.
    Psnr,
    /// 3: fixed point-wise (absolute) error.
    Pwe,
}

impl SperrMode {
    /// Every mode.
    pub const ALL: [SperrMode; 3] = [SperrMode::Bpp, SperrMode::Psnr, SperrMode::Pwe];

    /// LibPressio's `sperr:mode` code.
    pub fn code(self) -> i32 {
        match self {
            SperrMode::Bpp => 1,
            SperrMode::Psnr => 2,
            SperrMode::Pwe => 3,
        }
    }

    /// LibPressio's `sperr:mode_str` name.
    pub fn name(self) -> &'static str {
        match self {
            SperrMode::Bpp => "bpp",
            SperrMode::Psnr => "psnr",
            SperrMode::Pwe => "pwe",
        }
    }

    /// The mode with code `c`.
    pub fn from_code(c: i32) -> Option<SperrMode> {
        SperrMode::ALL.into_iter().find(|m| m.code() == c)
    }

    /// The mode named `s` (case-insensitive).
    pub fn from_name(s: &str) -> Option<SperrMode> {
        SperrMode::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s.trim()))
    }
}

/// The SPERR shape for normalized pressio dims: a slice `(nx, ny)` or a volume `(nx, ny, nz)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A 2-D slice, x fastest.
    Slice(usize, usize),
    /// A 3-D volume, x fastest.
    Volume(usize, usize, usize),
}

/// Map normalized dims (fastest first) to a SPERR shape.
pub fn shape_for(dims: &[usize]) -> Shape {
    match *dims {
        [] => Shape::Slice(1, 1),
        [n] => Shape::Slice(n, 1),
        [x, y] => Shape::Slice(x, y),
        [x, y, ref rest @ ..] => {
            Shape::Volume(x, y, rest.iter().fold(1usize, |a, &d| a.saturating_mul(d)))
        }
    }
}

/// The field codec that runs SPERR.
#[derive(Debug, Clone, Copy)]
pub struct SperrCodec {
    /// Quality-control mode.
    pub mode: SperrMode,
    /// Target for bpp and psnr modes (point-wise mode takes the envelope's bound).
    pub quality: f64,
    /// Preferred 3-D chunk extents (x, y, z).
    pub chunks: [usize; 3],
}

fn backend(e: impl std::fmt::Display) -> PressioError {
    PressioError::backend(crate::ID, e.to_string())
}

fn raw_section<T: Float>(values: &[T]) -> Result<Section> {
    let mut bytes = Vec::with_capacity(values.len() * T::BYTES);
    for &v in values {
        bytes.extend_from_slice(&v.to_bits_u64().to_le_bytes()[..T::BYTES]);
    }
    Ok(Section::new(
        TAG_SPERR_RAW,
        lossless::compress(&bytes, lossless::DEFAULT_LEVEL)?,
    ))
}

fn decode_raw<T: Float>(bytes: &[u8], out: &mut [T]) -> Result<()> {
    let want = out.len() * T::BYTES;
    let raw = lossless::decompress(bytes, want)?;
    if raw.len() != want {
        return Err(PressioError::corrupt(
            "sperr: raw section has the wrong size",
        ));
    }
    for (o, c) in out.iter_mut().zip(raw.chunks_exact(T::BYTES)) {
        let mut b = [0u8; 8];
        b[..T::BYTES].copy_from_slice(c);
        *o = T::from_bits_u64(u64::from_le_bytes(b));
    }
    Ok(())
}

/// Run SPERR on `values` (an `f32` or `f64` slice).
fn compress_typed<V: sperr::Element>(
    values: &[V],
    shape: Shape,
    mode: sperr::CompressionMode,
    chunks: [usize; 3],
) -> std::result::Result<Vec<u8>, sperr::Error> {
    match shape {
        Shape::Slice(x, y) => {
            let view = ArrayView2::from_shape((y, x), values)
                .map_err(|_| sperr::Error::InvalidParameter)?;
            sperr::compress_2d(view, mode)
        }
        Shape::Volume(x, y, z) => {
            let view = ArrayView3::from_shape((z, y, x), values)
                .map_err(|_| sperr::Error::InvalidParameter)?;
            sperr::compress_3d(view, mode, (chunks[2], chunks[1], chunks[0]))
        }
    }
}

fn decompress_typed<V: sperr::Element>(bytes: &[u8], shape: Shape, out: &mut [V]) -> Result<()> {
    // SPERR's header parser reads up to 14 bytes (10 for slices, 14 for volumes, chosen by a
    // flag inside the header) without checking the length.
    if bytes.len() < 15 {
        return Err(PressioError::corrupt(
            "sperr: SPERR stream shorter than its header",
        ));
    }
    let r = match shape {
        Shape::Slice(x, y) => {
            let view = ArrayViewMut2::from_shape((y, x), out)
                .map_err(|_| PressioError::corrupt("sperr: dims do not match the output"))?;
            sperr::decompress_into_2d(bytes, view)
        }
        Shape::Volume(x, y, z) => {
            let view = ArrayViewMut3::from_shape((z, y, x), out)
                .map_err(|_| PressioError::corrupt("sperr: dims do not match the output"))?;
            sperr::decompress_into_3d(bytes, view)
        }
    };
    r.map_err(|e| PressioError::corrupt(format!("sperr: {e}")))
}

/// Largest magnitude of finite values (0 for none).
fn max_abs<T: Float>(values: &[T]) -> f64 {
    values.iter().map(|v| v.to_f64().abs()).fold(0.0, f64::max)
}

/// The exponent `e` with `2^e <= x < 2^(e+1)`, for a finite `x > 0` (subnormals included).
fn binary_exponent(x: f64) -> i32 {
    if x < f64::MIN_POSITIVE {
        return binary_exponent(x * 2f64.powi(64)) - 64;
    }
    ((x.to_bits() >> 52) & 0x7ff) as i32 - 1023
}

/// `2^k` for `k` in -1022..=1023.
fn pow2(k: i32) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// `x * 2^k` for `|k| <= 2 * 1022`, in two exact steps (the result is exact unless it is
/// subnormal or overflows).
fn times_pow2(x: f64, k: i32) -> f64 {
    let h = k / 2;
    x * pow2(h) * pow2(k - h)
}

/// The power of two `2^k` the values and the tolerance are multiplied by before SPERR sees them:
/// the tolerance lands in `[1, 2)` in point-wise mode, the largest magnitude in `[1, 2)` in the
/// bpp and psnr modes (0 when that magnitude is 0).
///
/// # Why: the SPERR 0.8.5 crash on huge values
///
/// `sperr` segfaulted (issue 10) on a temperature field with 10% GrADS missing values
/// (-2.56e33) at `pressio:rel` 1e-3, i.e. a tolerance `t` of 2.56e30. Two defects of the
/// vendored SPERR meet there:
///
/// 1. `Outlier_Coder::encode` (`Outlier_Coder.cpp`) returns `FE_Invalid` when the largest
///    outlier error is above `LLONG_MAX` (2^63, about 9.22e18) *in the data's units*: it
///    range-checks the raw error, where the integer it then codes is the error divided by `t`.
///    Outliers are the points SPERR reconstructs with an error above `t` (up to 1.6 `t` on the
///    test field), so any `t` from about 2^62 up fails as soon as one outlier exists, whatever
///    the data look like.
/// 2. `SPECK_FLT::compress` returns that error before it creates its SPECK encoder (step 4),
///    and `SPERR3D_OMP_C::compress` looks at a chunk's return code only after calling
///    `append_encoded_bitstream` on that chunk's compressor, whose encoder pointer is still
///    null on the first chunk: SIGSEGV. The 2-D driver checks the code and fails cleanly. The
///    same null dereference follows the other early `FE_Invalid`, in `m_midtread_quantize`,
///    when `max|wavelet coefficient| / q` is not finite or above 2^63: tolerances far below the
///    data's magnitude (seen at `t = max|x| * 2^-64`), doubles near `f64::MAX` that overflow in
///    SPERR's mean or transform, and psnr mode on tiny magnitudes, whose squared range
///    underflows to a step `q` of 0 (seen on a field scaled by 2^-1000).
///
/// The exact condition was checked on both sides (`tests/huge_values.rs`, raw SPERR in child
/// processes): a field at tolerance `t * 2^68` (largest outlier error 4.8e18) compresses, the
/// same field at `t * 2^69` (9.6e18 > 2^63) dies with SIGSEGV.
///
/// # The guard
///
/// Multiplying by a power of two is exact in SPERR's double arithmetic (the mean, the CDF 9/7
/// lifting steps, `llrint(c / q)`, the outlier test and the PSNR search all commute with it
/// barring overflow and underflow), so SPERR produces the same integer stream as for unscaled
/// input, only with errors in units of `t * 2^k` in `[1, 2)`: outlier errors stay below 4, far
/// from 2^63; the lossless floor of [`SperrCodec`] (`t > max|x| * 2^-40`) keeps every scaled
/// magnitude below 2^41, so coefficients neither overflow nor exceed 2^63 after quantisation.
/// With `t >= 1` the integer width the outlier coder picks from `llrint(|err|)` also always
/// holds `llrint(err / t)`. Decoding multiplies by `2^-k`. The verify-and-patch guard of the
/// envelope still backs every bound.
pub fn scale_exponent(mode: SperrMode, abs: f64, max_abs: f64) -> i32 {
    let anchor = match mode {
        SperrMode::Pwe => abs,
        SperrMode::Bpp | SperrMode::Psnr => max_abs,
    };
    if anchor > 0.0 && anchor.is_finite() {
        -binary_exponent(anchor)
    } else {
        0
    }
}

impl SperrCodec {
    /// The SPERR mode for this call, or `None` when the values must take the lossless path.
    fn sperr_mode<T: Float>(&self, values: &[T], abs: f64) -> Option<sperr::CompressionMode> {
        let m = max_abs(values);
        let fine = m * 2f64.powi(-40);
        match self.mode {
            SperrMode::Pwe => {
                let floor = if T::BYTES == 4 {
                    m * 2f64.powi(-21)
                } else {
                    fine
                };
                (abs > floor && abs > 0.0)
                    .then_some(sperr::CompressionMode::PointwiseError { pwe: abs })
            }
            SperrMode::Psnr => {
                let (lo, hi) = values
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                        (lo.min(v.to_f64()), hi.max(v.to_f64()))
                    });
                let range = if hi >= lo { hi - lo } else { 0.0 };
                let target_rmse = range * 10f64.powf(-self.quality / 20.0);
                (range == 0.0 || target_rmse > fine).then_some(
                    sperr::CompressionMode::PeakSignalToNoiseRatio { psnr: self.quality },
                )
            }
            SperrMode::Bpp => Some(sperr::CompressionMode::BitsPerPixel { bpp: self.quality }),
        }
    }
}

impl FieldCodec for SperrCodec {
    fn encode<T: Float>(&mut self, values: &[T], dims: &[usize], abs: f64) -> Result<Vec<Section>> {
        let shape = shape_for(dims);
        let Some(mode) = self.sperr_mode(values, abs) else {
            return Ok(vec![raw_section(values)?]);
        };
        // SPERR works in double whatever the input type: scaling in double is exact.
        let k = scale_exponent(self.mode, abs, max_abs(values));
        let scaled: Vec<f64> = values.iter().map(|v| times_pow2(v.to_f64(), k)).collect();
        let mode = match mode {
            sperr::CompressionMode::PointwiseError { pwe } => {
                sperr::CompressionMode::PointwiseError {
                    pwe: times_pow2(pwe, k),
                }
            }
            other => other,
        };
        match compress_typed(&scaled, shape, mode, self.chunks) {
            Ok(bytes) if k == 0 => Ok(vec![Section::new(TAG_SPERR, bytes)]),
            Ok(bytes) => {
                let mut body = Vec::with_capacity(bytes.len() + 4);
                body.extend_from_slice(&k.to_le_bytes());
                body.extend_from_slice(&bytes);
                Ok(vec![Section::new(TAG_SPERR_SCALED, body)])
            }
            // SPERR gives up on tolerances its arithmetic cannot meet: store losslessly instead
            Err(sperr::Error::Other) if self.mode == SperrMode::Pwe => {
                Ok(vec![raw_section(values)?])
            }
            Err(e) => Err(backend(e)),
        }
    }

    fn decode<T: Float>(
        &mut self,
        stream: &ParsedStream<'_>,
        dims: &[usize],
        _abs: f64,
        out: &mut [T],
    ) -> Result<()> {
        if let Some(raw) = stream.optional_section(TAG_SPERR_RAW) {
            return decode_raw(raw, out);
        }
        let shape = shape_for(dims);
        if let Some(body) = stream.optional_section(TAG_SPERR_SCALED) {
            let (k, bytes) = match body.split_first_chunk::<4>() {
                Some((k, rest)) => (i32::from_le_bytes(*k), rest),
                None => return Err(PressioError::corrupt("sperr: scaled section too short")),
            };
            if k.abs() > MAX_SCALE_EXPONENT {
                return Err(PressioError::corrupt(format!(
                    "sperr: scale exponent {k} out of range"
                )));
            }
            let mut scaled = vec![0f64; out.len()];
            decompress_typed(bytes, shape, &mut scaled)?;
            for (o, v) in out.iter_mut().zip(scaled) {
                *o = T::from_f64(times_pow2(v, -k));
            }
            return Ok(());
        }
        let bytes = stream.section(TAG_SPERR)?;
        match T::as_float_slice_mut(out) {
            pressio_ml_codec::field::FloatSliceMut::F32(o) => decompress_typed(bytes, shape, o),
            pressio_ml_codec::field::FloatSliceMut::F64(o) => decompress_typed(bytes, shape, o),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(shape_for(&[7]), Shape::Slice(7, 1));
        assert_eq!(shape_for(&[7, 3]), Shape::Slice(7, 3));
        assert_eq!(shape_for(&[7, 3, 2]), Shape::Volume(7, 3, 2));
        assert_eq!(shape_for(&[7, 3, 2, 5]), Shape::Volume(7, 3, 10));
    }

    #[test]
    fn powers_of_two_are_exact() {
        for x in [
            1.0,
            1.5,
            f64::MIN_POSITIVE,
            4.9e-324,
            2.56e33,
            f64::MAX,
            1e-310,
        ] {
            let e = binary_exponent(x);
            assert!(
                times_pow2(1.0, e) <= x && x < times_pow2(2.0, e),
                "{x:e}: {e}"
            );
            let k = -e;
            let y = times_pow2(x, k);
            assert!((1.0..2.0).contains(&y), "{x:e} * 2^{k} = {y}");
            assert_eq!(times_pow2(y, -k), x, "{x:e} round trip");
        }
        assert_eq!(binary_exponent(4.9e-324), -1074);
        assert_eq!(binary_exponent(f64::MAX), 1023);
        assert_eq!(scale_exponent(SperrMode::Pwe, 0.05, 3e33), 5);
        assert_eq!(scale_exponent(SperrMode::Psnr, 0.05, 0.75), 1);
        assert_eq!(scale_exponent(SperrMode::Bpp, 0.05, 0.0), 0);
    }

    #[test]
    fn short_streams_are_refused_before_sperr() {
        let mut o = vec![0.0f32; 8];
        for n in 0..15 {
            let b = vec![0u8; n];
            assert!(decompress_typed(&b, Shape::Volume(2, 2, 2), &mut o).is_err());
        }
        for n in 0..15 {
            let b = vec![0u8; n];
            assert!(decompress_typed(&b, Shape::Slice(4, 2), &mut o).is_err());
        }
    }
}
