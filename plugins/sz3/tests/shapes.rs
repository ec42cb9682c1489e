//! Small shapes, special values, hostile streams, introspection and the sz3 option keys.

mod common;

use common::{compressor, max_error, roundtrip, smooth};
use pressio_ml_core::{Data, Options, PressioError};
use pressio_ml_sz3::register;

const ID: &str = "sz3";

#[test]
fn small_shapes_every_algorithm() {
    for algo in [
        "ALGO_INTERP_LORENZO",
        "ALGO_INTERP",
        "ALGO_LORENZO_REG",
        "ALGO_NOPRED",
        "ALGO_LOSSLESS",
    ] {
        common::small_shapes(
            register,
            ID,
            &Options::new().with("sz3:algorithm_str", algo),
        );
    }
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
fn defaults_follow_sz3_and_libpressio() {
    let c = compressor(register, ID, &Options::new());
    let o = c.get_options();
    assert_eq!(o.get::<f64>("pressio:abs").1, Some(1e-6));
    assert_eq!(o.get::<f64>("pressio:rel").1, None);
    assert_eq!(
        o.get::<String>("sz3:algorithm_str").1.as_deref(),
        Some("ALGO_INTERP_LORENZO")
    );
    assert_eq!(o.get::<u8>("sz3:algorithm").1, Some(1));
    assert_eq!(
        o.get::<String>("sz3:error_bound_mode_str").1.as_deref(),
        Some("ABS")
    );
    assert_eq!(o.get::<i32>("sz3:quant_bin_size").1, Some(65536));
    assert_eq!(o.get::<bool>("sz3:lorenzo").1, Some(true));
    assert_eq!(o.get::<bool>("sz3:lorenzo2").1, Some(false));
    assert_eq!(o.get::<bool>("sz3:regression").1, Some(true));
    assert_eq!(
        o.get::<String>("sz3:intrep_algo_str").1.as_deref(),
        Some("INTERP_ALGO_CUBIC")
    );
    assert_eq!(o.get::<u32>("pressio:nthreads").1, Some(1));
}

#[test]
fn specific_keys_win_and_modes_switch() {
    let mut c = compressor(
        register,
        ID,
        &Options::new()
            .with("pressio:abs", 0.1)
            .with("sz3:abs_error_bound", 0.2),
    );
    assert_eq!(c.get_options().get::<f64>("pressio:abs").1, Some(0.2));
    c.set_options(
        &Options::new()
            .with("sz3:error_bound_mode_str", "rel")
            .with("sz3:rel_error_bound", 1e-3),
    )
    .expect("rel");
    let o = c.get_options();
    assert_eq!(o.get::<f64>("pressio:rel").1, Some(1e-3));
    assert_eq!(o.get::<f64>("pressio:abs").1, None);
    assert_eq!(o.get::<u8>("sz3:error_bound_mode").1, Some(1));
    // echo with pressio:abs changed
    let mut echo = c.get_options();
    echo.set("pressio:abs", 0.5);
    c.set_options(&echo).expect("echo");
    assert_eq!(c.get_options().get::<f64>("pressio:abs").1, Some(0.5));
    assert_eq!(
        c.get_options()
            .get::<String>("sz3:error_bound_mode_str")
            .1
            .as_deref(),
        Some("ABS")
    );
    // numeric algorithm code
    c.set_options(&Options::new().with("sz3:algorithm", 0u8))
        .expect("algo");
    assert_eq!(
        c.get_options()
            .get::<String>("sz3:algorithm_str")
            .1
            .as_deref(),
        Some("ALGO_LORENZO_REG")
    );
}

#[test]
fn combined_bound_modes() {
    let dims = [40usize, 30];
    let v = smooth(&dims);
    let (lo, hi) = v
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let input = Data::from_vec(v, &dims).expect("data");
    for (mode, bound) in [
        ("ABS_AND_REL", (0.05f64).min(1e-3 * (hi - lo))),
        ("ABS_OR_REL", (0.05f64).max(1e-3 * (hi - lo))),
    ] {
        let mut c = compressor(
            register,
            ID,
            &Options::new()
                .with("sz3:error_bound_mode_str", mode)
                .with("sz3:abs_error_bound", 0.05)
                .with("sz3:rel_error_bound", 1e-3),
        );
        let (out, _) = roundtrip(&mut c, &input);
        assert!(max_error(&input, &out) <= bound);
        let abs = c
            .get_metrics_results()
            .get::<f64>("sz3:abs_bound")
            .1
            .expect("abs");
        assert!((abs - bound).abs() <= 1e-15 * bound.abs());
    }
}

#[test]
fn refusals() {
    let c = compressor(register, ID, &Options::new());
    let bad = |o: Options| {
        let mut c = compressor(register, ID, &Options::new());
        let r = c.set_options(&o);
        assert!(r.is_err(), "{o} accepted");
        r.err()
    };
    bad(Options::new().with("sz3:error_bound_mode_str", "PSNR"));
    bad(Options::new().with("sz3:error_bound_mode", 3u8));
    bad(Options::new().with("sz3:error_bound_mode_str", "whatever"));
    bad(Options::new().with("sz3:algorithm_str", "ALGO_BIOMD"));
    bad(Options::new().with("sz3:algorithm", 9u8));
    bad(Options::new()
        .with("sz3:algorithm_str", "ALGO_LORENZO_REG")
        .with("sz3:lorenzo", false)
        .with("sz3:lorenzo2", false)
        .with("sz3:regression", false));
    bad(Options::new().with("sz3:quant_bin_size", 0i32));
    bad(Options::new().with("sz3:intrep_algo_str", "INTERP_ALGO_LINEAR"));
    bad(Options::new().with("sz3:interp_algo", 0u8));
    bad(Options::new().with("pressio:abs", -1.0));
    bad(Options::new().with("pressio:abs", f64::NAN));
    bad(Options::new().with("pressio:nthreads", 0u32));
    let e = bad(Options::new().with("pressio:abs", 1e-3f32));
    assert!(matches!(e, Some(PressioError::WrongOptionType { .. })));
    // a failed set leaves the handle unchanged
    let mut c2 = c;
    let before = c2.get_options();
    assert!(c2
        .set_options(
            &Options::new()
                .with("pressio:abs", 0.5)
                .with("sz3:quant_bin_size", -4i32)
        )
        .is_err());
    assert_eq!(c2.get_options(), before);
}

#[test]
fn nthreads_does_not_change_the_stream() {
    let dims = [64usize, 48];
    let input = Data::from_vec(smooth(&dims), &dims).expect("data");
    let mut streams = Vec::new();
    for n in [1u32, 4] {
        let mut c = compressor(
            register,
            ID,
            &Options::new()
                .with("pressio:abs", 1e-3)
                .with("pressio:nthreads", n),
        );
        let mut comp = Data::empty(pressio_ml_core::DType::Byte, &[]);
        c.compress(&input, &mut comp).expect("compress");
        streams.push(comp.bytes().to_vec());
    }
    assert_eq!(streams[0], streams[1]);
}

#[test]
fn concurrent_handles() {
    let dims = [50usize, 40, 3];
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
