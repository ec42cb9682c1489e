//! Anchors: the decompressed fields the network reads, where they come from, and the anchor
//! streams `compress_many` writes.
//!
//! In `compress_many([target, anchor1, ...])` every anchor is compressed by the anchor
//! compressor (`cfnn:anchor_compressor`, any registered compressor, under the target's bound
//! mode and value) and decompressed again at once: the network only ever sees the values the
//! decoder will see. Each anchor stream is a small `cfnn` container around the inner stream:
//!
//! * `CFAN`: layout version, the anchor's index and the anchor count, the inner compressor's id,
//!   the bound it ran under (mode and value), the xxh3 of the decoded values (f64 bits) as the
//!   encoder decoded them, then the inner stream.
//!
//! The checksum makes the decoder refuse an inner compressor that decodes other values than it
//! did at compression time (another implementation under the same id, as inside LibPressio),
//! instead of feeding the network other anchors; the target stream's own anchor checksum then
//! holds as well.

use crate::codec::checksum;
use pressio_ml_codec::bytes::{ByteReader, ByteWriter};
use pressio_ml_codec::container::{write_stream, ParsedStream, Section, StreamHeader, Tag};
use pressio_ml_core::{
    check_decompressed, keys, BoundSpec, CompressorPlugin, DType, Data, Options, PressioError,
    Registry, Result,
};

/// The anchor section.
pub const TAG_ANCHOR: Tag = Tag(*b"CFAN");
/// Layout of the `CFAN` section.
const LAYOUT: u8 = 1;
/// Most anchors a model or a stream may have.
pub const MAX_ANCHORS: usize = 16;

/// The metadata of an anchor stream.
#[derive(Debug, Clone, PartialEq)]
pub struct AnchorInfo {
    /// Position of the anchor in the model's order.
    pub index: usize,
    /// Number of anchors of the target.
    pub count: usize,
    /// Id of the anchor compressor.
    pub inner_id: String,
    /// The bound the anchor compressor ran under.
    pub bound: BoundSpec,
    /// xxh3 of the decoded anchor's f64 bits.
    pub checksum: u64,
}

/// True when `stream` is an anchor stream (rather than a target stream).
pub fn is_anchor_stream(stream: &ParsedStream<'_>) -> bool {
    stream.optional_section(TAG_ANCHOR).is_some()
}

fn bound_bytes(b: BoundSpec) -> (u8, f64) {
    match b {
        BoundSpec::Abs(v) => (1, v),
        BoundSpec::Rel(v) => (2, v),
    }
}

/// The options the anchor compressor runs under, the same at both ends: the bound (one key,
/// `pressio:abs` or `pressio:rel`, as the user gave cfnn's) and the thread count.
fn run_options(bound: BoundSpec, nthreads: u32) -> Options {
    let o = Options::new().with(keys::NTHREADS, nthreads);
    match bound {
        BoundSpec::Abs(a) => o.with(keys::ABS, a),
        BoundSpec::Rel(r) => o.with(keys::REL, r),
    }
}

/// An error of the anchor compressor `id`, named as such.
fn inner_error(id: &str, e: PressioError) -> PressioError {
    PressioError::backend(id, format!("cfnn anchor compressor: {e}"))
}

/// A fresh anchor compressor `id` from `registry`, ready to run under `bound`.
fn ready(
    registry: &Registry,
    id: &str,
    bound: BoundSpec,
    nthreads: u32,
) -> Result<Box<dyn CompressorPlugin>> {
    if id == crate::ID {
        return Err(PressioError::invalid_option(
            crate::KEY_ANCHOR_COMPRESSOR,
            "the anchors cannot be compressed by cfnn itself",
        ));
    }
    if !registry.has_compressor(id) {
        return Err(PressioError::invalid_option(
            crate::KEY_ANCHOR_COMPRESSOR,
            format!(
                "`{id}` is not a registered compressor (registered: {})",
                registry.compressor_ids().join(", ")
            ),
        ));
    }
    let mut c = registry.compressor_plugin(id)?;
    c.set_options(&run_options(bound, nthreads))
        .map_err(|e| inner_error(id, e))?;
    Ok(c)
}

/// Decompress `stream` with `inner` into `dims` values of `dtype`, never trusting the result's
/// shape or type.
fn decode_inner(
    inner: &mut dyn CompressorPlugin,
    id: &str,
    stream: &[u8],
    dtype: DType,
    dims: &[usize],
) -> Result<(Data, Vec<f64>)> {
    let out = inner
        .decompress(
            &Data::from_byte_vec(stream.to_vec()),
            &Data::empty(dtype, dims),
        )
        .map_err(|e| inner_error(id, e))?;
    check_decompressed(id, &out, Some((dtype, dims))).map_err(|e| inner_error(id, e))?;
    let v = out.to_f64_vec();
    if v.iter().any(|x| !x.is_finite()) {
        return Err(inner_error(
            id,
            PressioError::InvalidInput("decompressed anchor holds NaN or infinite values".into()),
        ));
    }
    Ok((out, v))
}

/// Compress anchor `index` of `count` with the anchor compressor `id` under `bound`; returns the
/// anchor stream and the decoded anchor (what the decoder will see).
pub fn compress_anchor(
    registry: &Registry,
    id: &str,
    bound: BoundSpec,
    nthreads: u32,
    anchor: &Data,
    (index, count): (usize, usize),
) -> Result<(Data, Vec<f64>)> {
    let mut inner = ready(registry, id, bound, nthreads)?;
    let stream = inner.compress(anchor).map_err(|e| inner_error(id, e))?;
    if !stream.has_data() {
        return Err(PressioError::backend(
            id,
            "cfnn anchor compressor: compression reported success but returned an empty stream",
        ));
    }
    let mut decoder = ready(registry, id, bound, nthreads)?;
    let (_, decoded) = decode_inner(
        decoder.as_mut(),
        id,
        stream.bytes(),
        anchor.dtype(),
        anchor.dims(),
    )?;
    let info = AnchorInfo {
        index,
        count,
        inner_id: id.to_string(),
        bound,
        checksum: checksum(std::slice::from_ref(&decoded)),
    };
    let abs = match bound {
        BoundSpec::Abs(a) => a,
        BoundSpec::Rel(r) => {
            let (lo, hi) = decoded
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                    (lo.min(x), hi.max(x))
                });
            r * (hi - lo).max(0.0)
        }
    };
    let (mode, value) = bound_bytes(bound);
    let header = StreamHeader {
        plugin_id: crate::ID.into(),
        plugin_version: crate::VERSION,
        dtype: anchor.dtype(),
        dims: anchor.dims().to_vec(),
        bound_mode: mode,
        bound_value: value,
        abs_bound: abs,
        model_name: String::new(),
        model_hash: Vec::new(),
    };
    let mut w = ByteWriter::new();
    w.put_u8(LAYOUT);
    w.put_u8(index as u8);
    w.put_u8(count as u8);
    w.put_str(id);
    w.put_u8(mode);
    w.put_f64(value);
    w.put_u64(info.checksum);
    w.put_bytes(stream.bytes());
    let bytes = write_stream(&header, &[Section::new(TAG_ANCHOR, w.into_inner())]);
    Ok((Data::from_byte_vec(bytes), decoded))
}

/// Read an anchor stream's metadata and inner stream.
pub fn parse_anchor<'a>(stream: &ParsedStream<'a>) -> Result<(AnchorInfo, &'a [u8])> {
    let body = stream.section(TAG_ANCHOR)?;
    let mut r = ByteReader::new(body, "cfnn anchor stream");
    let layout = r.u8()?;
    if layout != LAYOUT {
        return Err(PressioError::StreamMismatch(format!(
            "cfnn anchor stream layout {layout}, this build reads {LAYOUT}"
        )));
    }
    let index = r.u8()? as usize;
    let count = r.u8()? as usize;
    if count == 0 || count > MAX_ANCHORS || index >= count {
        return Err(PressioError::corrupt(format!(
            "cfnn anchor stream: anchor {index} of {count}"
        )));
    }
    let inner_id = r.str()?.to_string();
    let mode = r.u8()?;
    let value = r.f64()?;
    let bound = match mode {
        1 => BoundSpec::Abs(value),
        2 => BoundSpec::Rel(value),
        m => {
            return Err(PressioError::corrupt(format!(
                "cfnn anchor stream: bound mode {m}"
            )))
        }
    };
    if !(value.is_finite() && value >= 0.0) {
        return Err(PressioError::corrupt(format!(
            "cfnn anchor stream: bound {value}"
        )));
    }
    let checksum = r.u64()?;
    let inner = &body[r.position()..];
    Ok((
        AnchorInfo {
            index,
            count,
            inner_id,
            bound,
            checksum,
        },
        inner,
    ))
}

/// Decode an anchor stream: the anchor compressor it names (from `registry`) decompresses the
/// inner stream, and the values must be the ones the encoder saw.
pub fn decompress_anchor(
    registry: &Registry,
    stream: &ParsedStream<'_>,
    nthreads: u32,
) -> Result<(AnchorInfo, Data, Vec<f64>)> {
    let (info, inner) = parse_anchor(stream)?;
    let h = &stream.header;
    let mut decoder = ready(registry, &info.inner_id, info.bound, nthreads).map_err(|e| {
        PressioError::StreamMismatch(format!(
            "cfnn anchor stream {}: its compressor `{}` is unavailable here: {e}",
            info.index, info.inner_id
        ))
    })?;
    let (data, values) = decode_inner(decoder.as_mut(), &info.inner_id, inner, h.dtype, &h.dims)?;
    if checksum(std::slice::from_ref(&values)) != info.checksum {
        return Err(PressioError::StreamMismatch(format!(
            "cfnn anchor stream {}: the anchor compressor `{}` here decodes other values than \
             it did when the stream was made (another implementation or settings); refusing \
             rather than predicting from other anchors",
            info.index, info.inner_id
        )));
    }
    Ok((info, data, values))
}

/// The `cfnn:anchors` buffer for `anchors` (decompressed anchors of one dtype and dims, in the
/// model's order): their values one after the other, the dims plus a slowest dim counting
/// them. The inverse of [`split_stacked`].
pub fn stack(anchors: &[&Data]) -> Result<Data> {
    let first = anchors.first().ok_or_else(|| {
        PressioError::InvalidArgument(format!("{}: no anchors to stack", crate::KEY_ANCHORS))
    })?;
    let mut bytes = Vec::with_capacity(first.num_bytes() * anchors.len());
    for (k, a) in anchors.iter().enumerate() {
        if a.dtype() != first.dtype() || a.dims() != first.dims() || !a.has_data() {
            return Err(PressioError::InvalidInput(format!(
                "{}: anchor {k} is not a {} buffer of dims {:?} like anchor 0",
                crate::KEY_ANCHORS,
                first.dtype().name(),
                first.dims()
            )));
        }
        bytes.extend_from_slice(a.bytes());
    }
    let mut dims = first.dims().to_vec();
    dims.push(anchors.len());
    Data::from_bytes(first.dtype(), &dims, &bytes)
}

/// Anchors handed in one buffer (`cfnn:anchors`): the target's dtype and dims with one more,
/// slowest dim counting the anchors. Returns each anchor's values.
pub fn split_stacked(stacked: &Data, dtype: DType, dims: &[usize]) -> Result<Vec<Vec<f64>>> {
    let n: usize = dims.iter().product();
    let sd = stacked.dims();
    // compare without dims of extent 1 (a target of [48, 48, 14, 1] is [48, 48, 14])
    let squeeze = |d: &[usize]| -> Vec<usize> { d.iter().copied().filter(|&e| e != 1).collect() };
    let ok_dims = sd.len() >= 2 && squeeze(&sd[..sd.len() - 1]) == squeeze(dims);
    if stacked.dtype() != dtype || !ok_dims || n == 0 {
        return Err(PressioError::InvalidInput(format!(
            "{}: a {} buffer of dims {sd:?} does not hold anchors for a {} target of dims \
             {dims:?} (expected the target's dtype and dims plus one slowest dim, the anchor \
             count)",
            crate::KEY_ANCHORS,
            stacked.dtype().name(),
            dtype.name()
        )));
    }
    let all = stacked.to_f64_vec();
    if all.iter().any(|x| !x.is_finite()) {
        return Err(PressioError::InvalidInput(format!(
            "{}: the anchors hold NaN or infinite values",
            crate::KEY_ANCHORS
        )));
    }
    Ok(all.chunks(n).map(<[f64]>::to_vec).collect())
}

/// Check an anchor given to `compress_many` against the target.
pub fn check_anchor(k: usize, anchor: &Data, target: &Data) -> Result<()> {
    if anchor.dtype() != target.dtype() || anchor.dims() != target.dims() {
        return Err(PressioError::InvalidInput(format!(
            "anchor {k} is {} of dims {:?}, but the target is {} of dims {:?}: anchors must be \
             on the target's grid",
            anchor.dtype().name(),
            anchor.dims(),
            target.dtype().name(),
            target.dims()
        )));
    }
    if anchor.to_f64_vec().iter().any(|x| !x.is_finite()) {
        return Err(PressioError::InvalidInput(format!(
            "anchor {k} holds NaN or infinite values; cfnn's network needs finite anchors"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_and_split_are_inverse_and_mismatches_are_refused() {
        let a = Data::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]).unwrap();
        let b = Data::from_vec(vec![7.0f32, 8.0, 9.0, 10.0, 11.0, 12.0], &[3, 2]).unwrap();
        let s = stack(&[&a, &b]).unwrap();
        assert_eq!(s.dims(), &[3, 2, 2]);
        let back = split_stacked(&s, DType::Float, &[3, 2]).unwrap();
        assert_eq!(back, vec![a.to_f64_vec(), b.to_f64_vec()]);
        let c = Data::from_vec(vec![1.0f32; 6], &[6]).unwrap();
        assert!(stack(&[&a, &c])
            .unwrap_err()
            .to_string()
            .contains("anchor 1"));
        assert!(stack(&[]).is_err());
    }
}
