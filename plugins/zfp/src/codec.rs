//! The `zfp` body: zfp 1.0 (through `zfp-sys`, statically linked, serial execution) behind the
//! pressio-ml field envelope.
//!
//! zfp's field functions take dims fastest first (`nx` fastest), which is pressio's order, so
//! the normalized dims are passed as they are; zfp handles at most four dimensions, so the
//! slowest ones are merged when there are more.
//!
//! The section `ZFPS` holds zfp's compact 64-bit mode word (`zfp_stream_mode`, which encodes
//! rate, precision, accuracy, reversible or expert parameters) followed by zfp's bit stream
//! without zfp's own header (the envelope already records dtype and dims). Decoding restores the
//! mode with `zfp_stream_set_mode` and decodes from a zero-padded copy of the payload at least
//! `zfp_stream_maximum_size` bytes long: zfp's decoder reads at most that many bytes for the
//! given mode and field, so even a damaged payload cannot make it read out of bounds.

use pressio_ml_codec::container::{ParsedStream, Section, Tag};
use pressio_ml_codec::field::{FieldCodec, Float, FloatSlice, FloatSliceMut};
use pressio_ml_core::{PressioError, Result};
use std::ffi::c_void;
use zfp_sys as z;

/// Section holding zfp's mode word and bit stream.
pub const TAG_ZFP: Tag = Tag(*b"ZFPS");

/// Most dimensions zfp compresses natively.
pub const MAX_DIMS: usize = 4;

/// How zfp is configured for one compression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ZfpParams {
    /// Fixed accuracy with this tolerance (`zfp_stream_set_accuracy`).
    Accuracy(f64),
    /// Fixed precision with this many bit planes (`zfp_stream_set_precision`).
    Precision(u32),
    /// Fixed rate in bits per value (`zfp_stream_set_rate`, unaligned).
    Rate(f64),
    /// Lossless (`zfp_stream_set_reversible`).
    Reversible,
    /// Expert parameters (`zfp_stream_set_params`).
    Expert {
        /// Minimum bits per block.
        minbits: u32,
        /// Maximum bits per block.
        maxbits: u32,
        /// Maximum bit planes.
        maxprec: u32,
        /// Smallest bit plane exponent coded.
        minexp: i32,
    },
}

/// zfp's dims (fastest first, at most four) for normalized pressio dims.
pub fn zfp_dims(dims: &[usize]) -> Vec<usize> {
    let mut d = dims.to_vec();
    while d.len() > MAX_DIMS {
        let a = d.pop().unwrap_or(1);
        if let Some(last) = d.last_mut() {
            *last = last.saturating_mul(a);
        }
    }
    d
}

fn backend(m: impl Into<String>) -> PressioError {
    PressioError::backend(crate::ID, m)
}

/// Owns a `zfp_stream`.
struct Stream(*mut z::zfp_stream);
impl Drop for Stream {
    fn drop(&mut self) {
        // SAFETY: the pointer came from zfp_stream_open and is closed once.
        unsafe { z::zfp_stream_close(self.0) }
    }
}

/// Owns a `zfp_field` (not the data it points to).
struct Field(*mut z::zfp_field);
impl Drop for Field {
    fn drop(&mut self) {
        // SAFETY: the pointer came from zfp_field_*d and is freed once.
        unsafe { z::zfp_field_free(self.0) }
    }
}

/// Owns a `bitstream` (not its buffer).
struct Bits(*mut z::bitstream);
impl Drop for Bits {
    fn drop(&mut self) {
        // SAFETY: the pointer came from stream_open and is closed once.
        unsafe { z::stream_close(self.0) }
    }
}

fn open_stream() -> Result<Stream> {
    // SAFETY: a NULL bit stream is allowed; one is attached before use.
    let s = unsafe { z::zfp_stream_open(std::ptr::null_mut()) };
    if s.is_null() {
        return Err(backend("zfp_stream_open failed"));
    }
    // SAFETY: s is a valid stream; serial execution is always available.
    unsafe { z::zfp_stream_set_execution(s, z::zfp_exec_policy_zfp_exec_serial) };
    Ok(Stream(s))
}

/// A field over `ptr` (which must hold `product(dims)` values of `ty`).
///
/// # Safety
/// `ptr` must stay valid for as long as the field is used.
unsafe fn open_field(ptr: *mut c_void, ty: z::zfp_type, dims: &[usize]) -> Result<Field> {
    let f = match *dims {
        [nx] => z::zfp_field_1d(ptr, ty, nx),
        [nx, ny] => z::zfp_field_2d(ptr, ty, nx, ny),
        [nx, ny, nz] => z::zfp_field_3d(ptr, ty, nx, ny, nz),
        [nx, ny, nz, nw] => z::zfp_field_4d(ptr, ty, nx, ny, nz, nw),
        _ => {
            return Err(PressioError::InvalidDims(format!(
                "zfp cannot take dims {dims:?}"
            )))
        }
    };
    if f.is_null() {
        return Err(backend("zfp_field allocation failed"));
    }
    Ok(Field(f))
}

fn apply_params(s: &Stream, p: ZfpParams, ty: z::zfp_type, nd: usize) -> Result<()> {
    // SAFETY: s.0 is a valid stream; these setters only write its fields.
    unsafe {
        match p {
            ZfpParams::Accuracy(t) => {
                z::zfp_stream_set_accuracy(s.0, t);
            }
            ZfpParams::Precision(prec) => {
                z::zfp_stream_set_precision(s.0, prec);
            }
            ZfpParams::Rate(r) => {
                z::zfp_stream_set_rate(s.0, r, ty, nd as u32, 0);
            }
            ZfpParams::Reversible => z::zfp_stream_set_reversible(s.0),
            ZfpParams::Expert {
                minbits,
                maxbits,
                maxprec,
                minexp,
            } => {
                if z::zfp_stream_set_params(s.0, minbits, maxbits, maxprec, minexp) == 0 {
                    return Err(PressioError::invalid_option(
                        "zfp:maxprec",
                        "zfp refused the expert parameters (need minbits <= maxbits, 1 <= maxprec <= 64)",
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A zeroed, word-aligned buffer of at least `bytes` bytes (plus one spare word).
fn word_buffer(bytes: usize) -> Vec<u64> {
    vec![0u64; bytes.div_ceil(8) + 1]
}

fn compress_raw(
    ptr: *const c_void,
    ty: z::zfp_type,
    dims: &[usize],
    p: ZfpParams,
) -> Result<Vec<u8>> {
    let s = open_stream()?;
    apply_params(&s, p, ty, dims.len())?;
    // SAFETY: ptr holds product(dims) values of ty (checked by the caller); zfp only reads the
    // field when compressing.
    let field = unsafe { open_field(ptr as *mut c_void, ty, dims)? };
    // SAFETY: valid stream and field.
    let max = unsafe { z::zfp_stream_maximum_size(s.0, field.0) };
    if max == 0 {
        return Err(backend("zfp_stream_maximum_size failed"));
    }
    let mut buf = word_buffer(max);
    let cap = buf.len() * 8;
    // SAFETY: buf is valid for cap bytes and outlives the bit stream.
    let bits = Bits(unsafe { z::stream_open(buf.as_mut_ptr() as *mut c_void, cap) });
    if bits.0.is_null() {
        return Err(backend("stream_open failed"));
    }
    // SAFETY: all pointers are valid; the buffer is large enough for any output (maximum size).
    let (size, mode) = unsafe {
        z::zfp_stream_set_bit_stream(s.0, bits.0);
        z::zfp_stream_rewind(s.0);
        let size = z::zfp_compress(s.0, field.0);
        (size, z::zfp_stream_mode(s.0))
    };
    if size == 0 || size > cap {
        return Err(backend("zfp_compress failed"));
    }
    let mut out = Vec::with_capacity(8 + size);
    out.extend_from_slice(&mode.to_le_bytes());
    out.extend(buf.iter().flat_map(|w| w.to_le_bytes()).take(size));
    Ok(out)
}

fn decompress_raw(section: &[u8], ptr: *mut c_void, ty: z::zfp_type, dims: &[usize]) -> Result<()> {
    if section.len() < 8 {
        return Err(PressioError::corrupt(
            "zfp: section shorter than its mode word",
        ));
    }
    let (word, payload) = section.split_at(8);
    let mut w = [0u8; 8];
    w.copy_from_slice(word);
    let s = open_stream()?;
    // SAFETY: valid stream; zfp_stream_set_mode validates the word and reports zfp_mode_null.
    let mode = unsafe { z::zfp_stream_set_mode(s.0, u64::from_le_bytes(w)) };
    if mode == z::zfp_mode_zfp_mode_null {
        return Err(PressioError::corrupt("zfp: invalid mode word"));
    }
    // SAFETY: ptr holds product(dims) values of ty (the caller's output slice).
    let field = unsafe { open_field(ptr, ty, dims)? };
    // SAFETY: valid stream and field.
    let max = unsafe { z::zfp_stream_maximum_size(s.0, field.0) };
    if max == 0 || payload.len() > max.saturating_add(64) {
        return Err(PressioError::corrupt(
            "zfp: payload does not fit the mode and dims",
        ));
    }
    let mut buf = word_buffer(max.max(payload.len()) + 64);
    let cap = buf.len() * 8;
    for (i, chunk) in payload.chunks(8).enumerate() {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        buf[i] = u64::from_le_bytes(b);
    }
    // SAFETY: buf is valid for cap bytes and outlives the bit stream.
    let bits = Bits(unsafe { z::stream_open(buf.as_mut_ptr() as *mut c_void, cap) });
    if bits.0.is_null() {
        return Err(backend("stream_open failed"));
    }
    // SAFETY: the decoder reads at most `max` bytes for this mode and field, and the buffer is
    // larger; it writes product(dims) values into the output.
    let used = unsafe {
        z::zfp_stream_set_bit_stream(s.0, bits.0);
        z::zfp_stream_rewind(s.0);
        z::zfp_decompress(s.0, field.0)
    };
    if used == 0 {
        return Err(PressioError::corrupt("zfp: zfp_decompress failed"));
    }
    Ok(())
}

/// The field codec that runs zfp with the given parameters (`Accuracy` takes its tolerance from
/// the envelope's resolved bound).
#[derive(Debug, Clone, Copy)]
pub struct ZfpCodec {
    /// zfp parameters.
    pub params: ZfpParams,
}

impl FieldCodec for ZfpCodec {
    fn encode<T: Float>(&mut self, values: &[T], dims: &[usize], abs: f64) -> Result<Vec<Section>> {
        let zd = zfp_dims(dims);
        if zd.iter().product::<usize>() != values.len() {
            return Err(PressioError::InvalidDims(format!(
                "{dims:?} for {} values",
                values.len()
            )));
        }
        let params = match self.params {
            ZfpParams::Accuracy(_) => ZfpParams::Accuracy(abs),
            p => p,
        };
        let bytes = match T::as_float_slice(values) {
            FloatSlice::F32(v) => compress_raw(
                v.as_ptr() as *const c_void,
                z::zfp_type_zfp_type_float,
                &zd,
                params,
            )?,
            FloatSlice::F64(v) => compress_raw(
                v.as_ptr() as *const c_void,
                z::zfp_type_zfp_type_double,
                &zd,
                params,
            )?,
        };
        Ok(vec![Section::new(TAG_ZFP, bytes)])
    }

    fn decode<T: Float>(
        &mut self,
        stream: &ParsedStream<'_>,
        dims: &[usize],
        _abs: f64,
        out: &mut [T],
    ) -> Result<()> {
        let section = stream.section(TAG_ZFP)?;
        let zd = zfp_dims(dims);
        if zd.iter().product::<usize>() != out.len() {
            return Err(PressioError::corrupt("zfp: dims do not match the output"));
        }
        match T::as_float_slice_mut(out) {
            FloatSliceMut::F32(o) => decompress_raw(
                section,
                o.as_mut_ptr() as *mut c_void,
                z::zfp_type_zfp_type_float,
                &zd,
            ),
            FloatSliceMut::F64(o) => decompress_raw(
                section,
                o.as_mut_ptr() as *mut c_void,
                z::zfp_type_zfp_type_double,
                &zd,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dims_fold_slowest() {
        assert_eq!(zfp_dims(&[2, 3, 4, 5, 6]), vec![2, 3, 4, 30]);
        assert_eq!(zfp_dims(&[7]), vec![7]);
    }

    #[test]
    fn raw_roundtrip_every_mode_and_garbage_payloads() {
        let v: Vec<f64> = (0..600).map(|i| (i as f64 * 0.05).sin()).collect();
        let modes = [
            ZfpParams::Accuracy(1e-3),
            ZfpParams::Precision(16),
            ZfpParams::Rate(8.0),
            ZfpParams::Reversible,
            ZfpParams::Expert {
                minbits: 1,
                maxbits: 4000,
                maxprec: 20,
                minexp: -20,
            },
        ];
        for p in modes {
            let ty = z::zfp_type_zfp_type_double;
            let c = compress_raw(v.as_ptr() as *const c_void, ty, &[20, 30], p).unwrap();
            let mut o = vec![0.0f64; 600];
            decompress_raw(&c, o.as_mut_ptr() as *mut c_void, ty, &[20, 30]).unwrap();
            if p == ZfpParams::Reversible {
                assert_eq!(o, v);
            }
            // truncated and scrambled payloads decode to something or fail, never crash
            for cut in [0, 7, 8, 9, c.len() / 2] {
                let _ = decompress_raw(&c[..cut], o.as_mut_ptr() as *mut c_void, ty, &[20, 30]);
            }
            let mut bad = c.clone();
            for b in bad.iter_mut().skip(8) {
                *b = 0xff;
            }
            let _ = decompress_raw(&bad, o.as_mut_ptr() as *mut c_void, ty, &[20, 30]);
        }
    }
}
