//! Strict mode's rejection list, coded conditioned on what the decoder already knows.
//!
//! A point's enhancement breaks the bound only when the predicted residual `r` pushes `X'`
//! past it, so rejections crowd where `|r|` is a large fraction of the bound and are rare
//! where it is small. Both sides compute `r` bit for bit (linear enhancers), so the decoder
//! can sort the points it would enhance into [`BUCKETS`] classes by `|r| / e` in the same
//! order as the encoder. The list then holds, per class, the ranks of the rejected points
//! among that class's points: about `n_b H(k_b / n_b)` bits per class instead of
//! `n H(k / n)` for plain indices over the whole field.
//!
//! Wire form (zstd-compressed): per class, an index list of the substrate's sparse-list form
//! ([`pressio_ml_codec::points::put_index_list`]: a count, then the gaps between the ranks).

use pressio_ml_codec::bytes::{ByteReader, ByteWriter};
use pressio_ml_codec::lossless;
use pressio_ml_codec::points::{put_index_list, read_index_list};
use pressio_ml_core::{PressioError, Result};

/// Classes of `|r| / e`, equally wide over `[0, 1]` (the residual is clamped to the bound).
pub const BUCKETS: usize = 16;

/// The class of a point whose predicted residual is `r` under the absolute bound `e`.
#[inline]
pub fn bucket(r: f64, e: f64) -> usize {
    let q = r.abs() / e * BUCKETS as f64;
    if q.is_finite() {
        (q as usize).min(BUCKETS - 1)
    } else {
        BUCKETS - 1
    }
}

/// The encoder's side: the points the decoder would enhance, in decoder order.
#[derive(Debug, Clone)]
pub struct RankedBuilder {
    seen: [usize; BUCKETS],
    ranks: Vec<Vec<usize>>,
}

impl RankedBuilder {
    /// An empty list.
    pub fn new() -> RankedBuilder {
        RankedBuilder {
            seen: [0; BUCKETS],
            ranks: vec![Vec::new(); BUCKETS],
        }
    }

    /// The next point the decoder would enhance, in class `b`, and whether it is rejected.
    pub fn push(&mut self, b: usize, rejected: bool) {
        if rejected {
            self.ranks[b].push(self.seen[b]);
        }
        self.seen[b] += 1;
    }

    /// Number of rejected points.
    pub fn rejected(&self) -> usize {
        self.ranks.iter().map(Vec::len).sum()
    }

    /// The coded list.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut w = ByteWriter::with_capacity(self.rejected() * 2 + BUCKETS);
        for ranks in &self.ranks {
            put_index_list(&mut w, ranks);
        }
        lossless::compress(w.as_slice(), lossless::DEFAULT_LEVEL)
    }
}

impl Default for RankedBuilder {
    fn default() -> Self {
        RankedBuilder::new()
    }
}

/// The decoder's side: answers, point by point in decoder order, whether a point is rejected.
#[derive(Debug, Clone)]
pub struct RankedReader {
    seen: [usize; BUCKETS],
    next: [usize; BUCKETS],
    ranks: Vec<Vec<usize>>,
}

impl RankedReader {
    /// Decode a list written by [`RankedBuilder::encode`] for at most `n` points.
    pub fn decode(bytes: &[u8], n: usize) -> Result<RankedReader> {
        let raw = lossless::decompress(bytes, n.saturating_mul(10).saturating_add(16 * 10))?;
        let mut r = ByteReader::new(&raw, "gwlz rejection ranks");
        let ranks = (0..BUCKETS)
            .map(|_| read_index_list(&mut r, n, "gwlz rejection ranks"))
            .collect::<Result<Vec<_>>>()?;
        r.finish()?;
        Ok(RankedReader {
            seen: [0; BUCKETS],
            next: [0; BUCKETS],
            ranks,
        })
    }

    /// Whether the next point the decoder would enhance, in class `b`, is rejected.
    #[inline]
    pub fn take(&mut self, b: usize) -> bool {
        let rank = self.seen[b];
        self.seen[b] += 1;
        let hit = self.ranks[b].get(self.next[b]) == Some(&rank);
        if hit {
            self.next[b] += 1;
        }
        hit
    }

    /// Refuse a list naming points the decoder never reached (a corrupt or foreign list).
    pub fn finish(&self) -> Result<()> {
        for (b, list) in self.ranks.iter().enumerate() {
            if self.next[b] != list.len() {
                return Err(PressioError::corrupt(format!(
                    "gwlz: rejection ranks of class {b} past its {} points",
                    self.seen[b]
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranked_lists_roundtrip_in_decoder_order() {
        let mut b = RankedBuilder::new();
        let mut truth = Vec::new();
        for i in 0..5000usize {
            let class = (i * 7) % BUCKETS;
            let rej = (i % 13 == 0) || (class == 15 && i % 3 == 0);
            b.push(class, rej);
            truth.push((class, rej));
        }
        let bytes = b.encode().unwrap();
        let mut r = RankedReader::decode(&bytes, 5000).unwrap();
        for &(class, rej) in &truth {
            assert_eq!(r.take(class), rej);
        }
        r.finish().unwrap();
        // a decoder that stops early has ranks left over
        let mut short = RankedReader::decode(&bytes, 5000).unwrap();
        for &(class, _) in &truth[..4000] {
            short.take(class);
        }
        assert!(short.finish().is_err());
        // ranks beyond the field, and garbage, are refused
        assert!(RankedReader::decode(&bytes, 10).is_err());
        assert!(RankedReader::decode(&[1, 2, 3], 5000).is_err());
    }

    #[test]
    fn classes_cover_the_bound() {
        assert_eq!(bucket(0.0, 1.0), 0);
        assert_eq!(bucket(-0.99, 1.0), 15);
        assert_eq!(bucket(2.0, 1.0), 15);
        assert_eq!(bucket(f64::NAN, 1.0), 15);
        assert_eq!(bucket(0.5, 1.0), 8);
    }
}
