//! The pressio-ml demo: makes a smooth 3-D field with sharp features, compresses it with every
//! registered compressor at one value-range-relative bound, and prints compression ratio, PSNR,
//! max error (checked against the bound) and throughput.
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
    let input = Data::from_vec(values, &dims).expect("valid dims");
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
    if failures > 0 {
        eprintln!("\n{failures} compressor(s) failed or broke the bound");
        std::process::exit(1);
    }
    println!("\nevery compressor kept the bound");
}
