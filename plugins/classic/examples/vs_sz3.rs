//! Compare `classic` with real SZ3 (the `sz3` crate, SZ3 3.3.2) on shared fields: compression
//! ratio, compression and decompression throughput, maximum error.
//!
//! ```text
//! cargo run --release -p pressio-ml-classic --example vs_sz3 [-- REL... ] [--field path=name ...]
//! ```
//!
//! Reads `../shared/data` (or `$PRESSIO_DATA`). Timings are the best of a few repetitions on one
//! thread; they are indicative, not a benchmark.

use pressio_ml_classic::Classic;
use pressio_ml_core::{keys, CompressorPlugin, DType, Data, Options};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn data_dir() -> PathBuf {
    std::env::var_os("PRESSIO_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

/// Dims (C order, slowest first) from a file name like `x_17x64x128.f32`.
fn c_dims(name: &str) -> Option<Vec<usize>> {
    let stem = name.strip_suffix(".f32")?;
    let last = stem.rsplit('_').next()?;
    last.split('x').map(|s| s.parse().ok()).collect()
}

fn load(rel: &str, limit_c_dims: Option<Vec<usize>>) -> Option<(Vec<f32>, Vec<usize>)> {
    let path = data_dir().join(rel);
    let bytes = std::fs::read(&path).ok()?;
    let mut dims = c_dims(rel)?;
    if let Some(l) = limit_c_dims {
        dims = l;
    }
    let n: usize = dims.iter().product();
    let v: Vec<f32> = bytes
        .chunks_exact(4)
        .take(n)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (v.len() == n).then_some((v, dims))
}

fn best<R>(reps: usize, mut f: impl FnMut() -> R) -> (R, f64) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..reps {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(r);
    }
    (out.expect("at least one repetition"), best)
}

fn max_err(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).abs())
        .fold(0.0, f64::max)
}

fn run_classic(v: &[f32], c_dims: &[usize], rel: f64, opts: &Options) -> (usize, f64, f64, f64) {
    let fdims: Vec<usize> = c_dims.iter().rev().copied().collect();
    let input = Data::from_vec(v.to_vec(), &fdims).expect("dims");
    let mut c = Classic::default();
    c.set_options(&Options::new().with(keys::REL, rel))
        .expect("rel");
    c.set_options(opts).expect("options");
    let (z, tc) = best(5, || c.compress(&input).expect("compress"));
    let (d, td) = best(5, || {
        c.decompress(&z, &Data::empty(DType::Float, &fdims))
            .expect("decompress")
    });
    let err = max_err(v, d.as_slice::<f32>().expect("f32"));
    (z.num_bytes(), tc, td, err)
}

fn run_sz3(
    v: &[f32],
    c_dims: &[usize],
    rel: f64,
    algo: sz3::CompressionAlgorithm,
) -> (usize, f64, f64, f64) {
    let mut b = sz3::DimensionedData::build(&v);
    for &d in c_dims {
        b = b.dim(d).expect("dim");
    }
    let data = b.finish().expect("finish");
    let cfg = sz3::Config::new(sz3::ErrorBound::Relative(rel)).compression_algorithm(algo);
    let (z, tc) = best(5, || {
        sz3::compress_with_config(&data, &cfg).expect("sz3 compress")
    });
    let (d, td) = best(5, || {
        sz3::decompress::<f32, _>(&*z).expect("sz3 decompress").1
    });
    let err = max_err(v, d.data());
    (z.len(), tc, td, err)
}

fn main() {
    let mut rels: Vec<f64> = Vec::new();
    let mut extra: Vec<String> = Vec::new();
    let mut opts = Options::new();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--field" && i + 1 < args.len() {
            extra.push(args[i + 1].clone());
            i += 2;
        } else if args[i] == "--opt" && i + 1 < args.len() {
            let (k, v) = args[i + 1].split_once('=').expect("--opt key=value");
            if let Ok(x) = v.parse::<f64>() {
                if k.ends_with("alpha") || k.ends_with("beta") {
                    opts.set(k, x);
                } else if let Ok(u) = v.parse::<u32>() {
                    opts.set(k, u);
                }
            } else {
                opts.set(k, v);
            }
            i += 2;
        } else {
            rels.push(args[i].parse().expect("a relative bound"));
            i += 1;
        }
    }
    if rels.is_empty() {
        rels = vec![1e-3, 1e-4];
    }
    let mut fields: Vec<(String, Option<Vec<usize>>)> = vec![
        ("geocat/ncep06_T_17x64x128.f32".into(), None),
        (
            "geocat/cesm_trefht_ens_8x110x64x128.f32".into(),
            Some(vec![110, 64, 128]),
        ),
        ("sperr/wmag91_91x91x91.f32".into(), None),
        ("sperr/field999_999x999.f32".into(), None),
    ];
    if !extra.is_empty() {
        fields = extra.into_iter().map(|f| (f, None)).collect();
    }
    println!(
        "{:<44} {:>7} | {:>8} {:>8} {:>8} | {:>8} {:>8} | {:>7} {:>7} {:>7} | {:>7} {:>7} {:>7}",
        "field",
        "rel",
        "CR cls",
        "CR sz3",
        "CR sz3i",
        "cls/sz3",
        "cls/i",
        "MB/s c",
        "sz3 c",
        "sz3i c",
        "MB/s d",
        "sz3 d",
        "sz3i d"
    );
    let mut sum_ratio = 0.0;
    let mut sum_speed = 0.0;
    let mut count = 0.0;
    for (f, lim) in &fields {
        let Some((v, dims)) = load(f, lim.clone()) else {
            println!("skipped: {f} not found under {}", data_dir().display());
            continue;
        };
        let mb = v.len() as f64 * 4.0 / 1e6;
        for &rel in &rels {
            let (zc, tc, td, ec) = run_classic(&v, &dims, rel, &opts);
            let (zs, sc, sd, es) = run_sz3(
                &v,
                &dims,
                rel,
                sz3::CompressionAlgorithm::interpolation_lorenzo(),
            );
            let (zi, ic, id, ei) =
                run_sz3(&v, &dims, rel, sz3::CompressionAlgorithm::interpolation());
            let raw = v.len() as f64 * 4.0;
            let (crc, crs, cri) = (raw / zc as f64, raw / zs as f64, raw / zi as f64);
            println!(
                "{:<44} {:>7.0e} | {:>8.2} {:>8.2} {:>8.2} | {:>8.3} {:>8.3} | {:>7.0} {:>7.0} {:>7.0} | {:>7.0} {:>7.0} {:>7.0}  err {:.2e}/{:.2e}/{:.2e}",
                format!("{f}{}", if lim.is_some() { "*" } else { "" }),
                rel,
                crc,
                crs,
                cri,
                crc / crs,
                crc / cri,
                mb / tc,
                mb / sc,
                mb / ic,
                mb / td,
                mb / sd,
                mb / id,
                ec,
                es,
                ei
            );
            sum_ratio += crc / crs;
            sum_speed += sc / tc;
            count += 1.0;
        }
    }
    if count > 0.0 {
        println!(
            "mean CR(classic)/CR(sz3) = {:.3}; mean compress speed classic/sz3 = {:.2}",
            sum_ratio / count,
            sum_speed / count
        );
    }
}
