//! The hole map: where a field's fill points and non-finite values are, and their exact bits.
//!
//! Layout of the section (integers little-endian):
//!
//! ```text
//! holes u64 | bitmap: zstd of ceil(n / 8) bytes, one bit per point (LSB first), length-prefixed (varint)
//! | patterns u32 | patterns x bits u64
//! | when patterns > 1: zstd of one pattern index (u8) per hole, length-prefixed (varint)
//! | when patterns = 0: zstd of the raw bits (u64) of every hole, length-prefixed (varint)
//! ```
//!
//! A land mask, a GrADS UNDEF region or a NaN mask is a bitmap with long runs plus one bit
//! pattern, so it costs a few bytes per thousand points after zstd.

use crate::bytes::{ByteReader, ByteWriter};
use crate::field::Float;
use crate::lossless;
use pressio_ml_core::{PressioError, Result};

/// Most distinct bit patterns stored as a table (more: raw bits per hole).
const MAX_PATTERNS: usize = 256;

/// Encode the holes of `values` (flagged in `holes`) as a section payload.
pub fn encode_holes<T: Float>(values: &[T], holes: &[bool]) -> Result<Vec<u8>> {
    let n = values.len();
    let mut bitmap = vec![0u8; n.div_ceil(8)];
    let mut bits = Vec::new();
    for (i, (&v, &h)) in values.iter().zip(holes).enumerate() {
        if h {
            bitmap[i / 8] |= 1 << (i % 8);
            bits.push(v.to_bits_u64());
        }
    }
    let mut patterns: Vec<u64> = Vec::new();
    for &b in &bits {
        if !patterns.contains(&b) {
            patterns.push(b);
            if patterns.len() > MAX_PATTERNS {
                break;
            }
        }
    }
    let mut w = ByteWriter::new();
    w.put_u64(bits.len() as u64);
    w.put_len_bytes(&lossless::compress(&bitmap, lossless::DEFAULT_LEVEL)?);
    if patterns.len() > MAX_PATTERNS {
        w.put_u32(0);
        let mut raw = ByteWriter::with_capacity(bits.len() * 8);
        for &b in &bits {
            raw.put_u64(b);
        }
        w.put_len_bytes(&lossless::compress(
            raw.as_slice(),
            lossless::DEFAULT_LEVEL,
        )?);
    } else {
        w.put_u32(patterns.len() as u32);
        for &p in &patterns {
            w.put_u64(p);
        }
        if patterns.len() > 1 {
            let idx: Vec<u8> = bits
                .iter()
                .map(|b| patterns.iter().position(|p| p == b).unwrap_or(0) as u8)
                .collect();
            w.put_len_bytes(&lossless::compress(&idx, lossless::DEFAULT_LEVEL)?);
        }
    }
    Ok(w.into_inner())
}

/// Write the holes stored in `payload` into `out` (length = the field's size).
pub fn decode_holes<T: Float>(payload: &[u8], out: &mut [T]) -> Result<()> {
    let n = out.len();
    let mut r = ByteReader::new(payload, "hole map");
    let count = r.u64()?;
    if count > n as u64 {
        return Err(PressioError::corrupt(format!(
            "hole map claims {count} holes in {n} values"
        )));
    }
    let count = count as usize;
    let bitmap = lossless::decompress(r.len_bytes()?, n.div_ceil(8))?;
    if bitmap.len() != n.div_ceil(8) {
        return Err(PressioError::corrupt("hole bitmap has the wrong size"));
    }
    let flagged = |i: usize| bitmap[i / 8] & (1 << (i % 8)) != 0;
    let set = (0..n).filter(|&i| flagged(i)).count();
    if set != count || (n % 8 != 0 && bitmap[n / 8] >> (n % 8) != 0) {
        return Err(PressioError::corrupt(
            "hole bitmap disagrees with its count",
        ));
    }
    let npat = r.u32()? as usize;
    if npat > MAX_PATTERNS {
        return Err(PressioError::corrupt("too many hole patterns"));
    }
    let bits: Vec<u64> = if npat == 0 {
        let raw = lossless::decompress(r.len_bytes()?, count * 8)?;
        if raw.len() != count * 8 {
            return Err(PressioError::corrupt("raw hole bits have the wrong size"));
        }
        raw.chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect()
    } else {
        let mut patterns = Vec::with_capacity(npat);
        for _ in 0..npat {
            patterns.push(r.u64()?);
        }
        if npat == 1 {
            vec![patterns[0]; count]
        } else {
            let idx = lossless::decompress(r.len_bytes()?, count)?;
            if idx.len() != count {
                return Err(PressioError::corrupt(
                    "hole pattern indices have the wrong size",
                ));
            }
            idx.iter()
                .map(|&k| {
                    patterns
                        .get(k as usize)
                        .copied()
                        .ok_or_else(|| PressioError::corrupt("hole pattern index out of range"))
                })
                .collect::<Result<_>>()?
        }
    };
    r.finish()?;
    let mut next = bits.iter();
    for (i, o) in out.iter_mut().enumerate() {
        if flagged(i) {
            if let Some(&b) = next.next() {
                *o = T::from_bits_u64(b);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Float>(values: &[T], holes: &[bool]) -> Vec<T> {
        let payload = encode_holes(values, holes).unwrap();
        let mut out = vec![T::default(); values.len()];
        decode_holes(&payload, &mut out).unwrap();
        out
    }

    #[test]
    fn one_pattern_many_patterns_and_raw() {
        let n = 1001;
        let v: Vec<f32> = (0..n)
            .map(|i| if i % 3 == 0 { -2.56e33 } else { i as f32 })
            .collect();
        let holes: Vec<bool> = (0..n).map(|i| i % 3 == 0).collect();
        let out = round_trip(&v, &holes);
        for i in 0..n {
            if holes[i] {
                assert_eq!(out[i].to_bits(), v[i].to_bits());
            } else {
                assert_eq!(out[i], 0.0);
            }
        }
        // two patterns, NaN payloads kept
        let w = [f64::NAN, 1e20, -f64::NAN, 1e20, 3.0];
        let h = [true, true, true, true, false];
        let out = round_trip(&w, &h);
        for i in 0..4 {
            assert_eq!(out[i].to_bits(), w[i].to_bits());
        }
        // more patterns than the table holds: raw bits
        let u: Vec<f64> = (0..600).map(|i| 1e30 * (1.0 + i as f64)).collect();
        let hu = vec![true; 600];
        assert_eq!(round_trip(&u, &hu), u);
    }

    #[test]
    fn corrupt_maps_are_refused() {
        let v = [1e20f32, 2.0, 1e20, 4.0, 5.0, 6.0, 7.0, 8.0, 1e20];
        let h = [true, false, true, false, false, false, false, false, true];
        let payload = encode_holes(&v, &h).unwrap();
        let mut out = [0f32; 9];
        // wrong field size
        assert!(decode_holes(&payload, &mut out[..8]).is_err());
        for cut in 0..payload.len() {
            assert!(decode_holes(&payload[..cut], &mut out).is_err());
        }
        let mut bad = payload.clone();
        bad[0] ^= 1;
        assert!(decode_holes(&bad, &mut out).is_err());
    }
}
