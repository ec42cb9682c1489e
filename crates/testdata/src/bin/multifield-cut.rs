//! Cut a multi-field set of the shared data into its training and test parts, as raw files for
//! `cfnn-train` and `pressio-ml`:
//!
//! ```text
//! multifield-cut --set NAME|all --out DIR [--data DATA_DIR]
//! ```
//!
//! writes `DIR/NAME/{target,anchor0,anchor1,...}.{train,test}.f32` (headerless little-endian
//! f32), the same files under the fields' names as `DIR/NAME/{train,test}/<field>.f32` (hard
//! links, so that `cfnn-train` records the field names in its manifest), and prints the `-d`
//! dims of each part (fastest first), the anchor order and a `cfnn-train` command line for the
//! training part. `DATA_DIR` defaults to `$PRESSIO_ML_DATA` or `../shared/data`.

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

/// `to` as a second name of `from` (a hard link, or a copy where links are refused).
fn link(from: &Path, to: &Path) -> std::io::Result<()> {
    if to.exists() {
        std::fs::remove_file(to)?;
    }
    std::fs::hard_link(from, to).or_else(|_| std::fs::copy(from, to).map(|_| ()))
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
        let named = dir.join(part);
        std::fs::create_dir_all(&named)?;
        write_raw(&path("target"), &p.target)?;
        link(
            &path("target"),
            &named.join(format!("{}.f32", f.target_name)),
        )?;
        for (k, a) in p.anchors.iter().enumerate() {
            write_raw(&path(&format!("anchor{k}")), a)?;
            let field = f.anchor_names[k];
            link(
                &path(&format!("anchor{k}")),
                &named.join(format!("{field}.f32")),
            )?;
        }
        println!(
            "  {part:5} {} (slices {}..{} of {n}): {}",
            dims_args(&p.dims),
            range.start,
            range.end,
            dir.join(format!("*.{part}.f32")).display()
        );
    }
    let train = dir.join("train");
    let anchors: Vec<String> = f
        .anchor_names
        .iter()
        .map(|a| format!("--anchor {}", train.join(format!("{a}.f32")).display()))
        .collect();
    println!(
        "  cfnn-train --target {} {} {}",
        train.join(format!("{}.f32", f.target_name)).display(),
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
