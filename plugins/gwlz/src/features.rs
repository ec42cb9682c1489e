//! The enhancers' inputs: 5x5 neighbourhoods of a point in its 2-D slice of `X'`.
//!
//! The paper trains each group's network on whole 2-D slices with out-of-group entries set to a
//! placeholder 0 and the loss masked to the group. A 3x3 -> 3x3 two-layer network sees exactly
//! the 5x5 neighbourhood of a point, so training and inference here run on those
//! neighbourhoods of in-group points only: the same function, without computing outputs that
//! the mask throws away (a group holds 1/n of the points).
//!
//! Slices are planes of the two fastest dims (`dims[0]` x `dims[1]`); 1-D data is one row, and
//! more dims are a stack of planes. Neighbours outside the plane are 0 (zero padding), as are
//! non-finite ones. In-group values are min-max normalised by the group's boundaries to [0, 1]
//! (0.5 for a group of one value). With masking off, out-of-group neighbours are normalised
//! the same way and clamped to [-1, 2].

use crate::grouping::NO_GROUP;

/// Side of the neighbourhood.
pub const PATCH: usize = 5;
/// Values per neighbourhood.
pub const PATCH_LEN: usize = PATCH * PATCH;

/// The planes a field is sliced into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Fastest extent (`dims[0]`).
    pub nx: usize,
    /// Second extent (`dims[1]`, 1 for 1-D data).
    pub ny: usize,
}

impl Layout {
    /// The layout of data with normalized dims `dims` (fastest first).
    pub fn new(dims: &[usize]) -> Layout {
        Layout {
            nx: dims.first().copied().unwrap_or(1).max(1),
            ny: dims.get(1).copied().unwrap_or(1).max(1),
        }
    }
}

/// What is needed to build the inputs of one group's network.
#[derive(Debug, Clone, Copy)]
pub struct GroupInputs<'a> {
    /// The decompressed values, as f64.
    pub xp: &'a [f64],
    /// The group of every point.
    pub groups: &'a [u16],
    /// This group.
    pub group: u16,
    /// Lower boundary of the group.
    pub lo: f64,
    /// Upper boundary of the group.
    pub hi: f64,
    /// Set out-of-group neighbours to 0 (the paper's placeholder).
    pub mask: bool,
}

impl GroupInputs<'_> {
    #[inline]
    fn normalise(&self, v: f64, in_group: bool) -> f32 {
        let w = self.hi - self.lo;
        if w <= 0.0 {
            return if in_group { 0.5 } else { 0.0 };
        }
        let t = (v - self.lo) / w;
        if in_group {
            t as f32
        } else {
            t.clamp(-1.0, 2.0) as f32
        }
    }

    /// Append the 5x5 neighbourhood of every point in `points` to `out` (25 values each, row
    /// by row, the point at the centre).
    pub fn extend(&self, layout: Layout, points: &[usize], out: &mut Vec<f32>) {
        let (nx, ny) = (layout.nx, layout.ny);
        let plane = nx * ny;
        let r = (PATCH / 2) as isize;
        out.reserve(points.len() * PATCH_LEN);
        for &i in points {
            let base = i - i % plane;
            let x = (i % plane % nx) as isize;
            let y = (i % plane / nx) as isize;
            for dy in -r..=r {
                let yy = y + dy;
                for dx in -r..=r {
                    let xx = x + dx;
                    if yy < 0 || yy >= ny as isize || xx < 0 || xx >= nx as isize {
                        out.push(0.0);
                        continue;
                    }
                    let j = base + yy as usize * nx + xx as usize;
                    let g = self.groups[j];
                    let in_group = g == self.group;
                    out.push(if g == NO_GROUP || (self.mask && !in_group) {
                        0.0
                    } else {
                        self.normalise(self.xp[j], in_group)
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbourhoods_pad_mask_and_normalise() {
        // 4x3 plane, two planes; groups: 0 below 10, 1 from 10.
        let xp: Vec<f64> = (0..24).map(|i| i as f64).collect();
        let groups: Vec<u16> = xp.iter().map(|&v| u16::from(v >= 10.0)).collect();
        let gi = GroupInputs {
            xp: &xp,
            groups: &groups,
            group: 0,
            lo: 0.0,
            hi: 10.0,
            mask: true,
        };
        let layout = Layout::new(&[4, 3, 2]);
        let mut out = Vec::new();
        gi.extend(layout, &[5], &mut out);
        assert_eq!(out.len(), PATCH_LEN);
        // Centre is value 5 -> 0.5; the row above the plane is padding.
        assert_eq!(out[12], 0.5);
        assert!(out[..5].iter().all(|&v| v == 0.0));
        // (x=0, y=0) is value 0 -> 0.0; (x=1, y=2) is 9 -> 0.9; (x=2, y=2) is value 10, in
        // group 1: masked; the last row is outside the plane.
        assert_eq!(out[5 + 1], 0.0);
        assert_eq!(out[3 * 5 + 2], 0.9);
        assert_eq!(out[3 * 5 + 3], 0.0);
        assert!(out[20..].iter().all(|&v| v == 0.0));
        let unmasked = GroupInputs { mask: false, ..gi };
        let mut o2 = Vec::new();
        unmasked.extend(layout, &[5], &mut o2);
        assert_eq!(o2[3 * 5 + 3], 1.0);
        // A point of the second plane never reads the first.
        let mut o3 = Vec::new();
        GroupInputs {
            group: 1,
            lo: 10.0,
            hi: 24.0,
            ..gi
        }
        .extend(layout, &[12], &mut o3);
        assert!(o3[..10].iter().all(|&v| v == 0.0));
        assert_eq!(o3[12], (2.0 / 14.0) as f32);
    }
}
