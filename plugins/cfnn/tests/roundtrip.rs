//! End-to-end tests of `cfnn`: a tiny model trained on the first slices of a real multi-field
//! set, then compression of held-out slices with the decompressed anchors given as files: the
//! bound in f64, thread-count independence, the baseline, and refusals (other anchors, missing
//! anchors or model, a model for another anchor count, NaN anchors).

use pressio_ml_cfnn::train::{train, TrainField, TrainOptions};
use pressio_ml_core::{Compressor, DType, Data, Options, PressioError, RegistryBuilder};
use pressio_ml_testdata::{data_dir, max_abs_error, value_range};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn compressor(opts: &Options) -> Compressor {
    let mut b = RegistryBuilder::new();
    pressio_ml_cfnn::register(&mut b).unwrap();
    let mut c = b.build().compressor("cfnn").unwrap();
    c.set_options(opts).unwrap();
    c
}

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cfnn-test-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn read(rel: &str) -> Option<Vec<f32>> {
    let b = std::fs::read(data_dir()?.join(rel)).ok()?;
    Some(
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

/// Blunt-fin CFD fields (40x32 slices, 32 of them): energy from density and x-momentum.
const DIMS: [usize; 3] = [40, 32, 32];
const TARGET: &str = "vtk_data/bluntfin_energy_32x32x40.f32";
const ANCHORS: [&str; 2] = [
    "vtk_data/bluntfin_density_32x32x40.f32",
    "vtk_data/bluntfin_momentum_x_32x32x40.f32",
];
/// Slices the model trains on; the tests compress the rest.
const TRAIN_SLICES: usize = 24;

struct Fixture {
    dir: PathBuf,
    model: PathBuf,
    target: Vec<f32>,
    anchor_files: Vec<String>,
}

/// Train once (tiny: a few hundred windows) and write the held-out slices' anchors.
fn fixture() -> Option<&'static Fixture> {
    static F: OnceLock<Option<Fixture>> = OnceLock::new();
    F.get_or_init(|| {
        let target = read(TARGET)?;
        let anchors: Vec<Vec<f32>> = ANCHORS.iter().map(|a| read(a)).collect::<Option<_>>()?;
        let slice = DIMS[0] * DIMS[1];
        let dir = tmp("fixture");
        let field = TrainField {
            target: target[..TRAIN_SLICES * slice]
                .iter()
                .map(|&v| v as f64)
                .collect(),
            anchors: anchors
                .iter()
                .map(|a| {
                    a[..TRAIN_SLICES * slice]
                        .iter()
                        .map(|&v| v as f64)
                        .collect()
                })
                .collect(),
            dims: vec![DIMS[0], DIMS[1], TRAIN_SLICES],
            sources: vec![],
        };
        let report = train(
            &field,
            &TrainOptions {
                dims: 2,
                tile: 20,
                epochs: 3,
                windows: 96,
                batch: 8,
                lr: 3e-3,
                seed: 3,
                validation: 0.25,
                name: "cfnn-test".into(),
                out_dir: dir.clone(),
                description: "test".into(),
                anchor_names: vec![],
                target_name: String::new(),
                device: tch::Device::Cpu,
                progress: false,
            },
        )
        .unwrap();
        assert!(report.validation_mse.is_finite());
        let held = |v: &[f32]| v[TRAIN_SLICES * slice..].to_vec();
        let mut anchor_files = Vec::new();
        for (i, a) in anchors.iter().enumerate() {
            let p = dir.join(format!("anchor{i}.f32"));
            let bytes: Vec<u8> = held(a).iter().flat_map(|v| v.to_le_bytes()).collect();
            std::fs::write(&p, bytes).unwrap();
            anchor_files.push(p.display().to_string());
        }
        Some(Fixture {
            dir: dir.clone(),
            model: report.manifest_path,
            target: held(&target),
            anchor_files,
        })
    })
    .as_ref()
}

fn held_dims() -> [usize; 3] {
    [DIMS[0], DIMS[1], DIMS[2] - TRAIN_SLICES]
}

fn opts(f: &Fixture, rel: f64) -> Options {
    Options::new()
        .with("pressio:rel", rel)
        .with("cfnn:model", f.model.display().to_string())
        .with("cfnn:anchor_files", f.anchor_files.clone())
}

fn roundtrip(c: &mut Compressor, input: &Data) -> (Data, Data) {
    let mut s = Data::empty(DType::Byte, &[]);
    c.compress(input, &mut s).unwrap();
    let mut out = Data::empty(input.dtype(), input.dims());
    c.decompress(&s, &mut out).unwrap();
    (s, out)
}

#[test]
fn bounds_threads_and_the_baseline() {
    let Some(f) = fixture() else {
        eprintln!("SKIPPED: ../shared/data is missing");
        return;
    };
    let input = Data::from_vec(f.target.clone(), &held_dims()).unwrap();
    let range = value_range(&f.target);
    for rel in [5e-3, 1e-3, 1e-4] {
        let mut c = compressor(&opts(f, rel));
        let (s1, out) = roundtrip(&mut c, &input);
        let err = max_abs_error(&f.target, out.as_slice::<f32>().unwrap());
        assert!(
            err <= rel * range,
            "rel {rel}: error {err} > {}",
            rel * range
        );
        let r = c.get_metrics_results();
        let base = r
            .get_typed::<u64>("cfnn:baseline_payload_bytes")
            .unwrap()
            .unwrap();
        let used = r.get_typed::<u64>("cfnn:payload_bytes").unwrap().unwrap();
        assert!(
            used <= base,
            "never worse than the baseline: {used} > {base}"
        );
        eprintln!(
            "rel {rel}: payload {used} vs baseline {base}, network {:?}, blend {:?}",
            r.get_typed::<u32>("cfnn:network_used").unwrap(),
            r.get_typed::<Vec<String>>("cfnn:blend").unwrap()
        );
        // another thread count: the same stream
        let mut c2 = compressor(&opts(f, rel).with("pressio:nthreads", 2u32));
        let (s2, out2) = roundtrip(&mut c2, &input);
        assert_eq!(s1.bytes(), s2.bytes());
        assert_eq!(out.bytes(), out2.bytes());
        // the baseline keeps the same distortion
        let mut b = compressor(
            &Options::new()
                .with("pressio:rel", rel)
                .with("cfnn:use_network", false),
        );
        let (_, bout) = roundtrip(&mut b, &input);
        assert_eq!(
            bout.bytes(),
            out.bytes(),
            "hybrid and baseline reconstruct alike"
        );
    }
}

#[test]
fn refusals_are_clear() {
    let Some(f) = fixture() else {
        return;
    };
    let input = Data::from_vec(f.target.clone(), &held_dims()).unwrap();
    let mut c = compressor(&opts(f, 1e-4));
    let mut s = Data::empty(DType::Byte, &[]);
    c.compress(&input, &mut s).unwrap();
    let network = c
        .get_metrics_results()
        .get_typed::<u32>("cfnn:network_used")
        .unwrap()
        .unwrap();

    // other anchors (one value changed)
    let other = f.dir.join("other.f32");
    let mut bytes = std::fs::read(&f.anchor_files[0]).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&other, bytes).unwrap();
    let mut d = compressor(&opts(f, 1e-4).with(
        "cfnn:anchor_files",
        vec![other.display().to_string(), f.anchor_files[1].clone()],
    ));
    let mut out = Data::empty(DType::Float, input.dims());
    if network == 1 {
        let e = d.decompress(&s, &mut out).unwrap_err();
        assert!(matches!(e, PressioError::StreamMismatch(_)), "{e}");
        assert!(e.to_string().contains("anchors"), "{e}");
    }
    // no model: the baseline; a model without anchors: refused
    let mut no_model = compressor(&Options::new().with("pressio:rel", 1e-3));
    no_model
        .compress(&input, &mut Data::empty(DType::Byte, &[]))
        .unwrap();
    let r = no_model.get_metrics_results();
    assert_eq!(r.get_typed::<u32>("cfnn:network_used").unwrap(), Some(0));
    let mut no_anchors = compressor(&opts(f, 1e-3).with("cfnn:anchor_files", Vec::<String>::new()));
    let e = no_anchors
        .compress(&input, &mut Data::empty(DType::Byte, &[]))
        .unwrap_err();
    assert!(e.to_string().contains("anchors"), "{e}");
    let mut one =
        compressor(&opts(f, 1e-3).with("cfnn:anchor_files", vec![f.anchor_files[0].clone()]));
    let e = one
        .compress(&input, &mut Data::empty(DType::Byte, &[]))
        .unwrap_err();
    assert!(e.to_string().contains("anchors"), "{e}");
    let nan = f.dir.join("nan.f32");
    let mut bytes = std::fs::read(&f.anchor_files[0]).unwrap();
    bytes[..4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&nan, bytes).unwrap();
    let mut bad = compressor(&opts(f, 1e-3).with(
        "cfnn:anchor_files",
        vec![nan.display().to_string(), f.anchor_files[1].clone()],
    ));
    let e = bad
        .compress(&input, &mut Data::empty(DType::Byte, &[]))
        .unwrap_err();
    assert!(e.to_string().contains("NaN"), "{e}");
    let short = Data::from_vec(f.target[..40 * 32].to_vec(), &[40, 32]).unwrap();
    let e = compressor(&opts(f, 1e-3))
        .compress(&short, &mut Data::empty(DType::Byte, &[]))
        .unwrap_err();
    assert!(e.to_string().contains("bytes"), "{e}");
    let missing = compressor(&opts(f, 1e-3).with(
        "cfnn:anchor_files",
        vec!["/nonexistent/a".to_string(), "/nonexistent/b".to_string()],
    ))
    .compress(&input, &mut Data::empty(DType::Byte, &[]))
    .unwrap_err();
    assert!(missing.to_string().contains("/nonexistent/a"), "{missing}");
    let _ = Path::new(&f.dir);
}
