//! The pressio-ml demo: makes a smooth 3-D field with sharp features, compresses it with every
//! registered compressor at one value-range-relative bound, and prints compression ratio, PSNR,
//! max error (checked against the bound) and throughput. A second table does the same on the
//! field with a GrADS-style fill value (-2.56e33 "underground" below a terrain surface), once
//! without fill handling (`pressio:fill_mode=none`: the bound is relative to a range of 2.56e33)
//! and once with the default `auto`, and prints the max error over the valid points.
//!
//! Run with `./scripts/demo.sh` (or `cargo run --release --example demo -- [REL]`).

use pressio_ml::{registry, DType, Data, Options, Value};
use std::time::Instant;

/// A 96 x 96 x 64 field (fastest first): waves, a Gaussian bump, a front and a little noise.
fn make_field() -> (Vec<f32>, [usize; 3]) {
    let dims = [96usize, 96, 64];
    let mut v = Vec::with_capacity(dims.iter().product());
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for z in 0..dims[2] {
        for y in 0..dims[1] {
            for x in 0..dims[0] {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let noise = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                let (fx, fy, fz) = (x as f32, y as f32, z as f32);
                let waves = (fx / 7.0).sin() * (fy / 11.0).cos() + 0.3 * (fz / 5.0).sin();
                let r2 = (fx - 48.0).powi(2) + (fy - 40.0).powi(2) + (fz - 30.0).powi(2);
                let bump = 2.0 * (-r2 / 200.0).exp();
                let front = if fx + 0.5 * fy > 90.0 + 10.0 * (fz / 9.0).sin() {
                    0.8
                } else {
                    0.0
                };
                v.push(280.0 + 10.0 * (waves + bump + front) + 0.01 * noise);
            }
        }
    }
    (v, dims)
}

/// The GrADS missing value used by the fill-value part of the demo.
const UNDEF: f32 = -2.56e33;

/// The demo field with every point below a smooth terrain surface set to [`UNDEF`].
fn with_terrain_mask(values: &[f32], dims: [usize; 3]) -> Vec<f32> {
    let mut v = values.to_vec();
    for z in 0..dims[2] {
        for y in 0..dims[1] {
            for x in 0..dims[0] {
                let terrain = 6.0 + 5.0 * ((x as f32) / 13.0).sin() * ((y as f32) / 17.0).cos();
                if (z as f32) < terrain {
                    v[x + dims[0] * (y + dims[1] * z)] = UNDEF;
                }
            }
        }
    }
    v
}

/// Compress and decompress `input` with `id` under `opts`: stream bytes, the bytes the stream
/// spends on its hole map (`<id>:mask_bytes`), decompressed values.
fn round_trip(
    id: &str,
    input: &Data,
    opts: &Options,
) -> pressio_ml::Result<(usize, u64, Vec<f32>)> {
    let reg = registry();
    let mut c = reg.compressor(id)?;
    c.set_options(opts)?;
    let mut compressed = Data::empty(DType::Byte, &[]);
    c.compress(input, &mut compressed)?;
    let mask = match c.get_metrics_results().value(&format!("{id}:mask_bytes")) {
        Some(Value::U64(b)) => *b,
        _ => 0,
    };
    let mut output = Data::empty(DType::Float, input.dims());
    c.decompress(&compressed, &mut output)?;
    Ok((
        compressed.num_bytes(),
        mask,
        output.as_slice::<f32>()?.to_vec(),
    ))
}

/// The fill-value table; returns the number of failures (a broken bound or a changed fill point).
fn fill_demo(values: &[f32], dims: [usize; 3], rel: f64) -> usize {
    let masked = with_terrain_mask(values, dims);
    let valid = |v: f32| v != UNDEF;
    let fills = masked.iter().filter(|&&v| !valid(v)).count();
    let (lo, hi) = masked
        .iter()
        .filter(|&&v| valid(v))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v as f64), hi.max(v as f64))
        });
    let bound = rel * (hi - lo);
    let input = Data::from_vec(masked.clone(), &dims).expect("valid dims");
    println!(
        "
the same field with {fills} points ({:.1}%) underground at the GrADS fill value {UNDEF:e}; \
         bound on the valid points: rel x valid range = {bound:.4e}\n",
        100.0 * fills as f64 / masked.len() as f64
    );
    println!(
        "{:<10} {:>14} {:>16} {:>14} {:>16} {:>12} {:>6}",
        "compressor",
        "ratio (none)",
        "max err (none)",
        "ratio (auto)",
        "max err (auto)",
        "mask bytes",
        "ok"
    );
    let mut failures = 0;
    for id in registry().compressor_ids() {
        let mut cells = Vec::new();
        let mut ok = true;
        let mut mask_bytes = 0;
        for mode in ["none", "auto"] {
            let opts = Options::new()
                .with("pressio:rel", rel)
                .with("pressio:fill_mode", mode);
            match round_trip(&id, &input, &opts) {
                Ok((bytes, mask, out)) => {
                    let mut worst = 0.0f64;
                    for (&a, &b) in masked.iter().zip(&out) {
                        if valid(a) {
                            worst = worst.max((a as f64 - b as f64).abs());
                        } else if mode == "auto" && a.to_bits() != b.to_bits() {
                            ok = false;
                        }
                    }
                    if mode == "auto" && worst > bound {
                        ok = false;
                    }
                    cells.push(format!(
                        "{:>14.2} {:>16.4e}",
                        (masked.len() * 4) as f64 / bytes as f64,
                        worst
                    ));
                    if mode == "auto" {
                        mask_bytes = mask;
                    }
                }
                Err(e) => {
                    if mode == "auto" {
                        ok = false;
                    }
                    cells.push(format!("{:>31}", format!("error: {e}")));
                }
            }
        }
        failures += usize::from(!ok);
        println!(
            "{id:<10} {} {} {mask_bytes:>12} {:>6}",
            cells[0],
            cells[1],
            if ok { "yes" } else { "NO" }
        );
    }
    failures
}

fn f64_of(o: &Options, k: &str) -> f64 {
    match o.value(k) {
        Some(Value::F64(v)) => *v,
        _ => f64::NAN,
    }
}

fn main() {
    let rel: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1e-3);
    let (values, dims) = make_field();
    let input = Data::from_vec(values.clone(), &dims).expect("valid dims");
    let mb = input.num_bytes() as f64 / 1e6;
    let reg = registry();
    println!(
        "pressio-ml {} demo: {}x{}x{} float field ({:.1} MB), pressio:rel = {rel:e}\n",
        pressio_ml::VERSION,
        dims[0],
        dims[1],
        dims[2],
        mb
    );
    println!(
        "{:<10} {:>9} {:>9} {:>12} {:>12} {:>6} {:>10} {:>10}",
        "compressor", "ratio", "PSNR dB", "max error", "bound", "ok", "comp MB/s", "dec MB/s"
    );
    let mut failures = 0;
    for id in reg.compressor_ids() {
        let run = || -> pressio_ml::Result<(Options, f64, f64)> {
            let mut c = reg.compressor(&id)?;
            c.set_options(&Options::new().with("pressio:rel", rel))?;
            c.set_metrics(&reg.metrics(&["size", "error_stat"])?);
            let mut compressed = Data::empty(DType::Byte, &[]);
            let t0 = Instant::now();
            c.compress(&input, &mut compressed)?;
            let tc = t0.elapsed().as_secs_f64();
            let mut output = Data::empty(DType::Float, &dims);
            let t1 = Instant::now();
            c.decompress(&compressed, &mut output)?;
            let td = t1.elapsed().as_secs_f64();
            Ok((c.get_metrics_results(), tc, td))
        };
        match run() {
            Ok((m, tc, td)) => {
                let range = f64_of(&m, "error_stat:value_range");
                let bound = rel * range;
                let max_err = f64_of(&m, "error_stat:max_error");
                let ok = max_err <= bound;
                failures += usize::from(!ok);
                println!(
                    "{:<10} {:>9.2} {:>9.2} {:>12.4e} {:>12.4e} {:>6} {:>10.1} {:>10.1}",
                    id,
                    f64_of(&m, "size:compression_ratio"),
                    f64_of(&m, "error_stat:psnr"),
                    max_err,
                    bound,
                    if ok { "yes" } else { "NO" },
                    mb / tc,
                    mb / td
                );
            }
            Err(e) => {
                failures += 1;
                println!("{id:<10} error: {e}");
            }
        }
    }
    failures += fill_demo(&values, dims, rel);
    if failures > 0 {
        eprintln!("\n{failures} compressor(s) failed or broke the bound");
        std::process::exit(1);
    }
    println!("\nevery compressor kept the bound (with fill values: on the valid points, fill points exact)");
}
