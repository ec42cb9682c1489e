//! DeepCQ on the command line with the shipped model: `predict`, `opt`, the metric through the
//! `pressio`-style path, and clear errors.

mod common;

use common::*;

fn field() -> Option<std::path::PathBuf> {
    let p = shared_data()?.join("geocat/ncep06_V_17x64x128.f32");
    p.is_file().then_some(p)
}

#[test]
fn the_deepcq_commands_parse() {
    for cmd in ["predict", "opt", "deepcq-bench"] {
        let r = run(&[cmd, "--help"]).ok();
        assert!(r.stdout.contains("Usage"), "{cmd}: {}", r.stdout);
    }
    let r = run(&["train", "deepcq", "--help"]).ok();
    assert!(r.stdout.contains("--labels-only"), "{}", r.stdout);
}

#[test]
fn predict_prints_the_whole_table() {
    let Some(f) = field() else {
        return skip("../shared/data not found");
    };
    let r = run(&["predict", "-i", f.to_str().unwrap()]).ok();
    let rows: Vec<Vec<&str>> = r
        .stdout
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("compressor,"))
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 20 * 4, "{}", r.stdout);
    for c in ["sz3", "zfp", "sperr", "classic"] {
        let ratios: Vec<f64> = rows
            .iter()
            .filter(|r| r[0] == c)
            .map(|r| r[2].parse().unwrap())
            .collect();
        let psnr: Vec<f64> = rows
            .iter()
            .filter(|r| r[0] == c)
            .map(|r| r[3].parse().unwrap())
            .collect();
        // looser bounds: higher ratios and lower PSNR, over the trained range
        assert!(ratios[19] > 2.0 * ratios[0], "{c}: {ratios:?}");
        assert!(psnr[0] > psnr[19] + 20.0, "{c}: {psnr:?}");
    }
    run(&[
        "predict",
        "-i",
        f.to_str().unwrap(),
        "--compressor",
        "nosuch",
    ])
    .fails_with(&["nosuch", "sz3"]);
    run(&[
        "predict",
        "-i",
        f.to_str().unwrap(),
        "--model",
        "no-such-deepcq",
    ])
    .fails_with(&["no-such-deepcq"]);
    let r = run(&["predict", "-i", f.to_str().unwrap(), "--bound", "1e-7"]).ok();
    assert!(r.stdout.contains("extrapolated"), "{}", r.stdout);
}

#[test]
fn opt_meets_a_ratio_target_and_reports_real_compressions() {
    let Some(f) = field() else {
        return skip("../shared/data not found");
    };
    let r = run(&[
        "opt",
        "-i",
        f.to_str().unwrap(),
        "--compressor",
        "sz3",
        "--target-ratio",
        "25",
    ])
    .ok();
    let line = |what: &str| {
        r.stdout
            .lines()
            .find(|l| l.starts_with(what))
            .unwrap_or_else(|| panic!("no `{what}` line in\n{}", r.stdout))
            .to_string()
    };
    for what in ["deepcq:", "bisection:"] {
        let l = line(what);
        assert!(l.contains("target met"), "{l}");
        assert!(l.contains("real compressions"), "{l}");
    }
    run(&["opt", "-i", f.to_str().unwrap(), "--compressor", "sz3"]).fails_with(&["--target"]);
    run(&[
        "opt",
        "-i",
        f.to_str().unwrap(),
        "--compressor",
        "nosuch",
        "--target-ratio",
        "5",
    ])
    .fails_with(&["nosuch"]);
}

#[test]
fn the_metric_runs_in_the_pressio_path() {
    let Some(f) = field() else {
        return skip("../shared/data not found");
    };
    let r = run(&[
        "-i",
        f.to_str().unwrap(),
        "-b",
        "compressor=sz3",
        "-o",
        "rel=1e-3",
        "-m",
        "deepcq",
        "-M",
        "deepcq:.*",
    ])
    .ok();
    let lines = parse_lines(&r.stdout);
    let get = |k: &str| {
        lines
            .iter()
            .find(|l| l.0 == k)
            .unwrap_or_else(|| panic!("no {k} in\n{}", r.stdout))
            .2
            .clone()
    };
    let ratio: f64 = get("deepcq:sz3:size:compression_ratio").parse().unwrap();
    assert!(ratio > 2.0, "{ratio}");
    assert_eq!(get("deepcq:warning"), "");
    let bound: f64 = get("deepcq:bound").parse().unwrap();
    assert!((bound - 1e-3).abs() < 1e-12);
}
