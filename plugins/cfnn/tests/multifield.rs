//! Every shared multi-field set (WRF, NCEP, CAM, MPI, rect3d, and the NASA CFD grids) through
//! `compress_many` / `decompress_many` (anchors compressed by `sz3`) and through single-field
//! mode (`cfnn:anchors`), at `pressio:rel` 5e-3, 1e-3, 5e-4, 2e-4 and 1e-4, with a tiny model
//! trained on the set's training slices and tested on its held-out slices: the bound in f64 for
//! the target and every anchor, the same target stream both ways, the same streams at
//! `pressio:nthreads` 1 and 2, and the refusals of `compress_many` / `decompress_many`.

use pressio_ml_cfnn::anchors;
use pressio_ml_cfnn::train::{train, TrainField, TrainOptions};
use pressio_ml_core::{Compressor, DType, Data, Options, PressioError, RegistryBuilder};
use pressio_ml_testdata::multifield::{self, MultiField};
use pressio_ml_testdata::{data_dir, max_abs_error, value_range};
use std::path::PathBuf;

const BOUNDS: [f64; 5] = [5e-3, 1e-3, 5e-4, 2e-4, 1e-4];

fn compressor(opts: &Options) -> Compressor {
    let mut b = RegistryBuilder::new();
    pressio_ml_cfnn::register(&mut b).unwrap();
    pressio_ml_sz3::register(&mut b).unwrap();
    pressio_ml_classic::register(&mut b).unwrap();
    let mut c = b.build().compressor("cfnn").unwrap();
    c.set_options(opts).unwrap();
    c
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// A tiny 2-D model trained on the set's training slices (seconds; the bound never depends on
/// how good it is).
fn tiny_model(set: &MultiField) -> PathBuf {
    let part = set.train_part();
    let dir = std::env::temp_dir().join(format!("cfnn-mf-{}-{}", set.name, std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let report = train(
        &TrainField::from_f32(&part.target, &part.anchors, &part.dims),
        &TrainOptions {
            dims: 2,
            tile: 20,
            epochs: 2,
            windows: 48,
            batch: 8,
            lr: 3e-3,
            seed: 5,
            validation: 0.25,
            name: format!("cfnn-test-{}", set.name),
            out_dir: dir,
            description: "test".into(),
            anchor_names: set.anchor_names.iter().map(|s| s.to_string()).collect(),
            target_name: set.target_name.into(),
            device: tch::Device::Cpu,
            progress: false,
        },
    )
    .unwrap();
    report.manifest_path
}

fn field(values: &[f32], dims: &[usize]) -> Data {
    Data::from_vec(values.to_vec(), dims).unwrap()
}

fn many(c: &mut Compressor, inputs: &[Data]) -> (Vec<Data>, Vec<Data>) {
    let refs: Vec<&Data> = inputs.iter().collect();
    let mut streams: Vec<Data> = inputs
        .iter()
        .map(|_| Data::empty(DType::Byte, &[]))
        .collect();
    c.compress_many(&refs, &mut streams).unwrap();
    let srefs: Vec<&Data> = streams.iter().collect();
    let mut outs: Vec<Data> = inputs
        .iter()
        .map(|d| Data::empty(d.dtype(), d.dims()))
        .collect();
    c.decompress_many(&srefs, &mut outs).unwrap();
    (streams, outs)
}

/// Stack `anchors` into the `cfnn:anchors` buffer.
fn stacked(anchors: &[Data]) -> Data {
    anchors::stack(&anchors.iter().collect::<Vec<_>>()).unwrap()
}

fn check_set(name: &str) {
    let Some(dir) = data_dir() else {
        eprintln!("SKIPPED: ../shared/data is missing");
        return;
    };
    let Some(set) = multifield::set(&dir, name) else {
        eprintln!("SKIPPED: set {name} is missing");
        return;
    };
    let model = tiny_model(&set);
    let test = set.test_part();
    let dims = test.dims.clone();
    let mut inputs = vec![field(&test.target, &dims)];
    inputs.extend(test.anchors.iter().map(|a| field(a, &dims)));
    let mut used = Vec::new();
    for rel in BOUNDS {
        let opts = Options::new()
            .with("pressio:rel", rel)
            .with("cfnn:model", model.display().to_string());
        let mut c = compressor(&opts.clone().with("pressio:nthreads", 1u32));
        let (streams, outs) = many(&mut c, &inputs);
        let r = c.get_metrics_results();
        used.push(r.get_typed::<u32>("cfnn:network_used").unwrap().unwrap());
        let anchor_bytes = r.get_typed::<u64>("cfnn:anchor_bytes").unwrap().unwrap();
        assert_eq!(
            anchor_bytes,
            streams[1..]
                .iter()
                .map(|s| s.num_bytes() as u64)
                .sum::<u64>()
        );
        // a stream that does not keep the network is the baseline's, byte for byte
        if used.last() == Some(&0) {
            let mut b = compressor(
                &Options::new()
                    .with("pressio:rel", rel)
                    .with("cfnn:use_network", false),
            );
            let mut bs = Data::empty(DType::Byte, &[]);
            b.compress(&inputs[0], &mut bs).unwrap();
            assert_eq!(
                bs.bytes(),
                streams[0].bytes(),
                "{name} rel {rel}: not the baseline"
            );
        }
        // every field within its bound, in f64
        for (k, (orig, out)) in inputs.iter().zip(&outs).enumerate() {
            let o = orig.as_slice::<f32>().unwrap();
            let err = max_abs_error(o, out.as_slice::<f32>().unwrap());
            let bound = rel * value_range(o);
            assert!(
                err <= bound,
                "{name} rel {rel} field {k}: error {err} > {bound}"
            );
        }
        // two threads: the same streams and values
        let mut c2 = compressor(&opts.clone().with("pressio:nthreads", 2u32));
        let (streams2, outs2) = many(&mut c2, &inputs);
        for (a, b) in streams.iter().zip(&streams2) {
            assert_eq!(a.bytes(), b.bytes(), "{name} rel {rel}: streams by threads");
        }
        for (a, b) in outs.iter().zip(&outs2) {
            assert_eq!(a.bytes(), b.bytes());
        }
        // single-field mode with the decompressed anchors: the same target stream and values
        let mut single = compressor(&opts.clone().with("cfnn:anchors", stacked(&outs[1..])));
        let mut s = Data::empty(DType::Byte, &[]);
        single.compress(&inputs[0], &mut s).unwrap();
        assert_eq!(
            s.bytes(),
            streams[0].bytes(),
            "{name} rel {rel}: single vs many"
        );
        let mut out = Data::empty(DType::Float, &dims);
        single.decompress(&s, &mut out).unwrap();
        assert_eq!(out.bytes(), outs[0].bytes());
        // an anchor stream alone decodes to its anchor
        let mut a0 = Data::empty(DType::Float, &dims);
        single.decompress(&streams[1], &mut a0).unwrap();
        assert_eq!(a0.bytes(), outs[1].bytes());
    }
    eprintln!("{name}: network used at {BOUNDS:?}: {used:?}");
}

#[test]
fn wrf() {
    check_set("wrf");
}

#[test]
fn ncep() {
    check_set("ncep");
}

#[test]
fn cam() {
    check_set("cam");
}

#[test]
fn mpi() {
    check_set("mpi");
}

#[test]
fn rect3d() {
    check_set("rect3d");
}

#[test]
fn bluntfin() {
    check_set("bluntfin");
}

#[test]
fn comb() {
    check_set("comb");
}

#[test]
fn post() {
    check_set("post");
}

/// `compress_many` and `decompress_many` refuse what they cannot do, clearly.
#[test]
fn many_refusals() {
    let Some(set) = data_dir().and_then(|d| multifield::set(&d, "cam")) else {
        return;
    };
    let model = tiny_model(&set);
    let test = set.test_part();
    let dims = test.dims.clone();
    let target = field(&test.target, &dims);
    let a: Vec<Data> = test.anchors.iter().map(|x| field(x, &dims)).collect();
    let opts = Options::new()
        .with("pressio:rel", 1e-3)
        .with("cfnn:model", model.display().to_string());
    let run = |opts: &Options, inputs: &[&Data]| -> Result<Vec<Data>, PressioError> {
        let mut c = compressor(opts);
        let mut outs: Vec<Data> = inputs
            .iter()
            .map(|_| Data::empty(DType::Byte, &[]))
            .collect();
        c.compress_many(inputs, &mut outs).map(|_| outs)
    };
    // an anchor on another grid or of another dtype
    let small = field(&test.target[..dims[0] * dims[1]], &dims[..2]);
    let e = run(&opts, &[&target, &a[0], &small]).unwrap_err();
    assert!(e.to_string().contains("anchor 1"), "{e}");
    let doubles = Data::from_vec(f64s(&test.anchors[1]), &dims).unwrap();
    let e = run(&opts, &[&target, &a[0], &doubles]).unwrap_err();
    assert!(e.to_string().contains("grid"), "{e}");
    // a model for two anchors given one or three
    let e = run(&opts, &[&target, &a[0]]).unwrap_err();
    assert!(e.to_string().contains("takes 2 anchors"), "{e}");
    let e = run(&opts, &[&target, &a[0], &a[1], &a[1]]).unwrap_err();
    assert!(e.to_string().contains("takes 2 anchors"), "{e}");
    // NaN in an anchor
    let mut bad = test.anchors[0].clone();
    bad[7] = f32::NAN;
    let e = run(&opts, &[&target, &field(&bad, &dims), &a[1]]).unwrap_err();
    assert!(e.to_string().to_lowercase().contains("nan"), "{e}");
    // an anchor compressor that is not registered, or cfnn itself
    let mut c = compressor(&Options::new());
    let e = c
        .set_options(&Options::new().with("cfnn:anchor_compressor", "cfnn"))
        .unwrap_err();
    assert!(e.to_string().contains("cfnn:anchor_compressor"), "{e}");
    let e = run(
        &opts.clone().with("cfnn:anchor_compressor", "nosuch"),
        &[&target, &a[0], &a[1]],
    )
    .unwrap_err();
    assert!(e.to_string().contains("not a registered compressor"), "{e}");
    // another anchor compressor works, and its streams say which one decodes them
    let streams = run(
        &opts.clone().with("cfnn:anchor_compressor", "classic"),
        &[&target, &a[0], &a[1]],
    )
    .unwrap();
    let mut d = compressor(&Options::new());
    let refs: Vec<&Data> = streams.iter().collect();
    let mut outs: Vec<Data> = (0..3).map(|_| Data::empty(DType::Float, &dims)).collect();
    d.decompress_many(&refs, &mut outs).unwrap();
    // decompress_many: anchors in any order; a missing or repeated anchor is refused
    let shuffled = [&streams[2], &streams[0], &streams[1]];
    let mut outs2: Vec<Data> = (0..3).map(|_| Data::empty(DType::Float, &dims)).collect();
    d.decompress_many(&shuffled, &mut outs2).unwrap();
    assert_eq!(outs2[1].bytes(), outs[0].bytes());
    let network = {
        let mut c = compressor(&opts.clone().with("cfnn:anchor_compressor", "classic"));
        let mut o: Vec<Data> = (0..3).map(|_| Data::empty(DType::Byte, &[])).collect();
        c.compress_many(&[&target, &a[0], &a[1]], &mut o).unwrap();
        c.get_metrics_results()
            .get_typed::<u32>("cfnn:network_used")
            .unwrap()
            == Some(1)
    };
    let mut two: Vec<Data> = (0..2).map(|_| Data::empty(DType::Float, &dims)).collect();
    let r = d.decompress_many(&[&streams[0], &streams[1]], &mut two);
    if network {
        let e = r.unwrap_err();
        assert!(e.to_string().contains("anchor stream 1 is missing"), "{e}");
    }
    let e = d
        .decompress_many(&[&streams[0], &streams[1], &streams[1]], &mut outs)
        .unwrap_err();
    assert!(e.to_string().contains("given twice"), "{e}");
    // a target stream alone needs its anchors when it uses the network
    if network {
        let mut one = Data::empty(DType::Float, &dims);
        let e = d.decompress(&streams[0], &mut one).unwrap_err();
        assert!(e.to_string().contains("anchors"), "{e}");
    }
    // cfnn:anchors with the wrong shape, or together with cfnn:anchor_files
    let flat = stacked(&a);
    let wrong = Data::from_vec(
        flat.as_slice::<f32>().unwrap().to_vec(),
        &[flat.num_elements()],
    )
    .unwrap();
    let e = compressor(&opts.clone().with("cfnn:anchors", wrong))
        .compress(&target, &mut Data::empty(DType::Byte, &[]))
        .unwrap_err();
    assert!(e.to_string().contains("does not hold anchors"), "{e}");
    let e = compressor(
        &opts
            .clone()
            .with("cfnn:anchors", stacked(&a))
            .with("cfnn:anchor_files", vec!["x".to_string()]),
    )
    .compress(&target, &mut Data::empty(DType::Byte, &[]))
    .unwrap_err();
    assert!(e.to_string().contains("not both"), "{e}");
}
