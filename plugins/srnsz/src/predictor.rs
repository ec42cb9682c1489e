//! The network as an [`ExternalPredictor`] of the interpolation hierarchy.
//!
//! At a level of stride `s` (the points on the `2s` grid known), the fine grid has
//! `(n_k - 1) / s + 1` points along axis `k`. An *orientation* is a pair of axes `(a, b)` whose
//! fine extents are both at least `srnsz:min_sr_size`; every 2-D slice of the `2s` grid spanned
//! by an orientation (the other coordinates on the `2s` grid) is a coarse image the network
//! doubles. The network predicts the new points with one odd axis ("edges"); such a point lies
//! in the slices of every orientation containing that axis and gets the mean of their
//! predictions (two orientations in 3-D, as SRN-SZ averages them). Points with two or more odd
//! axes (faces, and cube centres in 3-D) and points of inactive orientations are left to the
//! hierarchy's interpolation ([`ExternalPredictor::covers`]), which runs after the edges of the
//! level are reconstructed: it interpolates them from reconstructed values, which beats any
//! prediction from the coarse grid alone (on CESM TREFHT, predicting the faces with the network
//! too cost 8-15% more bits on the level than interpolating them).
//!
//! Predictions are computed in f64 from the reconstructed coarse values (cubic baseline plus the
//! network's correction times the coarse grid's value range) and rounded once to the element
//! type; the encoder records an xxh3 checksum of each level's predictions and the decoder
//! refuses to decode when its own differ.

use crate::net::{Image, LoadedModel};
use crate::upsample::{cubic_upsample, phase};
use pressio_ml_codec::interp::{ExternalPredictor, LevelInfo};
use pressio_ml_codec::quantizer::Float;
use pressio_ml_core::{PressioError, Result};

/// Fine extent of axis `n` at stride `s`.
fn fine(n: usize, s: usize) -> usize {
    (n - 1) / s + 1
}

/// Coarse extent (points on the `2s` grid) of axis `n` at stride `s`.
fn coarse(n: usize, s: usize) -> usize {
    (n - 1) / (2 * s) + 1
}

/// The active orientations of a level of stride `s` over squeezed `dims`: axis pairs `(a, b)`,
/// `a < b`, whose fine extents are both at least `min_size`.
pub fn orientations(dims: &[usize], s: usize, min_size: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for a in 0..dims.len() {
        for b in a + 1..dims.len() {
            let big = |k: usize| fine(dims[k], s) >= min_size.max(4);
            if big(a) && big(b) {
                out.push((a, b));
            }
        }
    }
    out
}

/// Call `f` with the offset of every combination of coordinates on the `2s` grid of `axes`.
fn for_each_offset(
    axes: &[usize],
    dims: &[usize],
    st: &[usize],
    s: usize,
    mut f: impl FnMut(usize),
) {
    let mut c = vec![0usize; axes.len()];
    loop {
        f(axes
            .iter()
            .zip(&c)
            .map(|(&k, &ck)| ck * 2 * s * st[k])
            .sum());
        let mut k = 0;
        loop {
            if k == axes.len() {
                return;
            }
            c[k] += 1;
            if c[k] < coarse(dims[axes[k]], s) {
                break;
            }
            c[k] = 0;
            k += 1;
        }
    }
}

/// The network predictor of a field's hierarchy.
#[derive(Debug)]
pub struct SrPredictor<'a> {
    model: &'a LoadedModel,
    min_size: usize,
    parallel: bool,
    /// `(level index, xxh3 of its predictions)` of every level predicted so far.
    pub checksums: Vec<(usize, u64)>,
    /// Decoding: the checksums the stream recorded; a level whose predictions differ is refused.
    pub expect: Option<Vec<(usize, u64)>>,
    /// Network inference time so far, in seconds.
    pub seconds: f64,
}

impl<'a> SrPredictor<'a> {
    /// A predictor with `model` for orientations of at least `min_size` points per side.
    pub fn new(model: &'a LoadedModel, min_size: usize, parallel: bool) -> Self {
        SrPredictor {
            model,
            min_size,
            parallel,
            checksums: Vec::new(),
            expect: None,
            seconds: 0.0,
        }
    }
}

impl<T: Float> ExternalPredictor<T> for SrPredictor<'_> {
    fn predict_level(&mut self, level: &LevelInfo, recon: &[T], pred: &mut [T]) -> Result<()> {
        let started = std::time::Instant::now();
        let (dims, s) = (&level.dims, level.stride);
        let nd = dims.len();
        let mut st = vec![1usize; nd];
        for k in 1..nd {
            st[k] = st[k - 1] * dims[k - 1];
        }
        let all: Vec<usize> = (0..nd).collect();
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for_each_offset(&all, dims, &st, s, |i| {
            let v = recon[i].as_f64();
            lo = lo.min(v);
            hi = hi.max(v);
        });
        let range = if hi > lo && (hi - lo).is_finite() {
            hi - lo
        } else {
            0.0
        };
        // every coarse slice of every active orientation
        struct Slice {
            a: usize,
            b: usize,
            base: usize,
            values: Vec<f64>,
        }
        let mut slices = Vec::new();
        let mut images = Vec::new();
        for (a, b) in orientations(dims, s, self.min_size) {
            let others: Vec<usize> = (0..nd).filter(|&k| k != a && k != b).collect();
            let (cx, cy) = (coarse(dims[a], s), coarse(dims[b], s));
            let (sa, sb) = (2 * s * st[a], 2 * s * st[b]);
            for_each_offset(&others, dims, &st, s, |base| {
                let mut values = Vec::with_capacity(cx * cy);
                for j in 0..cy {
                    for i in 0..cx {
                        values.push(recon[base + i * sa + j * sb].as_f64());
                    }
                }
                let data = values
                    .iter()
                    .map(|v| {
                        if range > 0.0 {
                            ((v - lo) / range) as f32
                        } else {
                            0.0
                        }
                    })
                    .collect();
                images.push(Image {
                    nx: cx,
                    ny: cy,
                    data,
                });
                slices.push(Slice { a, b, base, values });
            });
        }
        if slices.is_empty() {
            return Err(PressioError::Internal(format!(
                "srnsz: level {} (stride {s}) of {dims:?} has no orientation for the network",
                level.index
            )));
        }
        let corrections = self.model.predict(&images, self.parallel)?;
        let scale = self.model.config.scale;
        drop(images);
        let n = pred.len();
        let mut sum = vec![0f64; n];
        let mut count = vec![0u8; n];
        for (sl, corr) in slices.iter().zip(&corrections) {
            let (cx, cy) = (coarse(dims[sl.a], s), coarse(dims[sl.b], s));
            let (fx, fy) = (fine(dims[sl.a], s), fine(dims[sl.b], s));
            let base_fine = cubic_upsample(&sl.values, cx, cy, fx, fy);
            for y in 0..fy {
                for x in 0..fx {
                    let Some(p) = phase(x, y) else { continue };
                    let c = f64::from(corr[p][(y / 2) * cx + x / 2]) * scale;
                    let v = base_fine[y * fx + x] + c * range;
                    let idx = sl.base + x * s * st[sl.a] + y * s * st[sl.b];
                    sum[idx] += v;
                    count[idx] += 1;
                }
            }
        }
        let mut bytes = Vec::new();
        for (i, (&v, &c)) in sum.iter().zip(&count).enumerate() {
            if c > 0 {
                let p = T::from_f64_round(v / f64::from(c));
                pred[i] = p;
                p.write_le(&mut bytes);
            }
        }
        let sum = xxhash_rust::xxh3::xxh3_64(&bytes);
        if let Some(expect) = &self.expect {
            match expect.iter().find(|(l, _)| *l == level.index) {
                Some(&(_, want)) if want == sum => {}
                Some(&(_, want)) => {
                    return Err(PressioError::StreamMismatch(format!(
                        "srnsz: the network's predictions of level {} differ from the \
                         compressor's (checksum {sum:016x}, the stream records {want:016x}): \
                         another model or engine made this stream",
                        level.index
                    )))
                }
                None => {
                    return Err(PressioError::corrupt(format!(
                        "srnsz: the stream records no prediction checksum for level {}",
                        level.index
                    )))
                }
            }
        }
        self.checksums.push((level.index, sum));
        self.seconds += started.elapsed().as_secs_f64();
        Ok(())
    }

    fn covers(&self, level: &LevelInfo, odd_axes: u8) -> bool {
        let a = odd_axes.trailing_zeros() as usize;
        odd_axes.count_ones() == 1
            && orientations(&level.dims, level.stride, self.min_size)
                .iter()
                .any(|&(p, q)| p == a || q == a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orientations_follow_the_fine_extents() {
        // stride 1: fine extents are the dims
        assert_eq!(
            orientations(&[128, 64, 110], 1, 64),
            vec![(0, 1), (0, 2), (1, 2)]
        );
        // stride 2: fine extents 64, 32, 65
        assert_eq!(orientations(&[128, 64, 130], 2, 64), vec![(0, 2)]);
        assert!(orientations(&[128, 64, 130], 4, 64).is_empty());
        assert!(orientations(&[4096], 1, 64).is_empty());
        let mut seen = Vec::new();
        for_each_offset(&[0, 2], &[5, 3, 4], &[1, 5, 15], 1, |o| seen.push(o));
        // coarse extents 3 and 2 along axes 0 and 2: offsets 0, 2, 4 and 30, 32, 34
        assert_eq!(seen, vec![0, 2, 4, 30, 32, 34]);
    }
}
