//! Builds the C and C++ examples (`examples/c/roundtrip.c`, `examples/cpp/roundtrip.cpp`) with
//! the system compilers against the shared and the static library, and runs every build on real
//! fields from `../shared/data` with every registered compressor that takes `pressio:abs`: each
//! run must succeed and its maximum absolute error must be within the requested bound.

#[path = "c/support.rs"]
mod support;

use pressio_ml::registry;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use support::{Field, Lang, Link};

/// Real fields of different shapes (2-D and 3-D), small enough for a debug test run.
const FIELDS: [&str; 3] = [
    "vtk_data/bluntfin_density_32x32x40.f32",
    "geocat/ncep06_T_17x64x128.f32",
    "sperr/vorticity2d_512x512.f32",
];

/// Relative bounds (fractions of the value range) requested from every compressor.
const REL_BOUNDS: [f64; 2] = [1e-2, 1e-4];

/// Parse the `name=value` lines and the `key<type> = value` metric lines of an example's output.
fn parse(stdout: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for line in stdout.lines() {
        if let Some((k, v)) = line.split_once(" = ") {
            let key = k.split('<').next().unwrap_or(k);
            m.insert(key.trim().to_string(), v.trim().to_string());
        } else if let Some((k, v)) = line.split_once('=') {
            m.insert(k.to_string(), v.to_string());
        }
    }
    m
}

fn compressors_with_abs() -> Vec<String> {
    registry()
        .compressor_ids()
        .into_iter()
        .filter(|id| {
            let has = registry()
                .compressor(id)
                .map(|c| c.get_options().contains("pressio:abs"))
                .unwrap_or(false);
            if !has {
                support::skip(&format!(
                    "{id} declares no pressio:abs; it is not run by the examples"
                ));
            }
            has
        })
        .collect()
}

fn build_all() -> Vec<(String, PathBuf)> {
    let c_src = vec![support::repo().join("examples/c/roundtrip.c")];
    let cxx_src = vec![support::repo().join("examples/cpp/roundtrip.cpp")];
    let mut exes = Vec::new();
    for link in Link::ALL {
        exes.push((
            format!("C {}", link.name()),
            support::compile(Lang::C, &c_src, "roundtrip_c", link),
        ));
        exes.push((
            format!("C++ {}", link.name()),
            support::compile(Lang::Cxx, &cxx_src, "roundtrip_cpp", link),
        ));
    }
    exes
}

#[test]
fn examples_roundtrip_within_bound_on_real_fields() {
    let exes = build_all();
    let fields: Vec<Field> = FIELDS.iter().filter_map(|f| Field::load(f)).collect();
    if fields.is_empty() {
        support::skip("../shared/data is missing: the examples were built but not run");
        return;
    }
    let ids = compressors_with_abs();
    if ids.is_empty() {
        support::skip(
            "no registered compressor takes pressio:abs: the examples were built but not run",
        );
        return;
    }
    let mut failures = Vec::new();
    let mut runs = 0;
    for id in &ids {
        for field in &fields {
            for rel in REL_BOUNDS {
                let abs = rel * field.range();
                for (what, exe) in &exes {
                    let mut cmd = Command::new(exe);
                    cmd.arg(id).arg(&field.path).arg("float");
                    cmd.args(field.dims.iter().map(|d| d.to_string()));
                    cmd.arg(format!("pressio:abs={abs:e}"));
                    let out = support::run_with_limit(&mut cmd, Duration::from_secs(300));
                    runs += 1;
                    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
                    let name = field
                        .path
                        .file_name()
                        .unwrap()
                        .to_string_lossy()
                        .to_string();
                    let case = format!("{what} {id} {name} abs={abs:e}");
                    if !out.status.success() {
                        failures.push(format!(
                            "{case}: exit {}: {}",
                            out.status,
                            String::from_utf8_lossy(&out.stderr).trim()
                        ));
                        continue;
                    }
                    let r = parse(&stdout);
                    let max_err: f64 = r
                        .get("max_abs_error")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(f64::NAN);
                    let ratio = r.get("compression_ratio").cloned().unwrap_or_default();
                    if max_err.is_nan() || max_err > abs {
                        failures.push(format!("{case}: max error {max_err:e} exceeds the bound"));
                    }
                    if let Some(m) = r
                        .get("error_stat:max_error")
                        .and_then(|v| v.parse::<f64>().ok())
                    {
                        if m.is_nan() || m > abs {
                            failures.push(format!(
                                "{case}: error_stat:max_error {m:e} exceeds the bound"
                            ));
                        }
                    }
                    if what == "C shared" {
                        eprintln!("{case}: ratio {ratio}, max error {max_err:e}");
                    }
                }
            }
        }
    }
    eprintln!("{runs} example runs, {} failure(s)", failures.len());
    assert!(
        failures.is_empty(),
        "example failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn examples_report_usage_and_option_errors() {
    let c_src = vec![support::repo().join("examples/c/roundtrip.c")];
    let cxx_src = vec![support::repo().join("examples/cpp/roundtrip.cpp")];
    let exes = [
        support::compile(Lang::C, &c_src, "roundtrip_c_errors", Link::Shared),
        support::compile(Lang::Cxx, &cxx_src, "roundtrip_cpp_errors", Link::Shared),
    ];
    let raw = support::out_dir().join("examples_small.f32");
    let values: Vec<u8> = (0..64)
        .flat_map(|i| (i as f32 * 0.1).sin().to_le_bytes())
        .collect();
    std::fs::write(&raw, values).unwrap();
    for exe in &exes {
        let run = |args: &[&str]| {
            let mut cmd = Command::new(exe);
            cmd.args(args);
            support::run_with_limit(&mut cmd, Duration::from_secs(60))
        };
        let raw = raw.to_str().unwrap();
        // usage, unknown compressor, wrong size, bad dtype
        assert_eq!(run(&[]).status.code(), Some(2));
        assert_eq!(
            run(&["no-such-compressor", raw, "float", "64"])
                .status
                .code(),
            Some(2)
        );
        if let Some(id) = compressors_with_abs().first() {
            assert_eq!(run(&[id, raw, "float", "65"]).status.code(), Some(2));
            assert_eq!(run(&[id, raw, "complex", "64"]).status.code(), Some(2));
            // unknown key and unparsable value
            let out = run(&[id, raw, "float", "64", "no:such_key=1"]);
            assert_eq!(out.status.code(), Some(2));
            let out = run(&[id, raw, "float", "64", "pressio:abs=abc"]);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(String::from_utf8_lossy(&out.stderr).contains("pressio:abs"));
            let out = run(&[id, raw, "float", "8", "8", "pressio:abs=0.01"]);
            support::expect_success("example on a small input", &out);
        }
    }
}

/// Fill values through the C ABI: a real 3-D field with a GrADS UNDEF (-2.56e33) terrain mask,
/// compressed by the C example with `pressio:fill_value` declared (parsed by
/// `pressio_ml_options_cast_set_string`) at `pressio:rel` 1e-3: every compressor must return
/// each fill point bit-exactly and keep every other point within 1e-3 of the valid range.
#[test]
fn examples_keep_fill_values_exactly() {
    let Some(field) = Field::load("geocat/ncep06_T_17x64x128.f32") else {
        support::skip("../shared/data is missing: the fill-value example run is skipped");
        return;
    };
    const UNDEF: f32 = -2.56e33;
    let (nx, ny) = (field.dims[0], field.dims[1]);
    let mut values = field.values.clone();
    for (i, v) in values.iter_mut().enumerate() {
        let (x, y, z) = (i % nx, (i / nx) % ny, i / (nx * ny));
        let terrain = 1.5 + 1.5 * ((x as f32) * 0.15).sin() * ((y as f32) * 0.11).cos();
        if (z as f32) < terrain {
            *v = UNDEF;
        }
    }
    let (lo, hi) = values
        .iter()
        .filter(|&&v| v != UNDEF)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v as f64), hi.max(v as f64))
        });
    let bound = 1e-3 * (hi - lo);
    let input = support::out_dir().join("fill_ncep06_T.f32");
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&input, bytes).unwrap();
    let exe = support::compile(
        Lang::C,
        &[support::repo().join("examples/c/roundtrip.c")],
        "roundtrip_c_fill",
        Link::Shared,
    );
    for id in compressors_with_abs() {
        let mut cmd = Command::new(&exe);
        cmd.arg(&id).arg(&input).arg("float");
        cmd.args(field.dims.iter().map(|d| d.to_string()));
        cmd.arg("pressio:rel=1e-3")
            .arg(format!("pressio:fill_value={UNDEF:e}"));
        if id == "gwlz" {
            cmd.arg("gwlz:epochs=1").arg("gwlz:max_samples=256");
        }
        let out = support::run_with_limit(&mut cmd, Duration::from_secs(300));
        support::expect_success(&format!("{id} with a declared fill value"), &out);
        let r = parse(&String::from_utf8_lossy(&out.stdout));
        // fill points come back exactly (error 0), so the max over all points is the max over
        // the valid ones
        let max_err: f64 = r
            .get("max_abs_error")
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN);
        assert!(
            max_err <= bound,
            "{id}: max error {max_err:e} > {bound:e} with the fill value declared"
        );
        eprintln!(
            "{id}: fill declared, ratio {}, max error {max_err:e} (bound {bound:e})",
            r.get("compression_ratio").cloned().unwrap_or_default()
        );
    }
}

/// Integers through the C ABI: a real field cast to int16 (`examples/c/roundtrip.c` takes the
/// dtype on its command line), every compressor at `pressio:abs=3.5`: the integer error must be
/// at most 3.
#[test]
fn examples_keep_integer_bounds() {
    let Some(field) = Field::load("geocat/ncep06_Z3_17x64x128.f32") else {
        support::skip("../shared/data is missing: the integer example run is skipped");
        return;
    };
    let input = support::out_dir().join("int16_ncep06_Z3.i16");
    let bytes: Vec<u8> = field
        .values
        .iter()
        .flat_map(|v| (v.round() as i16).to_le_bytes())
        .collect();
    std::fs::write(&input, bytes).unwrap();
    let exe = support::compile(
        Lang::C,
        &[support::repo().join("examples/c/roundtrip.c")],
        "roundtrip_c_int",
        Link::Shared,
    );
    for id in compressors_with_abs() {
        let mut cmd = Command::new(&exe);
        cmd.arg(&id).arg(&input).arg("int16");
        cmd.args(field.dims.iter().map(|d| d.to_string()));
        cmd.arg("pressio:abs=3.5");
        if id == "gwlz" {
            cmd.arg("gwlz:epochs=1").arg("gwlz:max_samples=256");
        }
        let out = support::run_with_limit(&mut cmd, Duration::from_secs(300));
        support::expect_success(&format!("{id} on int16"), &out);
        let r = parse(&String::from_utf8_lossy(&out.stdout));
        let max_err: f64 = r
            .get("max_abs_error")
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN);
        assert!(max_err <= 3.0, "{id}: int16 error {max_err} > 3");
        eprintln!(
            "{id}: int16, ratio {}, max error {max_err}",
            r.get("compression_ratio").cloned().unwrap_or_default()
        );
    }
}
