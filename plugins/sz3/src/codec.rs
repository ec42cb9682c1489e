//! The `sz3` body: SZ3 (through the `sz3` crate) behind the pressio-ml field envelope.
//!
//! The envelope hands this body finite values, normalized dims (fastest first) and the resolved
//! absolute bound; the body stores SZ3's own stream, unchanged, in one section (`SZ3S`).
//!
//! Dimension order: SZ3's `Config` takes dims slowest first (`Config(r3, r2, r1)` with `r1`
//! fastest), so the dims are reversed; SZ3 handles at most four dimensions, so the slowest ones
//! are merged when there are more (SZ3 would throw a C++ exception, which cannot cross the FFI
//! boundary safely).
//!
//! Decoding never hands SZ3 bytes it could misread: the envelope has already verified the
//! checksum, and [`check_sz3_stream`] re-parses SZ3's header and configuration block with bounds
//! checks (magic, data version, sizes, dims, element type, algorithm and bound-mode codes) before
//! SZ3 is called, because SZ3 reads its configuration without bounds checks and throws (aborting
//! the process) on unknown codes.

use pressio_ml_codec::container::{ParsedStream, Section, Tag};
use pressio_ml_codec::field::{FieldCodec, Float, FloatSlice, FloatSliceMut};
use pressio_ml_core::{PressioError, Result};
use std::sync::OnceLock;

/// Section holding SZ3's stream.
pub const TAG_SZ3: Tag = Tag(*b"SZ3S");

/// SZ3's magic number (`SZ3_MAGIC_NUMBER`).
const SZ3_MAGIC: u32 = 0xF342_F310;

/// Most dimensions SZ3 compresses natively.
pub const MAX_DIMS: usize = 4;

/// SZ3's compression algorithms (`SZ3::ALGO`), with SZ3's codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `ALGO_LORENZO_REG` (0): SZ2-style blockwise Lorenzo / regression.
    LorenzoReg,
    /// `ALGO_INTERP_LORENZO` (1): SZ3's default, picks interpolation or Lorenzo by sampling.
    InterpLorenzo,
    /// `ALGO_INTERP` (2): multilevel interpolation only.
    Interp,
    /// `ALGO_NOPRED` (3): quantization without prediction.
    NoPred,
    /// `ALGO_LOSSLESS` (4): zstd only.
    Lossless,
}

impl Algorithm {
    /// Every algorithm this plugin accepts.
    pub const ALL: [Algorithm; 5] = [
        Algorithm::LorenzoReg,
        Algorithm::InterpLorenzo,
        Algorithm::Interp,
        Algorithm::NoPred,
        Algorithm::Lossless,
    ];

    /// SZ3's numeric code.
    pub fn code(self) -> u8 {
        match self {
            Algorithm::LorenzoReg => 0,
            Algorithm::InterpLorenzo => 1,
            Algorithm::Interp => 2,
            Algorithm::NoPred => 3,
            Algorithm::Lossless => 4,
        }
    }

    /// SZ3's name (`SZ3::ALGO_MAP`).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::LorenzoReg => "ALGO_LORENZO_REG",
            Algorithm::InterpLorenzo => "ALGO_INTERP_LORENZO",
            Algorithm::Interp => "ALGO_INTERP",
            Algorithm::NoPred => "ALGO_NOPRED",
            Algorithm::Lossless => "ALGO_LOSSLESS",
        }
    }

    /// The algorithm with SZ3 code `code`.
    pub fn from_code(code: u8) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.code() == code)
    }

    /// The algorithm named `name` (case-insensitive, as SZ3 matches names).
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// The SZ3 settings that shape a stream (everything but the bound).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The compression algorithm.
    pub algorithm: Algorithm,
    /// First-order Lorenzo predictor (used by `ALGO_LORENZO_REG`).
    pub lorenzo: bool,
    /// Second-order Lorenzo predictor (used by `ALGO_LORENZO_REG`).
    pub lorenzo2: bool,
    /// Linear regression predictor (used by `ALGO_LORENZO_REG`).
    pub regression: bool,
    /// Number of quantization bins (SZ3's `quantbinCnt`).
    pub quant_bin_size: i32,
}

impl Default for Settings {
    /// SZ3's defaults: `ALGO_INTERP_LORENZO`, Lorenzo and regression on, second-order Lorenzo
    /// off, 65536 quantization bins.
    fn default() -> Self {
        Settings {
            algorithm: Algorithm::InterpLorenzo,
            lorenzo: true,
            lorenzo2: false,
            regression: true,
            quant_bin_size: 65536,
        }
    }
}

impl Settings {
    /// Refuse combinations SZ3 would throw on (a C++ exception aborts the process).
    pub fn validate(&self) -> Result<()> {
        if self.algorithm == Algorithm::LorenzoReg
            && !(self.lorenzo || self.lorenzo2 || self.regression)
        {
            return Err(PressioError::invalid_option(
                "sz3:algorithm_str",
                "ALGO_LORENZO_REG needs at least one of sz3:lorenzo, sz3:lorenzo2, sz3:regression",
            ));
        }
        Ok(())
    }

    fn crate_algorithm(&self) -> sz3::CompressionAlgorithm {
        match self.algorithm {
            Algorithm::LorenzoReg => sz3::CompressionAlgorithm::lorenzo_regression_custom(
                Some(self.lorenzo),
                Some(self.lorenzo2),
                Some(self.regression),
            ),
            Algorithm::InterpLorenzo => sz3::CompressionAlgorithm::interpolation_lorenzo(),
            Algorithm::Interp => sz3::CompressionAlgorithm::interpolation(),
            Algorithm::NoPred => sz3::CompressionAlgorithm::no_prediction(),
            Algorithm::Lossless => sz3::CompressionAlgorithm::lossless(),
        }
    }
}

/// SZ3's dims (slowest first, at most four) for normalized pressio dims (fastest first).
pub fn sz3_dims(dims: &[usize]) -> Vec<usize> {
    let mut rev: Vec<usize> = dims.iter().rev().copied().collect();
    while rev.len() > MAX_DIMS {
        let merged = rev[0].saturating_mul(rev[1]);
        rev.splice(0..2, [merged]);
    }
    rev
}

/// The field codec that runs SZ3.
#[derive(Debug)]
pub struct Sz3Codec<'a> {
    /// SZ3 settings.
    pub settings: &'a Settings,
}

fn backend(e: impl std::fmt::Display) -> PressioError {
    PressioError::backend(crate::ID, e.to_string())
}

fn compress_typed<V: sz3::SZ3Compressible>(
    values: &[V],
    dims: &[usize],
    abs: f64,
    settings: &Settings,
) -> Result<Vec<u8>> {
    let mut builder = sz3::DimensionedData::<V, &[V]>::build(&values);
    for &d in dims {
        builder = builder.dim(d).map_err(backend)?;
    }
    let data = builder.finish().map_err(backend)?;
    let quant = u32::try_from(settings.quant_bin_size)
        .map_err(|_| PressioError::invalid_option("sz3:quant_bin_size", "must be positive"))?;
    let config = sz3::Config::new(sz3::ErrorBound::Absolute(abs))
        .compression_algorithm(settings.crate_algorithm())
        .quantization_bincount(quant);
    sz3::compress_with_config(&data, &config).map_err(backend)
}

fn decompress_typed<V: sz3::SZ3Compressible>(
    bytes: &[u8],
    dims: &[usize],
    out: &mut [V],
) -> Result<()> {
    let mut out = out;
    let mut builder = sz3::DimensionedData::<V, &mut [V]>::build_mut(&mut out);
    for &d in dims {
        builder = builder.dim(d).map_err(backend)?;
    }
    let mut target = builder.finish().map_err(backend)?;
    sz3::decompress_into_dimensioned(bytes, &mut target).map_err(backend)?;
    Ok(())
}

/// The data version word SZ3 writes (bytes 4..8 of its stream), learned once from a one-value
/// compression so decoding can refuse streams SZ3 itself would throw on.
fn sz3_data_version() -> Option<u32> {
    static VERSION: OnceLock<Option<u32>> = OnceLock::new();
    *VERSION.get_or_init(|| {
        let bytes = compress_typed::<f32>(&[0.0], &[1], 1.0, &Settings::default()).ok()?;
        let w: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
        Some(u32::from_le_bytes(w))
    })
}

/// A little bounds-checked cursor over SZ3's bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let stop = self
            .pos
            .checked_add(n)
            .filter(|&s| s <= self.end)
            .ok_or_else(|| PressioError::corrupt("sz3: truncated SZ3 configuration"))?;
        let s = &self.bytes[self.pos..stop];
        self.pos = stop;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u64(&mut self) -> Result<u64> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }
}

/// Validate SZ3's stream against what the envelope promises (dims slowest first, element
/// count, element type) before SZ3 reads it.
pub fn check_sz3_stream(bytes: &[u8], dims: &[usize], num: usize, is_double: bool) -> Result<()> {
    let bad = |m: &str| PressioError::corrupt(format!("sz3: {m}"));
    if bytes.len() < 16 {
        return Err(bad("SZ3 stream shorter than its header"));
    }
    let word = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    if word(0) != SZ3_MAGIC {
        return Err(bad("SZ3 magic number mismatch"));
    }
    match sz3_data_version() {
        Some(v) if v == word(4) => {}
        Some(_) => {
            return Err(PressioError::StreamMismatch(
                "sz3: SZ3 data version differs".into(),
            ))
        }
        None => {
            return Err(PressioError::backend(
                crate::ID,
                "cannot determine SZ3's data version",
            ))
        }
    }
    let mut size = [0u8; 8];
    size.copy_from_slice(&bytes[8..16]);
    let body = usize::try_from(u64::from_le_bytes(size)).map_err(|_| bad("payload size"))?;
    let conf_pos = body
        .checked_add(16)
        .filter(|&p| p < bytes.len())
        .ok_or_else(|| bad("payload size exceeds the stream"))?;
    let conf_len = bytes[conf_pos] as usize;
    let conf_end = conf_pos
        .checked_add(conf_len)
        .filter(|&e| e <= bytes.len() && conf_len > 1)
        .ok_or_else(|| bad("configuration block exceeds the stream"))?;
    let mut c = Cursor {
        bytes,
        pos: conf_pos + 1,
        end: conf_end,
    };
    let n = c.u8()? as usize;
    if n != dims.len() {
        return Err(bad("dimension count differs from the envelope"));
    }
    let width = c.u8()? as usize;
    if width > 64 {
        return Err(bad("dimension bit width"));
    }
    let packed = c.take((n * width).div_ceil(8))?;
    for (i, &want) in dims.iter().enumerate() {
        let mut v: u64 = 0;
        for j in 0..width {
            let bit = i * width + j;
            v |= u64::from((packed[bit / 8] >> (bit % 8)) & 1) << j;
        }
        if usize::try_from(v).ok() != Some(want) {
            return Err(bad("dims differ from the envelope"));
        }
    }
    if usize::try_from(c.u64()?).ok() != Some(num) {
        return Err(bad("element count differs from the envelope"));
    }
    let algo = c.u8()?;
    // ALGO_INTERP_LORENZO is resolved to a concrete algorithm at compression time; SZ3 cannot
    // decode a stream that still names it.
    if !matches!(algo, 0 | 2 | 3 | 4) {
        return Err(bad("unknown algorithm code"));
    }
    let eb_mode = c.u8()?;
    let eb_bytes = match eb_mode {
        0..=3 => 8,
        4 | 5 => 16,
        _ => return Err(bad("unknown error-bound mode")),
    };
    c.take(eb_bytes)?;
    let flags = c.u8()?;
    if algo == 0 && flags & 0b1110_0000 == 0 {
        return Err(bad(
            "Lorenzo/regression stream with every predictor disabled",
        ));
    }
    let dtype = c.u8()?;
    if dtype != u8::from(is_double) {
        return Err(bad("element type differs from the envelope"));
    }
    Ok(())
}

impl FieldCodec for Sz3Codec<'_> {
    fn encode<T: Float>(&mut self, values: &[T], dims: &[usize], abs: f64) -> Result<Vec<Section>> {
        self.settings.validate()?;
        let sdims = sz3_dims(dims);
        let bytes = match T::as_float_slice(values) {
            FloatSlice::F32(v) => compress_typed(v, &sdims, abs, self.settings)?,
            FloatSlice::F64(v) => compress_typed(v, &sdims, abs, self.settings)?,
        };
        Ok(vec![Section::new(TAG_SZ3, bytes)])
    }

    fn decode<T: Float>(
        &mut self,
        stream: &ParsedStream<'_>,
        dims: &[usize],
        _abs: f64,
        out: &mut [T],
    ) -> Result<()> {
        let bytes = stream.section(TAG_SZ3)?;
        let sdims = sz3_dims(dims);
        match T::as_float_slice_mut(out) {
            FloatSliceMut::F32(o) => {
                check_sz3_stream(bytes, &sdims, o.len(), false)?;
                decompress_typed(bytes, &sdims, o)
            }
            FloatSliceMut::F64(o) => {
                check_sz3_stream(bytes, &sdims, o.len(), true)?;
                decompress_typed(bytes, &sdims, o)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dims_are_reversed_and_folded() {
        assert_eq!(sz3_dims(&[4, 3]), vec![3, 4]);
        assert_eq!(sz3_dims(&[2, 3, 4, 5, 6]), vec![30, 4, 3, 2]);
        assert_eq!(sz3_dims(&[7]), vec![7]);
    }

    #[test]
    fn stream_check_accepts_own_and_refuses_mismatches() {
        let v: Vec<f32> = (0..600).map(|i| (i as f32 * 0.05).sin()).collect();
        let s = Settings::default();
        let b = compress_typed(&v, &[20, 30], 1e-3, &s).unwrap();
        check_sz3_stream(&b, &[20, 30], 600, false).unwrap();
        assert!(check_sz3_stream(&b, &[30, 20], 600, false).is_err());
        assert!(check_sz3_stream(&b, &[20, 30], 600, true).is_err());
        assert!(check_sz3_stream(&b, &[20, 30], 601, false).is_err());
        for cut in 0..b.len() {
            // a truncated stream never passes (SZ3 would read past the end)
            assert!(
                check_sz3_stream(&b[..cut], &[20, 30], 600, false).is_err(),
                "cut {cut}"
            );
        }
        let mut bad = b.clone();
        bad[0] ^= 1;
        assert!(check_sz3_stream(&bad, &[20, 30], 600, false).is_err());
    }
}
