//! The versioned, checksummed stream container shared by every pressio-ml compressor.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! magic "PRML" | format version u16 | header length u32 | header
//! | section count u32 | sections: tag [u8; 4], length u64, bytes
//! | checksum u64 (xxh3-64 of every preceding byte)
//! ```
//!
//! The header holds the plugin id and version, dtype, dims (fastest first), the bound mode, the
//! user's bound value and the resolved absolute bound, and a model slot (name and content hash)
//! for learned compressors. A stream whose checksum, magic or structure is wrong is refused as
//! corrupt before any section is interpreted; a stream of another plugin, an incompatible
//! version or another model is refused as a mismatch.

use crate::bytes::{ByteReader, ByteWriter};
use pressio_ml_core::{DType, Data, PressioError, Result, Version};
use xxhash_rust::xxh3::xxh3_64;

/// The four magic bytes that open every pressio-ml stream.
pub const MAGIC: [u8; 4] = *b"PRML";
/// The container format version this build writes.
///
/// Version 2 added the hole map (`HOLE`: fill points and non-finite values), which a version-1
/// decoder would not know to apply; so version-1 builds refuse version-2 streams instead of
/// decoding fill points into stand-in values. Version-1 streams still decode.
pub const FORMAT_VERSION: u16 = 2;
/// The oldest container format version this build reads.
pub const MIN_FORMAT_VERSION: u16 = 1;
/// Most dimensions a stream may declare.
pub const MAX_DIMS: usize = 16;
/// Most sections a stream may hold.
pub const MAX_SECTIONS: usize = 4096;

/// A section tag: four ASCII bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag(pub [u8; 4]);

impl Tag {
    /// The tag as text (for error messages).
    pub fn name(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

/// One tagged section of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// What the bytes hold.
    pub tag: Tag,
    /// The payload.
    pub data: Vec<u8>,
}

impl Section {
    /// A section from a tag and bytes.
    pub fn new(tag: Tag, data: Vec<u8>) -> Self {
        Section { tag, data }
    }
}

/// Everything a decoder learns before reading sections.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamHeader {
    /// Id of the plugin that wrote the stream.
    pub plugin_id: String,
    /// Version of that plugin.
    pub plugin_version: Version,
    /// Element type of the data.
    pub dtype: DType,
    /// Dims of the data, fastest first.
    pub dims: Vec<usize>,
    /// 0: none, 1: absolute, 2: value-range relative.
    pub bound_mode: u8,
    /// The user's bound value (e or eps).
    pub bound_value: f64,
    /// The resolved absolute bound every value honours.
    pub abs_bound: f64,
    /// Name of the model used (empty for non-learned plugins).
    pub model_name: String,
    /// Content hash of the model (empty for non-learned plugins).
    pub model_hash: Vec<u8>,
}

impl StreamHeader {
    /// Number of elements the stream decodes to.
    pub fn num_elements(&self) -> usize {
        self.dims.iter().product()
    }

    fn write(&self, w: &mut ByteWriter) {
        w.put_str(&self.plugin_id);
        w.put_u32(self.plugin_version.major);
        w.put_u32(self.plugin_version.minor);
        w.put_u32(self.plugin_version.patch);
        w.put_u8(self.dtype as i32 as u8);
        w.put_u8(self.dims.len() as u8);
        for &d in &self.dims {
            w.put_u64(d as u64);
        }
        w.put_u8(self.bound_mode);
        w.put_f64(self.bound_value);
        w.put_f64(self.abs_bound);
        w.put_str(&self.model_name);
        w.put_len_bytes(&self.model_hash);
    }

    fn read(r: &mut ByteReader<'_>) -> Result<StreamHeader> {
        let plugin_id = r.str()?.to_string();
        let plugin_version = Version::new(r.u32()?, r.u32()?, r.u32()?);
        let dt = r.u8()?;
        let dtype = DType::from_i32(dt as i32)
            .ok_or_else(|| PressioError::corrupt(format!("unknown dtype code {dt}")))?;
        let nd = r.u8()? as usize;
        if nd == 0 || nd > MAX_DIMS {
            return Err(PressioError::corrupt(format!("{nd} dimensions")));
        }
        let mut dims = Vec::with_capacity(nd);
        for _ in 0..nd {
            let d = usize::try_from(r.u64()?)
                .map_err(|_| PressioError::corrupt("dimension overflows"))?;
            dims.push(d);
        }
        let bytes = dims
            .iter()
            .try_fold(dtype.size(), |a, &d| a.checked_mul(d))
            .filter(|&b| b > 0 && b <= Data::MAX_BYTES)
            .ok_or_else(|| PressioError::corrupt(format!("absurd dimensions {dims:?}")))?;
        let _ = bytes;
        let bound_mode = r.u8()?;
        if bound_mode > 2 {
            return Err(PressioError::corrupt(format!("bound mode {bound_mode}")));
        }
        let bound_value = r.f64()?;
        let abs_bound = r.f64()?;
        if !(abs_bound >= 0.0 && abs_bound.is_finite()) {
            return Err(PressioError::corrupt(format!("absolute bound {abs_bound}")));
        }
        let model_name = r.str()?.to_string();
        let model_hash = r.len_bytes()?.to_vec();
        Ok(StreamHeader {
            plugin_id,
            plugin_version,
            dtype,
            dims,
            bound_mode,
            bound_value,
            abs_bound,
            model_name,
            model_hash,
        })
    }
}

/// Bytes a section takes in a stream besides its data (its tag and its length).
pub const SECTION_FRAME: usize = 12;

/// Bytes `sections` take in a stream, frames included (what an encoder choosing between
/// candidate streams compares).
pub fn sections_len(sections: &[Section]) -> usize {
    sections.iter().map(|s| s.data.len() + SECTION_FRAME).sum()
}

/// Bytes a stream of plugin `plugin_id` with `ndims` dimensions and no model takes besides its
/// sections' (magic, format version, header, section count and checksum): what an encoder
/// adds to [`sections_len`] to compare its candidate streams with another plugin's stream.
pub fn stream_overhead(plugin_id: &str, ndims: usize) -> usize {
    let header = StreamHeader {
        plugin_id: plugin_id.to_string(),
        plugin_version: Version::new(0, 0, 0),
        dtype: DType::Float,
        dims: vec![1; ndims.clamp(1, MAX_DIMS)],
        bound_mode: 0,
        bound_value: 0.0,
        abs_bound: 0.0,
        model_name: String::new(),
        model_hash: Vec::new(),
    };
    write_stream(&header, &[]).len()
}

/// A stream's magic, format version and `header`, in a buffer with room for `rest` more bytes.
fn stream_prefix(header: &StreamHeader, rest: usize) -> ByteWriter {
    let mut h = ByteWriter::new();
    header.write(&mut h);
    let h = h.into_inner();
    let mut w = ByteWriter::with_capacity(h.len() + rest + 18);
    w.put_bytes(&MAGIC);
    w.put_u16(FORMAT_VERSION);
    w.put_u32(h.len() as u32);
    w.put_bytes(&h);
    w
}

/// Append the checksum of every byte so far.
fn sealed(mut w: ByteWriter) -> Vec<u8> {
    let sum = xxh3_64(w.as_slice());
    w.put_u64(sum);
    w.into_inner()
}

/// Serialize a header and sections into a checksummed stream.
pub fn write_stream(header: &StreamHeader, sections: &[Section]) -> Vec<u8> {
    let mut w = stream_prefix(header, sections_len(sections) + 4);
    w.put_u32(sections.len() as u32);
    for s in sections {
        w.put_bytes(&s.tag.0);
        w.put_u64(s.data.len() as u64);
        w.put_bytes(&s.data);
    }
    sealed(w)
}

/// A verified stream cut into its header and its section table (the section count and the
/// sections, without magic, format version or checksum). A wrapper that stores another
/// plugin's stream next to a header it already has (the same dims, dtype and bound) keeps the
/// table alone and rebuilds the stream with [`attach_header`]; it must check that the rebuilt
/// bytes are the original ones, which holds for streams of this format version.
pub fn detach_header(bytes: &[u8]) -> Result<(StreamHeader, &[u8])> {
    let body = check_envelope(bytes)?;
    let mut r = ByteReader::new(&body[6..], "stream");
    let hlen = r.u32()? as usize;
    let hbytes = r.bytes(hlen)?;
    let mut hr = ByteReader::new(hbytes, "stream header");
    let header = StreamHeader::read(&mut hr)?;
    hr.finish()?;
    Ok((header, &body[6 + r.position()..]))
}

/// The stream of `header` and a section `table` taken from [`detach_header`], in this build's
/// format version with a fresh checksum. The table is not checked here: parse the result.
pub fn attach_header(header: &StreamHeader, table: &[u8]) -> Vec<u8> {
    let mut w = stream_prefix(header, table.len());
    w.put_bytes(table);
    sealed(w)
}

/// A parsed stream whose checksum and structure have been verified; sections borrow the input.
#[derive(Debug, Clone)]
pub struct ParsedStream<'a> {
    /// The verified header.
    pub header: StreamHeader,
    sections: Vec<(Tag, &'a [u8])>,
}

fn check_envelope(bytes: &[u8]) -> Result<&[u8]> {
    if bytes.len() < 4 + 2 + 4 + 4 + 8 || bytes[..4] != MAGIC {
        return Err(PressioError::corrupt(
            "not a pressio-ml stream (bad magic or too short)",
        ));
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if !(MIN_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(PressioError::StreamMismatch(format!(
            "stream format version {version}, this build reads versions \
             {MIN_FORMAT_VERSION} to {FORMAT_VERSION}"
        )));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    let mut s = [0u8; 8];
    s.copy_from_slice(sum);
    if u64::from_le_bytes(s) != xxh3_64(body) {
        return Err(PressioError::corrupt(
            "checksum mismatch (truncated or modified stream)",
        ));
    }
    Ok(body)
}

impl<'a> ParsedStream<'a> {
    /// Verify magic, format version and checksum, then parse header and section table.
    pub fn parse(bytes: &'a [u8]) -> Result<ParsedStream<'a>> {
        let (header, table) = detach_header(bytes)?;
        let mut r = ByteReader::new(table, "stream");
        let n = r.u32()? as usize;
        if n > MAX_SECTIONS {
            return Err(PressioError::corrupt(format!("{n} sections")));
        }
        let mut sections = Vec::with_capacity(n);
        for _ in 0..n {
            let tag = Tag(r
                .bytes(4)?
                .try_into()
                .map_err(|_| PressioError::corrupt("tag"))?);
            let len = usize::try_from(r.u64()?).map_err(|_| PressioError::corrupt("length"))?;
            sections.push((tag, r.bytes(len)?));
        }
        r.finish()?;
        Ok(ParsedStream { header, sections })
    }

    /// A stream made of parts of a verified stream: `header` and `sections` borrowed from it (a
    /// chunk's body sections, see [`crate::chunked`]), for a body's decoder to read as a stream.
    pub fn assembled(header: StreamHeader, sections: Vec<(Tag, &'a [u8])>) -> ParsedStream<'a> {
        ParsedStream { header, sections }
    }

    /// The section tagged `tag`; a missing section is a corrupt stream.
    pub fn section(&self, tag: Tag) -> Result<&'a [u8]> {
        self.optional_section(tag)
            .ok_or_else(|| PressioError::corrupt(format!("missing section {}", tag.name())))
    }

    /// The section tagged `tag`, if present.
    pub fn optional_section(&self, tag: Tag) -> Option<&'a [u8]> {
        self.sections
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, d)| *d)
    }

    /// Every section in stream order.
    pub fn sections(&self) -> &[(Tag, &'a [u8])] {
        &self.sections
    }

    /// Refuse streams of another plugin or of an incompatible version (other major, or a newer
    /// minor than `version`).
    pub fn expect_plugin(&self, plugin_id: &str, version: Version) -> Result<()> {
        let h = &self.header;
        if h.plugin_id != plugin_id {
            return Err(PressioError::StreamMismatch(format!(
                "stream was written by plugin `{}`, not `{plugin_id}`",
                h.plugin_id
            )));
        }
        if h.plugin_version.major != version.major || h.plugin_version.minor > version.minor {
            return Err(PressioError::StreamMismatch(format!(
                "stream was written by {plugin_id} {}, this is {plugin_id} {version}",
                h.plugin_version
            )));
        }
        Ok(())
    }
}

/// Read only the verified header of a stream (for tools that pick the decompressor from it).
pub fn peek_header(bytes: &[u8]) -> Result<StreamHeader> {
    Ok(ParsedStream::parse(bytes)?.header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let h = StreamHeader {
            plugin_id: "classic".into(),
            plugin_version: Version::new(0, 1, 0),
            dtype: DType::Float,
            dims: vec![4, 3],
            bound_mode: 1,
            bound_value: 1e-3,
            abs_bound: 1e-3,
            model_name: String::new(),
            model_hash: vec![],
        };
        write_stream(
            &h,
            &[
                Section::new(Tag(*b"ABCD"), vec![1, 2, 3]),
                Section::new(Tag(*b"EFGH"), vec![]),
            ],
        )
    }

    #[test]
    fn detached_headers_reattach_to_the_same_bytes() {
        let s = sample();
        let (h, table) = detach_header(&s).unwrap();
        assert_eq!(h, ParsedStream::parse(&s).unwrap().header);
        assert_eq!(attach_header(&h, table), s);
        assert_eq!(
            s.len(),
            stream_overhead("classic", 2)
                + sections_len(&[
                    Section::new(Tag(*b"ABCD"), vec![1, 2, 3]),
                    Section::new(Tag(*b"EFGH"), vec![]),
                ])
        );
        let mut other = h.clone();
        other.dims = vec![3, 4];
        let moved = attach_header(&other, table);
        assert_eq!(ParsedStream::parse(&moved).unwrap().header.dims, vec![3, 4]);
        let mut bad = s.clone();
        bad[20] ^= 1;
        assert!(detach_header(&bad).is_err());
        assert!(detach_header(&s[..s.len() - 1]).is_err());
    }

    #[test]
    fn parse_roundtrip() {
        let s = sample();
        let p = ParsedStream::parse(&s).unwrap();
        assert_eq!(p.header.dims, vec![4, 3]);
        assert_eq!(p.section(Tag(*b"ABCD")).unwrap(), &[1, 2, 3]);
        assert!(p.section(Tag(*b"ZZZZ")).is_err());
        p.expect_plugin("classic", Version::new(0, 1, 0)).unwrap();
        assert!(p.expect_plugin("sz3", Version::new(0, 1, 0)).is_err());
        assert!(p.expect_plugin("classic", Version::new(1, 0, 0)).is_err());
        assert!(p.expect_plugin("classic", Version::new(0, 0, 9)).is_err());
    }

    #[test]
    fn every_truncation_and_bit_flip_is_refused() {
        let s = sample();
        for cut in 0..s.len() {
            assert!(ParsedStream::parse(&s[..cut]).is_err(), "cut {cut}");
        }
        for i in 0..s.len() * 8 {
            let mut t = s.clone();
            t[i / 8] ^= 1 << (i % 8);
            assert!(ParsedStream::parse(&t).is_err(), "flip {i}");
        }
    }
}
