//! Issue 10's reproduction: the first 48x48x14 values of `wrf_python/T_4x14x48x48.f32` with a
//! seeded 10% of the points set to the GrADS missing value -2.56e33, compressed with `sperr`.
//! SPERR used to segfault there (at `pressio:rel` 1e-3; see `tests/huge_values.rs` and
//! `codec::scale_exponent`). Every compression runs in a child process, so a regression fails
//! the test with the signal instead of killing the test binary.
//!
//! * `fill_mode = none`: SPERR sees the huge values; the stream must be valid and within the
//!   bound over every finite value (the range behind `rel` includes the fill values).
//! * fill declared (`pressio:fill_value`, mode `values`) and `auto`: the fill points come back
//!   bit-exactly and the real temperatures keep `rel` 1e-3 of *their own* range. These checks
//!   rely on the fill-aware field envelope (`crates/codec/src/field.rs`).

mod common;

use common::compressor;
use pressio_ml_core::{DType, Data, Options};
use pressio_ml_sperr::register;
use pressio_ml_testdata::fuzz::SplitMix64;
use pressio_ml_testdata::isolate;
use std::time::Duration;

const FILL: f32 = -2.56e33;
const DIMS: [usize; 3] = [48, 48, 14];
const TEST: &str = "sperr_survives_and_bounds_the_issue_10_field";

/// The field with its fill points, or `None` when the shared data is absent.
fn field() -> Option<Vec<f32>> {
    let dir = common::data_dir()?;
    let bytes = std::fs::read(dir.join("wrf_python/T_4x14x48x48.f32")).ok()?;
    let n: usize = DIMS.iter().product();
    let mut v: Vec<f32> = bytes
        .chunks_exact(4)
        .take(n)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(v.len(), n, "the file is shorter than 48x48x14 values");
    let mut rng = SplitMix64::new(10);
    for x in v.iter_mut() {
        if rng.chance(0.1) {
            *x = FILL;
        }
    }
    Some(v)
}

/// The cases: (job name, options, whether the fill points are excluded).
fn cases() -> Vec<(&'static str, Options, bool)> {
    let none = || Options::new().with("pressio:fill_mode", "none");
    vec![
        ("none-rel-1e-3", none().with("pressio:rel", 1e-3), false),
        ("none-abs-0.05", none().with("pressio:abs", 0.05), false),
        (
            "declared-rel-1e-3",
            Options::new()
                .with("pressio:fill_mode", "values")
                .with("pressio:fill_value", FILL as f64)
                .with("pressio:rel", 1e-3),
            true,
        ),
        (
            "auto-rel-1e-3",
            Options::new()
                .with("pressio:fill_mode", "auto")
                .with("pressio:rel", 1e-3),
            true,
        ),
    ]
}

/// Compress, decompress and check one case; returns a line for the log.
fn run_case(x: &[f32], options: &Options, fill_excluded: bool) -> String {
    let input = Data::from_vec(x.to_vec(), &DIMS).expect("data");
    let mut c = compressor(register, "sperr", options);
    let mut comp = Data::empty(DType::Byte, &[]);
    c.compress(&input, &mut comp)
        .unwrap_or_else(|e| panic!("compress refused: {e}"));
    let mut out = Data::empty(DType::Float, &DIMS);
    compressor(register, "sperr", options)
        .decompress(&comp, &mut out)
        .unwrap_or_else(|e| panic!("the stream does not decode: {e}"));
    let y = out.as_slice::<f32>().expect("float");
    let is_fill = |v: f32| fill_excluded && v == FILL;
    let (lo, hi) = x
        .iter()
        .filter(|v| !is_fill(**v))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v as f64), h.max(v as f64))
        });
    let bound = match (
        options.get_typed::<f64>("pressio:rel").expect("typed"),
        options.get_typed::<f64>("pressio:abs").expect("typed"),
    ) {
        (Some(r), _) => r * (hi - lo),
        (None, Some(a)) => a,
        (None, None) => unreachable!("every case sets a bound"),
    };
    let mut worst = 0f64;
    let mut worst_temperature = 0f64;
    for (&a, &b) in x.iter().zip(y) {
        if is_fill(a) {
            assert_eq!(a.to_bits(), b.to_bits(), "a fill point changed to {b:e}");
            continue;
        }
        let e = (a as f64 - b as f64).abs();
        assert!(
            e <= bound,
            "{a:e} became {b:e}: error {e:e} > bound {bound:e}"
        );
        worst = worst.max(e);
        if a != FILL {
            worst_temperature = worst_temperature.max(e);
        }
    }
    format!(
        "{} bytes (ratio {:.2}), bound {bound:e}, max error {worst:e}, on temperatures {worst_temperature:e}",
        comp.num_elements(),
        (x.len() * 4) as f64 / comp.num_elements() as f64
    )
}

#[test]
fn sperr_survives_and_bounds_the_issue_10_field() {
    let Some(x) = field() else {
        return; // common::data_dir printed why
    };
    if let Some(job) = isolate::job() {
        let (_, options, excluded) = cases().into_iter().find(|c| c.0 == job).expect("known job");
        println!("{job}: {}", run_case(&x, &options, excluded));
        return;
    }
    let temperatures: Vec<f32> = x.iter().copied().filter(|&v| v != FILL).collect();
    let fills = x.len() - temperatures.len();
    println!(
        "{fills} of {} points set to {FILL:e} (temperature range {:e})",
        x.len(),
        pressio_ml_testdata::value_range(&temperatures)
    );
    let mut failed = Vec::new();
    for (job, _, _) in cases() {
        let r = isolate::run(TEST, job, Duration::from_secs(120));
        match r
            .stdout
            .lines()
            .find_map(|l| l.split_once(&format!("{job}: ")))
        {
            Some((_, line)) if r.passed() => println!("  {job}: {line}"),
            _ => failed.push(r.describe()),
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
