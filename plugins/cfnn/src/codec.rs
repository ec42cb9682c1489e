//! The CFNN body: dual quantization, Lorenzo blended with cross-field predictors (the network's
//! predicted backward differences), Huffman and zstd, on the substrate's [`hybrid`] driver.
//!
//! # Stream sections
//!
//! * `CFHD`: body version; whether the network is used; the number of non-trivial axes; the
//!   blend (one f64 weight per axis and a bias); the anchors' count and checksum (xxh3 of their
//!   f64 bits); the checksum of the snapped differences; element counts and the payload length.
//! * `CFPL`: zstd of Huffman(residual codes) | outlier residuals (i64) | exceptions (index u64,
//!   exact value).
//! * `CFMD` (with `cfnn:embed_model`, only when the network is used): the model itself
//!   ([`LoadedModel::embedded`]), so the stream decodes without the model file.
//!
//! Axes beyond the model's (a 2-D model on 3-D data) get difference 0: their cross-field
//! predictor is "the previous slice", which the blend weighs like any other.

use crate::model::LoadedModel;
use pressio_ml_codec::bytes::{ByteReader, ByteWriter};
use pressio_ml_codec::container::{ParsedStream, Section, Tag};
use pressio_ml_codec::hybrid::{
    fit_blend, hybrid_code, hybrid_decompress, snap_differences, Blend,
};
use pressio_ml_codec::interp::squeeze_dims;
use pressio_ml_codec::lorenzo::DualQuantized;
use pressio_ml_codec::quantizer::{
    values_from_le_bytes, values_to_le_bytes, DualQuantizer, Float, DEFAULT_RADIUS,
};
use pressio_ml_codec::{huffman, lossless};
use pressio_ml_core::{PressioError, Result};

/// Header section.
pub const TAG_HEAD: Tag = Tag(*b"CFHD");
/// Payload section.
pub const TAG_PAYLOAD: Tag = Tag(*b"CFPL");
/// The model, embedded (`cfnn:embed_model`; only in streams that use the network).
pub const TAG_MODEL: Tag = Tag(*b"CFMD");
/// Body layout version.
pub const BODY_VERSION: u8 = 1;
/// Residual code radius (65,536 bins, as SZ3).
pub const RADIUS: u32 = DEFAULT_RADIUS;

/// What the encoder did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BodyStats {
    /// True when the network's predictors are in the stream's blend.
    pub network_used: bool,
    /// The blend's weights and bias.
    pub blend: Vec<f64>,
    /// Residual outliers.
    pub outliers: u64,
    /// Compressed payload bytes.
    pub payload_bytes: u64,
    /// Payload bytes of the plain dual-quantized Lorenzo coding of the same field.
    pub baseline_bytes: u64,
    /// Payload bytes of the hybrid coding (0 when the network did not run).
    pub hybrid_bytes: u64,
    /// Bytes of the embedded model in the stream (0 unless embedded and used).
    pub model_bytes: u64,
}

/// True when `stream`'s body blends the network in (then decoding needs the model and the
/// anchors); false for the baseline and for streams without a body (constant fields).
pub fn uses_network(stream: &ParsedStream<'_>) -> Result<bool> {
    match stream.optional_section(TAG_HEAD) {
        None => Ok(false),
        Some(h) => match h.get(..2) {
            Some([BODY_VERSION, 0]) => Ok(false),
            Some([BODY_VERSION, 1]) => Ok(true),
            _ => Head::read(stream, 0).map(|h| h.network),
        },
    }
}

/// The CFNN field codec.
pub struct CfnnCodec<'a> {
    /// The model (`None`: dual-quantized Lorenzo, the paper's baseline).
    pub model: Option<&'a LoadedModel>,
    /// The decompressed anchors, each with the target's values count (in f64).
    pub anchors: &'a [Vec<f64>],
    /// Spread network inference over the current rayon pool.
    pub parallel: bool,
    /// The embedded model section to write when the network is used (`cfnn:embed_model`).
    pub embed: Option<&'a [u8]>,
    /// Filled by `encode`.
    pub stats: BodyStats,
}

/// xxh3 of the little-endian bits of f64 values, array after array.
pub fn checksum(arrays: &[Vec<f64>]) -> u64 {
    let mut bytes = Vec::with_capacity(arrays.iter().map(|a| a.len() * 8).sum());
    for a in arrays {
        for v in a {
            bytes.extend_from_slice(&v.to_bits().to_le_bytes());
        }
    }
    xxhash_rust::xxh3::xxh3_64(&bytes)
}

struct Head {
    network: bool,
    blend: Blend,
    anchors: usize,
    anchor_sum: u64,
    diff_sum: u64,
    n_outliers: usize,
    n_exceptions: usize,
    payload_len: usize,
}

impl Head {
    fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new();
        w.put_u8(BODY_VERSION);
        w.put_u8(u8::from(self.network));
        w.put_u8(self.blend.weights.len() as u8);
        for &x in &self.blend.weights {
            w.put_f64(x);
        }
        w.put_f64(self.blend.bias);
        w.put_u8(self.anchors as u8);
        w.put_u64(self.anchor_sum);
        w.put_u64(self.diff_sum);
        w.put_varint(self.n_outliers as u64);
        w.put_varint(self.n_exceptions as u64);
        w.put_varint(self.payload_len as u64);
        w.into_inner()
    }

    fn read(stream: &ParsedStream<'_>, n: usize) -> Result<Head> {
        let mut r = ByteReader::new(stream.section(TAG_HEAD)?, "cfnn header");
        let v = r.u8()?;
        if v != BODY_VERSION {
            return Err(PressioError::StreamMismatch(format!(
                "cfnn body version {v}, this build reads {BODY_VERSION}"
            )));
        }
        let network = match r.u8()? {
            0 => false,
            1 => true,
            f => return Err(PressioError::corrupt(format!("cfnn: network flag {f}"))),
        };
        let axes = r.u8()? as usize;
        if axes > 4 {
            return Err(PressioError::corrupt(format!("cfnn: {axes} axes")));
        }
        let weights = (0..axes).map(|_| r.f64()).collect::<Result<Vec<f64>>>()?;
        let bias = r.f64()?;
        let blend = Blend { weights, bias };
        blend.check(axes)?;
        let anchors = r.u8()? as usize;
        let anchor_sum = r.u64()?;
        let diff_sum = r.u64()?;
        let n_outliers = r.varint_usize(n)?;
        let n_exceptions = r.varint_usize(n)?;
        let payload_len = r.varint_usize(n.saturating_mul(32).saturating_add(1 << 20))?;
        r.finish()?;
        Ok(Head {
            network,
            blend,
            anchors,
            anchor_sum,
            diff_sum,
            n_outliers,
            n_exceptions,
            payload_len,
        })
    }
}

impl CfnnCodec<'_> {
    /// The snapped per-axis differences the network predicts for this field (empty without a
    /// model), one array per non-trivial axis.
    fn differences(&self, dims: &[usize], n: usize, abs: f64) -> Result<Vec<Vec<f64>>> {
        let Some(model) = self.model else {
            return Ok(Vec::new());
        };
        let d = squeeze_dims(dims, n)?;
        if d.len() > 4 {
            return Err(PressioError::InvalidDims(format!(
                "cfnn supports at most 4 non-trivial dims, got {dims:?}"
            )));
        }
        if d.len() < model.config.dims {
            return Err(PressioError::InvalidInput(format!(
                "model `{}` is {}-D but the field has only {} non-trivial dims",
                model.name,
                model.config.dims,
                d.len()
            )));
        }
        let mut pred = model.predict(self.anchors, &d, self.parallel)?;
        pred.resize(d.len(), vec![0f32; n]);
        Ok(snap_differences(&pred, abs))
    }
}

fn code<T: Float>(enc: &DualQuantized<T>, parallel: bool) -> Result<(Vec<u8>, usize)> {
    let mut p = Vec::new();
    huffman::encode(&enc.codes, parallel, &mut p)?;
    for r in &enc.outliers {
        p.extend_from_slice(&r.to_le_bytes());
    }
    for (i, _) in &enc.exceptions {
        p.extend_from_slice(&i.to_le_bytes());
    }
    let values: Vec<T> = enc.exceptions.iter().map(|e| e.1).collect();
    p.extend_from_slice(&values_to_le_bytes(&values));
    let len = p.len();
    Ok((lossless::compress(&p, lossless::DEFAULT_LEVEL)?, len))
}

fn encode_typed<T: Float>(
    codec: &mut CfnnCodec<'_>,
    values: &[T],
    dims: &[usize],
    abs: f64,
) -> Result<Vec<Section>> {
    let n = values.len();
    let diffs = codec.differences(dims, n, abs)?;
    // pre-quantize once; code the baseline and, with a network, the hybrid
    let pre = DualQuantizer::new(abs, RADIUS)?.prequantize_all(values);
    let baseline = hybrid_code(&pre, dims, abs, RADIUS, &[], &Blend::lorenzo(0))?;
    let (base_zip, base_len) = code(&baseline, codec.parallel)?;
    let baseline_bytes = base_zip.len();
    let mut chosen = (false, Blend::lorenzo(0), baseline, base_zip, base_len);
    let mut hybrid_bytes = 0;
    if !diffs.is_empty() {
        let blend = fit_blend(&pre.q, dims, &diffs)?;
        let enc = hybrid_code(&pre, dims, abs, RADIUS, &diffs, &blend)?;
        let (zip, len) = code(&enc, codec.parallel)?;
        hybrid_bytes = zip.len() as u64;
        // the blend costs 8 bytes per axis and 8 more (and the model when embedded): keep it
        // only when it pays
        let extra = 8 * (blend.weights.len() + 1) + codec.embed.map_or(0, <[u8]>::len);
        if zip.len() + extra < baseline_bytes {
            chosen = (true, blend, enc, zip, len);
        }
    }
    let (network, blend, enc, zip, len) = chosen;
    codec.stats = BodyStats {
        network_used: network,
        blend: blend.weights.iter().copied().chain([blend.bias]).collect(),
        outliers: enc.outliers.len() as u64,
        payload_bytes: zip.len() as u64,
        baseline_bytes: baseline_bytes as u64,
        hybrid_bytes,
        model_bytes: if network {
            codec.embed.map_or(0, |e| e.len() as u64)
        } else {
            0
        },
    };
    // the baseline records no anchors: it is byte for byte the stream without a network
    let used_anchors = if network { codec.anchors } else { &[] };
    let head = Head {
        network,
        anchors: used_anchors.len(),
        anchor_sum: checksum(used_anchors),
        diff_sum: if network { checksum(&diffs) } else { 0 },
        blend,
        n_outliers: enc.outliers.len(),
        n_exceptions: enc.exceptions.len(),
        payload_len: len,
    };
    let mut sections = vec![
        Section::new(TAG_HEAD, head.to_bytes()),
        Section::new(TAG_PAYLOAD, zip),
    ];
    if let (true, Some(e)) = (network, codec.embed) {
        sections.push(Section::new(TAG_MODEL, e.to_vec()));
    }
    Ok(sections)
}

fn decode_typed<T: Float>(
    codec: &mut CfnnCodec<'_>,
    stream: &ParsedStream<'_>,
    dims: &[usize],
    abs: f64,
    out: &mut [T],
) -> Result<()> {
    let n = out.len();
    let h = Head::read(stream, n)?;
    let diffs = if h.network {
        if codec.anchors.len() != h.anchors {
            return Err(PressioError::InvalidArgument(format!(
                "the stream was made with {} anchors, {} were given",
                h.anchors,
                codec.anchors.len()
            )));
        }
        if checksum(codec.anchors) != h.anchor_sum {
            return Err(PressioError::StreamMismatch(
                "the anchors given differ from the ones this stream was compressed with \
                 (checksum mismatch): decompress with the same decompressed anchor fields"
                    .into(),
            ));
        }
        if codec.model.is_none() {
            return Err(PressioError::Model(
                "this stream uses the network but no model is loaded".into(),
            ));
        }
        let d = codec.differences(dims, n, abs)?;
        if checksum(&d) != h.diff_sum {
            return Err(PressioError::StreamMismatch(
                "the network's predictions differ from the ones this stream was compressed \
                 with (checksum mismatch); the stream is corrupt or was made by another \
                 model or engine"
                    .into(),
            ));
        }
        d
    } else {
        Vec::new()
    };
    let p = lossless::decompress(stream.section(TAG_PAYLOAD)?, h.payload_len)?;
    if p.len() != h.payload_len {
        return Err(PressioError::corrupt("cfnn: payload has the wrong size"));
    }
    let (codes, used) = huffman::decode(&p, n, codec.parallel)?;
    let need = used + 8 * h.n_outliers + (8 + std::mem::size_of::<T>()) * h.n_exceptions;
    if codes.len() != n || p.len() != need {
        return Err(PressioError::corrupt("cfnn: payload sizes do not add up"));
    }
    let mut at = used;
    let mut take = |len: usize| {
        let s = &p[at..at + len];
        at += len;
        s
    };
    let outliers: Vec<i64> = take(8 * h.n_outliers)
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect();
    let idx: Vec<u64> = take(8 * h.n_exceptions)
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect();
    let vals: Vec<T> = values_from_le_bytes(take(std::mem::size_of::<T>() * h.n_exceptions))?;
    if idx.iter().any(|&i| i as usize >= n) {
        return Err(PressioError::corrupt("cfnn: exception index out of range"));
    }
    let enc = DualQuantized {
        codes,
        outliers,
        exceptions: idx.into_iter().zip(vals).collect(),
    };
    let v = hybrid_decompress(dims, abs, RADIUS, &diffs, &h.blend, &enc)?;
    out.copy_from_slice(&v);
    Ok(())
}

/// Whether the stream just encoded blends the network in (and so needs the model).
fn network_used(codec: &CfnnCodec<'_>) -> bool {
    codec.stats.network_used
}

pressio_ml_codec::field_codec_by_width!(
    CfnnCodec<'_>,
    encode_typed,
    decode_typed,
    uses_model: network_used
);
