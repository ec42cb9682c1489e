//! The classic body: prediction + quantization, Huffman, zstd (the [`FieldCodec`] the envelope
//! calls).
//!
//! Sections (inside the envelope's container):
//!
//! ```text
//! CLHD  body version u8 (1) | predictor u8 (0 interp, 1 lorenzo)
//!       | interp: InterpPlan bytes | lorenzo: radius u32
//!       | code layout u8 (0 Huffman, 1 raw LE integers) | anchors varint
//!       | unpredictables varint | payload bytes varint
//! CLPL  zstd( codes | anchors LE | unpredictables LE )
//! ```
//!
//! The raw code layout (2-byte integers when the alphabet fits) is tried when one code holds
//! more than 90% of the codes, where Huffman's one-bit minimum per code loses to zstd's own
//! modelling; the smaller payload is kept.

use crate::tune;
use pressio_ml_codec::bytes::{ByteReader, ByteWriter};
use pressio_ml_codec::container::{sections_len, ParsedStream, Section, Tag};
use pressio_ml_codec::interp::{self, merge_to_four, ExternalPredictor, InterpPlan, PointHooks};
use pressio_ml_codec::lorenzo::{self, LorenzoValue};
use pressio_ml_codec::quantizer::{values_from_le_bytes, values_to_le_bytes, Float};
use pressio_ml_codec::{huffman, lossless};
use pressio_ml_core::{PressioError, Result};
use std::sync::OnceLock;

/// Header section tag.
pub const TAG_HEADER: Tag = Tag(*b"CLHD");
/// Payload section tag.
pub const TAG_PAYLOAD: Tag = Tag(*b"CLPL");

const BODY_VERSION: u8 = 1;

/// Which predictor the body uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Predictor {
    /// Multilevel interpolation.
    Interp,
    /// First-order Lorenzo.
    Lorenzo,
    /// Interpolation or Lorenzo, whichever compresses sampled blocks better.
    Auto,
}

impl Predictor {
    /// Option spelling.
    pub fn name(self) -> &'static str {
        match self {
            Predictor::Interp => "interp",
            Predictor::Lorenzo => "lorenzo",
            Predictor::Auto => "auto",
        }
    }
}

/// A choice that may be left to the sampler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice<V> {
    /// Picked by test-compressing samples.
    Auto,
    /// Fixed.
    Fixed(V),
}

/// Axis pass order of the interpolation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Slowest axis first (SZ3's default direction).
    SlowestFirst,
    /// Fastest axis first.
    FastestFirst,
}

/// Every setting of the body.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Predictor.
    pub predictor: Predictor,
    /// Interpolation formula.
    pub interp_algo: Choice<interp::InterpKind>,
    /// Axis pass order.
    pub direction: Choice<Direction>,
    /// Level-wise bound (alpha, beta).
    pub level_bounds: Choice<(f64, f64)>,
    /// Requested anchor stride (0 = default for the dimensionality).
    pub anchor_stride: u32,
    /// Quantization radius.
    pub radius: u32,
    /// zstd level of the payload.
    pub zstd_level: i32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            predictor: Predictor::Interp,
            interp_algo: Choice::Auto,
            direction: Choice::Auto,
            level_bounds: Choice::Auto,
            anchor_stride: 0,
            radius: pressio_ml_codec::quantizer::DEFAULT_RADIUS,
            zstd_level: lossless::DEFAULT_LEVEL,
        }
    }
}

/// The [`FieldCodec`] of the classic plugin.
pub struct ClassicCodec<'a> {
    /// Settings in force.
    pub settings: &'a Settings,
    /// Use the current rayon pool for the parallel stages.
    pub parallel: bool,
    /// Code buffer; a plugin takes it back after a call and hands it to the next one (reusing
    /// it spares page faults).
    pub scratch: Vec<u32>,
    /// Where the chunks of a big field find the predictor choice made once on the whole field
    /// ([`FieldCodec::prepare_chunks`]); `None` tunes on whatever the body is given.
    ///
    /// [`FieldCodec::prepare_chunks`]: pressio_ml_codec::field::FieldCodec::prepare_chunks
    pub preset: Option<&'a OnceLock<tune::Resolved>>,
}

pressio_ml_codec::field_codec_by_width!(
    ClassicCodec<'_>,
    encode_typed,
    decode_typed,
    prepare_chunks: prepare_typed
);

/// Tune on the whole field for its chunks (see [`ClassicCodec::preset`]).
fn prepare_typed<T: Float + LorenzoValue>(
    codec: &mut ClassicCodec<'_>,
    values: &[T],
    dims: &[usize],
    abs: f64,
) -> Result<()> {
    if let Some(cell) = codec.preset {
        let dims = merge_to_four(&interp::squeeze_dims(dims, values.len())?);
        // a second preparation of the same call keeps the first choice
        let _ = cell.set(tune::resolve(
            values,
            &dims,
            abs,
            codec.settings,
            codec.parallel,
        )?);
    }
    Ok(())
}

/// The preset choice when it fits a body of `ndims` dimensions.
fn preset_for(codec: &ClassicCodec<'_>, ndims: usize) -> Option<tune::Resolved> {
    let r = codec.preset?.get()?;
    let fits = match r {
        tune::Resolved::Interp(p) | tune::Resolved::Both(p) => {
            p.dim_order.as_ref().is_none_or(|o| o.len() == ndims)
        }
        tune::Resolved::Lorenzo => true,
    };
    fits.then(|| r.clone())
}

/// How the codes are stored in the payload.
const CODES_HUFFMAN: u8 = 0;
/// Codes as raw little-endian integers (2 bytes when the alphabet fits, else 4), left to zstd:
/// better than Huffman when one code dominates (Huffman spends at least a bit per code).
const CODES_RAW: u8 = 1;

/// The zero-residual code must exceed this share for the raw code layout to be tried.
const RAW_TRIAL_SHARE: f64 = 0.9;

fn code_width(alphabet: u64) -> usize {
    if alphabet <= 1 << 16 {
        2
    } else {
        4
    }
}

/// Encode quantization results into the header tail and the zstd'ed payload.
fn pack<T: Float>(
    codec: &ClassicCodec<'_>,
    mut head: ByteWriter,
    codes: &[u32],
    alphabet: u64,
    anchors: &[T],
    unpred: &[T],
) -> Result<Vec<Section>> {
    let level = codec.settings.zstd_level;
    let mut tail = values_to_le_bytes(anchors);
    tail.extend_from_slice(&values_to_le_bytes(unpred));
    let mut payload = Vec::with_capacity(codes.len() / 2 + tail.len());
    huffman::encode(codes, codec.parallel, &mut payload)?;
    payload.extend_from_slice(&tail);
    let mut z = lossless::compress(&payload, level)?;
    let mut mode = CODES_HUFFMAN;
    let mut payload_len = payload.len();
    if dominant_share(codes, alphabet) > RAW_TRIAL_SHARE {
        let w = code_width(alphabet);
        let mut raw = Vec::with_capacity(codes.len() * w + tail.len());
        for &c in codes {
            raw.extend_from_slice(&c.to_le_bytes()[..w]);
        }
        raw.extend_from_slice(&tail);
        let zr = lossless::compress(&raw, level)?;
        if zr.len() < z.len() {
            z = zr;
            mode = CODES_RAW;
            payload_len = raw.len();
        }
    }
    head.put_u8(mode);
    head.put_varint(anchors.len() as u64);
    head.put_varint(unpred.len() as u64);
    head.put_varint(payload_len as u64);
    Ok(vec![
        Section::new(TAG_HEADER, head.into_inner()),
        Section::new(TAG_PAYLOAD, z),
    ])
}

/// Share of the zero-residual code `R = alphabet / 2` (the code that dominates when the raw
/// layout can win).
fn dominant_share(codes: &[u32], alphabet: u64) -> f64 {
    if codes.is_empty() {
        return 0.0;
    }
    let zero = (alphabet / 2) as u32;
    codes.iter().filter(|&&c| c == zero).count() as f64 / codes.len() as f64
}

/// The interpolation body of `values` (squeezed `dims`) with `params` (the plan
/// [`InterpPlan::standard`] makes of them).
pub fn encode_interp<T: Float>(
    codec: &mut ClassicCodec<'_>,
    values: &[T],
    dims: &[usize],
    abs: f64,
    params: &interp::InterpParams,
) -> Result<Vec<Section>> {
    encode_interp_hooked(codec, values, dims, abs, params, PointHooks::default())
}

/// [`encode_interp`] with per-point [`PointHooks`]: predictions of chosen points supplied by
/// the caller (decoded by [`decode_body_overridden`] with the same array) and a record of every
/// point's prediction and level bound.
pub fn encode_interp_hooked<T: Float>(
    codec: &mut ClassicCodec<'_>,
    values: &[T],
    dims: &[usize],
    abs: f64,
    params: &interp::InterpParams,
    hooks: PointHooks<'_, T>,
) -> Result<Vec<Section>> {
    let plan = InterpPlan::standard(dims, abs, params)?;
    let mut work = values.to_vec();
    let enc = interp::compress_in_place_with(
        &mut work,
        &plan,
        hooks,
        std::mem::take(&mut codec.scratch),
    )?;
    drop(work);
    pack_interp(codec, &plan, enc)
}

/// The sections of an interpolation encoding made with `plan` (header with the plan, then the
/// packed codes, anchors and unpredictables); the code buffer goes back to the codec.
fn pack_interp<T: Float>(
    codec: &mut ClassicCodec<'_>,
    plan: &InterpPlan,
    enc: interp::InterpEncoded<T>,
) -> Result<Vec<Section>> {
    let mut head = ByteWriter::new();
    head.put_u8(BODY_VERSION);
    head.put_u8(0);
    let mut pb = Vec::new();
    plan.write_to(&mut pb);
    head.put_bytes(&pb);
    let r = pack(
        codec,
        head,
        &enc.codes,
        2 * plan.radius() as u64,
        &enc.anchors,
        &enc.unpredictables,
    );
    codec.scratch = enc.codes;
    r
}

/// The interpolation body with `plan`, whose [`LevelPredictor::External`] levels are offered to
/// `external`: each is kept only where it codes smaller than the level's interpolation
/// ([`interp::compress_choosing`]), or every one with `force`; the plan written into the header
/// records the choice. Returns the sections and, per level, whether the external predictor was
/// kept.
///
/// [`LevelPredictor::External`]: pressio_ml_codec::interp::LevelPredictor::External
pub fn encode_interp_external<T: Float>(
    codec: &mut ClassicCodec<'_>,
    values: &[T],
    mut plan: InterpPlan,
    external: &mut dyn ExternalPredictor<T>,
    force: bool,
) -> Result<(Vec<Section>, Vec<bool>)> {
    let mut work = values.to_vec();
    let scratch = std::mem::take(&mut codec.scratch);
    let (enc, kept) = if force {
        let kept = plan
            .levels()
            .iter()
            .map(|l| matches!(l.predictor, interp::LevelPredictor::External(_)))
            .collect();
        let enc = interp::compress_in_place_reusing(&mut work, &plan, Some(external), scratch)?;
        (enc, kept)
    } else {
        interp::compress_choosing(&mut work, &mut plan, Some(external), scratch)?
    };
    drop(work);
    Ok((pack_interp(codec, &plan, enc)?, kept))
}

fn encode_lorenzo<T: Float + LorenzoValue>(
    codec: &mut ClassicCodec<'_>,
    values: &[T],
    dims: &[usize],
    abs: f64,
) -> Result<Vec<Section>> {
    let radius = codec.settings.radius;
    let mut head = ByteWriter::new();
    head.put_u8(BODY_VERSION);
    head.put_u8(1);
    head.put_u32(radius);
    let enc = lorenzo::compress(values, dims, abs, radius)?;
    pack::<T>(
        codec,
        head,
        &enc.codes,
        2 * radius as u64,
        &[],
        &enc.unpredictables,
    )
}

fn encode_typed<T: Float + LorenzoValue>(
    codec: &mut ClassicCodec<'_>,
    values: &[T],
    dims: &[usize],
    abs: f64,
) -> Result<Vec<Section>> {
    let dims = merge_to_four(&interp::squeeze_dims(dims, values.len())?);
    let resolved = match preset_for(codec, dims.len()) {
        Some(r) => r,
        None => tune::resolve(values, &dims, abs, codec.settings, codec.parallel)?,
    };
    match resolved {
        tune::Resolved::Interp(params) => encode_interp(codec, values, &dims, abs, &params),
        tune::Resolved::Lorenzo => encode_lorenzo(codec, values, &dims, abs),
        tune::Resolved::Both(params) => {
            // Compress both ways and keep the smaller (ties keep interpolation).
            let a = encode_interp(codec, values, &dims, abs, &params)?;
            let b = encode_lorenzo(codec, values, &dims, abs)?;
            Ok(if sections_len(&b) < sections_len(&a) {
                b
            } else {
                a
            })
        }
    }
}

fn decode_typed<T: Float + LorenzoValue>(
    codec: &mut ClassicCodec<'_>,
    stream: &ParsedStream<'_>,
    dims: &[usize],
    abs: f64,
    out: &mut [T],
) -> Result<()> {
    decode_body(codec, stream, dims, abs, None, out)
}

/// Decode the classic sections of `stream` into `out`; `external` answers the plan's external
/// levels (streams of [`encode_interp_external`]).
pub fn decode_body<T: Float + LorenzoValue>(
    codec: &mut ClassicCodec<'_>,
    stream: &ParsedStream<'_>,
    dims: &[usize],
    abs: f64,
    external: Option<&mut dyn ExternalPredictor<T>>,
    out: &mut [T],
) -> Result<()> {
    decode_impl(
        codec,
        stream,
        dims,
        abs,
        Predictions::External(external),
        out,
    )
}

/// Decode the classic sections of a stream made by [`encode_interp_hooked`] with `overrides`
/// (the same array: per point, a prediction that replaces interpolation where it is not NaN).
pub fn decode_body_overridden<T: Float + LorenzoValue>(
    codec: &mut ClassicCodec<'_>,
    stream: &ParsedStream<'_>,
    dims: &[usize],
    abs: f64,
    overrides: &[T],
    out: &mut [T],
) -> Result<()> {
    decode_impl(
        codec,
        stream,
        dims,
        abs,
        Predictions::Overrides(overrides),
        out,
    )
}

/// Predictions from outside the body that a decoder replays.
enum Predictions<'a, T: Float> {
    /// An external predictor of whole levels, if any.
    External(Option<&'a mut dyn ExternalPredictor<T>>),
    /// Per-point predictions (NaN: none).
    Overrides(&'a [T]),
}

fn decode_impl<T: Float + LorenzoValue>(
    codec: &mut ClassicCodec<'_>,
    stream: &ParsedStream<'_>,
    dims: &[usize],
    abs: f64,
    from_outside: Predictions<'_, T>,
    out: &mut [T],
) -> Result<()> {
    let n = out.len();
    let dims = merge_to_four(&interp::squeeze_dims(dims, n)?);
    let head = stream.section(TAG_HEADER)?;
    let mut r = ByteReader::new(head, "classic header");
    let v = r.u8()?;
    if v != BODY_VERSION {
        return Err(PressioError::StreamMismatch(format!(
            "classic body version {v}"
        )));
    }
    let predictor = r.u8()?;
    let (plan, radius) = match predictor {
        0 => {
            let rest = &head[r.position()..];
            let (plan, used) = InterpPlan::read_from(rest)?;
            r.bytes(used)?;
            if plan.dims() != dims.as_slice() {
                return Err(PressioError::corrupt(
                    "interpolation plan dims do not match the stream",
                ));
            }
            if plan.max_eb() > abs {
                return Err(PressioError::corrupt(
                    "interpolation plan exceeds the stream bound",
                ));
            }
            let radius = plan.radius();
            (Some(plan), radius)
        }
        1 => (None, r.u32()?),
        p => {
            return Err(PressioError::corrupt(format!(
                "unknown classic predictor {p}"
            )))
        }
    };
    let mode = r.u8()?;
    let n_anchors = r.varint_usize(n)?;
    let n_unpred = r.varint_usize(n)?;
    let max_payload = n.saturating_mul(T::BYTES + 8).saturating_add(1 << 20);
    let payload_len = r.varint_usize(max_payload)?;
    r.finish()?;
    let payload = lossless::decompress(stream.section(TAG_PAYLOAD)?, payload_len)?;
    if payload.len() != payload_len {
        return Err(PressioError::corrupt("classic payload has the wrong size"));
    }
    let n_codes = match &plan {
        Some(p) => p.num_codes(),
        None => n,
    };
    let mut codes = std::mem::take(&mut codec.scratch);
    let used = decode_codes(&payload, mode, n_codes, radius, codec.parallel, &mut codes);
    let result = used.and_then(|used| {
        let rest = &payload[used..];
        let a_bytes = n_anchors * T::BYTES;
        if rest.len() != a_bytes + n_unpred * T::BYTES {
            return Err(PressioError::corrupt("classic payload sizes do not add up"));
        }
        let anchors: Vec<T> = values_from_le_bytes(&rest[..a_bytes])?;
        let unpred: Vec<T> = values_from_le_bytes(&rest[a_bytes..])?;
        reconstruct(
            plan.as_ref(),
            &dims,
            abs,
            radius,
            &anchors,
            &codes,
            &unpred,
            from_outside,
            out,
        )
    });
    codec.scratch = codes;
    result
}

/// Decode the quantization codes at the start of `payload` into `codes`; returns the bytes used.
fn decode_codes(
    payload: &[u8],
    mode: u8,
    n_codes: usize,
    radius: u32,
    parallel: bool,
    codes: &mut Vec<u32>,
) -> Result<usize> {
    match mode {
        CODES_HUFFMAN => {
            let used = huffman::decode_into(payload, n_codes, parallel, codes)?;
            if codes.len() != n_codes {
                return Err(PressioError::corrupt("wrong number of quantization codes"));
            }
            Ok(used)
        }
        CODES_RAW => {
            let w = code_width(2 * radius as u64);
            let bytes = payload
                .get(..n_codes * w)
                .ok_or_else(|| PressioError::corrupt("classic payload too short for its codes"))?;
            codes.clear();
            codes.extend(bytes.chunks_exact(w).map(|c| {
                let mut b = [0u8; 4];
                b[..w].copy_from_slice(c);
                u32::from_le_bytes(b)
            }));
            Ok(n_codes * w)
        }
        m => Err(PressioError::corrupt(format!(
            "unknown classic code layout {m}"
        ))),
    }
}

/// Run the predictor's decoder into `out`.
#[allow(clippy::too_many_arguments)]
fn reconstruct<T: Float + LorenzoValue>(
    plan: Option<&InterpPlan>,
    dims: &[usize],
    abs: f64,
    radius: u32,
    anchors: &[T],
    codes: &[u32],
    unpred: &[T],
    from_outside: Predictions<'_, T>,
    out: &mut [T],
) -> Result<()> {
    match (plan, from_outside) {
        (Some(p), Predictions::External(external)) => {
            interp::decompress_into(p, anchors, codes, unpred, external, out)
        }
        (Some(p), Predictions::Overrides(o)) => {
            interp::decompress_into_with(p, anchors, codes, unpred, o, out)
        }
        (None, Predictions::Overrides(_)) => Err(PressioError::corrupt(
            "a Lorenzo body where per-point predictions were expected",
        )),
        (None, Predictions::External(_)) => {
            if !anchors.is_empty() {
                return Err(PressioError::corrupt("Lorenzo stream with anchors"));
            }
            lorenzo::decompress_into(dims, abs, radius, codes, unpred, out)
        }
    }
}
