//! Why SPERR 0.8.5 segfaults on huge values (issue 10), checked on both sides of the exact
//! condition, and the plugin's guard (see `pressio_ml_sperr::codec`, "Huge values").
//!
//! SPERR's outlier coder refuses (`FE_Invalid`) an outlier whose *raw* error exceeds 2^63
//! (it range-checks the error, not the error divided by the tolerance), and SPERR's 3-D driver
//! then appends the bit stream of a SPECK encoder that was never created: a null dereference.
//! Scaling by a power of two is exact in SPERR's double arithmetic, so a field `x * 2^k` at
//! tolerance `t * 2^k` has outlier errors exactly `2^k` times those of `x` at `t`: the test
//! measures them at scale 1 and predicts the first crashing `k`. Raw SPERR runs in child
//! processes (the test binary re-executes itself), so the crash fails nothing but the
//! expectation.

mod common;

use common::{compressor, roundtrip};
use ndarray::{ArrayView2, ArrayView3, ArrayViewMut3};
use pressio_ml_core::{Data, Options};
use pressio_ml_sperr::register;
use pressio_ml_testdata::isolate::{self, Outcome};
use std::time::Duration;

/// Tolerance at scale 1.
const TOL: f64 = 1e-2;
/// The volume (x fastest).
const DIMS: [usize; 3] = [16, 16, 16];

/// A smooth field with deterministic noise (so that SPERR's point-wise mode has outliers).
fn field() -> Vec<f64> {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut v = Vec::with_capacity(DIMS.iter().product());
    for z in 0..DIMS[2] {
        for y in 0..DIMS[1] {
            for x in 0..DIMS[0] {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let noise = ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.2;
                let (fx, fy, fz) = (x as f64 * 0.3, y as f64 * 0.2, z as f64 * 0.25);
                v.push(fx.sin() * fy.cos() + 0.5 * (fz + fx).sin() + noise);
            }
        }
    }
    v
}

/// `v * 2^k`, exactly.
fn scaled(v: &[f64], k: i32) -> Vec<f64> {
    let s = 2f64.powi(k);
    v.iter().map(|x| x * s).collect()
}

fn view3(v: &[f64]) -> ArrayView3<'_, f64> {
    ArrayView3::from_shape((DIMS[2], DIMS[1], DIMS[0]), v).expect("dims")
}

fn view2(v: &[f64]) -> ArrayView2<'_, f64> {
    ArrayView2::from_shape((DIMS[2] * DIMS[1], DIMS[0]), v).expect("dims")
}

/// SPERR's reconstruction before outlier correction: its quantisation-step mode with the step
/// point-wise mode uses (1.5 x tolerance), which skips the outlier coder. Returns the largest
/// error above `TOL` (what the outlier coder is handed) and how many such outliers there are.
fn outliers(v: &[f64], three_d: bool) -> (f64, usize) {
    let mode = sperr::CompressionMode::QuantisationStep { q: 1.5 * TOL };
    let mut out = vec![0f64; v.len()];
    if three_d {
        let s = sperr::compress_3d(view3(v), mode, (256, 256, 256)).expect("compress");
        let o = ArrayViewMut3::from_shape((DIMS[2], DIMS[1], DIMS[0]), &mut out[..]).expect("d");
        sperr::decompress_into_3d(&s, o).expect("decompress");
    } else {
        let s = sperr::compress_2d(view2(v), mode).expect("compress");
        let o = ndarray::ArrayViewMut2::from_shape((DIMS[2] * DIMS[1], DIMS[0]), &mut out[..])
            .expect("d");
        sperr::decompress_into_2d(&s, o).expect("decompress");
    }
    v.iter()
        .zip(&out)
        .map(|(a, b)| (a - b).abs())
        .filter(|&e| e > TOL)
        .fold((0f64, 0usize), |(m, n), e| (m.max(e), n + 1))
}

/// The largest `k` with `e * 2^k <= 2^63` (checked not to sit within rounding of the edge).
fn last_safe_exponent(e: f64) -> i32 {
    let k = (63.0 - e.log2()).floor() as i32;
    let k = if e * 2f64.powi(k) > 2f64.powi(63) {
        k - 1
    } else {
        k
    };
    let lo = e * 2f64.powi(k) / 2f64.powi(63);
    assert!(
        lo < 1.0 - 1e-9 && lo * 2.0 > 1.0 + 1e-9,
        "the outlier error {e:e} sits within rounding of a power of two; pick other data"
    );
    k
}

const CHILD_TEST: &str = "raw_sperr_crashes_exactly_when_an_outlier_error_exceeds_2_pow_63";

#[test]
fn raw_sperr_crashes_exactly_when_an_outlier_error_exceeds_2_pow_63() {
    let v = field();
    if let Some(job) = isolate::job() {
        // child: raw SPERR 3-D point-wise at scale 2^k
        let k: i32 = job.parse().expect("job is an exponent");
        let x = scaled(&v, k);
        let mode = sperr::CompressionMode::PointwiseError {
            pwe: TOL * 2f64.powi(k),
        };
        let r = sperr::compress_3d(view3(&x), mode, (256, 256, 256));
        println!("k={k}: {:?}", r.map(|s| s.len()));
        return;
    }
    let (e3, n3) = outliers(&v, true);
    assert!(n3 > 0, "the field must give SPERR outliers at {TOL}");
    let k3 = last_safe_exponent(e3);
    println!(
        "3-D: {n3} outliers, largest error {e3:e} = {:.3} x tolerance; last safe scale 2^{k3}",
        e3 / TOL
    );
    let limit = Duration::from_secs(60);
    let safe = isolate::run(CHILD_TEST, &k3.to_string(), limit);
    assert!(
        safe.passed() && safe.stdout.contains("Ok("),
        "2^{k3} (largest outlier error {:e} <= 2^63) should compress: {}",
        e3 * 2f64.powi(k3),
        safe.describe()
    );
    let crash = isolate::run(CHILD_TEST, &(k3 + 1).to_string(), limit);
    assert_eq!(
        crash.outcome,
        Outcome::Signal(11),
        "2^{} (largest outlier error {:e} > 2^63) should hit SPERR's null dereference; if this \
         SPERR no longer crashes, revisit the guard in codec.rs: {}",
        k3 + 1,
        e3 * 2f64.powi(k3 + 1),
        crash.describe()
    );
    // the 2-D driver checks the return code: the same condition is a clean error there
    let (e2, n2) = outliers(&v, false);
    assert!(n2 > 0);
    let k2 = last_safe_exponent(e2);
    let pwe = |k: i32| sperr::CompressionMode::PointwiseError {
        pwe: TOL * 2f64.powi(k),
    };
    assert!(sperr::compress_2d(view2(&scaled(&v, k2)), pwe(k2)).is_ok());
    assert!(matches!(
        sperr::compress_2d(view2(&scaled(&v, k2 + 1)), pwe(k2 + 1)),
        Err(sperr::Error::Other)
    ));
}

/// The plugin compresses the field at every scale, the crashing ones included, within the
/// bound and to the same size (power-of-two scaling commutes with SPERR's arithmetic).
#[test]
fn plugin_is_scale_free_across_the_crash_threshold() {
    let v = field();
    let k3 = last_safe_exponent(outliers(&v, true).0);
    let mut sizes = Vec::new();
    let mut reference: Option<Vec<f64>> = None;
    for k in [-1000, -300, -60, 0, 30, k3, k3 + 1, k3 + 40, 200, 900] {
        for f32_data in [false, true] {
            let x = scaled(&v, k);
            let bound = TOL * 2f64.powi(k);
            let input = if f32_data {
                if !(1e-30..1e30).contains(&bound) {
                    continue; // outside float's range
                }
                Data::from_vec(x.iter().map(|&a| a as f32).collect::<Vec<_>>(), &DIMS)
            } else {
                Data::from_vec(x, &DIMS)
            }
            .expect("data");
            // fill_mode none: at 2^108 and up most values are >= 1e30, which `auto` would keep
            // exactly as fill values
            let o = Options::new()
                .with("pressio:abs", bound)
                .with("pressio:fill_mode", "none");
            let mut c = compressor(register, "sperr", &o);
            let (out, bytes) = roundtrip(&mut c, &input);
            let err = common::max_error(&input, &out);
            if !f32_data {
                // the same reconstruction at every scale, bit for bit
                let back = scaled(&out.to_f64_vec(), -k);
                let first = reference.get_or_insert_with(|| back.clone());
                assert!(back == *first, "2^{k}: another reconstruction");
            }
            let m = c.get_metrics_results();
            let patched = m.get::<u64>("sperr:patched").1.unwrap_or(0);
            println!(
                "2^{k} {}: {bytes} bytes, max error {:.3} x bound, {patched} patched",
                input.dtype(),
                err / bound
            );
            assert!(err <= bound, "2^{k}: {err:e} > {bound:e}");
            let raw = input.num_elements() * input.dtype().size();
            assert!(bytes < raw / 2, "2^{k}: {bytes} bytes, SPERR was not used");
            sizes.push((f32_data, k, bytes));
        }
    }
    for f32_data in [false, true] {
        let s: Vec<_> = sizes.iter().filter(|s| s.0 == f32_data).collect();
        assert!(
            s.windows(2).all(|w| w[0].2 == w[1].2),
            "sizes differ across scales: {s:?}"
        );
    }
}

/// The bpp and psnr modes at scales where SPERR's own arithmetic over- or underflows (its PSNR
/// search squares the range: 2^1800 is infinite, 2^-2000 is zero) give the same stream size and
/// the same reconstruction (bit for bit, once unscaled) as at scale 1. (Sizes may differ by the
/// 4 bytes of the scale exponent, which is not stored when it is 0.)
#[test]
fn bpp_and_psnr_modes_are_scale_free() {
    let v = field();
    for (mode, target) in [("psnr", 60.0), ("bpp", 4.0)] {
        let mut seen: Option<(usize, Vec<f64>)> = None;
        for k in [-1000, -300, 0, 69, 300, 900] {
            let input = Data::from_vec(scaled(&v, k), &DIMS).expect("data");
            let o = Options::new()
                .with("sperr:mode_str", mode)
                .with("sperr:tolerance", target)
                .with("pressio:fill_mode", "none");
            let mut c = compressor(register, "sperr", &o);
            let (out, bytes) = roundtrip(&mut c, &input);
            let back = scaled(&out.to_f64_vec(), -k);
            println!("{mode} 2^{k}: {bytes} bytes");
            assert!(
                back.iter().all(|x| x.is_finite()),
                "{mode} 2^{k}: non-finite"
            );
            match &seen {
                None => seen = Some((bytes, back)),
                Some((b, r)) => {
                    assert!(
                        bytes.abs_diff(*b) <= 4,
                        "{mode} 2^{k}: {bytes} bytes, not {b}"
                    );
                    assert!(back == *r, "{mode} 2^{k}: another reconstruction");
                }
            }
        }
    }
}
