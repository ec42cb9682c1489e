//! Drives each registered compressor from 8 threads at once through the C interface
//! (`tests/c/stress_test.c`, built against the shared and the static library): one shared
//! handle where `pressio:thread_safe` is `multiple`, a clone per thread otherwise, then a clone
//! per thread with per-thread bounds. Every round trip must stay within its bound.

#[path = "c/support.rs"]
mod support;

use pressio_ml::registry;
use std::process::Command;
use std::time::Duration;
use support::{Field, Lang, Link};

#[test]
fn eight_threads_round_trip_within_bound() {
    let Some(field) = Field::load("vtk_data/bluntfin_density_32x32x40.f32") else {
        support::skip("../shared/data is missing: the stress test is skipped");
        return;
    };
    let src = vec![support::repo().join("tests/c/stress_test.c")];
    let exes: Vec<_> = Link::ALL
        .iter()
        .map(|&l| (l, support::compile(Lang::C, &src, "stress_test", l)))
        .collect();
    let abs = 1e-3 * field.range();
    let mut tested = 0;
    for id in registry().compressor_ids() {
        let has_abs = registry()
            .compressor(&id)
            .map(|c| c.get_options().contains("pressio:abs"))
            .unwrap_or(false);
        if !has_abs {
            support::skip(&format!("{id} declares no pressio:abs: not stress-tested"));
            continue;
        }
        for (link, exe) in &exes {
            let mut cmd = Command::new(exe);
            cmd.arg(&id)
                .arg(&field.path)
                .arg(format!("{abs:e}"))
                .arg("3");
            cmd.args(field.dims.iter().map(|d| d.to_string()));
            let out = support::run_with_limit(&mut cmd, Duration::from_secs(600));
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                eprintln!("[{}] {line}", link.name());
            }
            support::expect_success(&format!("stress test of {id} ({})", link.name()), &out);
        }
        tested += 1;
    }
    if tested == 0 {
        support::skip("no registered compressor takes pressio:abs: nothing was stress-tested");
    }
}
