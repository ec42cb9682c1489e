//! Issue 10, item 1: every compressor of the registry (and every meta-compressor over every plain
//! one) is fed hostile arrays (huge magnitudes, subnormals, NaN/±Inf, scattered and in blocks,
//! tiny and odd 1-D to 4-D shapes, float and double, abs and rel bounds); each case must
//! round-trip within its bound or be refused with an error. Each target's batch runs in a
//! child process (this binary re-executed with `--exact`), so a segfault or abort in a C++
//! backend fails the test with the target's name, the signal and the last case announced,
//! instead of killing the test binary. See `pressio_ml_testdata::fuzz` for the cases and the
//! promise checked.
//!
//! A plugin joins by being registered in `pressio_ml::registry()`; `tuning` below only shortens
//! training where a plugin trains at compression time.

use pressio_ml::{registry, Options};
use pressio_ml_testdata::fuzz::{self, Fill};
use pressio_ml_testdata::isolate;

/// Seed of the case batch (the cases depend on nothing else).
const SEED: u64 = 0x1552_0010;

/// Cases per (shape, type, bound kind); `PRESSIO_ML_FUZZ_PER_COMBO` raises it for a deeper run.
fn per_combo() -> usize {
    std::env::var("PRESSIO_ML_FUZZ_PER_COMBO")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

/// Per-plugin options that keep the suite fast: gwlz trains one epoch on few samples (the
/// bound must hold however poor its enhancers are).
fn tuning(id: &str) -> Options {
    match id {
        "gwlz" => Options::new()
            .with("gwlz:epochs", 1u32)
            .with("gwlz:max_samples", 256u32)
            .with("gwlz:time_budget", 0.0),
        _ => Options::new(),
    }
}

fn drive(test_name: &str, fill: Fill) {
    let reg = registry();
    let targets = fuzz::targets(reg, tuning);
    let cases = fuzz::cases(SEED, &[fill], per_combo());
    if let Some(job) = isolate::job() {
        fuzz::child(reg, &targets, &job, &cases);
        return;
    }
    assert!(
        targets.len() >= 5,
        "expected the registry's compressors, got {targets:?}"
    );
    let (lines, failures) = fuzz::parent(test_name, &targets);
    println!(
        "{} cases per target, fill_mode={}:",
        cases.len(),
        fill.name()
    );
    for l in &lines {
        println!("  {l}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} targets failed:\n{}",
        failures.len(),
        targets.len(),
        failures.join("\n")
    );
}

#[test]
fn every_compressor_survives_hostile_values_fill_none() {
    drive(
        "every_compressor_survives_hostile_values_fill_none",
        Fill::None,
    );
}

/// Relies on the fill-aware envelope (issue 10): `auto` keeps fill points bit-exactly and takes
/// `pressio:rel` over the valid points.
#[test]
fn every_compressor_survives_hostile_values_fill_auto() {
    drive(
        "every_compressor_survives_hostile_values_fill_auto",
        Fill::Auto,
    );
}
