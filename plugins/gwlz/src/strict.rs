//! The strict-bound rule (the digest's option (b), encoder-side verification).
//!
//! The encoder accepts the enhanced value of a point only if every value the decoder could
//! produce is within the bound, allowing the decoder's predicted residual to differ from the
//! encoder's by up to `slack` (another device, libtorch build or CPU); otherwise the point keeps
//! the inner compressor's value `X'` and its index is stored. The decoder computes
//! `T(X' + r')` with `|r' - r| <= slack`; since `f64` addition and the cast to `T` round
//! monotonically, that value lies between `T(X' + (r - slack))` and `T(X' + (r + slack))`, so
//! checking both ends (in `f64`, against the original value) proves the bound for all of them.

use pressio_ml_codec::field::Float;

/// The slack allowed for decoder-side differences, as a fraction of the absolute bound. fp32
/// kernels on other hardware differ by about 1e-6 of the residual scale, which is itself at
/// most the bound, so 1/64 leaves four orders of magnitude of margin while rejecting only points
/// whose enhanced error is within 1.6% of the bound.
pub const SLACK_FRACTION: f64 = 1.0 / 64.0;

/// What the encoder decided for one point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The decoder keeps `X'` (or may enhance, which is also within the bound).
    Keep,
    /// The decoder enhances, within the bound.
    Enhance,
    /// Enhancement might break the bound: the point's index is stored and it keeps `X'`.
    Reject,
}

/// The decoder's rule: a predicted residual of at most twice the slack is not applied. Points
/// whose inner error is already close to the bound would otherwise need a rejection for
/// almost any small prediction; skipping corrections this small costs at most `(2 slack)^2`
/// of squared error per point.
#[inline]
pub fn applies(r: f64, slack: f64) -> bool {
    r.abs() > 2.0 * slack
}

/// The encoder's decision for a point with original value `x`, decompressed value `xp` and
/// predicted residual `r`, when the decoder's residual may be anywhere within `slack` of `r`.
#[inline]
pub fn decide<T: Float>(x: f64, xp: T, r: f64, slack: f64, e: f64) -> Outcome {
    if r.abs() <= slack {
        // The decoder's residual is at most 2 slack: it keeps X'.
        return Outcome::Keep;
    }
    if !accept(x, xp, r, slack, e) {
        return Outcome::Reject;
    }
    if applies(r, slack) {
        Outcome::Enhance
    } else {
        Outcome::Keep
    }
}

/// The enhanced value of a decompressed value `xp` given a predicted residual `r`.
#[inline]
pub fn enhance<T: Float>(xp: T, r: f64) -> T {
    T::from_f64(xp.to_f64() + r)
}

/// True when every decoder output with residual within `slack` of `r` keeps `|x - y| <= e`.
#[inline]
pub fn accept<T: Float>(x: f64, xp: T, r: f64, slack: f64, e: f64) -> bool {
    let lo = enhance(xp, r - slack).to_f64();
    let hi = enhance(xp, r + slack).to_f64();
    (x - lo).abs() <= e && (x - hi).abs() <= e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_points_hold_for_every_residual_within_slack() {
        let e = 1e-3;
        let s = e * SLACK_FRACTION;
        let x = 1.0f64;
        for k in -200..=200 {
            let xp = (x + k as f64 * 1e-5) as f32;
            for j in -50..=50 {
                let r = j as f64 * 4e-5;
                if accept(x, xp, r, s, e) {
                    for t in -10..=10 {
                        let y = enhance(xp, r + s * t as f64 / 10.0);
                        assert!((x - y as f64).abs() <= e, "x {x} xp {xp} r {r} y {y}");
                    }
                }
            }
        }
        assert!(accept(1.0, 1.0005f32, -0.0005, s, e));
        assert_eq!(decide(1.0, 1.0f32, s * 0.5, s, e), Outcome::Keep);
        assert_eq!(decide(1.0, 1.0f32, s * 1.5, s, e), Outcome::Keep);
        assert_eq!(decide(1.0, 1.0f32, s * 3.0, s, e), Outcome::Enhance);
        assert_eq!(decide(1.0, 1.0f32, e, s, e), Outcome::Reject);
        // An inner error near the bound with a tiny prediction needs no rejection.
        assert_eq!(decide(1.0, 1.0f32 - 0.999e-3, s * 0.9, s, e), Outcome::Keep);
        assert!(!applies(2.0 * s, s) && applies(2.01 * s, s));
        assert!(!accept(1.0, 1.0f32, 0.00099, s, e));
        assert!(!accept(1.0, 1.0f32, f64::NAN, s, e));
    }
}
