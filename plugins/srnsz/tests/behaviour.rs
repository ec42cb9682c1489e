//! `srnsz` end to end with a tiny model trained here (a few steps on slices of a synthetic
//! field): the network's levels keep the bound, streams do not depend on `pressio:nthreads`,
//! the plain path needs no model, and bad input, other models and tampered streams are refused
//! with clear errors.

use pressio_ml_core::{Compressor, DType, Data, Options, RegistryBuilder};
use pressio_ml_srnsz::net::SrConfig;
use pressio_ml_srnsz::train::{field_slices, train, TrainOptions};
use pressio_ml_testdata::max_abs_error;
use std::path::PathBuf;
use std::sync::OnceLock;

/// A smooth 3-D field with some fine structure, `dims` fastest first.
fn field(dims: &[usize], seed: f64) -> Vec<f64> {
    let n: usize = dims.iter().product();
    (0..n)
        .map(|i| {
            let x = (i % dims[0]) as f64;
            let y = (i / dims[0] % dims[1]) as f64;
            let z = (i / (dims[0] * dims[1])) as f64;
            (0.11 * x + seed).sin() * (0.07 * y).cos()
                + 0.3 * (0.23 * (x + y) + 0.05 * z).sin()
                + 0.05 * (1.3 * x - 0.9 * y + seed).sin()
        })
        .collect()
}

/// Train a tiny model once (two noise levels share it as a family `tiny-n0`, `tiny-n2`, `tiny-n3`).
fn model_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("srnsz-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dims = [96, 80, 6];
        let slices = field_slices(&field(&dims, 0.3), &dims, 16, 0.0..1.0);
        for (k, suffix) in ["n0", "n2", "n3"].into_iter().enumerate() {
            let rep = train(
                &slices,
                &slices[..4],
                &TrainOptions {
                    config: SrConfig {
                        channels: 6,
                        layers: 3,
                        tile: 24,
                        noise: 0.0,
                        scale: 1.0,
                    },
                    steps: 40,
                    batch: 4,
                    lr: 3e-3,
                    seed: 5 + k as u64,
                    name: format!("tiny-{suffix}"),
                    out_dir: dir.clone(),
                    description: "test".into(),
                    sources: vec![],
                    split: "test".into(),
                    init: None,
                    device: tch::Device::Cpu,
                    progress: false,
                },
            )
            .unwrap();
            assert!(rep.validation_mse.is_finite() && rep.cubic_mse > 0.0);
        }
        dir
    })
}

fn compressor(opts: &Options) -> Compressor {
    let mut b = RegistryBuilder::new();
    pressio_ml_srnsz::register(&mut b).unwrap();
    let mut c = b.build().compressor("srnsz").unwrap();
    c.set_options(opts).unwrap();
    c
}

fn opts(rel: f64) -> Options {
    Options::new()
        .with("pressio:rel", rel)
        .with(
            "srnsz:model",
            model_dir().join("tiny").display().to_string(),
        )
        .with("srnsz:min_sr_size", 32u32)
}

fn compress(c: &mut Compressor, input: &Data) -> pressio_ml_core::Result<Data> {
    let mut s = Data::empty(DType::Byte, &[]);
    c.compress(input, &mut s)?;
    Ok(s)
}

fn decompress(c: &mut Compressor, s: &Data, like: &Data) -> pressio_ml_core::Result<Data> {
    let mut out = Data::empty(like.dtype(), like.dims());
    c.decompress(s, &mut out)?;
    Ok(out)
}

fn range(v: &[f64]) -> f64 {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    hi - lo
}

#[test]
fn network_levels_keep_the_bound_in_f32_and_f64_at_any_thread_count() {
    let dims = [70usize, 66, 9];
    let v = field(&dims, 1.1);
    let r = range(&v);
    let f32s: Vec<f32> = v.iter().map(|&x| x as f32).collect();
    for (rel, force) in [(1e-2, true), (1e-3, false), (1e-3, true), (1e-4, true)] {
        let opts = |rel: f64| opts(rel).with("srnsz:force_network", force);
        for input in [
            Data::from_vec(f32s.clone(), &dims).unwrap(),
            Data::from_vec(v.clone(), &dims).unwrap(),
        ] {
            let mut c = compressor(&opts(rel));
            let s = compress(&mut c, &input).unwrap();
            let res = c.get_metrics_results();
            let cand = res
                .get_typed::<u32>("srnsz:candidate_levels")
                .unwrap()
                .unwrap();
            assert!(cand >= 1, "the 70x66 slices are offered to the network");
            let levels = res
                .get_typed::<u32>("srnsz:network_levels")
                .unwrap()
                .unwrap();
            if force {
                assert_eq!(
                    levels, cand,
                    "forced: every candidate level uses the network"
                );
            } else {
                let plain = res.get_typed::<u64>("srnsz:plain_bytes").unwrap().unwrap();
                assert!(
                    (s.num_bytes() as u64) < plain + 256,
                    "never much worse than the plain path"
                );
            }
            let out = decompress(&mut c, &s, &input).unwrap();
            let err = match input.dtype() {
                DType::Float => max_abs_error(&f32s, out.as_slice::<f32>().unwrap()),
                _ => max_abs_error(&v, out.as_slice::<f64>().unwrap()),
            };
            assert!(err <= rel * r, "rel {rel}: {err} > {}", rel * r);
            let mut c2 = compressor(&opts(rel).with("pressio:nthreads", 2u32));
            let s2 = compress(&mut c2, &input).unwrap();
            assert_eq!(
                s.bytes(),
                s2.bytes(),
                "rel {rel}: threads change the stream"
            );
            assert_eq!(
                decompress(&mut c2, &s2, &input).unwrap().bytes(),
                out.bytes()
            );
        }
    }
}

#[test]
fn the_network_is_kept_where_it_pays_and_the_stream_then_needs_the_model() {
    // Force the network on every candidate level by comparing with a predictor that always
    // loses: a 1-D field has none, so it must be the plain path.
    let line = Data::from_vec(field(&[5000, 1, 1], 0.2), &[5000]).unwrap();
    let mut c = compressor(&opts(1e-3));
    let s = compress(&mut c, &line).unwrap();
    let res = c.get_metrics_results();
    assert_eq!(
        res.get_typed::<u32>("srnsz:candidate_levels").unwrap(),
        Some(0)
    );
    // the plain path decodes without any model
    let mut other = compressor(&Options::new().with("srnsz:model", "/nonexistent/model.json"));
    let out = decompress(&mut other, &s, &line).unwrap();
    assert!(
        max_abs_error(
            line.as_slice::<f64>().unwrap(),
            out.as_slice::<f64>().unwrap()
        ) < 1.0
    );

    // use_network=false is the same stream as a plain compression
    let dims = [70usize, 66, 4];
    let input = Data::from_vec(field(&dims, 0.7), &dims).unwrap();
    let mut plain = compressor(&opts(1e-2).with("srnsz:use_network", false));
    let ps = compress(&mut plain, &input).unwrap();
    let mut net = compressor(&opts(1e-2));
    let ns = compress(&mut net, &input).unwrap();
    let levels = net
        .get_metrics_results()
        .get_typed::<u32>("srnsz:network_levels")
        .unwrap()
        .unwrap();
    if levels == 0 {
        assert_eq!(ps.bytes(), ns.bytes(), "the plain path, byte for byte");
    } else {
        assert!(ns.num_bytes() < ps.num_bytes());
    }
    // a stream that uses the network needs the model: a missing one is a clear error
    let mut forced = compressor(&opts(1e-2).with("srnsz:force_network", true));
    let fs = compress(&mut forced, &input).unwrap();
    let mut nomodel = compressor(&Options::new().with("srnsz:model", "/nonexistent/model"));
    let err = decompress(&mut nomodel, &fs, &input)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("tiny-n2") && err.contains("not found"),
        "{err}"
    );
}

#[test]
fn other_models_and_tampered_streams_are_refused() {
    let dims = [70usize, 66, 5];
    let v = field(&dims, 2.0);
    let input = Data::from_vec(v.iter().map(|&x| x as f32).collect::<Vec<f32>>(), &dims).unwrap();
    let mut c = compressor(
        &opts(1e-3)
            .with("srnsz:noise_level", "0")
            .with("srnsz:force_network", true),
    );
    let s = compress(&mut c, &input).unwrap();
    let levels = c
        .get_metrics_results()
        .get_typed::<u32>("srnsz:network_levels")
        .unwrap()
        .unwrap();
    assert!(levels > 0);
    // truncated and corrupted streams
    let b = s.bytes();
    for cut in [0, 8, b.len() / 2, b.len() - 1] {
        let t = Data::from_bytes(DType::Byte, &[cut], &b[..cut]).unwrap();
        assert!(decompress(&mut c, &t, &input).is_err(), "cut at {cut}");
    }
    let mut bad = b.to_vec();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x40;
    let bad = Data::from_bytes(DType::Byte, &[bad.len()], &bad).unwrap();
    assert!(decompress(&mut c, &bad, &input).is_err());
    {
        // the stream names tiny-n0; a decoder that finds another model under that name refuses
        let dir = model_dir().join("swapped");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(model_dir().join("tiny-n2.json"), dir.join("tiny-n0.json")).unwrap();
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("tiny-n0.json")).unwrap())
                .unwrap();
        let w = m["weights"]["file"]
            .as_str()
            .unwrap_or("tiny-n2.safetensors");
        std::fs::copy(model_dir().join(w), dir.join(w)).unwrap();
        let mut other =
            compressor(&Options::new().with("srnsz:model", dir.join("tiny").display().to_string()));
        let err = decompress(&mut other, &s, &input);
        let err = err.unwrap_err().to_string();
        assert!(err.contains("sha256") || err.contains("model"), "{err}");
    }
}

#[test]
fn bad_input_is_refused_and_small_inputs_work() {
    let mut c = compressor(&opts(1e-3));
    // empty and one-element arrays, NaN and Inf kept exactly
    let one = Data::from_vec(vec![3.5f32], &[1]).unwrap();
    let s = compress(&mut c, &one).unwrap();
    assert_eq!(
        decompress(&mut c, &s, &one)
            .unwrap()
            .as_slice::<f32>()
            .unwrap(),
        &[3.5]
    );
    let dims = [70usize, 66];
    let mut v: Vec<f32> = field(&[70, 66, 1], 0.5).iter().map(|&x| x as f32).collect();
    v[100] = f32::NAN;
    v[2000] = f32::INFINITY;
    let input = Data::from_vec(v.clone(), &dims).unwrap();
    let s = compress(&mut c, &input).unwrap();
    let out = decompress(&mut c, &s, &input).unwrap();
    let o = out.as_slice::<f32>().unwrap();
    assert!(o[100].is_nan() && o[2000] == f32::INFINITY);
    // a missing model is a clear error, not a panic
    let mut missing = compressor(&Options::new().with("srnsz:model", "no-such-family"));
    let err = compress(&mut missing, &input).unwrap_err().to_string();
    assert!(err.contains("no-such-family"), "{err}");
    // invalid options
    let mut b = RegistryBuilder::new();
    pressio_ml_srnsz::register(&mut b).unwrap();
    let mut c = b.build().compressor("srnsz").unwrap();
    assert!(c
        .set_options(&Options::new().with("srnsz:anchor_stride", 3u32))
        .is_err());
    assert!(c
        .set_options(&Options::new().with("srnsz:noise_level", "loud"))
        .is_err());
    assert!(c
        .set_options(&Options::new().with("srnsz:min_sr_size", 1u32))
        .is_err());
}
