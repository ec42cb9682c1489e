//! Time the stages of classic's interpolation pipeline on one shared field (best of 5).
//!
//! ```text
//! cargo run --release -p pressio-ml-classic --example breakdown -- sperr/field999_999x999.f32 1e-3
//! ```

use pressio_ml_classic::body::Settings;
use pressio_ml_codec::interp::{self, InterpPlan};
use pressio_ml_codec::{huffman, lossless};
use std::path::Path;
use std::time::Instant;

fn best<R>(mut f: impl FnMut() -> R) -> (R, f64) {
    let mut b = f64::INFINITY;
    let mut out = None;
    for _ in 0..5 {
        let t = Instant::now();
        let r = f();
        b = b.min(t.elapsed().as_secs_f64());
        out = Some(r);
    }
    (out.expect("ran"), b)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rel_path = args
        .first()
        .map(String::as_str)
        .unwrap_or("sperr/field999_999x999.f32");
    let rel: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1e-3);
    let dir = std::env::var("PRESSIO_DATA").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data")
            .display()
            .to_string()
    });
    let bytes = std::fs::read(Path::new(&dir).join(rel_path)).expect("field");
    let stem = rel_path.trim_end_matches(".f32");
    let mut dims: Vec<usize> = stem
        .rsplit('_')
        .next()
        .expect("dims")
        .split('x')
        .map(|s| s.parse().expect("dim"))
        .collect();
    dims.reverse();
    let v: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let n = v.len();
    dims = pressio_ml_codec::interp::squeeze_dims(&dims, n).expect("dims");
    let (lo, hi) = v
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
            (l.min(x as f64), h.max(x as f64))
        });
    let eb = rel * (hi - lo);
    let mb = n as f64 * 4.0 / 1e6;
    let settings = Settings::default();
    let (params, t_tune) =
        best(|| pressio_ml_classic::tune::choose_params(&v, &dims, eb, &settings).expect("tune"));
    println!("params {params:?}");
    let plan = InterpPlan::standard(&dims, eb, &params).expect("plan");
    let (enc, t_interp) = best(|| interp::compress(&v, &plan, None).expect("interp"));
    let (huff, t_huff) = best(|| {
        let mut out = Vec::new();
        huffman::encode(&enc.codes, false, &mut out).expect("huffman");
        out
    });
    let (z, t_zstd) = best(|| lossless::compress(&huff, 3).expect("zstd"));
    let (_, t_unzstd) = best(|| lossless::decompress(&z, huff.len()).expect("unzstd"));
    let (_, t_unhuff) = best(|| huffman::decode(&huff, enc.codes.len(), false).expect("decode"));
    let (_, t_uninterp) = best(|| {
        interp::decompress(&plan, &enc.anchors, &enc.codes, &enc.unpredictables, None)
            .expect("decompress")
    });
    println!(
        "n={n} eb={eb:.3e} huff={} zstd={} unpred={} CR~{:.2}",
        huff.len(),
        z.len(),
        enc.unpredictables.len(),
        n as f64 * 4.0 / z.len() as f64
    );
    for (name, t) in [
        ("tune", t_tune),
        ("interp", t_interp),
        ("huffman", t_huff),
        ("zstd", t_zstd),
        ("unzstd", t_unzstd),
        ("unhuffman", t_unhuff),
        ("uninterp", t_uninterp),
    ] {
        println!("{name:>10}: {:8.2} ms  {:8.0} MB/s", t * 1e3, mb / t);
    }
}
