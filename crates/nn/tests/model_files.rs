//! Model files end to end: save, manifest, resolve by path, by name (through
//! `$PRESSIO_ML_MODELS`) and through an alias, hash checks, architecture mismatches, and
//! deterministic inference independent of the caller's thread count.

use pressio_ml_core::PressioError;
use pressio_ml_nn::inference::{inference, prediction_checksum, run_batched, set_threads};
use pressio_ml_nn::layers::{Conv, Dense, Gdn};
use pressio_ml_nn::model::{
    hex, load_weights, resolve, save_weights, write_manifest, Manifest, TrainingRecord, WeightsRef,
    MANIFEST_FORMAT,
};
use pressio_ml_nn::tch_error;
use std::path::Path;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

struct Net {
    conv: Conv,
    gdn: Gdn,
    fc: Dense,
}

impl Net {
    fn new(vs: &VarStore, channels: i64) -> Net {
        let r = vs.root();
        Net {
            conv: Conv::new(&(&r / "conv"), 2, 1, channels, 3, 2, false).unwrap(),
            gdn: Gdn::new(&(&r / "gdn"), 2, channels, false).unwrap(),
            fc: Dense::new(&(&r / "fc"), channels * 16, 3).unwrap(),
        }
    }
    fn forward(&self, x: &Tensor) -> pressio_ml_core::Result<Tensor> {
        let h = self.gdn.forward(&self.conv.forward(x)?)?;
        let h = h.f_flatten(1, -1).map_err(|e| tch_error("flatten", e))?;
        self.fc.forward(&h)
    }
}

fn write_model(dir: &Path, name: &str, vs: &VarStore) -> Manifest {
    let file = format!("{name}.safetensors");
    let (hash, bytes) = save_weights(vs, &dir.join(&file)).unwrap();
    let m = Manifest {
        format: MANIFEST_FORMAT,
        name: name.into(),
        alias_of: None,
        architecture: "test-net".into(),
        description: "a test network".into(),
        hyperparameters: serde_json::json!({"channels": 4}),
        normalization: None,
        training: TrainingRecord::default(),
        weights: Some(WeightsRef {
            file,
            sha256: hex(&hash),
            bytes,
        }),
    };
    write_manifest(dir, &m).unwrap();
    m
}

#[test]
fn save_resolve_load_and_refuse() {
    let dir = tempfile::tempdir().unwrap();
    tch::manual_seed(3);
    let vs = VarStore::new(Device::Cpu);
    let net = Net::new(&vs, 4);
    write_model(dir.path(), "tiny", &vs);

    // by path, by name through the environment, and through an alias
    let by_path = resolve(dir.path().join("tiny.json").to_str().unwrap()).unwrap();
    std::env::set_var("PRESSIO_ML_MODELS", dir.path());
    let by_name = resolve("tiny").unwrap();
    assert_eq!(by_path.hash, by_name.hash);
    std::fs::write(
        dir.path().join("tiny-alias.json"),
        r#"{"format": 1, "name": "tiny-alias", "alias_of": "tiny"}"#,
    )
    .unwrap();
    let aliased = resolve("tiny-alias").unwrap();
    assert_eq!(aliased.manifest.name, "tiny");
    assert_eq!(aliased.hash, by_name.hash);

    // the weights load into a fresh network and give the same outputs
    let vs2 = VarStore::new(Device::Cpu);
    let net2 = Net::new(&vs2, 4);
    load_weights(&vs2, &by_name.weights, "tiny").unwrap();
    let x = Tensor::randn([5, 1, 8, 8], (Kind::Float, Device::Cpu));
    let a = tch::no_grad(|| net.forward(&x).unwrap());
    let b = tch::no_grad(|| net2.forward(&x).unwrap());
    assert!(a.equal(&b));

    // another architecture is refused, not a panic
    let vs3 = VarStore::new(Device::Cpu);
    let _net3 = Net::new(&vs3, 5);
    let e = load_weights(&vs3, &by_name.weights, "tiny").unwrap_err();
    assert!(matches!(e, PressioError::Model(_)), "{e}");
    assert!(load_weights(&vs3, b"not safetensors", "junk").is_err());

    // a modified weights file is refused with both hashes in the message
    let mut w = std::fs::read(dir.path().join("tiny.safetensors")).unwrap();
    let last = w.len() - 1;
    w[last] ^= 0x55;
    std::fs::write(dir.path().join("tiny.safetensors"), &w).unwrap();
    let e = resolve("tiny").unwrap_err();
    assert!(matches!(e, PressioError::Model(_)));
    assert!(e.to_string().contains("SHA-256"), "{e}");

    // a missing weights file and a missing model are clear errors
    std::fs::remove_file(dir.path().join("tiny.safetensors")).unwrap();
    let e = resolve("tiny").unwrap_err();
    assert!(e.to_string().contains("cannot read the weights"), "{e}");
    let e = resolve("nothing-here").unwrap_err();
    assert!(e.to_string().contains("not found"), "{e}");
    std::env::remove_var("PRESSIO_ML_MODELS");
}

#[test]
fn inference_does_not_depend_on_caller_threads() {
    tch::manual_seed(11);
    let vs = VarStore::new(Device::Cpu);
    let net = Net::new(&vs, 8);
    let input: Vec<f32> = (0..37 * 64).map(|i| ((i as f32) * 0.37).sin()).collect();
    let run = |threads: usize| {
        set_threads(threads);
        inference(|| run_batched(&input, &[1, 8, 8], 16, Device::Cpu, |x| net.forward(x))).unwrap()
    };
    let one = run(1);
    let two = run(2);
    let four = run(4);
    assert_eq!(one.len(), 37 * 3);
    assert_eq!(prediction_checksum(&one), prediction_checksum(&two));
    assert_eq!(prediction_checksum(&one), prediction_checksum(&four));
    set_threads(1);
}
