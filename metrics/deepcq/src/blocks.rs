//! The blocks DeepCQ's backbone sees: randomly placed, fixed-size blocks of the input, scaled
//! by the field's valid value range, with a validity channel.
//!
//! A field is looked at through its normalized dims (extents of 1 dropped, fastest first). Up
//! to three of its fastest axes span a block: 3-D fields give `side3`³ blocks, 2-D fields
//! `1 x side2 x side2` and 1-D fields `1 x 1 x side1`; every slower axis (time, member, ...) is
//! drawn at random per block. An axis shorter than the block repeats its edge point. Values are
//! mapped to `(v - min) / (max - min)` with the min and max of the valid points (finite and
//! not fill), so that a relative bound means the same on every field; invalid points read 0 in
//! the value channel and 0 in the validity channel (1 elsewhere).
//!
//! Scaling by the whole field's range rather than each block's (the paper normalises blocks)
//! keeps what matters for an error-bounded compressor: how large the block's variation is
//! against the bound.

use pressio_ml_core::{PressioError, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Fewest values DeepCQ predicts for; smaller inputs are refused.
pub const MIN_VALUES: usize = 64;

/// Input channels of a block: value, validity.
pub const CHANNELS: usize = 2;

/// Block sizes and counts per dimensionality class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockConfig {
    /// Side of a 3-D block.
    pub side3: usize,
    /// Blocks drawn from a 3-D (or higher) field.
    pub count3: usize,
    /// Side of a 2-D block.
    pub side2: usize,
    /// Blocks drawn from a 2-D field.
    pub count2: usize,
    /// Length of a 1-D block.
    pub side1: usize,
    /// Blocks drawn from a 1-D field.
    pub count1: usize,
}

impl Default for BlockConfig {
    fn default() -> Self {
        BlockConfig {
            side3: 16,
            count3: 8,
            side2: 32,
            count2: 16,
            side1: 256,
            count1: 16,
        }
    }
}

impl BlockConfig {
    /// Block shape `[depth, height, width]` and count for a field of `class` (1, 2 or 3)
    /// block dimensions.
    pub fn shape(&self, class: usize) -> ([usize; 3], usize) {
        match class {
            1 => ([1, 1, self.side1], self.count1),
            2 => ([1, self.side2, self.side2], self.count2),
            _ => ([self.side3, self.side3, self.side3], self.count3),
        }
    }

    /// Refuse sizes of 0 or blocks above 2^20 points.
    pub fn validate(&self) -> Result<()> {
        for class in 1..=3 {
            let (s, c) = self.shape(class);
            let n: usize = s.iter().product();
            if n == 0 || c == 0 || n > 1 << 20 || c > 4096 {
                return Err(PressioError::Model(format!(
                    "deepcq: invalid block configuration {self:?}"
                )));
            }
        }
        Ok(())
    }
}

/// Sampled blocks: `count` blocks of `CHANNELS x shape` values, back to back.
#[derive(Debug, Clone, PartialEq)]
pub struct Blocks {
    /// Dimensionality class (1, 2 or 3).
    pub class: usize,
    /// `[depth, height, width]` of one block.
    pub shape: [usize; 3],
    /// Number of blocks.
    pub count: usize,
    /// `count * CHANNELS * depth * height * width` values.
    pub data: Vec<f32>,
    /// The field's valid value range (max - min over valid points) the blocks are scaled by.
    pub range: f64,
}

impl Blocks {
    /// The tensor shape `[count, CHANNELS, depth, height, width]`.
    pub fn tensor_shape(&self) -> [i64; 5] {
        [
            self.count as i64,
            CHANNELS as i64,
            self.shape[0] as i64,
            self.shape[1] as i64,
            self.shape[2] as i64,
        ]
    }
}

/// Number of residual statistics [`statistics`] computes.
pub const STATS: usize = 14;

/// Quantile levels of the residual statistics.
const LEVELS: [f64; 6] = [0.1, 0.25, 0.5, 0.75, 0.9, 0.99];

/// Residual statistics of the blocks, a fixed summary handed to the heads next to the learned
/// features: for the Lorenzo residual (1-, 2- or 3-D, by the block's class) and for the
/// midpoint residual along the fastest axis (`x[i] - (x[i-1] + x[i+1]) / 2`) of the scaled
/// values, over points whose stencil is valid: the 10, 25, 50, 75, 90 and 99% quantiles of
/// `log10 |r|` (divided by 4, floored at `1e-12`) and the share of residuals below `1e-9`.
/// These are what an error-bounded predictor-quantizer's output size mostly depends on (how
/// many residuals fall under each bound), on the same logarithmic scale as the bound.
pub fn statistics(b: &Blocks) -> [f32; STATS] {
    let [d, h, w] = b.shape;
    let per = d * h * w;
    let mut lorenzo = Vec::new();
    let mut midpoint = Vec::new();
    for k in 0..b.count {
        let base = k * CHANNELS * per;
        let v = &b.data[base..base + per];
        let ok = &b.data[base + per..base + 2 * per];
        let at = |z: usize, y: usize, x: usize| z * h * w + y * w + x;
        for z in 0..d {
            for y in 0..h {
                for x in 0..w {
                    let i = at(z, y, x);
                    if ok[i] == 0.0 {
                        continue;
                    }
                    if x >= 1 && x + 1 < w && ok[i - 1] != 0.0 && ok[i + 1] != 0.0 {
                        midpoint.push(f64::from(v[i]) - 0.5 * f64::from(v[i - 1] + v[i + 1]));
                    }
                    // Lorenzo over the axes the block spans
                    let dz = usize::from(d > 1);
                    let dy = usize::from(h > 1);
                    if x < 1 || y < dy || z < dz {
                        continue;
                    }
                    let mut pred = 0.0f64;
                    let mut valid = true;
                    for mz in 0..=dz {
                        for my in 0..=dy {
                            for mx in 0..=1usize {
                                if mz + my + mx == 0 {
                                    continue;
                                }
                                let j = at(z - mz, y - my, x - mx);
                                valid &= ok[j] != 0.0;
                                let sign = if (mz + my + mx) % 2 == 1 { 1.0 } else { -1.0 };
                                pred += sign * f64::from(v[j]);
                            }
                        }
                    }
                    if valid {
                        lorenzo.push(f64::from(v[i]) - pred);
                    }
                }
            }
        }
    }
    let mut out = [0f32; STATS];
    for (slot, mut r) in out.chunks_mut(LEVELS.len() + 1).zip([lorenzo, midpoint]) {
        if r.is_empty() {
            continue;
        }
        let n = r.len();
        let exact = r.iter().filter(|x| x.abs() < 1e-9).count();
        for x in r.iter_mut() {
            *x = x.abs().max(1e-12).log10();
        }
        r.sort_by(f64::total_cmp);
        for (o, q) in slot.iter_mut().zip(LEVELS) {
            let i = ((n - 1) as f64 * q).round() as usize;
            *o = (r[i] / 4.0) as f32;
        }
        slot[LEVELS.len()] = exact as f32 / n as f32;
    }
    out
}

/// The min and max over valid points: finite and, when `valid` is given, marked valid.
pub fn valid_range(values: &[f64], valid: Option<&[bool]>) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for (i, &v) in values.iter().enumerate() {
        if v.is_finite() && valid.is_none_or(|m| m[i]) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    (lo <= hi).then_some((lo, hi))
}

/// Draw blocks from a field (`dims` fastest first, `valid` the validity mask if any) with a
/// generator seeded by `seed`. The same inputs and seed give the same blocks.
pub fn sample_blocks(
    values: &[f64],
    dims: &[usize],
    valid: Option<&[bool]>,
    cfg: &BlockConfig,
    seed: u64,
) -> Result<Blocks> {
    let n: usize = dims.iter().product();
    if n != values.len() || valid.is_some_and(|m| m.len() != n) {
        return Err(PressioError::InvalidDims(format!(
            "deepcq: dims {dims:?} do not describe {} values",
            values.len()
        )));
    }
    if n < MIN_VALUES {
        return Err(PressioError::InvalidInput(format!(
            "deepcq: {n} values; predictions need at least {MIN_VALUES}"
        )));
    }
    let (lo, hi) = valid_range(values, valid).ok_or_else(|| {
        PressioError::InvalidInput("deepcq: the input has no valid (finite, non-fill) value".into())
    })?;
    let span = hi - lo;
    let norm: Vec<usize> = dims.iter().copied().filter(|&d| d > 1).collect();
    let class = norm.len().clamp(1, 3);
    let (shape, count) = cfg.shape(class);
    // block axes, fastest first: width, height, depth
    let block_ext = [shape[2], shape[1], shape[0]];
    let mut strides = Vec::with_capacity(norm.len());
    let mut s = 1usize;
    for &d in &norm {
        strides.push(s);
        s *= d;
    }
    let per = shape.iter().product::<usize>();
    let mut data = vec![0f32; count * CHANNELS * per];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut base_axes = vec![0usize; norm.len()];
    for b in 0..count {
        for (a, &d) in norm.iter().enumerate() {
            let ext = if a < class { block_ext[a] } else { 1 };
            base_axes[a] = if d > ext {
                rng.gen_range(0..=d - ext)
            } else {
                0
            };
        }
        let out = &mut data[b * CHANNELS * per..(b + 1) * CHANNELS * per];
        let (val, ok) = out.split_at_mut(per);
        let mut k = 0usize;
        for z in 0..shape[0] {
            for y in 0..shape[1] {
                for x in 0..shape[2] {
                    let pos = [x, y, z];
                    let mut idx = 0usize;
                    for (a, &d) in norm.iter().enumerate() {
                        let off = if a < class { pos[a] } else { 0 };
                        idx += (base_axes[a] + off).min(d - 1) * strides[a];
                    }
                    let v = values[idx];
                    if v.is_finite() && valid.is_none_or(|m| m[idx]) {
                        val[k] = if span > 0.0 {
                            ((v - lo) / span) as f32
                        } else {
                            0.0
                        };
                        ok[k] = 1.0;
                    }
                    k += 1;
                }
            }
        }
    }
    Ok(Blocks {
        class,
        shape,
        count,
        data,
        range: span,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_scaled_masked_and_reproducible() {
        let dims = [40usize, 30, 5];
        let n = dims.iter().product::<usize>();
        let values: Vec<f64> = (0..n).map(|i| (i % 40) as f64 * 2.0 - 10.0).collect();
        let mut valid = vec![true; n];
        valid[3] = false;
        let cfg = BlockConfig::default();
        let a = sample_blocks(&values, &dims, Some(&valid), &cfg, 5).unwrap();
        let b = sample_blocks(&values, &dims, Some(&valid), &cfg, 5).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.class, 3);
        assert_eq!(a.data.len(), 8 * 2 * 16 * 16 * 16);
        assert!(a.data.iter().all(|v| (0.0..=1.0).contains(v)));
        let c = sample_blocks(&values, &dims, None, &cfg, 6).unwrap();
        assert_ne!(a.data, c.data);
        // 2-D and 1-D classes (extents of 1 dropped)
        let d2 = sample_blocks(&values[..1200], &[40, 1, 30], None, &cfg, 1).unwrap();
        assert_eq!((d2.class, d2.shape), (2, [1, 32, 32]));
        let d1 = sample_blocks(&values[..100], &[100], None, &cfg, 1).unwrap();
        assert_eq!((d1.class, d1.shape), (1, [1, 1, 256]));
    }

    #[test]
    fn statistics_measure_roughness_on_a_log_scale() {
        let cfg = BlockConfig::default();
        let dims = [64usize, 64];
        let wave = |i: usize| ((i % 64) as f64 * 0.05).sin() * ((i / 64) as f64 * 0.07).cos();
        let smooth: Vec<f64> = (0..4096).map(wave).collect();
        let rough: Vec<f64> = (0..4096)
            .map(|i| wave(i) + if (i + i / 64) % 2 == 0 { 0.1 } else { -0.1 })
            .collect();
        let a = statistics(&sample_blocks(&smooth, &dims, None, &cfg, 1).unwrap());
        let b = statistics(&sample_blocks(&rough, &dims, None, &cfg, 1).unwrap());
        // medians of log10 |residual| / 4: the rough field's are larger
        assert!(b[2] > a[2] + 0.25, "{a:?} {b:?}");
        assert!(b[9] > a[9] + 0.25, "{a:?} {b:?}");
        assert!(a.iter().all(|v| v.is_finite()));
        // a constant field: every residual is exact
        let c = statistics(&sample_blocks(&[1.0; 4096], &dims, None, &cfg, 1).unwrap());
        assert_eq!((c[6], c[13]), (1.0, 1.0));
    }

    #[test]
    fn bad_inputs_are_refused() {
        let cfg = BlockConfig::default();
        assert!(sample_blocks(&[1.0; 10], &[10], None, &cfg, 0).is_err());
        assert!(sample_blocks(&[1.0; 100], &[99], None, &cfg, 0).is_err());
        let e = sample_blocks(&[f64::NAN; 100], &[100], None, &cfg, 0).unwrap_err();
        assert!(e.to_string().contains("no valid"), "{e}");
        // a constant field is valid: every block reads 0
        let c = sample_blocks(&[3.0; 100], &[100], None, &cfg, 0).unwrap();
        assert!(c.data[..256].iter().all(|v| *v == 0.0));
    }
}
