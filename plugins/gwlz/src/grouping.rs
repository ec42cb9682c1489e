//! Value-range groups: boundaries over the decompressed values `X'`, and the group of a value.
//!
//! The boundaries are computed by the encoder and stored (n+1 `f64`), so the decoder never
//! re-derives them; it only assigns each decompressed value to a group, which depends on `X'`
//! alone and is therefore identical on both sides.

use pressio_ml_core::{PressioError, Result};

/// Marks a point that belongs to no group (a non-finite decompressed value).
pub const NO_GROUP: u16 = u16::MAX;

/// How group boundaries are placed over `[min X', max X']`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Equal counts: the boundaries are quantiles of the finite values (the paper's Fig. 7
    /// shows non-uniform splits), so every model gets the same amount of training data.
    Quantile,
    /// Equal widths over the value range.
    Uniform,
}

impl Grouping {
    /// The option spelling.
    pub fn name(self) -> &'static str {
        match self {
            Grouping::Quantile => "quantile",
            Grouping::Uniform => "uniform",
        }
    }

    /// Parse the option spelling.
    pub fn parse(text: &str) -> Option<Grouping> {
        match text {
            "quantile" => Some(Grouping::Quantile),
            "uniform" => Some(Grouping::Uniform),
            _ => None,
        }
    }
}

/// Strictly increasing boundaries `b_0 < b_1 < ... < b_n` splitting the finite values of
/// `values` into at most `groups` groups; group `g` holds `b_g <= v < b_{g+1}` (the last group
/// also holds `v = b_n`). A field whose finite values are all equal gets one group `[v, v]`.
/// None when no value is finite.
pub fn boundaries(values: &[f64], groups: usize, how: Grouping) -> Option<Vec<f64>> {
    boundaries_of_sorted(&sorted_finite(values), groups, how)
}

/// The finite values of `values`, sorted (what [`boundaries_of_sorted`] takes: an encoder
/// trying several group counts sorts once).
pub fn sorted_finite(values: &[f64]) -> Vec<f64> {
    let mut finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    finite.sort_unstable_by(f64::total_cmp);
    finite
}

/// [`boundaries`] from the [`sorted_finite`] values.
pub fn boundaries_of_sorted(finite: &[f64], groups: usize, how: Grouping) -> Option<Vec<f64>> {
    if finite.is_empty() {
        return None;
    }
    let groups = groups.max(1);
    let (lo, hi) = (finite[0], finite[finite.len() - 1]);
    if lo == hi {
        return Some(vec![lo, hi]);
    }
    let mut b = Vec::with_capacity(groups + 1);
    b.push(lo);
    match how {
        Grouping::Uniform => {
            for k in 1..groups {
                b.push(lo + (hi - lo) * k as f64 / groups as f64);
            }
        }
        Grouping::Quantile => {
            let m = finite.len();
            for k in 1..groups {
                b.push(finite[k * m / groups]);
            }
        }
    }
    b.push(hi);
    b.dedup();
    // Quantiles of heavily repeated values collapse; a boundary equal to the maximum would
    // leave an empty last group.
    if b.len() > 2 && b[b.len() - 2] == hi {
        b.remove(b.len() - 2);
    }
    Some(b)
}

/// Check boundaries read from a stream: finite, strictly increasing, at most `max_groups`
/// groups (a single group may be `[v, v]`).
pub fn validate(b: &[f64], max_groups: usize) -> Result<()> {
    let ok = b.len() >= 2
        && b.len() - 1 <= max_groups
        && b.iter().all(|v| v.is_finite())
        && (b.len() == 2 && b[0] <= b[1] || b.windows(2).all(|w| w[0] < w[1]));
    if ok {
        Ok(())
    } else {
        Err(PressioError::corrupt(format!(
            "invalid group boundaries ({} values)",
            b.len()
        )))
    }
}

/// The group of `v` under boundaries `b` ([`NO_GROUP`] for non-finite values and values outside
/// `[b_0, b_n]`).
#[inline]
pub fn group_of(b: &[f64], v: f64) -> u16 {
    let n = b.len() - 1;
    if !(v >= b[0] && v <= b[n]) {
        return NO_GROUP;
    }
    let interior = &b[1..n];
    interior.partition_point(|&x| x <= v) as u16
}

/// The group of every value.
pub fn assign(b: &[f64], values: &[f64]) -> Vec<u16> {
    values.iter().map(|&v| group_of(b, v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_groups_are_balanced_and_cover_everything() {
        let v: Vec<f64> = (0..1000).map(|i| ((i * 37) % 1000) as f64).collect();
        let b = boundaries(&v, 10, Grouping::Quantile).unwrap();
        assert_eq!(b.len(), 11);
        validate(&b, 10).unwrap();
        let g = assign(&b, &v);
        let mut counts = [0usize; 10];
        for &x in &g {
            counts[x as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c == 100), "{counts:?}");
    }

    #[test]
    fn uniform_and_degenerate_cases() {
        let v = [0.0, 1.0, 2.0, 3.0, f64::NAN];
        let b = boundaries(&v, 3, Grouping::Uniform).unwrap();
        assert_eq!(b, vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(assign(&b, &v), vec![0, 1, 2, 2, NO_GROUP]);
        let c = boundaries(&[5.0; 10], 20, Grouping::Quantile).unwrap();
        assert_eq!(c, vec![5.0, 5.0]);
        validate(&c, 20).unwrap();
        assert_eq!(group_of(&c, 5.0), 0);
        assert!(boundaries(&[f64::NAN], 3, Grouping::Uniform).is_none());
        // Heavily repeated values: fewer groups, never empty ones at the top.
        let mut r = vec![0.0; 90];
        r.extend((0..10).map(|i| i as f64 + 1.0));
        let b = boundaries(&r, 10, Grouping::Quantile).unwrap();
        validate(&b, 10).unwrap();
        assert!(b.len() < 11);
        assert!(validate(&[1.0, 0.5], 4).is_err());
        assert!(validate(&[0.0, 1.0, 1.0], 4).is_err());
        assert!(validate(&[0.0, f64::INFINITY], 4).is_err());
    }
}
