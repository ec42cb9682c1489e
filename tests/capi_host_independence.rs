//! The C interface gives the same aesz and gwlz streams in any host process: the example
//! `examples/c/stream_files.c` (linked with the shared and the static library) compresses and
//! decompresses in fresh processes, plain or with the system reference BLAS or LLVM's OpenMP
//! runtime in `LD_PRELOAD`, at `pressio:nthreads` 1 and 2. Every stream must equal the one this
//! test process makes through the Rust API, and every process must decode it to the same
//! values, within the bound.

#[path = "c/support.rs"]
mod support;

use pressio_ml::registry;
use pressio_ml_core::{DType, Data, Options};
use pressio_ml_testdata::foreign_libs::foreign_libs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::{Field, Lang, Link};

/// Two 128x64 CESM TREFHT days (held out from the shipped model's training).
fn cesm_cut(dir: &Path) -> Option<(PathBuf, Vec<f32>)> {
    let field = Field::load("geocat/cesm_trefht_ens_8x110x64x128.f32")?;
    let start = (7 * 110 + 30) * 128 * 64;
    let values = field.values[start..start + 2 * 128 * 64].to_vec();
    let path = dir.join("cesm_128x64x2.f32");
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&path, bytes).unwrap();
    Some((path, values))
}

const DIMS: [usize; 3] = [128, 64, 2];

fn run(exe: &Path, preload: &Option<PathBuf>, args: &[String]) -> std::process::Output {
    let mut cmd = Command::new(exe);
    cmd.args(args);
    match preload {
        Some(p) => cmd.env("LD_PRELOAD", p),
        None => cmd.env_remove("LD_PRELOAD"),
    };
    let out = support::run_with_limit(&mut cmd, Duration::from_secs(300));
    support::expect_success(&format!("{args:?} with LD_PRELOAD={preload:?}"), &out);
    out
}

fn check(compressor: &str, options: &[(&str, &str)], abs: f64) {
    let dir = support::out_dir().join(format!("host-{compressor}"));
    std::fs::create_dir_all(&dir).unwrap();
    let Some((raw, values)) = cesm_cut(&dir) else {
        support::skip("../shared/data is missing");
        return;
    };
    // The stream of this process, through the Rust API.
    let mut c = registry().compressor(compressor).unwrap();
    let mut opts = Options::new();
    for (k, v) in options {
        opts = opts.with(*k, *v);
    }
    let opts = opts.with("pressio:abs", abs);
    c.set_options(&opts).unwrap();
    let input = Data::from_vec(values.clone(), &DIMS).unwrap();
    let mut own = Data::empty(DType::Byte, &[]);
    c.compress(&input, &mut own).unwrap();
    // the networks must take part, or the test shows nothing
    let results = c.plugin().metrics_results();
    let used = match compressor {
        "aesz" => results
            .get_typed::<u64>("aesz:ae_blocks")
            .unwrap()
            .unwrap_or(0),
        _ => u64::from(
            results
                .get_typed::<u32>("gwlz:models")
                .unwrap()
                .unwrap_or(0),
        ),
    };
    assert!(
        used > 0,
        "{compressor}: no network prediction in the stream"
    );

    let src = vec![support::repo().join("examples/c/stream_files.c")];
    let mut envs: Vec<(String, Option<PathBuf>)> = vec![("plain".into(), None)];
    envs.extend(
        foreign_libs()
            .into_iter()
            .map(|l| (l.name.to_string(), Some(l.path))),
    );
    let dims: Vec<String> = DIMS.iter().map(|d| d.to_string()).collect();
    let mut decoded: Option<Vec<u8>> = None;
    for link in Link::ALL {
        let exe = support::compile(Lang::C, &src, &format!("stream_files_{compressor}"), link);
        for (name, preload) in &envs {
            for nt in [1, 2] {
                let what = format!("{compressor}, C {}, {name}, {nt} thread(s)", link.name());
                let stream = dir.join(format!("{}-{name}-{nt}.bin", link.name()));
                let mut a = vec![
                    "compress".to_string(),
                    compressor.to_string(),
                    raw.display().to_string(),
                    stream.display().to_string(),
                    "float".to_string(),
                ];
                a.extend(dims.iter().cloned());
                a.extend(options.iter().map(|(k, v)| format!("{k}={v}")));
                a.push(format!("pressio:abs={abs:e}"));
                a.push(format!("pressio:nthreads={nt}"));
                run(&exe, preload, &a);
                let bytes = std::fs::read(&stream).unwrap();
                assert!(
                    bytes == own.bytes(),
                    "{what}: the stream differs from the Rust API's in this process"
                );
                let out = dir.join(format!("{}-{name}-{nt}.f32", link.name()));
                let mut a = vec![
                    "decompress".to_string(),
                    compressor.to_string(),
                    stream.display().to_string(),
                    out.display().to_string(),
                    "float".to_string(),
                ];
                a.extend(dims.iter().cloned());
                a.push(format!("pressio:nthreads={nt}"));
                run(&exe, preload, &a);
                let got = std::fs::read(&out).unwrap();
                let worst = got
                    .chunks_exact(4)
                    .zip(&values)
                    .map(|(b, v)| {
                        (f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64 - *v as f64).abs()
                    })
                    .fold(0f64, f64::max);
                assert_eq!(got.len(), values.len() * 4, "{what}");
                assert!(worst <= abs, "{what}: error {worst} > {abs}");
                match &decoded {
                    None => decoded = Some(got),
                    Some(d) => assert!(*d == got, "{what}: decoded values differ"),
                }
            }
        }
    }
}

#[test]
fn aesz_streams_are_the_same_in_every_c_host() {
    check(
        "aesz",
        &[
            ("aesz:model", "aesz-2d"),
            ("aesz:pipeline", "sz2"),
            ("aesz:selection", "l1"),
        ],
        0.5,
    );
    // the interpolation pipeline takes AE blocks at loose bounds (about 1e-1 of the range)
    check(
        "aesz",
        &[("aesz:model", "aesz-2d"), ("aesz:pipeline", "interp")],
        8.0,
    );
}

#[test]
fn gwlz_streams_are_the_same_in_every_c_host() {
    check("gwlz", &[("gwlz:compressor", "classic")], 0.5);
}
