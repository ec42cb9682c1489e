//! Statistics of windows of (original `x`, decompressed `y`) pairs.
//!
//! `ssim` takes them over each of QCAT's windows; `error_stat` over chunks of the buffer that
//! it merges into the whole. Both push the pairs one by one in memory order, so the results do
//! not depend on threads.

/// True when `x` and `y` are the same non-finite value (NaN and NaN, or the same infinity): a
/// non-finite value that was reproduced exactly. The metrics leave such pairs out; any other
/// pair holding a non-finite value is used with IEEE arithmetic and so shows up as NaN or an
/// infinity in what it reaches.
#[inline]
pub fn same_non_finite(x: f64, y: f64) -> bool {
    !x.is_finite() && (x == y || (x.is_nan() && y.is_nan()))
}

/// Smallest and largest of the values pushed; both NaN once a NaN was pushed (a NaN is not
/// ignored, as `f64::min` would).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Extremes {
    lo: f64,
    hi: f64,
    nan: bool,
}

impl Default for Extremes {
    fn default() -> Self {
        Extremes {
            lo: f64::INFINITY,
            hi: f64::NEG_INFINITY,
            nan: false,
        }
    }
}

impl Extremes {
    /// Take `v` into account.
    #[inline]
    pub fn push(&mut self, v: f64) {
        // no data-dependent branch: min/max skip a NaN, the flag remembers it
        self.lo = self.lo.min(v);
        self.hi = self.hi.max(v);
        self.nan |= v.is_nan();
    }

    /// The smallest value (`+inf` when nothing was pushed).
    pub fn min(&self) -> f64 {
        if self.nan {
            f64::NAN
        } else {
            self.lo
        }
    }

    /// The largest value (`-inf` when nothing was pushed).
    pub fn max(&self) -> f64 {
        if self.nan {
            f64::NAN
        } else {
            self.hi
        }
    }

    /// `max - min`.
    pub fn span(&self) -> f64 {
        self.max() - self.min()
    }
}

/// Count, means, population variances and covariance of (x, y) pairs.
///
/// Built per window by [`WindowSums`] and combined across windows by [`Moments::merge`]
/// (Chan et al.'s pairwise update), so neither a long buffer nor a large mean costs accuracy.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moments {
    n: u64,
    mean_x: f64,
    mean_y: f64,
    m2_x: f64,
    m2_y: f64,
    c_xy: f64,
}

impl Moments {
    /// Take the pairs of `other` into account.
    pub fn merge(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        let dx = other.mean_x - self.mean_x;
        let dy = other.mean_y - self.mean_y;
        let w = na * nb / n;
        self.mean_x += dx * (nb / n);
        self.mean_y += dy * (nb / n);
        self.m2_x += other.m2_x + dx * dx * w;
        self.m2_y += other.m2_y + dy * dy * w;
        self.c_xy += other.c_xy + dx * dy * w;
        self.n += other.n;
    }

    /// Number of pairs.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Mean of x (0 when empty).
    pub fn mean_x(&self) -> f64 {
        self.mean_x
    }

    /// Mean of y (0 when empty).
    pub fn mean_y(&self) -> f64 {
        self.mean_y
    }

    /// Population variance of x (divided by the count; NaN when empty).
    pub fn var_x(&self) -> f64 {
        self.m2_x / self.n as f64
    }

    /// Population variance of y (NaN when empty).
    pub fn var_y(&self) -> f64 {
        self.m2_y / self.n as f64
    }

    /// Population covariance of x and y (NaN when empty).
    pub fn cov(&self) -> f64 {
        self.c_xy / self.n as f64
    }
}

/// One window's sums of (x, y) pairs, shifted by the window's first pair: a single pass
/// without division. With a shift taken from the window itself, the cancellation in
/// `Σ(x-k)² - (Σ(x-k))²/n` costs at most a factor `n` of rounding error (no single squared
/// deviation exceeds `n` times the variance), so keep windows short (a QCAT window, a chunk of
/// a buffer) and combine them with [`Moments::merge`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindowSums {
    n: u64,
    kx: f64,
    ky: f64,
    sx: f64,
    sy: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
}

impl WindowSums {
    /// Take the pair `(x, y)` into account.
    #[inline]
    pub fn push(&mut self, x: f64, y: f64) {
        if self.n == 0 {
            self.kx = x;
            self.ky = y;
        }
        self.n += 1;
        let dx = x - self.kx;
        let dy = y - self.ky;
        self.sx += dx;
        self.sy += dy;
        self.sxx += dx * dx;
        self.syy += dy * dy;
        self.sxy += dx * dy;
    }

    /// Number of pairs pushed.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// The window's moments (all zero when empty).
    pub fn moments(&self) -> Moments {
        if self.n == 0 {
            return Moments::default();
        }
        let n = self.n as f64;
        let (mx, my) = (self.sx / n, self.sy / n);
        // rounding may leave a tiny negative sum of squares; NaN stays NaN
        let non_negative = |v: f64| if v < 0.0 { 0.0 } else { v };
        Moments {
            n: self.n,
            mean_x: self.kx + mx,
            mean_y: self.ky + my,
            m2_x: non_negative(self.sxx - self.sx * mx),
            m2_y: non_negative(self.syy - self.sy * my),
            c_xy: self.sxy - self.sx * my,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two-pass reference: (mean x, mean y, var x, var y, cov).
    fn two_pass(x: &[f64], y: &[f64]) -> [f64; 5] {
        let n = x.len() as f64;
        let mx = x.iter().sum::<f64>() / n;
        let my = y.iter().sum::<f64>() / n;
        let vx = x.iter().map(|a| (a - mx) * (a - mx)).sum::<f64>() / n;
        let vy = y.iter().map(|b| (b - my) * (b - my)).sum::<f64>() / n;
        let c = x
            .iter()
            .zip(y)
            .map(|(a, b)| (a - mx) * (b - my))
            .sum::<f64>()
            / n;
        [mx, my, vx, vy, c]
    }

    /// Window sums of `x`, `y` split into windows of `w`, merged.
    fn merged(x: &[f64], y: &[f64], w: usize) -> Moments {
        let mut m = Moments::default();
        for (cx, cy) in x.chunks(w).zip(y.chunks(w)) {
            let mut s = WindowSums::default();
            for (a, b) in cx.iter().zip(cy) {
                s.push(*a, *b);
            }
            m.merge(&s.moments());
        }
        m
    }

    #[test]
    fn moments_match_two_pass_formulas() {
        let base = [1.0, 4.0, 2.0, 7.0, 1.0, 3.5, -2.0, 0.25, 9.0, 3.0, 3.0];
        let y = [3.0, -1.0, 2.5, 0.0, 8.0, 1.0, 1.0, 2.0, -4.0, 0.5, 6.0];
        for offset in [0.0, 1e3, 1e8, -3e9] {
            let x: Vec<f64> = base.iter().map(|v| v + offset).collect();
            let want = two_pass(&x, &y);
            // one window: exact but for n rounding errors whatever the offset; windows of 1, 3
            // and 4 pairs merged: the merge works on rounded means, so (as Welford's update)
            // it loses about eps * |mean| / std
            for w in [11, 1, 3, 4] {
                let m = merged(&x, &y, w);
                assert_eq!(m.count(), 11);
                let tol = if w == 11 {
                    1e-13
                } else {
                    1e-13 * (offset.abs() / 1e3).max(1.0)
                };
                let got = [m.mean_x(), m.mean_y(), m.var_x(), m.var_y(), m.cov()];
                for (g, e) in got.iter().zip(want) {
                    assert!(
                        (g - e).abs() <= tol * e.abs().max(1.0),
                        "offset {offset}, windows of {w}: {g} vs {e}"
                    );
                }
            }
        }
        // a constant window has exactly zero variance; empty ones merge to nothing
        let m = merged(&[0.1; 7], &[0.3; 7], 7);
        assert_eq!((m.var_x(), m.var_y(), m.cov()), (0.0, 0.0, 0.0));
        assert!(Moments::default().var_x().is_nan());
        let mut e = Moments::default();
        e.merge(&WindowSums::default().moments());
        assert_eq!(e.count(), 0);
        // NaN is not hidden by the clamp to zero
        assert!(merged(&[1.0, f64::NAN], &[1.0, 1.0], 2).var_x().is_nan());
    }

    #[test]
    fn extremes_propagate_nan_and_matching_rule() {
        let mut e = Extremes::default();
        assert_eq!((e.min(), e.max()), (f64::INFINITY, f64::NEG_INFINITY));
        for v in [3.0, -2.0, 5.0] {
            e.push(v);
        }
        assert_eq!((e.min(), e.max(), e.span()), (-2.0, 5.0, 7.0));
        e.push(f64::NAN);
        e.push(1.0);
        assert!(e.min().is_nan() && e.max().is_nan());
        let inf = f64::INFINITY;
        assert!(same_non_finite(f64::NAN, f64::NAN));
        assert!(same_non_finite(inf, inf) && same_non_finite(-inf, -inf));
        assert!(!same_non_finite(inf, -inf) && !same_non_finite(f64::NAN, 0.0));
        assert!(!same_non_finite(1.0, 1.0) && !same_non_finite(1.0, f64::NAN));
    }
}
