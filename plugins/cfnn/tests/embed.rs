//! `cfnn:embed_model`: a stream that carries its model decodes with no model file, counts the
//! model in its size, and refuses a tampered model. The field is made so that the network pays
//! even for its weights: the target is a fixed linear mix of two rough anchors, which Lorenzo
//! cannot predict and the network learns in a few steps (the bound itself is tested on real data elsewhere).

use pressio_ml_cfnn::model::LoadedModel;
use pressio_ml_cfnn::train::{train, TrainField, TrainOptions};
use pressio_ml_core::{Compressor, DType, Data, Options, RegistryBuilder};
use pressio_ml_testdata::{max_abs_error, value_range};

fn compressor(opts: &Options) -> Compressor {
    let mut b = RegistryBuilder::new();
    pressio_ml_cfnn::register(&mut b).unwrap();
    pressio_ml_sz3::register(&mut b).unwrap();
    let mut c = b.build().compressor("cfnn").unwrap();
    c.set_options(opts).unwrap();
    c
}

/// A deterministic value in [-1, 1) per (i, j, k).
fn noise(i: usize, j: usize, k: usize) -> f64 {
    let mut h = (i as u64) << 40 ^ (j as u64) << 20 ^ k as u64;
    h = h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 29;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 32;
    (h >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

/// Two rough anchors (smooth waves plus point noise, which Lorenzo cannot predict) and a target
/// that mixes them, `nx x ny x nz` (fastest first).
fn fields(nx: usize, ny: usize, nz: usize, first: usize) -> (Vec<f32>, Vec<Vec<f32>>) {
    let (mut t, mut a, mut b) = (Vec::new(), Vec::new(), Vec::new());
    for k in first..first + nz {
        for j in 0..ny {
            for i in 0..nx {
                let (x, y, z) = (i as f64, j as f64, k as f64);
                let u = (x / 9.0 + z / 3.0).sin() * (y / 13.0).cos() + 0.3 * noise(i, j, k);
                let v = (y / 7.0 - z / 5.0).cos() * (x / 11.0).sin() + 0.3 * noise(j, i, k + 99);
                a.push(u as f32);
                b.push(v as f32);
                t.push((2.0 * u - 1.5 * v) as f32);
            }
        }
    }
    (t, vec![a, b])
}

#[test]
fn embedded_models_decode_without_the_file() {
    let (nx, ny) = (256, 256);
    let (tt, ta) = fields(nx, ny, 3, 0);
    let dir = std::env::temp_dir().join(format!("cfnn-embed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let report = train(
        &TrainField::from_f32(&tt, &ta, &[nx, ny, 3]),
        &TrainOptions {
            dims: 2,
            tile: 52,
            epochs: 3,
            windows: 64,
            batch: 8,
            lr: 3e-3,
            seed: 11,
            validation: 0.34,
            name: "cfnn-embed-test".into(),
            out_dir: dir.clone(),
            description: "test".into(),
            anchor_names: vec!["u".into(), "v".into()],
            target_name: "mix".into(),
            device: tch::Device::Cpu,
            progress: false,
        },
    )
    .unwrap();
    eprintln!(
        "validation mse {} (zero {})",
        report.validation_mse, report.zero_mse
    );
    let manifest = report.manifest_path.display().to_string();

    // the section round trip keeps the model, and a model from other weights is refused
    let files = pressio_ml_nn::model::resolve(&manifest).unwrap();
    let m = LoadedModel::load(&files).unwrap();
    let e = m.embedded().unwrap();
    let back = LoadedModel::from_embedded(&e, &m.hash).unwrap();
    assert_eq!(back.hash, m.hash);
    assert_eq!(back.config, m.config);
    let err = LoadedModel::from_embedded(&e, &[0u8; 32]).unwrap_err();
    assert!(err.to_string().contains("hash"), "{err}");

    // compress unseen slices; the anchors given as compress_many inputs
    let (t, a) = fields(nx, ny, 4, 10);
    let dims = [nx, ny, 4];
    let inputs: Vec<Data> = std::iter::once(&t)
        .chain(&a)
        .map(|v| Data::from_vec(v.clone(), &dims).unwrap())
        .collect();
    let refs: Vec<&Data> = inputs.iter().collect();
    let rel = 1e-4;
    let run = |embed: bool| {
        let mut c = compressor(
            &Options::new()
                .with("pressio:rel", rel)
                .with("cfnn:model", manifest.clone())
                .with("cfnn:embed_model", embed),
        );
        let mut s: Vec<Data> = (0..3).map(|_| Data::empty(DType::Byte, &[])).collect();
        c.compress_many(&refs, &mut s).unwrap();
        (s, c.get_metrics_results())
    };
    let (plain, rp) = run(false);
    let (embedded, re) = run(true);
    let used = |r: &Options| r.get_typed::<u32>("cfnn:network_used").unwrap().unwrap();
    let model_bytes = re.get_typed::<u64>("cfnn:model_bytes").unwrap().unwrap();
    eprintln!(
        "hybrid {:?} baseline {:?} blend {:?}",
        rp.get_typed::<u64>("cfnn:hybrid_payload_bytes").unwrap(),
        rp.get_typed::<u64>("cfnn:baseline_payload_bytes").unwrap(),
        rp.get_typed::<Vec<String>>("cfnn:blend").unwrap()
    );
    eprintln!(
        "plain {} B (network {}), embedded {} B (network {}, model {model_bytes} B)",
        plain[0].num_bytes(),
        used(&rp),
        embedded[0].num_bytes(),
        used(&re)
    );
    assert_eq!(used(&rp), 1, "the network pays on this field");
    assert_eq!(used(&re), 1, "the network pays even with its weights");
    assert!(model_bytes > 10_000, "{model_bytes}");
    assert_eq!(
        embedded[0].num_bytes(),
        plain[0].num_bytes() + model_bytes as usize + 12,
        "the model section is the only difference"
    );
    assert_eq!(rp.get_typed::<u64>("cfnn:model_bytes").unwrap(), Some(0));

    // remove the model files: the embedded stream still decodes (no cfnn:model set), the
    // plain one names the missing model
    std::fs::remove_dir_all(&dir).unwrap();
    let mut d = compressor(&Options::new());
    let mut outs: Vec<Data> = (0..3).map(|_| Data::empty(DType::Float, &dims)).collect();
    let erefs: Vec<&Data> = embedded.iter().collect();
    d.decompress_many(&erefs, &mut outs).unwrap();
    let err = max_abs_error(&t, outs[0].as_slice::<f32>().unwrap());
    assert!(err <= rel * value_range(&t), "{err}");
    let prefs: Vec<&Data> = plain.iter().collect();
    let e = d.decompress_many(&prefs, &mut outs).unwrap_err();
    assert!(e.to_string().contains("cfnn-embed-test"), "{e}");
}
