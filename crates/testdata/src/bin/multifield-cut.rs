//! Cut a multi-field set of the shared data into its training and test parts, as raw files for
//! `cfnn-train` and `pressio-ml`:
//!
//! ```text
//! multifield-cut --set NAME|all --out DIR [--data DATA_DIR]
//! ```
//!
//! writes `DIR/NAME/{target,anchor0,anchor1,...}.{train,test}.f32` (headerless little-endian
//! f32) and prints the `-d` dims of each part (fastest first) and the anchor order. `DATA_DIR`
//! defaults to `$PRESSIO_ML_DATA` or `../shared/data`.

use pressio_ml_testdata::multifield::{set, write_raw, MultiField, SET_NAMES};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: multifield-cut --set NAME|all --out DIR [--data DATA_DIR]";

fn dims_args(dims: &[usize]) -> String {
    dims.iter()
        .map(|d| format!("-d {d}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn cut(f: &MultiField, out: &Path) -> std::io::Result<()> {
    let dir = out.join(f.name);
    std::fs::create_dir_all(&dir)?;
    println!(
        "{}: target {} from anchors {}",
        f.name,
        f.target_name,
        f.anchor_names.join(", ")
    );
    for (k, a) in f.anchor_names.iter().enumerate() {
        println!("  anchor{k} = {a}");
    }
    let n = f.slices();
    for (part, p, range) in [
        ("train", f.train_part(), 0..f.split),
        ("test", f.test_part(), f.split..n),
    ] {
        let path = |stem: &str| dir.join(format!("{stem}.{part}.f32"));
        write_raw(&path("target"), &p.target)?;
        for (k, a) in p.anchors.iter().enumerate() {
            write_raw(&path(&format!("anchor{k}")), a)?;
        }
        println!(
            "  {part:5} {} (slices {}..{} of {n}): {}",
            dims_args(&p.dims),
            range.start,
            range.end,
            dir.join(format!("*.{part}.f32")).display()
        );
    }
    let anchors: Vec<String> = (0..f.anchors.len())
        .map(|k| {
            format!(
                "--anchor {}",
                dir.join(format!("anchor{k}.train.f32")).display()
            )
        })
        .collect();
    println!(
        "  cfnn-train --target {} {} {}",
        dir.join("target.train.f32").display(),
        anchors.join(" "),
        dims_args(&f.train_part().dims)
    );
    Ok(())
}

fn main() -> ExitCode {
    let (mut name, mut out, mut data) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let slot = match a.as_str() {
            "--set" => &mut name,
            "--out" => &mut out,
            "--data" => &mut data,
            "-h" | "--help" => {
                println!("{USAGE}\nsets: {}", SET_NAMES.join(", "));
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("unknown argument `{a}`\n{USAGE}");
                return ExitCode::from(2);
            }
        };
        let Some(v) = args.next() else {
            eprintln!("`{a}` needs a value\n{USAGE}");
            return ExitCode::from(2);
        };
        *slot = Some(v);
    }
    let (Some(name), Some(out)) = (name, out) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let Some(data) = data
        .map(PathBuf::from)
        .or_else(pressio_ml_testdata::data_dir)
    else {
        eprintln!("no shared data directory: pass --data or set PRESSIO_ML_DATA");
        return ExitCode::FAILURE;
    };
    let names: Vec<&str> = if name == "all" {
        SET_NAMES.to_vec()
    } else {
        vec![name.as_str()]
    };
    for n in names {
        let Some(f) = set(&data, n) else {
            eprintln!(
                "set `{n}` is unknown or its files are missing in {} (sets: {})",
                data.display(),
                SET_NAMES.join(", ")
            );
            return ExitCode::FAILURE;
        };
        if let Err(e) = cut(&f, Path::new(&out)) {
            eprintln!("{n}: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
