//! Small shapes, special values, hostile streams, introspection, the sperr option keys, and the
//! verify-and-patch guard that makes SPERR's point-wise mode a hard bound.

mod common;

use common::{compressor, max_error, roundtrip, smooth};
use pressio_ml_codec::field::{compress_field, decompress_field, DecodeParams, EncodeParams};
use pressio_ml_core::{BoundSpec, DType, Data, Options, Version};
use pressio_ml_sperr::codec::{SperrCodec, SperrMode};
use pressio_ml_sperr::register;

const ID: &str = "sperr";

#[test]
fn small_shapes() {
    common::small_shapes(register, ID, &Options::new());
}

#[test]
fn special_values() {
    common::special_values(register, ID);
}

#[test]
fn hostile_streams() {
    common::hostile_streams(register, ID);
}

#[test]
fn introspection() {
    common::introspection(register, ID);
}

/// A smooth 64^3 field (products of slow sines).
fn smooth_cube<T: pressio_ml_core::Element>() -> Data {
    let n = 64usize;
    let mut v = Vec::with_capacity(n * n * n);
    for z in 0..n {
        for y in 0..n {
            for x in 0..n {
                let (fx, fy, fz) = (
                    x as f64 / n as f64,
                    y as f64 / n as f64,
                    z as f64 / n as f64,
                );
                let f = (6.0 * fx).sin() * (4.0 * fy).cos() + (3.0 * fz + fx).sin() * 0.5 + fy * fz;
                v.push(T::from_f64(f));
            }
        }
    }
    Data::from_vec(v, &[n, n, n]).expect("cube")
}

/// SPERR's own point-wise mode (the guard off) against the plugin (the guard on): the plugin
/// never exceeds the bound, and the guard is what makes the difference where SPERR overshoots.
#[test]
fn guard_makes_pwe_strict_on_a_smooth_field() {
    let mut overshoots = 0;
    for input in [smooth_cube::<f64>(), smooth_cube::<f32>()] {
        for tol in [1e-4, 1e-5, 1e-6, 1e-7] {
            // SPERR alone, through the envelope without verification
            let mut codec = SperrCodec {
                mode: SperrMode::Pwe,
                quality: 0.0,
                chunks: [256; 3],
            };
            let enc = EncodeParams {
                plugin_id: ID,
                version: Version::new(0, 1, 0),
                bound: BoundSpec::Abs(tol),
                model_name: "",
                model_hash: &[],
                verify: false,
                fill: &pressio_ml_core::FillSpec::none(),
            };
            let (stream, _) = compress_field(&mut codec, &input, &enc).expect("compress");
            let dec = DecodeParams {
                plugin_id: ID,
                version: Version::new(0, 1, 0),
                model_hash: None,
            };
            let raw = decompress_field(&mut codec, &stream, &dec).expect("decompress");
            let raw_err = max_error(&input, &raw);
            // the plugin
            let mut c = compressor(register, ID, &Options::new().with("pressio:abs", tol));
            let (out, _) = roundtrip(&mut c, &input);
            let err = max_error(&input, &out);
            let patched = c
                .get_metrics_results()
                .get::<u64>("sperr:patched")
                .1
                .expect("patched");
            println!(
                "{} tol {tol:e}: SPERR alone max error {raw_err:e} ({:.5}x), with the guard {err:e}, {patched} patched",
                input.dtype(),
                raw_err / tol
            );
            assert!(err <= tol, "guarded error {err} > {tol}");
            if raw_err > tol {
                overshoots += 1;
                assert!(patched > 0);
            }
        }
    }
    println!("SPERR alone overshot in {overshoots} of 8 cases");
    assert!(
        overshoots > 0,
        "expected SPERR alone to overshoot somewhere (else this test shows nothing)"
    );
}

#[test]
fn defaults_follow_libpressio_sperr() {
    let c = compressor(register, ID, &Options::new());
    let o = c.get_options();
    assert_eq!(o.get::<f64>("pressio:abs").1, Some(1e-6));
    assert_eq!(o.get::<i32>("sperr:mode").1, Some(3));
    assert_eq!(o.get::<String>("sperr:mode_str").1.as_deref(), Some("pwe"));
    assert_eq!(o.get::<f64>("sperr:tolerance").1, Some(1e-6));
    let chunks = o.get::<Data>("sperr:chunks").1.expect("chunks");
    assert_eq!(chunks.as_slice::<u64>().expect("u64"), &[256, 256, 256]);
}

#[test]
fn bpp_and_psnr_modes() {
    let dims = [48usize, 40, 10];
    let input = Data::from_vec(smooth(&dims), &dims).expect("data");
    let n = input.num_elements() as f64;
    let mut c = compressor(
        register,
        ID,
        &Options::new()
            .with("sperr:mode_str", "bpp")
            .with("sperr:tolerance", 2.0),
    );
    let o = c.get_options();
    assert_eq!(o.get::<i32>("sperr:mode").1, Some(1));
    assert_eq!(o.get::<f64>("pressio:abs").1, None);
    let (_, bytes) = roundtrip(&mut c, &input);
    assert!(
        (bytes as f64) < n * 2.0 / 8.0 * 1.2 + 400.0,
        "bpp 2: {bytes} bytes"
    );
    let x = input.to_f64_vec();
    let range = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
        - x.iter().cloned().fold(f64::INFINITY, f64::min);
    for target in [40.0, 80.0] {
        let mut c = compressor(
            register,
            ID,
            &Options::new()
                .with("sperr:mode", 2i32)
                .with("sperr:tolerance", target),
        );
        let (out, _) = roundtrip(&mut c, &input);
        let y = out.to_f64_vec();
        let mse = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            / n;
        let psnr = 20.0 * range.log10() - 10.0 * mse.log10();
        assert!(psnr >= target - 0.5, "psnr {psnr} for target {target}");
    }
    // a PSNR beyond double precision takes the lossless path instead of hanging SPERR
    let mut c = compressor(
        register,
        ID,
        &Options::new()
            .with("sperr:mode_str", "psnr")
            .with("sperr:tolerance", 1000.0),
    );
    let (out, _) = roundtrip(&mut c, &input);
    assert_eq!(out.bytes(), input.bytes());
}

#[test]
fn tolerances_sperr_cannot_resolve_are_lossless() {
    let dims = [30usize, 20];
    for tol in [1e-300, 1e-17, 1e-14] {
        let input = Data::from_vec(smooth(&dims), &dims).expect("data");
        let mut c = compressor(register, ID, &Options::new().with("pressio:abs", tol));
        let (out, _) = roundtrip(&mut c, &input);
        assert!(max_error(&input, &out) <= tol);
    }
}

#[test]
fn chunks_and_mode_keys() {
    let dims = [20usize, 20, 20];
    let input = Data::from_vec(smooth(&dims), &dims).expect("data");
    for chunks in [[1u64, 1, 1], [8, 8, 8], [5, 20, 3], [1000, 1000, 1000]] {
        let o = Options::new().with("pressio:abs", 1e-3).with(
            "sperr:chunks",
            Data::from_vec(chunks.to_vec(), &[3]).expect("chunks"),
        );
        let mut c = compressor(register, ID, &o);
        let (out, _) = roundtrip(&mut c, &input);
        assert!(max_error(&input, &out) <= 1e-3, "chunks {chunks:?}");
    }
    let mut c = compressor(register, ID, &Options::new().with("pressio:rel", 1e-3));
    let o = c.get_options();
    assert_eq!(o.get::<f64>("pressio:rel").1, Some(1e-3));
    assert_eq!(o.get::<f64>("pressio:abs").1, None);
    assert_eq!(o.get::<f64>("sperr:tolerance").1, None);
    // switch to psnr, then back to pwe: each mode keeps its target
    c.set_options(
        &Options::new()
            .with("sperr:mode_str", "psnr")
            .with("sperr:tolerance", 60.0),
    )
    .expect("psnr");
    assert_eq!(c.get_options().get::<f64>("sperr:tolerance").1, Some(60.0));
    c.set_options(
        &Options::new()
            .with("sperr:tolerance", 1e-2)
            .with("sperr:mode", 3i32),
    )
    .expect("pwe");
    let o = c.get_options();
    assert_eq!(o.get::<f64>("pressio:abs").1, Some(1e-2));
    // echo with one change
    let mut echo = o.clone();
    echo.set("pressio:abs", 0.5);
    c.set_options(&echo).expect("echo");
    assert_eq!(c.get_options().get::<f64>("sperr:tolerance").1, Some(0.5));
    for bad in [
        Options::new().with("sperr:mode", 4i32),
        Options::new().with("sperr:mode_str", "rate"),
        Options::new()
            .with("sperr:mode_str", "bpp")
            .with("sperr:tolerance", 65.0),
        Options::new()
            .with("sperr:mode_str", "psnr")
            .with("sperr:tolerance", -1.0),
        Options::new().with("sperr:tolerance", -1.0),
        Options::new().with(
            "sperr:chunks",
            Data::from_vec(vec![0u64, 8, 8], &[3]).expect("d"),
        ),
        Options::new().with(
            "sperr:chunks",
            Data::from_vec(vec![8u64, 8], &[2]).expect("d"),
        ),
        Options::new().with(
            "sperr:chunks",
            Data::from_vec(vec![8.0f32, 8.0, 8.0], &[3]).expect("d"),
        ),
    ] {
        let mut c = compressor(register, ID, &Options::new());
        assert!(c.set_options(&bad).is_err(), "{bad} accepted");
    }
    let _ = DType::Float;
}

#[test]
fn concurrent_handles() {
    let dims = [40usize, 30, 5];
    let input = Data::from_vec(smooth(&dims), &dims).expect("data");
    std::thread::scope(|s| {
        for k in 0..4 {
            let input = &input;
            s.spawn(move || {
                let e = 10f64.powi(-(k + 2));
                let mut c = compressor(register, ID, &Options::new().with("pressio:abs", e));
                let (out, _) = roundtrip(&mut c, input);
                assert!(max_error(input, &out) <= e);
            });
        }
    });
}
