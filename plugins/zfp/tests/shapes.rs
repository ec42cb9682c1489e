//! Small shapes, special values, hostile streams, introspection and the zfp option keys.

mod common;

use common::{compressor, max_error, roundtrip, smooth};
use pressio_ml_core::{Data, Options};
use pressio_ml_zfp::register;

const ID: &str = "zfp";

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

#[test]
fn defaults_follow_libpressio() {
    let c = compressor(register, ID, &Options::new());
    let o = c.get_options();
    assert_eq!(o.get::<f64>("pressio:abs").1, Some(1e-3));
    assert_eq!(o.get::<f64>("zfp:accuracy").1, Some(1e-3));
    assert_eq!(o.get::<u32>("zfp:mode").1, Some(4));
    assert_eq!(o.get::<u32>("zfp:reversible").1, Some(0));
    assert_eq!(o.get::<u32>("zfp:precision").1, None);
    assert_eq!(o.get::<f64>("zfp:rate").1, None);
}

fn inputs() -> Vec<Data> {
    let dims = [33usize, 20, 6];
    let v = smooth(&dims);
    vec![
        Data::from_vec(v.iter().map(|&x| x as f32).collect::<Vec<f32>>(), &dims).expect("f32"),
        Data::from_vec(v, &dims).expect("f64"),
    ]
}

#[test]
fn reversible_is_exact() {
    for o in [
        Options::new().with("zfp:reversible", 1u32),
        Options::new().with("pressio:lossless", 0i32),
        Options::new().with("zfp:mode", 5u32),
    ] {
        let mut c = compressor(register, ID, &o);
        assert_eq!(c.get_options().get::<u32>("zfp:mode").1, Some(5));
        assert_eq!(c.get_options().get::<f64>("pressio:abs").1, None);
        for input in inputs() {
            let (out, _) = roundtrip(&mut c, &input);
            assert_eq!(out.bytes(), input.bytes());
            let r = c.get_metrics_results();
            assert_eq!(r.get::<u64>("zfp:patched").1, Some(0));
        }
    }
}

#[test]
fn precision_rate_and_expert_modes() {
    for input in inputs() {
        let n = input.num_elements() as f64;
        // fixed rate: the payload is close to rate * n bits (plus the envelope's header)
        let mut c = compressor(register, ID, &Options::new().with("zfp:rate", 8.0));
        assert_eq!(c.get_options().get::<u32>("zfp:mode").1, Some(2));
        let (out, bytes) = roundtrip(&mut c, &input);
        assert!(
            (bytes as f64) < n * 8.0 / 8.0 * 1.4 + 400.0,
            "rate 8: {bytes} bytes for {n} values"
        );
        assert!(max_error(&input, &out) < 1.0);
        // fixed precision: more planes, smaller error
        let mut errs = Vec::new();
        for p in [8u32, 16, 32] {
            let mut c = compressor(register, ID, &Options::new().with("zfp:precision", p));
            let (out, _) = roundtrip(&mut c, &input);
            errs.push(max_error(&input, &out));
        }
        assert!(errs[0] >= errs[1] && errs[1] >= errs[2], "{errs:?}");
        // expert
        let mut c = compressor(
            register,
            ID,
            &Options::new()
                .with("zfp:maxprec", 20u32)
                .with("zfp:minexp", -30i32),
        );
        assert_eq!(c.get_options().get::<u32>("zfp:mode").1, Some(1));
        let (out, _) = roundtrip(&mut c, &input);
        assert!(max_error(&input, &out) < 1e-3);
    }
}

#[test]
fn mode_keys_priority_and_echo() {
    // zfp:precision wins over pressio:abs in one call (LibPressio's priority)
    let mut c = compressor(
        register,
        ID,
        &Options::new()
            .with("pressio:abs", 0.5)
            .with("zfp:precision", 12u32),
    );
    let o = c.get_options();
    assert_eq!(o.get::<u32>("zfp:mode").1, Some(3));
    assert_eq!(o.get::<f64>("pressio:abs").1, None);
    // echo with pressio:abs newly set returns to fixed accuracy
    let mut echo = o.clone();
    echo.set("pressio:abs", 0.25);
    c.set_options(&echo).expect("echo");
    let o = c.get_options();
    assert_eq!(o.get::<u32>("zfp:mode").1, Some(4));
    assert_eq!(o.get::<f64>("zfp:accuracy").1, Some(0.25));
    // switching back by mode keeps the precision
    c.set_options(&Options::new().with("zfp:mode", 3u32))
        .expect("mode");
    assert_eq!(c.get_options().get::<u32>("zfp:precision").1, Some(12));
    // rel
    c.set_options(&Options::new().with("pressio:rel", 1e-3))
        .expect("rel");
    let o = c.get_options();
    assert_eq!(o.get::<u32>("zfp:mode").1, Some(4));
    assert_eq!(o.get::<f64>("pressio:rel").1, Some(1e-3));
    assert_eq!(o.get::<f64>("zfp:accuracy").1, None);
}

#[test]
fn refusals() {
    for o in [
        Options::new().with("zfp:rate", 0.0),
        Options::new().with("zfp:rate", 65.0),
        Options::new().with("zfp:precision", 0u32),
        Options::new().with("zfp:precision", 65u32),
        Options::new().with("zfp:mode", 0u32),
        Options::new().with("zfp:mode", 6u32),
        Options::new().with("zfp:maxprec", 0u32),
        Options::new()
            .with("zfp:minbits", 10u32)
            .with("zfp:maxbits", 5u32),
        Options::new().with("zfp:maxbits", 20000u32),
        Options::new().with("zfp:accuracy", -1.0),
        Options::new().with("pressio:abs", f64::INFINITY),
        Options::new().with("zfp:precision", 5i32),
    ] {
        let mut c = compressor(register, ID, &Options::new());
        assert!(c.set_options(&o).is_err(), "{o} accepted");
    }
}

#[test]
fn concurrent_handles() {
    let input = &inputs()[1];
    std::thread::scope(|s| {
        for k in 0..4 {
            s.spawn(move || {
                let e = 10f64.powi(-(k + 2));
                let mut c = compressor(register, ID, &Options::new().with("pressio:abs", e));
                let (out, _) = roundtrip(&mut c, input);
                assert!(max_error(input, &out) <= e);
            });
        }
    });
}
