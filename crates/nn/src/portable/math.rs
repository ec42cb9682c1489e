//! Elementary functions computed from IEEE-754 `+ - * /` only, so that every platform, libm and
//! compiler gives the same bits (a platform `expf`/`tanhf` may differ in the last place between
//! glibc versions, musl, macOS and vector libraries).
//!
//! Everything is evaluated in f64 and rounded once to f32; the f64 error (a few ulp of f64) is
//! far below f32 resolution, so results are also within one f32 ulp of the exact value.

/// ln 2 split for Cody-Waite reduction: the high part has trailing zero bits, so `k * LN2_HI`
/// is exact for the `k` used here.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
const LOG2_E: f64 = std::f64::consts::LOG2_E;

/// `e^y` for `y` in `[-745, 709]`; 0 below, +inf above. Deterministic: Cody-Waite range
/// reduction to `|r| <= ln2 / 2`, a degree-13 Taylor polynomial (truncation error below 1e-17),
/// and an exact scaling by `2^k` built from bits.
pub fn exp_f64(y: f64) -> f64 {
    if y.is_nan() {
        return y;
    }
    if y > 709.0 {
        return f64::INFINITY;
    }
    if y < -745.0 {
        return 0.0;
    }
    // Round to nearest without libm: truncation of y*log2(e) +- 0.5 (an exact `as` cast).
    let t = y * LOG2_E;
    let k = if t >= 0.0 {
        (t + 0.5) as i64
    } else {
        (t - 0.5) as i64
    };
    let kf = k as f64;
    let r = (y - kf * LN2_HI) - kf * LN2_LO;
    // Horner over 1/n!, highest order first.
    const C: [f64; 14] = [
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
        1.0 / 362880.0,
        1.0 / 3628800.0,
        1.0 / 39916800.0,
        1.0 / 479001600.0,
        1.0 / 6227020800.0,
    ];
    let mut p = C[13];
    for c in C[..13].iter().rev() {
        p = p * r + c;
    }
    scale_by_pow2(p, k)
}

/// `x * 2^k` by exact multiplications with powers of two built from their bits (two steps so
/// that results near the subnormal range keep their accuracy).
fn scale_by_pow2(x: f64, k: i64) -> f64 {
    let pow2 = |e: i64| f64::from_bits(((e + 1023) as u64) << 52);
    if k > 1023 {
        x * pow2(1023) * pow2(k - 1023)
    } else if k < -1022 {
        x * pow2(-1022) * pow2(k + 1022)
    } else {
        x * pow2(k)
    }
}

/// `tanh(x)` rounded to f32, deterministic on every platform.
pub fn tanh(x: f32) -> f32 {
    let a = (x as f64).abs();
    if a.is_nan() {
        return x;
    }
    let t = if a < 1e-5 {
        // tanh a = a - a^3/3 + ...: the cubic term is below f32 resolution.
        a
    } else if a > 20.0 {
        1.0
    } else {
        let e = exp_f64(2.0 * a);
        (e - 1.0) / (e + 1.0)
    };
    (if x < 0.0 { -t } else { t }) as f32
}

/// The logistic sigmoid `1 / (1 + e^-x)` rounded to f32, deterministic on every platform.
pub fn sigmoid(x: f32) -> f32 {
    let x = x as f64;
    if x.is_nan() {
        return x as f32;
    }
    let s = if x >= 0.0 {
        1.0 / (1.0 + exp_f64(-x))
    } else {
        let e = exp_f64(x);
        e / (1.0 + e)
    };
    s as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_libm_to_a_few_ulp() {
        let mut worst = 0f64;
        let mut y = -700.0f64;
        while y < 700.0 {
            let ours = exp_f64(y);
            let libm = y.exp();
            worst = worst.max(((ours - libm) / libm).abs());
            y += 0.137;
        }
        assert!(worst < 1e-15, "relative error {worst}");
        assert_eq!(exp_f64(0.0), 1.0);
        assert_eq!(exp_f64(800.0), f64::INFINITY);
        assert_eq!(exp_f64(-800.0), 0.0);
        assert!(exp_f64(f64::NAN).is_nan());
    }

    #[test]
    fn tanh_and_sigmoid_are_within_one_f32_ulp() {
        for i in -40_000..=40_000 {
            let x = i as f32 * 5e-4;
            let t = tanh(x);
            let exact = (x as f64).tanh();
            assert!(
                (t as f64 - exact).abs() <= f32::EPSILON as f64 * exact.abs().max(1e-30),
                "tanh {x}"
            );
            let s = sigmoid(x);
            let exact = 1.0 / (1.0 + (-(x as f64)).exp());
            assert!(
                (s as f64 - exact).abs() <= f32::EPSILON as f64 * exact,
                "sigmoid {x}"
            );
        }
        assert_eq!(tanh(100.0), 1.0);
        assert_eq!(tanh(-100.0), -1.0);
        assert_eq!(tanh(0.0), 0.0);
        assert!(tanh(f32::NAN).is_nan());
        assert_eq!(sigmoid(-1e4), 0.0);
        assert_eq!(sigmoid(1e4), 1.0);
    }
}
