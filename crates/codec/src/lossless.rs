//! The zstd lossless backend (level 3 by default, as SZ3).

use pressio_ml_core::{PressioError, Result};
use std::io::Read;

/// SZ3's default zstd level.
pub const DEFAULT_LEVEL: i32 = 3;

/// Compress `data` with zstd at `level`.
pub fn compress(data: &[u8], level: i32) -> Result<Vec<u8>> {
    zstd::bulk::compress(data, level)
        .map_err(|e| PressioError::backend("zstd", format!("compression failed: {e}")))
}

/// Decompress a zstd frame, refusing outputs larger than `max_len` bytes (so a corrupted or
/// hostile stream cannot make us allocate without limit).
pub fn decompress(data: &[u8], max_len: usize) -> Result<Vec<u8>> {
    let dec = zstd::stream::read::Decoder::with_buffer(data)
        .map_err(|e| PressioError::corrupt(format!("zstd: {e}")))?;
    let mut out = Vec::new();
    let limit = u64::try_from(max_len).unwrap_or(u64::MAX).saturating_add(1);
    dec.take(limit)
        .read_to_end(&mut out)
        .map_err(|e| PressioError::corrupt(format!("zstd: {e}")))?;
    if out.len() > max_len {
        return Err(PressioError::corrupt(format!(
            "zstd section expands past its limit of {max_len} bytes"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_limit_and_garbage() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let c = compress(&data, DEFAULT_LEVEL).unwrap();
        assert_eq!(decompress(&c, data.len()).unwrap(), data);
        assert!(decompress(&c, data.len() - 1).is_err());
        assert!(decompress(&[1, 2, 3, 4, 5], 100).is_err());
        assert!(decompress(&c[..c.len() / 2], data.len()).is_err());
    }
}
