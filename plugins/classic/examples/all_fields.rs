//! Compression ratios of classic (interp, lorenzo, auto) and SZ3 (default tuned interpolation)
//! on every shared field, with geometric means of the ratio to SZ3.
//!
//! ```text
//! cargo run --release -p pressio-ml-classic --example all_fields [-- REL...]
//! ```

use pressio_ml_classic::Classic;
use pressio_ml_core::{keys, CompressorPlugin, DType, Data, Options};
use std::path::{Path, PathBuf};

fn data_dir() -> PathBuf {
    std::env::var_os("PRESSIO_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

fn classic_size(input: &Data, rel: f64, predictor: &str) -> usize {
    let mut c = Classic::default();
    c.set_options(
        &Options::new()
            .with(keys::REL, rel)
            .with("classic:predictor", predictor),
    )
    .expect("options");
    let z = c.compress(input).expect("compress");
    let d = c
        .decompress(&z, &Data::empty(DType::Float, input.dims()))
        .expect("decompress");
    let (a, b) = (
        input.as_slice::<f32>().expect("f32"),
        d.as_slice::<f32>().expect("f32"),
    );
    let (lo, hi) = a
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v as f64), h.max(v as f64))
        });
    let err = a
        .iter()
        .zip(b)
        .filter(|(x, _)| x.is_finite())
        .map(|(x, y)| (*x as f64 - *y as f64).abs())
        .fold(0.0, f64::max);
    assert!(err <= rel * (hi - lo), "bound broken");
    z.num_bytes()
}

fn sz3_size(v: &[f32], c_dims: &[usize], rel: f64) -> usize {
    let mut b = sz3::DimensionedData::build(&v);
    for &d in c_dims.iter().filter(|&&d| d > 1) {
        b = b.dim(d).expect("dim");
    }
    let data = b.finish().expect("dims");
    sz3::compress(&data, sz3::ErrorBound::Relative(rel))
        .expect("sz3")
        .len()
}

fn main() {
    let mut rels: Vec<f64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if rels.is_empty() {
        rels = vec![1e-2, 1e-3, 1e-4];
    }
    let mut files = Vec::new();
    for d in std::fs::read_dir(data_dir())
        .expect("shared data")
        .flatten()
    {
        if let Ok(fs) = std::fs::read_dir(d.path()) {
            for f in fs.flatten() {
                if f.path().extension().is_some_and(|e| e == "f32") {
                    files.push(f.path());
                }
            }
        }
    }
    files.sort();
    println!(
        "{:<40} {:>6} | {:>9} {:>9} {:>9} {:>9} | {:>6} {:>6} {:>6}",
        "field", "rel", "interp", "lorenzo", "auto", "sz3", "i/sz3", "l/sz3", "a/sz3"
    );
    let mut logs = [0.0f64; 3];
    let mut count = 0.0;
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let stem = name.trim_end_matches(".f32");
        let c_dims: Vec<usize> = stem
            .rsplit('_')
            .next()
            .expect("dims")
            .split('x')
            .map(|s| s.parse().expect("dim"))
            .collect();
        let bytes = std::fs::read(&path).expect("read");
        let v: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let fdims: Vec<usize> = c_dims.iter().rev().copied().collect();
        let input = Data::from_vec(v.clone(), &fdims).expect("data");
        let raw = bytes.len() as f64;
        for &rel in &rels {
            let sizes = [
                classic_size(&input, rel, "interp"),
                classic_size(&input, rel, "lorenzo"),
                classic_size(&input, rel, "auto"),
            ];
            let s = sz3_size(&v, &c_dims, rel);
            let r: Vec<f64> = sizes.iter().map(|&z| s as f64 / z as f64).collect();
            println!(
                "{:<40} {:>6.0e} | {:>9.2} {:>9.2} {:>9.2} {:>9.2} | {:>6.3} {:>6.3} {:>6.3}",
                name,
                rel,
                raw / sizes[0] as f64,
                raw / sizes[1] as f64,
                raw / sizes[2] as f64,
                raw / s as f64,
                r[0],
                r[1],
                r[2]
            );
            for k in 0..3 {
                logs[k] += r[k].ln();
            }
            count += 1.0;
        }
    }
    println!(
        "geometric mean of CR / CR(sz3): interp {:.3}, lorenzo {:.3}, auto {:.3} over {} runs",
        (logs[0] / count).exp(),
        (logs[1] / count).exp(),
        (logs[2] / count).exp(),
        count
    );
}
