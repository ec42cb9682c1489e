//! The SRN-SZ body: `classic`'s interpolation body whose large levels are offered to the
//! super-resolution network.
//!
//! # Stream sections
//!
//! * `CLHD` / `CLPL`: the classic interpolation body ([`pressio_ml_classic::body`]); its plan
//!   marks the levels the network predicts (`External`), per level.
//! * `SRHD` (only when the network predicts at least one level): body version, the portable
//!   engine's id, `srnsz:min_sr_size`, then per network level its index and the xxh3 checksum
//!   of its predictions.
//!
//! The encoder codes the plain interpolation path too (same tuned parameters) and keeps the
//! smaller stream; without `SRHD` the stream is that path's and needs no model.

use crate::net::LoadedModel;
use crate::predictor::{orientations, SrPredictor};
use pressio_ml_classic::body::{self, ClassicCodec, Settings};
use pressio_ml_codec::bytes::{ByteReader, ByteWriter};
use pressio_ml_codec::container::{ParsedStream, Section, Tag};
use pressio_ml_codec::interp::{merge_to_four, squeeze_dims, InterpPlan, LevelPredictor};
use pressio_ml_codec::lorenzo::LorenzoValue;
use pressio_ml_codec::quantizer::Float;
use pressio_ml_core::{PressioError, Result};

/// The network section.
pub const TAG_HEAD: Tag = Tag(*b"SRHD");
/// Layout version of `SRHD`.
pub const BODY_VERSION: u8 = 1;

/// What the encoder did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BodyStats {
    /// Levels the network predicts in the stream.
    pub network_levels: u32,
    /// Levels large enough for the network (offered to it).
    pub candidate_levels: u32,
    /// Body bytes of the plain interpolation path.
    pub plain_bytes: u64,
    /// Body bytes with the network (0 when it did not run).
    pub network_bytes: u64,
    /// Seconds spent in network inference.
    pub inference_seconds: f64,
}

/// The SRN-SZ field codec.
pub struct SrnszCodec<'a> {
    /// The network (`None`: the plain interpolation path).
    pub model: Option<&'a LoadedModel>,
    /// Interpolation settings (the tuned path the network extends).
    pub settings: &'a Settings,
    /// Smallest fine slice extent the network works on.
    pub min_size: usize,
    /// Keep the network on every candidate level, even where interpolation codes smaller.
    pub force: bool,
    /// Use the current rayon pool.
    pub parallel: bool,
    /// Filled by `encode`.
    pub stats: BodyStats,
}

fn size(sections: &[Section]) -> u64 {
    sections.iter().map(|s| s.data.len() as u64 + 8).sum()
}

fn uses_network(codec: &SrnszCodec<'_>) -> bool {
    codec.stats.network_levels > 0
}

pressio_ml_codec::field_codec_by_width!(SrnszCodec<'_>, encode_typed, decode_typed, uses_model: uses_network);

fn encode_typed<T: Float + LorenzoValue>(
    codec: &mut SrnszCodec<'_>,
    values: &[T],
    dims: &[usize],
    abs: f64,
) -> Result<Vec<Section>> {
    codec.stats = BodyStats::default();
    let dims = merge_to_four(&squeeze_dims(dims, values.len())?);
    let params = pressio_ml_classic::tune::choose_params(values, &dims, abs, codec.settings)?;
    let mut cc = ClassicCodec {
        settings: codec.settings,
        parallel: codec.parallel,
        scratch: Vec::new(),
        preset: None,
    };
    let plain = body::encode_interp(&mut cc, values, &dims, abs, &params)?;
    codec.stats.plain_bytes = size(&plain);
    let Some(model) = codec.model else {
        return Ok(plain);
    };
    if abs <= 0.0 {
        return Ok(plain);
    }
    let mut plan = InterpPlan::standard(&dims, abs, &params)?;
    let candidates: Vec<usize> = (0..plan.levels().len())
        .filter(|&li| !orientations(&dims, plan.stride(li), codec.min_size).is_empty())
        .collect();
    if candidates.is_empty() {
        return Ok(plain);
    }
    codec.stats.candidate_levels = candidates.len() as u32;
    for &li in &candidates {
        plan.levels_mut()[li].predictor = LevelPredictor::External(params.kind);
    }
    let mut pred = SrPredictor::new(model, codec.min_size, codec.parallel);
    let (mut sections, kept) =
        body::encode_interp_external(&mut cc, values, plan, &mut pred, codec.force)?;
    codec.stats.inference_seconds = pred.seconds;
    let levels: Vec<(usize, u64)> = pred
        .checksums
        .iter()
        .copied()
        .filter(|&(l, _)| kept.get(l).copied().unwrap_or(false))
        .collect();
    if levels.is_empty() {
        return Ok(plain);
    }
    let mut w = ByteWriter::new();
    w.put_u8(BODY_VERSION);
    w.put_u8(pressio_ml_nn::portable::ENGINE_ID);
    w.put_varint(codec.min_size as u64);
    w.put_u8(levels.len() as u8);
    for &(l, sum) in &levels {
        w.put_u8(l as u8);
        w.put_u64(sum);
    }
    sections.push(Section::new(TAG_HEAD, w.into_inner()));
    codec.stats.network_bytes = size(&sections);
    if codec.stats.network_bytes >= codec.stats.plain_bytes && !codec.force {
        return Ok(plain);
    }
    codec.stats.network_levels = levels.len() as u32;
    Ok(sections)
}

/// What `SRHD` records: `srnsz:min_sr_size` and, per network level, its index and the checksum
/// of its predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkHead {
    /// The smallest slice extent the network worked on.
    pub min_size: usize,
    /// `(level, xxh3 of its predictions)`.
    pub levels: Vec<(usize, u64)>,
}

/// The network levels a stream records, or `None` for a plain interpolation stream.
pub fn network_levels(stream: &ParsedStream<'_>) -> Result<Option<NetworkHead>> {
    let Some(head) = stream.optional_section(TAG_HEAD) else {
        return Ok(None);
    };
    let mut r = ByteReader::new(head, "srnsz header");
    let v = r.u8()?;
    if v != BODY_VERSION {
        return Err(PressioError::StreamMismatch(format!(
            "srnsz body version {v}, this build reads {BODY_VERSION}"
        )));
    }
    let engine = r.u8()?;
    if engine != pressio_ml_nn::portable::ENGINE_ID {
        return Err(PressioError::StreamMismatch(format!(
            "srnsz: the stream's predictions come from inference engine {engine}, this build \
             computes them with engine {}",
            pressio_ml_nn::portable::ENGINE_ID
        )));
    }
    let min_size = r.varint_usize(1 << 30)?;
    let n = r.u8()? as usize;
    let mut levels = Vec::with_capacity(n);
    for _ in 0..n {
        levels.push((r.u8()? as usize, r.u64()?));
    }
    r.finish()?;
    Ok(Some(NetworkHead { min_size, levels }))
}

fn decode_typed<T: Float + LorenzoValue>(
    codec: &mut SrnszCodec<'_>,
    stream: &ParsedStream<'_>,
    dims: &[usize],
    abs: f64,
    out: &mut [T],
) -> Result<()> {
    let mut cc = ClassicCodec {
        settings: codec.settings,
        parallel: codec.parallel,
        scratch: Vec::new(),
        preset: None,
    };
    match network_levels(stream)? {
        None => body::decode_body(&mut cc, stream, dims, abs, None, out),
        Some(NetworkHead { min_size, levels }) => {
            let model = codec.model.ok_or_else(|| {
                PressioError::Model("srnsz: the stream needs its model to decode".into())
            })?;
            let mut pred = SrPredictor::new(model, min_size, codec.parallel);
            pred.expect = Some(levels);
            body::decode_body(&mut cc, stream, dims, abs, Some(&mut pred), out)
        }
    }
}
