//! Smooth stand-ins for the points a compressor must not see (fill values, NaN, ±Inf).
//!
//! Fill points are stored exactly by the envelope, so whatever the body codes there is thrown
//! away; but a predictor that sees 1e20 next to 290 K spends many bits on the jump at every mask
//! edge. [`fill_holes`] replaces each hole by the mean of linear interpolations between the
//! nearest known values along every axis (a constant extension where only one side is known).
//! Holes that share no line with a known value (a whole level of land, say) are filled in the
//! next round from the stand-ins of the round before, so every hole gets a value after at most
//! one round per dimension; a field without any known value gets zeros.

use crate::field::Float;

/// Replace every point flagged in `holes` by a stand-in interpolated from the other points.
///
/// `dims` are fastest first and their product is `values.len()`; points not flagged are never
/// changed. The result depends only on the inputs (no threads, fixed order).
pub fn fill_holes<T: Float>(values: &mut [T], dims: &[usize], holes: &[bool]) {
    debug_assert_eq!(values.len(), holes.len());
    debug_assert_eq!(dims.iter().product::<usize>(), values.len());
    let n = values.len();
    let mut known: Vec<bool> = holes.iter().map(|h| !h).collect();
    let mut remaining = holes.iter().filter(|&&h| h).count();
    if remaining == 0 {
        return;
    }
    if remaining == n {
        values.iter_mut().for_each(|v| *v = T::from_f64(0.0));
        return;
    }
    let mut sum = vec![0.0f64; n];
    let mut count = vec![0u32; n];
    while remaining > 0 {
        let mut stride = 1usize;
        for &extent in dims {
            if extent > 1 {
                accumulate_axis(values, &known, extent, stride, &mut sum, &mut count);
            }
            stride *= extent;
        }
        let mut progress = 0usize;
        for i in 0..n {
            if !known[i] && count[i] > 0 {
                values[i] = T::from_f64(sum[i] / count[i] as f64);
                progress += 1;
            }
        }
        for i in 0..n {
            if !known[i] && count[i] > 0 {
                known[i] = true;
                sum[i] = 0.0;
                count[i] = 0;
            }
        }
        if progress == 0 {
            // unreachable with at least one known point, kept as a guard against looping
            for i in 0..n {
                if !known[i] {
                    values[i] = T::from_f64(0.0);
                }
            }
            return;
        }
        remaining -= progress;
    }
}

/// Add, for every unknown point, the interpolation along one axis (`extent` points `stride`
/// apart) between its nearest known neighbours on that line.
fn accumulate_axis<T: Float>(
    values: &[T],
    known: &[bool],
    extent: usize,
    stride: usize,
    sum: &mut [f64],
    count: &mut [u32],
) {
    let n = values.len();
    let block = extent * stride;
    for outer in (0..n).step_by(block) {
        for inner in 0..stride {
            let base = outer + inner;
            let mut left: Option<(usize, f64)> = None;
            let mut k = 0usize;
            while k < extent {
                let i = base + k * stride;
                if known[i] {
                    left = Some((k, values[i].to_f64()));
                    k += 1;
                    continue;
                }
                // a run of unknown points starts at k
                let start = k;
                while k < extent && !known[base + k * stride] {
                    k += 1;
                }
                let right = (k < extent).then(|| (k, values[base + k * stride].to_f64()));
                for j in start..k {
                    let v = match (left, right) {
                        (Some((kl, vl)), Some((kr, vr))) => {
                            let t = (j - kl) as f64 / (kr - kl) as f64;
                            vl + (vr - vl) * t
                        }
                        (Some((_, vl)), None) => vl,
                        (None, Some((_, vr))) => vr,
                        (None, None) => continue,
                    };
                    let i = base + j * stride;
                    sum[i] += v;
                    count[i] += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_lines_and_keeps_known_points() {
        let mut v = vec![1.0f64, 9e20, 9e20, 4.0, 9e20];
        let holes = [false, true, true, false, true];
        fill_holes(&mut v, &[5], &holes);
        assert_eq!(v, vec![1.0, 2.0, 3.0, 4.0, 4.0]);
    }

    #[test]
    fn planes_without_known_points_fill_in_later_rounds() {
        // 3x3x2: the second plane (fastest two dims) is all holes except nothing; the first is
        // a plane with values = x + 10 y
        let dims = [3usize, 3, 2];
        let mut v = vec![0.0f32; 18];
        let mut holes = vec![false; 18];
        for y in 0..3 {
            for x in 0..3 {
                v[x + 3 * y] = (x + 10 * y) as f32;
                v[9 + x + 3 * y] = -2.56e33;
                holes[9 + x + 3 * y] = true;
            }
        }
        fill_holes(&mut v, &dims, &holes);
        for y in 0..3 {
            for x in 0..3 {
                assert_eq!(v[9 + x + 3 * y], (x + 10 * y) as f32);
            }
        }
        // all holes: zeros
        let mut w = vec![7.0f64; 4];
        fill_holes(&mut w, &[2, 2], &[true; 4]);
        assert_eq!(w, vec![0.0; 4]);
    }

    #[test]
    fn a_corner_only_field_fills_everything() {
        let dims = [4usize, 4, 4];
        let mut v = vec![1e20f64; 64];
        let mut holes = vec![true; 64];
        v[0] = 5.0;
        holes[0] = false;
        fill_holes(&mut v, &dims, &holes);
        assert!(v.iter().all(|&x| x == 5.0));
    }
}
