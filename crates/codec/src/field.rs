//! The float-field envelope every pressio-ml compressor goes through.
//!
//! A compressor implements only its body, [`FieldCodec`]: compress finite `f32`/`f64` values
//! with given dims under a resolved absolute bound into sections, and decompress them back. The
//! envelope around it, written once here, takes care of:
//!
//! * finding fill points (`pressio:fill_mode`, [`FillSpec`]) and resolving `pressio:abs` /
//!   `pressio:rel` (value range over the valid values: finite and not fill);
//! * holes, i.e. fill points, NaN and ±Inf: their positions and exact bits are stored in a hole
//!   map ([`crate::holes`]), the body sees a smooth stand-in there ([`crate::standin`]) and
//!   only finite values, and they come back bit-exactly;
//! * a lossless fallback (zstd of the raw values) when the resolved bound is 0 (a constant field
//!   under `pressio:rel`) or no value is finite;
//! * an optional verify-and-patch guard: the stream is decoded right after encoding and every
//!   valid value that breaks the bound (compared in f64) is stored exactly in a patch section,
//!   which turns a backend's "usually within bound" into a promise;
//! * integer dtypes: their exact f64 copy goes through the body under the integer bound
//!   floor(abs), and the decoded values are rounded back (64-bit fields beyond 2^53 are stored
//!   losslessly);
//! * the versioned, checksummed container, so that corrupt streams and streams of another plugin,
//!   version or model are refused before the body sees a byte.

use crate::bytes::ByteWriter;
use crate::container::{write_stream, ParsedStream, Section, StreamHeader, Tag};
use crate::holes::{decode_holes, encode_holes};
use crate::lossless;
use crate::points::{decode_points, encode_points};
use crate::standin::fill_holes;
use pressio_ml_core::{
    BoundSpec, DType, Data, Element, FillSpec, OptionType, Options, PressioError, Result, Version,
};
use rayon::prelude::*;

/// Section holding the positions and bits of non-finite values (streams of format 1; newer
/// streams use [`TAG_HOLES`]).
pub const TAG_NONFINITE: Tag = Tag(*b"NFIN");
/// Section holding the hole map: fill points and non-finite values, with their exact bits.
pub const TAG_HOLES: Tag = Tag(*b"HOLE");
/// Section holding exact values of points the guard patched.
pub const TAG_PATCHES: Tag = Tag(*b"PTCH");
/// Section holding the zstd'ed raw values (lossless fallback).
pub const TAG_RAW: Tag = Tag(*b"RAW_");
/// Section holding the zstd'ed raw bytes of an integer field that f64 cannot carry exactly.
pub const TAG_RAW_INT: Tag = Tag(*b"RAWI");

/// A floating-point element type a field codec can handle (`f32` or `f64`).
pub trait Float: Element + PartialOrd + Default + std::fmt::Debug {
    /// Size in bytes.
    const BYTES: usize;
    /// True unless NaN or infinite.
    fn is_finite_value(self) -> bool;
    /// The raw bits, widened to u64.
    fn to_bits_u64(self) -> u64;
    /// From raw bits (truncated to the type's width).
    fn from_bits_u64(bits: u64) -> Self;
    /// View a slice as the [`FloatSlice`] enum (for backends that are not generic).
    fn as_float_slice(s: &[Self]) -> FloatSlice<'_>;
    /// View a mutable slice as the [`FloatSliceMut`] enum.
    fn as_float_slice_mut(s: &mut [Self]) -> FloatSliceMut<'_>;
}

impl Float for f32 {
    const BYTES: usize = 4;
    fn is_finite_value(self) -> bool {
        self.is_finite()
    }
    fn to_bits_u64(self) -> u64 {
        self.to_bits() as u64
    }
    fn from_bits_u64(bits: u64) -> Self {
        f32::from_bits(bits as u32)
    }
    fn as_float_slice(s: &[Self]) -> FloatSlice<'_> {
        FloatSlice::F32(s)
    }
    fn as_float_slice_mut(s: &mut [Self]) -> FloatSliceMut<'_> {
        FloatSliceMut::F32(s)
    }
}

impl Float for f64 {
    const BYTES: usize = 8;
    fn is_finite_value(self) -> bool {
        self.is_finite()
    }
    fn to_bits_u64(self) -> u64 {
        self.to_bits()
    }
    fn from_bits_u64(bits: u64) -> Self {
        f64::from_bits(bits)
    }
    fn as_float_slice(s: &[Self]) -> FloatSlice<'_> {
        FloatSlice::F64(s)
    }
    fn as_float_slice_mut(s: &mut [Self]) -> FloatSliceMut<'_> {
        FloatSliceMut::F64(s)
    }
}

/// A float slice of either width.
#[derive(Debug)]
pub enum FloatSlice<'a> {
    /// Single precision.
    F32(&'a [f32]),
    /// Double precision.
    F64(&'a [f64]),
}

/// A mutable float slice of either width.
#[derive(Debug)]
pub enum FloatSliceMut<'a> {
    /// Single precision.
    F32(&'a mut [f32]),
    /// Double precision.
    F64(&'a mut [f64]),
}

/// The body of a compressor: finite values in, sections out, and back.
///
/// `dims` are the normalized dims (extents of 1 dropped, fastest first; `[1]` for a single
/// value). `abs` is the absolute bound every decoded value must honour (> 0).
pub trait FieldCodec {
    /// Compress `values` (all finite) into sections. Tags `NFIN`, `PTCH` and `RAW_` are
    /// reserved for the envelope.
    fn encode<T: Float>(&mut self, values: &[T], dims: &[usize], abs: f64) -> Result<Vec<Section>>;
    /// After [`FieldCodec::encode`]: whether the stream needs the model of
    /// [`EncodeParams`] to decode. When it does not (a learned codec that kept its plain path),
    /// the header names no model, so the stream is the plain path's, byte for byte.
    fn uses_model(&self) -> bool {
        true
    }
    /// Before a big field is cut into chunks ([`crate::chunked`]): settle field-wide choices on
    /// the whole field that the chunks' bodies then share (classic tunes its interpolation once
    /// here instead of once per chunk). Nothing by default.
    fn prepare_chunks<T: Float>(&mut self, values: &[T], dims: &[usize], abs: f64) -> Result<()> {
        let _ = (values, dims, abs);
        Ok(())
    }
    /// Whether the envelope may run its own passes over the values (hole map, range, verify)
    /// on the current rayon pool: true for a body running on `pressio:nthreads > 1` threads.
    fn parallel(&self) -> bool {
        false
    }
    /// Decompress into `out` (length = product of `dims`) from the verified stream.
    fn decode<T: Float>(
        &mut self,
        stream: &ParsedStream<'_>,
        dims: &[usize],
        abs: f64,
        out: &mut [T],
    ) -> Result<()>;
}

/// Implement [`FieldCodec`] for `$codec` by dispatching on the element width to two functions
/// generic over the substrate's floats, instantiated for `f32` and `f64`:
/// `$encode(&mut codec, &[T], dims, abs) -> Result<Vec<Section>>` and
/// `$decode(&mut codec, &ParsedStream, dims, abs, &mut [T]) -> Result<()>`. With
/// `uses_model: $uses`, `$uses(&codec) -> bool` answers [`FieldCodec::uses_model`]; with
/// `prepare_chunks: $prep`, `$prep(&mut codec, &[T], dims, abs) -> Result<()>` is
/// [`FieldCodec::prepare_chunks`].
#[macro_export]
macro_rules! field_codec_by_width {
    ($codec:ty, $encode:path, $decode:path $(, uses_model: $uses:path)? $(, prepare_chunks: $prep:path)?) => {
        impl $crate::field::FieldCodec for $codec {
            $(
                fn uses_model(&self) -> bool {
                    $uses(self)
                }
            )?

            $(
                fn prepare_chunks<T: $crate::field::Float>(
                    &mut self,
                    values: &[T],
                    dims: &[usize],
                    abs: f64,
                ) -> ::pressio_ml_core::Result<()> {
                    match T::as_float_slice(values) {
                        $crate::field::FloatSlice::F32(v) => $prep(self, v, dims, abs),
                        $crate::field::FloatSlice::F64(v) => $prep(self, v, dims, abs),
                    }
                }
            )?

            fn encode<T: $crate::field::Float>(
                &mut self,
                values: &[T],
                dims: &[usize],
                abs: f64,
            ) -> ::pressio_ml_core::Result<::std::vec::Vec<$crate::container::Section>> {
                match T::as_float_slice(values) {
                    $crate::field::FloatSlice::F32(v) => $encode(self, v, dims, abs),
                    $crate::field::FloatSlice::F64(v) => $encode(self, v, dims, abs),
                }
            }

            fn decode<T: $crate::field::Float>(
                &mut self,
                stream: &$crate::container::ParsedStream<'_>,
                dims: &[usize],
                abs: f64,
                out: &mut [T],
            ) -> ::pressio_ml_core::Result<()> {
                match T::as_float_slice_mut(out) {
                    $crate::field::FloatSliceMut::F32(o) => $decode(self, stream, dims, abs, o),
                    $crate::field::FloatSliceMut::F64(o) => $decode(self, stream, dims, abs, o),
                }
            }
        }
    };
}

/// What the envelope needs to write a stream.
#[derive(Debug, Clone)]
pub struct EncodeParams<'a> {
    /// Plugin id written into the stream.
    pub plugin_id: &'a str,
    /// Plugin version written into the stream.
    pub version: Version,
    /// The requested bound.
    pub bound: BoundSpec,
    /// Model name (empty for non-learned plugins).
    pub model_name: &'a str,
    /// Model content hash (empty for non-learned plugins).
    pub model_hash: &'a [u8],
    /// Decode after encoding and patch every value outside the bound.
    pub verify: bool,
    /// Which points are fill points (kept exactly, left out of the range and the prediction).
    pub fill: &'a FillSpec,
}

/// What the envelope checks before decoding a stream.
#[derive(Debug, Clone)]
pub struct DecodeParams<'a> {
    /// The plugin id the stream must carry.
    pub plugin_id: &'a str,
    /// The decoder's version (same major, minor not older than the stream's).
    pub version: Version,
    /// When given, the model hash the stream must carry.
    pub model_hash: Option<&'a [u8]>,
}

/// Facts about one compression, for metrics results.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FieldStats {
    /// Values that were NaN or infinite.
    pub nonfinite: usize,
    /// Finite values that were fill points (kept exactly, outside the range and prediction).
    pub fill: usize,
    /// Bytes of the hole map (fill points and non-finite values) in the stream.
    pub mask_bytes: usize,
    /// Values the guard stored exactly because the body broke the bound.
    pub patched: usize,
    /// True when the lossless fallback was used.
    pub lossless: bool,
    /// The resolved absolute bound.
    pub abs_bound: f64,
}

impl FieldStats {
    /// Document the keys of [`FieldStats::results`] under `prefix` in `docs`.
    pub fn document(docs: &mut Options, prefix: &str) {
        let key = |k: &str| format!("{prefix}:{k}");
        docs.set(
            key("nonfinite"),
            "result: values of the last compression that were NaN or infinite (stored exactly)",
        );
        docs.set(
            key("fill_points"),
            "result: finite values of the last compression that were fill points under \
             pressio:fill_mode (stored exactly, left out of the range and the prediction)",
        );
        docs.set(
            key("mask_bytes"),
            "result: bytes of the stream spent on the hole map (positions and bits of fill \
             points and non-finite values)",
        );
        docs.set(
            key("patched"),
            "result: values of the last compression that the verify guard stored exactly",
        );
        docs.set(
            key("lossless"),
            "result: 1 when the last compression used the lossless fallback",
        );
        docs.set(
            key("abs_bound"),
            "result: the resolved absolute bound of the last compression",
        );
    }

    /// Document the keys of [`FieldStats::results`] that `docs` does not document yet (a
    /// plugin's own wording of a key wins).
    pub fn document_missing(docs: &mut Options, prefix: &str) {
        let mut generic = Options::new();
        Self::document(&mut generic, prefix);
        docs.merge(&generic);
    }

    /// The envelope's results under `prefix`, as a plugin's `metrics_results`:
    /// `<prefix>:nonfinite`, `<prefix>:fill_points`, `<prefix>:mask_bytes` and
    /// `<prefix>:patched` (uint64), `<prefix>:lossless` (int32) and `<prefix>:abs_bound`
    /// (double); typed placeholders before the first compression.
    pub fn results(stats: Option<&FieldStats>, prefix: &str) -> Options {
        let key = |k: &str| format!("{prefix}:{k}");
        let mut o = Options::new();
        match stats {
            Some(s) => {
                o.set(key("nonfinite"), s.nonfinite as u64);
                o.set(key("fill_points"), s.fill as u64);
                o.set(key("mask_bytes"), s.mask_bytes as u64);
                o.set(key("patched"), s.patched as u64);
                o.set(key("lossless"), s.lossless as i32);
                o.set(key("abs_bound"), s.abs_bound);
            }
            None => {
                o.set_type(key("nonfinite"), OptionType::U64);
                o.set_type(key("fill_points"), OptionType::U64);
                o.set_type(key("mask_bytes"), OptionType::U64);
                o.set_type(key("patched"), OptionType::U64);
                o.set_type(key("lossless"), OptionType::I32);
                o.set_type(key("abs_bound"), OptionType::F64);
            }
        }
        o
    }
}

/// Dims with extents of 1 dropped; `[1]` when nothing is left.
pub fn normalized_dims(dims: &[usize]) -> Vec<usize> {
    let d: Vec<usize> = dims.iter().copied().filter(|&d| d > 1).collect();
    if d.is_empty() {
        vec![1]
    } else {
        d
    }
}

/// Minimum and maximum over the finite values (None when no value is finite).
pub fn finite_range<T: Float>(values: &[T]) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for &v in values {
        if v.is_finite_value() {
            let f = v.to_f64();
            lo = lo.min(f);
            hi = hi.max(f);
        }
    }
    (lo <= hi).then_some((lo, hi))
}

/// Minimum and maximum over the valid values: finite and not a fill point under `fill` (None
/// when no value is valid). This is the range behind `pressio:rel`.
pub fn valid_range<T: Float>(values: &[T], fill: &FillSpec) -> Option<(f64, f64)> {
    match fill.detect(values) {
        None => finite_range(values),
        Some(mask) => range_outside(values, Some(&mask)),
    }
}

/// Values per task of the envelope's passes over a field on the current rayon pool.
const PASS_CHUNK: usize = 1 << 16;

/// [`range_outside`] on the current rayon pool (min and max do not depend on the order).
fn range_outside_parallel<T: Float>(values: &[T], skip: Option<&[bool]>) -> Option<(f64, f64)> {
    values
        .par_chunks(PASS_CHUNK)
        .enumerate()
        .filter_map(|(k, v)| range_outside(v, skip.map(|s| &s[k * PASS_CHUNK..][..v.len()])))
        .reduce_with(|a, b| (a.0.min(b.0), a.1.max(b.1)))
}

/// Minimum and maximum over the finite values not flagged in `skip` (every finite value
/// without it); None when there are none.
fn range_outside<T: Float>(values: &[T], skip: Option<&[bool]>) -> Option<(f64, f64)> {
    let Some(skip) = skip else {
        return finite_range(values);
    };
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for (&v, &s) in values.iter().zip(skip) {
        if !s && v.is_finite_value() {
            let f = v.to_f64();
            lo = lo.min(f);
            hi = hi.max(f);
        }
    }
    (lo <= hi).then_some((lo, hi))
}

/// The stream header every field stream carries.
fn stream_header(p: &EncodeParams<'_>, dtype: DType, dims: &[usize], abs: f64) -> StreamHeader {
    header_with_model(p, dtype, dims, abs, true)
}

/// [`stream_header`], naming the model only when `uses_model`.
fn header_with_model(
    p: &EncodeParams<'_>,
    dtype: DType,
    dims: &[usize],
    abs: f64,
    uses_model: bool,
) -> StreamHeader {
    let (name, hash) = if uses_model {
        (p.model_name, p.model_hash)
    } else {
        ("", &[][..])
    };
    StreamHeader {
        plugin_id: p.plugin_id.to_string(),
        plugin_version: p.version,
        dtype,
        dims: dims.to_vec(),
        bound_mode: p.bound.mode_id(),
        bound_value: p.bound.value(),
        abs_bound: abs,
        model_name: name.to_string(),
        model_hash: hash.to_vec(),
    }
}

fn raw_section<T: Float>(values: &[T]) -> Result<Section> {
    let mut w = ByteWriter::with_capacity(values.len() * T::BYTES);
    for &v in values {
        w.put_bytes(&v.to_bits_u64().to_le_bytes()[..T::BYTES]);
    }
    Ok(Section::new(
        TAG_RAW,
        lossless::compress(w.as_slice(), lossless::DEFAULT_LEVEL)?,
    ))
}

fn decode_raw<T: Float>(bytes: &[u8], out: &mut [T]) -> Result<()> {
    let raw = lossless::decompress(bytes, out.len() * T::BYTES)?;
    if raw.len() != out.len() * T::BYTES {
        return Err(PressioError::corrupt("raw section has the wrong size"));
    }
    for (o, c) in out.iter_mut().zip(raw.chunks_exact(T::BYTES)) {
        let mut b = [0u8; 8];
        b[..T::BYTES].copy_from_slice(c);
        *o = T::from_bits_u64(u64::from_le_bytes(b));
    }
    Ok(())
}

/// What the envelope compresses: the values (as the body's float type), the caller's dims and
/// the dtype the stream declares (an integer dtype when `values` is its exact f64 copy).
struct Field<'v, T> {
    values: &'v [T],
    dims: &'v [usize],
    dtype: DType,
}

fn compress_typed<T: Float, C: FieldCodec>(
    codec: &mut C,
    field: Field<'_, T>,
    p: &EncodeParams<'_>,
) -> Result<(Vec<u8>, FieldStats)> {
    let values = field.values;
    if values.is_empty() {
        return Err(PressioError::InvalidInput("input is empty".into()));
    }
    let integer = !field.dtype.is_floating();
    let dims = normalized_dims(field.dims);
    let parallel = codec.parallel();
    let fill = p.fill.detect_on(values, parallel);
    // holes: the points the body never sees (fill points, NaN, ±Inf); they come back exactly.
    // The map is only made when there is a hole (an empty map means none).
    let count = |v: &[T]| v.iter().filter(|x| !x.is_finite_value()).count();
    let nonfinite: usize = if parallel {
        values.par_chunks(PASS_CHUNK).map(count).sum()
    } else {
        count(values)
    };
    let mut holes = Vec::new();
    if nonfinite > 0 || fill.is_some() {
        holes = vec![false; values.len()];
        let mark = |(h, v): (&mut [bool], &[T])| {
            for (h, x) in h.iter_mut().zip(v) {
                *h = !x.is_finite_value();
            }
        };
        if parallel {
            holes
                .par_chunks_mut(PASS_CHUNK)
                .zip(values.par_chunks(PASS_CHUNK))
                .for_each(mark);
        } else {
            mark((&mut holes, values));
        }
    }
    let mut fill_points = 0usize;
    if let Some(mask) = &fill {
        let merge = |(h, m): (&mut [bool], &[bool])| -> usize {
            let mut count = 0;
            for (h, &m) in h.iter_mut().zip(m) {
                if m && !*h {
                    *h = true;
                    count += 1;
                }
            }
            count
        };
        fill_points = if parallel {
            holes
                .par_chunks_mut(PASS_CHUNK)
                .zip(mask.par_chunks(PASS_CHUNK))
                .map(merge)
                .sum()
        } else {
            merge((&mut holes, mask))
        };
    }
    let skip = (!holes.is_empty()).then_some(&holes[..]);
    let range = if parallel {
        range_outside_parallel(values, skip)
    } else {
        range_outside(values, skip)
    };
    let mut abs = match range {
        Some((lo, hi)) => p.bound.absolute(hi - lo),
        None => 0.0,
    };
    if integer {
        // integers keep an integer bound: a decoded value within floor(abs) of x rounds to an
        // integer within floor(abs) of x (|x - round(y)| <= floor(abs) + 1/2, and is whole)
        abs = abs.floor();
    }
    if !abs.is_finite() {
        return Err(PressioError::InvalidInput(format!(
            "the resolved bound {abs} is not finite (value range overflows; if the extreme \
             values are fill values, declare them with pressio:fill_value)"
        )));
    }
    let mut stats = FieldStats {
        nonfinite,
        fill: fill_points,
        abs_bound: abs,
        ..Default::default()
    };

    let mut sections = Vec::new();
    let any_hole = nonfinite + fill_points > 0;
    let body_input: std::borrow::Cow<'_, [T]> = if any_hole {
        let map = encode_holes(values, &holes)?;
        stats.mask_bytes = map.len();
        sections.push(Section::new(TAG_HOLES, map));
        let mut filled = values.to_vec();
        fill_holes(&mut filled, &dims, &holes);
        std::borrow::Cow::Owned(filled)
    } else {
        std::borrow::Cow::Borrowed(values)
    };

    if abs == 0.0 {
        stats.lossless = true;
        sections.push(raw_section(&body_input)?);
    } else {
        sections.extend(codec.encode(&body_input[..], &dims, abs)?);
    }

    let header = header_with_model(p, field.dtype, field.dims, abs, codec.uses_model());
    let mut stream = write_stream(&header, &sections);
    if p.verify && !stats.lossless {
        let parsed = ParsedStream::parse(&stream)?;
        let mut decoded = vec![T::default(); values.len()];
        codec.decode(&parsed, &dims, abs, &mut decoded)?;
        // the values outside the bound, from `first` on
        let breaks = |first: usize, x: &[T], y: &[T]| -> Vec<(usize, T)> {
            let mut out = Vec::new();
            for (i, (&x, y)) in x.iter().zip(y).enumerate() {
                let err = (x.to_f64() - y.to_f64()).abs();
                if !skip.is_some_and(|h| h[first + i]) && (err.is_nan() || err > abs) {
                    out.push((first + i, x));
                }
            }
            out
        };
        let patches: Vec<(usize, T)> = if parallel {
            let parts: Vec<Vec<(usize, T)>> = values
                .par_chunks(PASS_CHUNK)
                .zip(decoded.par_chunks(PASS_CHUNK))
                .enumerate()
                .map(|(k, (x, y))| breaks(k * PASS_CHUNK, x, y))
                .collect();
            parts.concat()
        } else {
            breaks(0, values, &decoded)
        };
        if !patches.is_empty() {
            stats.patched = patches.len();
            sections.push(Section::new(TAG_PATCHES, encode_points(&patches)?));
            stream = write_stream(&header, &sections);
        }
    }
    Ok((stream, stats))
}

/// Compress a float or integer buffer through `codec` into a checksummed stream (integers go
/// through the body as exact f64 copies under an integer bound).
pub fn compress_field<C: FieldCodec>(
    codec: &mut C,
    input: &Data,
    params: &EncodeParams<'_>,
) -> Result<(Data, FieldStats)> {
    let (bytes, stats) = match input.dtype() {
        DType::Float => compress_typed::<f32, C>(
            codec,
            Field {
                values: input.as_slice::<f32>()?,
                dims: input.dims(),
                dtype: DType::Float,
            },
            params,
        )?,
        DType::Double => compress_typed::<f64, C>(
            codec,
            Field {
                values: input.as_slice::<f64>()?,
                dims: input.dims(),
                dtype: DType::Double,
            },
            params,
        )?,
        DType::Int8 => compress_integer::<i8, C>(codec, input, params)?,
        DType::Int16 => compress_integer::<i16, C>(codec, input, params)?,
        DType::Int32 => compress_integer::<i32, C>(codec, input, params)?,
        DType::Int64 => compress_integer::<i64, C>(codec, input, params)?,
        DType::Uint8 => compress_integer::<u8, C>(codec, input, params)?,
        DType::Uint16 => compress_integer::<u16, C>(codec, input, params)?,
        DType::Uint32 => compress_integer::<u32, C>(codec, input, params)?,
        DType::Uint64 => compress_integer::<u64, C>(codec, input, params)?,
        other => {
            return Err(PressioError::UnsupportedDType {
                plugin: params.plugin_id.to_string(),
                dtype: other.name().to_string(),
            })
        }
    };
    Ok((Data::from_byte_vec(bytes), stats))
}

/// Largest integer magnitude every value of which is exact in f64.
const F64_EXACT: f64 = 9_007_199_254_740_992.0; // 2^53

/// Integers go through the float body as their exact f64 copy under an integer bound
/// (`floor(abs)`, see [`compress_typed`]) and come back rounded and clamped to their type, so
/// `pressio:abs` holds exactly. 64-bit fields holding a magnitude above 2^53, which f64 cannot
/// carry, are stored losslessly (zstd of the raw bytes).
fn compress_integer<I: Element, C: FieldCodec>(
    codec: &mut C,
    input: &Data,
    p: &EncodeParams<'_>,
) -> Result<(Vec<u8>, FieldStats)> {
    let values = input.as_slice::<I>()?;
    if values.is_empty() {
        return Err(PressioError::InvalidInput("input is empty".into()));
    }
    let copy: Vec<f64> = values.iter().map(|v| v.to_f64()).collect();
    if copy.iter().all(|v| v.abs() <= F64_EXACT) {
        return compress_typed::<f64, C>(
            codec,
            Field {
                values: &copy,
                dims: input.dims(),
                dtype: I::DTYPE,
            },
            p,
        );
    }
    let header = stream_header(p, I::DTYPE, input.dims(), 0.0);
    let raw = Section::new(
        TAG_RAW_INT,
        lossless::compress(input.bytes(), lossless::DEFAULT_LEVEL)?,
    );
    let stats = FieldStats {
        lossless: true,
        ..Default::default()
    };
    Ok((write_stream(&header, &[raw]), stats))
}

/// Round and clamp the decoded f64 copy of an integer field into its type.
fn to_integers<I: Element>(decoded: &Data, dims: &[usize]) -> Result<Data> {
    let mut out = Data::owning(I::DTYPE, dims)?;
    for (o, &v) in out
        .as_mut_slice::<I>()?
        .iter_mut()
        .zip(decoded.as_slice::<f64>()?)
    {
        // `as` saturates at the type's limits (a decoded value never lies beyond them by more
        // than the bound, so the clamp only moves it closer to the original)
        *o = I::from_f64(v.round());
    }
    Ok(out)
}

fn decompress_integer<I: Element, C: FieldCodec>(
    codec: &mut C,
    stream: &ParsedStream<'_>,
) -> Result<Data> {
    let h = &stream.header;
    if let Some(raw) = stream.optional_section(TAG_RAW_INT) {
        let want = h
            .dims
            .iter()
            .try_fold(I::DTYPE.size(), |a, &d| a.checked_mul(d))
            .ok_or_else(|| PressioError::corrupt("integer field size overflows"))?;
        let bytes = lossless::decompress(raw, want)?;
        if bytes.len() != want {
            return Err(PressioError::corrupt(
                "raw integer section has the wrong size",
            ));
        }
        return Data::from_bytes(I::DTYPE, &h.dims, &bytes);
    }
    let decoded = decompress_typed::<f64, C>(codec, stream)?;
    to_integers::<I>(&decoded, &h.dims)
}

fn decompress_typed<T: Float, C: FieldCodec>(
    codec: &mut C,
    stream: &ParsedStream<'_>,
) -> Result<Data> {
    let h = &stream.header;
    let mut out = Data::owning(T::DTYPE, &h.dims)?;
    let n = out.num_elements();
    let dims = normalized_dims(&h.dims);
    {
        let slice = out.as_mut_slice::<T>()?;
        if let Some(raw) = stream.optional_section(TAG_RAW) {
            decode_raw(raw, slice)?;
        } else {
            if h.abs_bound <= 0.0 {
                return Err(PressioError::corrupt("zero bound without a raw section"));
            }
            codec.decode(stream, &dims, h.abs_bound, slice)?;
        }
        if let Some(p) = stream.optional_section(TAG_PATCHES) {
            for (i, v) in decode_points::<T>(p, n)? {
                slice[i] = v;
            }
        }
        if let Some(p) = stream.optional_section(TAG_NONFINITE) {
            for (i, v) in decode_points::<T>(p, n)? {
                slice[i] = v;
            }
        }
        if let Some(map) = stream.optional_section(TAG_HOLES) {
            decode_holes(map, slice)?;
        }
    }
    Ok(out)
}

/// Verify and decode a stream written by [`compress_field`].
pub fn decompress_field<C: FieldCodec>(
    codec: &mut C,
    input: &Data,
    params: &DecodeParams<'_>,
) -> Result<Data> {
    let stream = ParsedStream::parse(input.bytes())?;
    stream.expect_plugin(params.plugin_id, params.version)?;
    if let Some(hash) = params.model_hash {
        if stream.header.model_hash != hash {
            return Err(PressioError::StreamMismatch(format!(
                "stream was written with model `{}` (hash {}), the decoder has a model with hash {}",
                stream.header.model_name,
                hex(&stream.header.model_hash),
                hex(hash)
            )));
        }
    }
    match stream.header.dtype {
        DType::Float => decompress_typed::<f32, C>(codec, &stream),
        DType::Double => decompress_typed::<f64, C>(codec, &stream),
        DType::Int8 => decompress_integer::<i8, C>(codec, &stream),
        DType::Int16 => decompress_integer::<i16, C>(codec, &stream),
        DType::Int32 => decompress_integer::<i32, C>(codec, &stream),
        DType::Int64 => decompress_integer::<i64, C>(codec, &stream),
        DType::Uint8 => decompress_integer::<u8, C>(codec, &stream),
        DType::Uint16 => decompress_integer::<u16, C>(codec, &stream),
        DType::Uint32 => decompress_integer::<u32, C>(codec, &stream),
        DType::Uint64 => decompress_integer::<u64, C>(codec, &stream),
        other => Err(PressioError::corrupt(format!(
            "field stream claims dtype {other}"
        ))),
    }
}

/// Lower-case hex of `bytes` (for messages).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::ByteReader;

    /// A deliberately bad body: rounds to a grid of 3*abs, so verification must patch.
    struct Coarse;
    impl FieldCodec for Coarse {
        fn encode<T: Float>(&mut self, v: &[T], _d: &[usize], abs: f64) -> Result<Vec<Section>> {
            let mut w = ByteWriter::new();
            for x in v {
                w.put_i64((x.to_f64() / (3.0 * abs)).round() as i64);
            }
            Ok(vec![Section::new(Tag(*b"GRID"), w.into_inner())])
        }
        fn decode<T: Float>(
            &mut self,
            s: &ParsedStream<'_>,
            _d: &[usize],
            abs: f64,
            out: &mut [T],
        ) -> Result<()> {
            let mut r = ByteReader::new(s.section(Tag(*b"GRID"))?, "grid");
            for o in out.iter_mut() {
                *o = T::from_f64(r.i64()? as f64 * 3.0 * abs);
            }
            r.finish()
        }
    }

    static NO_FILL: FillSpec = FillSpec::none();

    fn params(verify: bool) -> EncodeParams<'static> {
        EncodeParams {
            plugin_id: "t",
            version: Version::new(1, 0, 0),
            bound: BoundSpec::Abs(0.01),
            model_name: "",
            model_hash: &[],
            verify,
            fill: &NO_FILL,
        }
    }
    const DEC: DecodeParams<'static> = DecodeParams {
        plugin_id: "t",
        version: Version::new(1, 0, 0),
        model_hash: None,
    };

    #[test]
    fn guard_patches_and_nonfinite_passthrough() {
        let mut v: Vec<f32> = (0..500).map(|i| (i as f32 * 0.37).sin()).collect();
        v[3] = f32::NAN;
        v[10] = f32::INFINITY;
        v[499] = f32::NEG_INFINITY;
        let input = Data::from_vec(v.clone(), &[500]).unwrap();
        let (s, stats) = compress_field(&mut Coarse, &input, &params(true)).unwrap();
        assert_eq!(stats.nonfinite, 3);
        assert!(stats.patched > 0);
        let out = decompress_field(&mut Coarse, &s, &DEC).unwrap();
        let o = out.as_slice::<f32>().unwrap();
        for (a, b) in v.iter().zip(o) {
            if a.is_finite() {
                assert!(((*a as f64) - (*b as f64)).abs() <= 0.01);
            } else {
                assert_eq!(a.to_bits(), b.to_bits());
            }
        }
        // without the guard the coarse body breaks the bound
        let (s, _) = compress_field(&mut Coarse, &input, &params(false)).unwrap();
        let out = decompress_field(&mut Coarse, &s, &DEC).unwrap();
        let worst = v
            .iter()
            .zip(out.as_slice::<f32>().unwrap())
            .filter(|(a, _)| a.is_finite())
            .map(|(a, b)| ((*a as f64) - (*b as f64)).abs())
            .fold(0.0, f64::max);
        assert!(worst > 0.01);
    }

    #[test]
    fn constant_rel_and_all_nan_are_lossless() {
        let mut p = params(true);
        p.bound = BoundSpec::Rel(1e-3);
        for v in [vec![2.5f64; 64], vec![f64::NAN; 64]] {
            let input = Data::from_vec(v.clone(), &[8, 8]).unwrap();
            let (s, stats) = compress_field(&mut Coarse, &input, &p).unwrap();
            assert!(stats.lossless);
            let out = decompress_field(&mut Coarse, &s, &DEC).unwrap();
            assert_eq!(out.dims(), &[8, 8]);
            for (a, b) in v.iter().zip(out.as_slice::<f64>().unwrap()) {
                assert_eq!(a.to_bits(), b.to_bits());
            }
        }
    }

    #[test]
    fn refuses_other_plugin_model_and_dtype() {
        let input = Data::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap();
        let mut p = params(false);
        p.model_hash = &[1, 2];
        let (s, _) = compress_field(&mut Coarse, &input, &p).unwrap();
        let other = DecodeParams {
            plugin_id: "u",
            ..DEC
        };
        assert!(matches!(
            decompress_field(&mut Coarse, &s, &other),
            Err(PressioError::StreamMismatch(_))
        ));
        let model = DecodeParams {
            model_hash: Some(&[9]),
            ..DEC
        };
        assert!(matches!(
            decompress_field(&mut Coarse, &s, &model),
            Err(PressioError::StreamMismatch(_))
        ));
        let bytes = Data::from_bytes(DType::Byte, &[2], &[1, 2]).unwrap();
        assert!(matches!(
            compress_field(&mut Coarse, &bytes, &p),
            Err(PressioError::UnsupportedDType { .. })
        ));
    }

    #[test]
    fn integers_keep_an_integer_bound_and_big_ones_are_lossless() {
        let v: Vec<i16> = (0..500).map(|i| ((i * 37) % 211) as i16 - 100).collect();
        let input = Data::from_vec(v.clone(), &[500]).unwrap();
        for (bound, exact) in [(0.0, 0i32), (0.9, 0), (2.5, 2), (40.0, 40)] {
            let mut p = params(true);
            p.bound = BoundSpec::Abs(bound);
            let (s, stats) = compress_field(&mut Coarse, &input, &p).unwrap();
            assert_eq!(stats.abs_bound, exact as f64);
            let out = decompress_field(&mut Coarse, &s, &DEC).unwrap();
            assert_eq!(out.dtype(), DType::Int16);
            for (a, b) in v.iter().zip(out.as_slice::<i16>().unwrap()) {
                assert!((*a as i32 - *b as i32).abs() <= exact, "{a} {b} at {bound}");
            }
        }
        let big = vec![u64::MAX, 1, u64::MAX - 7];
        let input = Data::from_vec(big.clone(), &[3]).unwrap();
        let (s, stats) = compress_field(&mut Coarse, &input, &params(true)).unwrap();
        assert!(stats.lossless);
        let out = decompress_field(&mut Coarse, &s, &DEC).unwrap();
        assert_eq!(out.as_slice::<u64>().unwrap(), &big[..]);
    }

    /// A smooth field of 40x30 with a block of GrADS UNDEF and scattered 1e20 land points.
    fn masked_field() -> (Vec<f32>, Vec<bool>) {
        let (nx, ny) = (40usize, 30usize);
        let mut v = Vec::with_capacity(nx * ny);
        let mut fill = Vec::with_capacity(nx * ny);
        for y in 0..ny {
            for x in 0..nx {
                let undef = (10..20).contains(&x) && (5..12).contains(&y);
                let land = (x * 7 + y * 13) % 23 == 0;
                fill.push(undef || land);
                v.push(if undef {
                    -2.56e33
                } else if land {
                    1e20
                } else {
                    250.0 + 40.0 * ((x as f32) * 0.2).sin() + 0.5 * y as f32
                });
            }
        }
        (v, fill)
    }

    #[test]
    fn fill_points_are_exact_and_outside_the_range() {
        let (v, fill) = masked_field();
        let input = Data::from_vec(v.clone(), &[40, 30]).unwrap();
        let auto = FillSpec::default();
        for spec in [auto, FillSpec::values(&[-2.56e33, 1e20])] {
            let mut p = params(true);
            p.bound = BoundSpec::Rel(1e-3);
            p.fill = &spec;
            let (s, stats) = compress_field(&mut Coarse, &input, &p).unwrap();
            let (lo, hi) = valid_range(&v, &spec).unwrap();
            assert!(hi - lo < 100.0, "valid range {lo}..{hi}");
            assert_eq!(stats.abs_bound, 1e-3 * (hi - lo));
            assert_eq!(stats.fill, fill.iter().filter(|&&f| f).count());
            assert!(stats.mask_bytes > 0 && stats.mask_bytes < 400);
            // the coarse body breaks the bound; only valid points may be patched
            assert!(stats.patched > 0 && stats.patched <= v.len() - stats.fill);
            let out = decompress_field(&mut Coarse, &s, &DEC).unwrap();
            for ((a, b), &f) in v.iter().zip(out.as_slice::<f32>().unwrap()).zip(&fill) {
                if f {
                    assert_eq!(a.to_bits(), b.to_bits());
                } else {
                    assert!((*a as f64 - *b as f64).abs() <= stats.abs_bound);
                }
            }
        }
        // without fill handling the range includes the fill values
        let none = FillSpec::none();
        let mut p = params(false);
        p.bound = BoundSpec::Rel(1e-3);
        p.fill = &none;
        let (_, stats) = compress_field(&mut Coarse, &input, &p).unwrap();
        assert!(stats.abs_bound > 1e29);
        assert_eq!(stats.fill, 0);
    }

    #[test]
    fn all_fill_and_nan_mix_round_trip_exactly() {
        let v = vec![1e20f64, f64::NAN, 1e20, -f64::INFINITY, 1e20, 1e20];
        let input = Data::from_vec(v.clone(), &[3, 2]).unwrap();
        let spec = FillSpec::values(&[1e20]);
        let mut p = params(true);
        p.fill = &spec;
        let (s, stats) = compress_field(&mut Coarse, &input, &p).unwrap();
        assert!(stats.lossless);
        assert_eq!((stats.fill, stats.nonfinite), (4, 2));
        let out = decompress_field(&mut Coarse, &s, &DEC).unwrap();
        for (a, b) in v.iter().zip(out.as_slice::<f64>().unwrap()) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
    }
}
