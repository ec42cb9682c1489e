//! Streams that no host library can change: the learned compressors whose network predictions
//! feed quantization (aesz's decoder, gwlz's enhancers, srnsz's super-resolution network) must
//! write the same bytes, and decode each other's streams, whatever BLAS or OpenMP runtime the
//! process has loaded before libtorch and whatever `pressio:nthreads` says. Each run is a fresh
//! `pressio-ml` process,
//! plain or with the system reference BLAS or LLVM's OpenMP runtime in `LD_PRELOAD` (what a
//! LibPressio host with its own BLAS looks like to the plugin).

mod common;

use common::TempDir;
use pressio_ml_testdata::foreign_libs::foreign_libs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The flag that writes the compressed stream, as in LibPressio's `pressio`.
const WRITE_COMPRESSED: &str = "-w";
/// The flag that writes the decompressed values, as in LibPressio's `pressio`.
const WRITE_DECOMPRESSED: &str = "-W";

/// Two 128x64 CESM TREFHT days (held out from the shipped model's training), where aesz picks
/// autoencoder blocks.
fn cesm_cut(dir: &TempDir) -> Option<(PathBuf, Vec<f32>)> {
    let src = pressio_ml_testdata::data_dir()?.join("geocat/cesm_trefht_ens_8x110x64x128.f32");
    let bytes = std::fs::read(src).ok()?;
    let plane = 128 * 64 * 4;
    let start = (7 * 110 + 30) * plane;
    let cut = bytes.get(start..start + 2 * plane)?;
    let path = dir.join("cesm_128x64x2.f32");
    std::fs::write(&path, cut).ok()?;
    Some((path, common::read_f32(&dir.join("cesm_128x64x2.f32"))))
}

/// One environment: a name and an optional library to preload.
fn environments() -> Vec<(String, Option<PathBuf>)> {
    let mut envs = vec![("plain".to_string(), None)];
    envs.extend(
        foreign_libs()
            .into_iter()
            .map(|l| (l.name.to_string(), Some(l.path))),
    );
    envs
}

fn pressio_ml(preload: &Option<PathBuf>, args: &[String]) -> common::Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pressio-ml"));
    cmd.args(args);
    match preload {
        Some(p) => cmd.env("LD_PRELOAD", p),
        None => cmd.env_remove("LD_PRELOAD"),
    };
    let out = cmd.output().expect("the pressio-ml binary runs");
    common::Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn dims_args() -> Vec<String> {
    args(&["-t", "float", "-d", "128", "-d", "64", "-d", "2"])
}

/// Arguments of one run of `action` (compress or decompress) on `input`, writing `output` with
/// `out_flag`, at `nt` threads.
fn run_args(
    input: &Path,
    compressor: &str,
    action: &str,
    options: &[&str],
    nt: usize,
    out_flag: &str,
    output: &Path,
) -> Vec<String> {
    let mut a = args(&["-i", input.to_str().unwrap()]);
    a.extend(dims_args());
    a.extend(args(&[
        "-b",
        &format!("compressor={compressor}"),
        "-a",
        action,
    ]));
    for o in options {
        a.extend(args(&["-o", o]));
    }
    a.extend(args(&[
        "-o",
        &format!("pressio:nthreads={nt}"),
        out_flag,
        output.to_str().unwrap(),
        "-M",
        "all",
    ]));
    a
}

/// Keep the first `bytes` seen as the reference; panic when later ones differ.
fn same_as_first(first: &mut Option<(String, Vec<u8>)>, what: String, bytes: Vec<u8>) {
    match first {
        None => *first = Some((what, bytes)),
        Some((w, r)) => {
            let at = r.iter().zip(&bytes).position(|(a, b)| a != b);
            assert!(
                *r == bytes,
                "{what} differs from {w} (first differing byte {at:?}, lengths {} and {})",
                bytes.len(),
                r.len()
            );
        }
    }
}

/// Compress `input` with `options` in every environment at 1 and 2 threads; every stream must
/// be the plain single-thread one, byte for byte. Returns it.
fn same_stream_everywhere(
    dir: &TempDir,
    input: &Path,
    compressor: &str,
    options: &[&str],
    expect: impl Fn(&common::Run),
) -> PathBuf {
    let mut first = None;
    for (name, preload) in environments() {
        for nt in [1, 2] {
            let stream = dir.join(&format!("{compressor}-{name}-{nt}.bin"));
            let a = run_args(
                input,
                compressor,
                "compress",
                options,
                nt,
                WRITE_COMPRESSED,
                &stream,
            );
            expect(&pressio_ml(&preload, &a).ok());
            let what = format!("the {compressor} stream made with {name} at {nt} thread(s)");
            same_as_first(&mut first, what, std::fs::read(&stream).unwrap());
        }
    }
    dir.join(&format!("{compressor}-plain-1.bin"))
}

/// Decode `stream` in every environment at 1 and 2 threads: every output is the same bytes
/// and within `abs` of `values`.
fn decodes_everywhere(dir: &TempDir, stream: &Path, compressor: &str, values: &[f32], abs: f64) {
    let mut first = None;
    for (name, preload) in environments() {
        for nt in [1, 2] {
            let out = dir.join(&format!("{compressor}-{name}-{nt}.out"));
            let a = run_args(
                stream,
                compressor,
                "decompress",
                &[],
                nt,
                WRITE_DECOMPRESSED,
                &out,
            );
            pressio_ml(&preload, &a).ok();
            let got = common::read_f32(&out);
            assert_eq!(got.len(), values.len());
            let worst = values
                .iter()
                .zip(&got)
                .map(|(a, b)| (*a as f64 - *b as f64).abs())
                .fold(0f64, f64::max);
            assert!(
                worst <= abs,
                "{compressor} decoded with {name} at {nt} thread(s): error {worst} > {abs}"
            );
            let what = format!("the {compressor} output decoded with {name} at {nt} thread(s)");
            same_as_first(&mut first, what, std::fs::read(&out).unwrap());
        }
    }
}

fn metric(run: &common::Run, key: &str) -> Option<u64> {
    run.stdout
        .lines()
        .find(|l| l.starts_with(&format!("{key}<")))
        .and_then(|l| l.split(" = ").nth(1))
        .and_then(|v| v.trim().parse().ok())
}

/// Compress the CESM cut with `compressor` and `options` (bound 0.5) everywhere, check that
/// the network took part (`network_key` > 0), and decode everywhere.
fn check(compressor: &str, options: &[&str], network_key: &str) {
    check_at(compressor, options, network_key, 0.5)
}

/// [`check`] at bound `abs`.
fn check_at(compressor: &str, options: &[&str], network_key: &str, abs: f64) {
    let dir = TempDir::new(&format!("host-{compressor}"));
    let Some((input, values)) = cesm_cut(&dir) else {
        eprintln!("SKIPPED: ../shared/data is missing");
        return;
    };
    let bound = format!("pressio:abs={abs}");
    let mut all = vec![bound.as_str()];
    all.extend_from_slice(options);
    let stream = same_stream_everywhere(&dir, &input, compressor, &all, |run| {
        let used = metric(run, network_key).unwrap_or(0);
        assert!(
            used > 0,
            "{network_key} = 0: no network prediction:\n{}",
            run.stdout
        );
    });
    decodes_everywhere(&dir, &stream, compressor, &values, abs);
}

#[test]
fn aesz_streams_do_not_depend_on_the_host_blas_openmp_or_threads() {
    check(
        "aesz",
        &[
            "aesz:model=aesz-2d",
            "aesz:pipeline=sz2",
            "aesz:selection=l1",
        ],
        "aesz:ae_blocks",
    );
    // the interpolation pipeline takes AE blocks at loose bounds (about 1e-1 of the range)
    check_at(
        "aesz",
        &["aesz:model=aesz-2d", "aesz:pipeline=interp"],
        "aesz:ae_blocks",
        8.0,
    );
}

#[test]
fn gwlz_streams_do_not_depend_on_the_host_blas_openmp_or_threads() {
    check("gwlz", &["gwlz:compressor=classic"], "gwlz:models");
}

#[test]
fn srnsz_streams_do_not_depend_on_the_host_blas_openmp_or_threads() {
    check(
        "srnsz",
        &["srnsz:model=srnsz-general", "srnsz:force_network=true"],
        "srnsz:network_levels",
    );
}
