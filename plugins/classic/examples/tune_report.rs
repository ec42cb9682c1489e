//! For one shared field and bound, print the real compressed size of every candidate of the
//! tuning space next to the choice the sampler makes (a check of the tuner).
//!
//! ```text
//! cargo run --release -p pressio-ml-classic --example tune_report -- sperr/wmag91_91x91x91.f32 1e-3
//! ```

use pressio_ml_classic::body::Settings;
use pressio_ml_codec::interp::{self, InterpParams, InterpPlan, TuneSpace};
use pressio_ml_codec::quantizer::values_to_le_bytes;
use pressio_ml_codec::{huffman, lossless};
use std::path::Path;

fn size(v: &[f32], dims: &[usize], eb: f64, p: &InterpParams) -> usize {
    let plan = InterpPlan::standard(dims, eb, p).expect("plan");
    let enc = interp::compress(v, &plan, None).expect("compress");
    let mut payload = Vec::new();
    huffman::encode(&enc.codes, false, &mut payload).expect("huffman");
    payload.extend_from_slice(&values_to_le_bytes(&enc.anchors));
    payload.extend_from_slice(&values_to_le_bytes(&enc.unpredictables));
    lossless::compress(&payload, 3).expect("zstd").len()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rel_path = args
        .first()
        .map(String::as_str)
        .unwrap_or("sperr/wmag91_91x91x91.f32");
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
    let dims = interp::squeeze_dims(&dims, v.len()).expect("dims");
    let (lo, hi) = v
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
            (l.min(x as f64), h.max(x as f64))
        });
    let eb = rel * (hi - lo);
    let chosen =
        pressio_ml_classic::tune::choose_params(&v, &dims, eb, &Settings::default()).expect("tune");
    let space = TuneSpace::full(dims.len());
    let mut rows = Vec::new();
    for &kind in &space.kinds {
        for order in &space.orders {
            for &(alpha, beta) in &space.level_bounds {
                let p = InterpParams {
                    kind,
                    dim_order: Some(order.clone()),
                    alpha,
                    beta,
                    ..Default::default()
                };
                rows.push((size(&v, &dims, eb, &p), p));
            }
        }
    }
    rows.sort_by_key(|r| r.0);
    // Per-axis roughness: mean |x - cubic interpolation| at strides 1 and 2.
    let mut st = vec![1usize; dims.len()];
    for a in 1..dims.len() {
        st[a] = st[a - 1] * dims[a - 1];
    }
    for stride in [1usize, 2, 4] {
        let mut rough = Vec::new();
        for a in 0..dims.len() {
            let (mut sum, mut cnt) = (0.0f64, 0usize);
            let o = stride * st[a];
            for (i, &x) in v.iter().enumerate().step_by(7) {
                let c = (i / st[a]) % dims[a];
                if c >= 3 * stride && c + 3 * stride < dims[a] {
                    let p = (-(v[i - 3 * o] as f64) + 9.0 * (v[i - o] as f64 + v[i + o] as f64)
                        - v[i + 3 * o] as f64)
                        / 16.0;
                    sum += (x as f64 - p).abs();
                    cnt += 1;
                }
            }
            rough.push(sum / cnt.max(1) as f64);
        }
        let r: Vec<String> = rough.iter().map(|x| format!("{x:.3e}")).collect();
        println!("stride {stride} roughness per axis (fastest first): {r:?}");
    }
    let chosen_size = size(&v, &dims, eb, &chosen);
    for (s, p) in rows.iter().take(8) {
        println!(
            "{s:>10}  {:?} {:?} a={} b={}",
            p.kind, p.dim_order, p.alpha, p.beta
        );
    }
    println!(
        "chosen {chosen_size:>10}  {:?} {:?} a={} b={}  ({:.2}% above the best)",
        chosen.kind,
        chosen.dim_order,
        chosen.alpha,
        chosen.beta,
        (chosen_size as f64 / rows[0].0 as f64 - 1.0) * 100.0
    );
}
