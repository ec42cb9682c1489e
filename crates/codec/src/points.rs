//! Sparse point lists: sorted indices into a field, with or without exact values, delta-coded
//! as varints and zstd'ed. Used for NaN/Inf passthrough, bound patches and, in meta-compressors,
//! lists of points that take a fallback value.

use crate::bytes::{ByteReader, ByteWriter};
use crate::field::Float;
use crate::lossless;
use pressio_ml_core::{PressioError, Result};

/// Encode `(index, value)` pairs exactly: delta-coded indices and raw bits, zstd'ed. Indices
/// must be strictly increasing.
pub fn encode_points<T: Float>(points: &[(usize, T)]) -> Result<Vec<u8>> {
    let mut w = ByteWriter::with_capacity(points.len() * (T::BYTES + 2) + 8);
    w.put_varint(points.len() as u64);
    let mut prev = 0usize;
    for &(i, v) in points {
        w.put_varint((i - prev) as u64);
        prev = i;
        let bits = v.to_bits_u64();
        w.put_bytes(&bits.to_le_bytes()[..T::BYTES]);
    }
    lossless::compress(w.as_slice(), lossless::DEFAULT_LEVEL)
}

/// Read a count and that many strictly increasing delta-coded indices below `n`, calling
/// `each` after every index (to read a payload that follows it). The reader may hold more.
fn read_indices(
    r: &mut ByteReader<'_>,
    n: usize,
    what: &str,
    mut each: impl FnMut(&mut ByteReader<'_>, usize) -> Result<()>,
) -> Result<()> {
    let count = r.varint_usize(n)?;
    let mut idx = 0usize;
    for k in 0..count {
        let delta = r.varint_usize(n)?;
        if k > 0 && delta == 0 {
            return Err(PressioError::corrupt(format!("{what}: repeated index")));
        }
        idx = idx
            .checked_add(delta)
            .filter(|&i| i < n)
            .ok_or_else(|| PressioError::corrupt(format!("{what}: index out of range")))?;
        each(r, idx)?;
    }
    Ok(())
}

/// Append strictly increasing indices as a count and delta-coded varints (the form
/// [`encode_indices`] compresses; several lists may follow each other in one buffer).
pub fn put_index_list(w: &mut ByteWriter, indices: &[usize]) {
    w.put_varint(indices.len() as u64);
    let mut prev = 0usize;
    for &i in indices {
        w.put_varint((i - prev) as u64);
        prev = i;
    }
}

/// Read one list written by [`put_index_list`]: strictly increasing indices below `n`.
pub fn read_index_list(r: &mut ByteReader<'_>, n: usize, what: &str) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    read_indices(r, n, what, |_, idx| {
        out.push(idx);
        Ok(())
    })?;
    Ok(out)
}

/// Decode pairs written by [`encode_points`]; indices must be increasing and below `n`.
pub fn decode_points<T: Float>(bytes: &[u8], n: usize) -> Result<Vec<(usize, T)>> {
    let raw = lossless::decompress(bytes, n.saturating_mul(T::BYTES + 10).saturating_add(10))?;
    let mut r = ByteReader::new(&raw, "point list");
    let mut out = Vec::new();
    read_indices(&mut r, n, "point list", |r, idx| {
        let mut b = [0u8; 8];
        b[..T::BYTES].copy_from_slice(r.bytes(T::BYTES)?);
        out.push((idx, T::from_bits_u64(u64::from_le_bytes(b))));
        Ok(())
    })?;
    r.finish()?;
    Ok(out)
}

/// Encode strictly increasing indices: delta-coded varints, zstd'ed.
pub fn encode_indices(indices: &[usize]) -> Result<Vec<u8>> {
    let mut w = ByteWriter::with_capacity(indices.len() * 2 + 8);
    put_index_list(&mut w, indices);
    lossless::compress(w.as_slice(), lossless::DEFAULT_LEVEL)
}

/// Decode indices written by [`encode_indices`]; they must be strictly increasing and below
/// `n`.
pub fn decode_indices(bytes: &[u8], n: usize) -> Result<Vec<usize>> {
    let raw = lossless::decompress(bytes, n.saturating_mul(10).saturating_add(10))?;
    let mut r = ByteReader::new(&raw, "index list");
    let out = read_index_list(&mut r, n, "index list")?;
    r.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_roundtrip_and_refusals() {
        let pts = vec![(0usize, 1.5f32), (3, f32::NAN), (9, -0.0)];
        let b = encode_points(&pts).unwrap();
        let back = decode_points::<f32>(&b, 10).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back[1].0, 3);
        assert!(back[1].1.is_nan());
        assert_eq!(back[2].1.to_bits(), (-0.0f32).to_bits());
        assert!(decode_points::<f32>(&b, 9).is_err());
    }

    #[test]
    fn indices_roundtrip_and_refusals() {
        let idx = vec![0usize, 1, 7, 1000];
        let b = encode_indices(&idx).unwrap();
        assert_eq!(decode_indices(&b, 1001).unwrap(), idx);
        assert!(decode_indices(&b, 1000).is_err());
        assert!(decode_indices(&encode_indices(&[]).unwrap(), 5)
            .unwrap()
            .is_empty());
        let mut bad = ByteWriter::new();
        bad.put_varint(2);
        bad.put_varint(4);
        bad.put_varint(0);
        let z = lossless::compress(bad.as_slice(), 3).unwrap();
        assert!(decode_indices(&z, 10).is_err());
    }
}
