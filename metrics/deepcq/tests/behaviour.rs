//! `deepcq` end to end with a tiny model trained here on tiles of two real fields (labels from
//! real `classic` and `zfp` compressions): predictions through a compressor at its bound and
//! at `deepcq:bounds`, warnings, bad input, fill values, determinism, and the two searches.

use pressio_ml_core::{Compressor, DType, Data, Options, Registry, RegistryBuilder, Value};
use pressio_ml_metric_deepcq::labels::{label_tiles, log_bounds, read_field, tiles_of, TileCaps};
use pressio_ml_metric_deepcq::model::LoadedModel;
use pressio_ml_metric_deepcq::net::{HeadKind, NetConfig};
use pressio_ml_metric_deepcq::search::{bisection, by_prediction, run_options, Target};
use pressio_ml_metric_deepcq::targets::heads_for;
use pressio_ml_metric_deepcq::train::{samples, train, write, TrainOptions};
use std::path::PathBuf;
use std::sync::OnceLock;

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| {
        let mut b = RegistryBuilder::new();
        pressio_ml_classic::register(&mut b).unwrap();
        pressio_ml_zfp::register(&mut b).unwrap();
        pressio_ml_metric_size::register(&mut b).unwrap();
        pressio_ml_metric_error_stat::register(&mut b).unwrap();
        pressio_ml_metric_ssim::register(&mut b).unwrap();
        pressio_ml_metric_composite::register(&mut b).unwrap();
        pressio_ml_metric_deepcq::register(&mut b).unwrap();
        b.build()
    })
}

fn field_path(group: &str, name: &str) -> PathBuf {
    let dir = pressio_ml_testdata::data_dir()
        .expect("these tests need the shared fields (../shared/data or $PRESSIO_ML_DATA)");
    dir.join(group).join(format!("{name}.f32"))
}

/// A field as a float buffer.
fn load(group: &str, name: &str) -> Data {
    let p = field_path(group, name);
    let (v, dims) = read_field(&p).unwrap();
    Data::from_vec(v.iter().map(|&x| x as f32).collect::<Vec<f32>>(), &dims).unwrap()
}

/// The manifest of a tiny model trained once for this test binary.
fn model() -> &'static str {
    static M: OnceLock<String> = OnceLock::new();
    M.get_or_init(|| {
        let mut tiles = Vec::new();
        for (g, n, d) in [
            ("geocat", "ncep06_T_17x64x128", vec![128, 64, 17]),
            ("sperr", "vorticity2d_512x512", vec![512, 512]),
        ] {
            let caps = TileCaps {
                train: 4,
                validation: 1,
                test: 1,
            };
            tiles.extend(tiles_of(n, &field_path(g, n), &d, 65536, caps));
        }
        let compressors = vec!["classic".to_string(), "zfp".to_string()];
        let bounds = log_bounds(1e-4, 1e-1, 6);
        let set = label_tiles(registry(), &tiles, &compressors, &bounds, false).unwrap();
        let heads = heads_for(&compressors);
        let all = samples(&set, &heads).unwrap();
        let o = TrainOptions {
            net: NetConfig {
                c1: 4,
                c2: 8,
                embed_hidden: 16,
                embed: 32,
                head_hidden: 16,
                experts: 4,
                expert_hidden: 8,
            },
            backbone_steps: 30,
            batch: 4,
            head_epochs: 20,
            head_draws: 1,
            progress: false,
            ..TrainOptions::default()
        };
        let trained = train(&all, &heads, &bounds, &o).unwrap();
        let dir = std::env::temp_dir().join(format!("deepcq-test-{}", std::process::id()));
        let p = write(&trained, &dir, "tiny-deepcq", &set, 1.0, "test").unwrap();
        p.display().to_string()
    })
}

fn compressor_with_deepcq(id: &str, extra: Options) -> Compressor {
    let mut c = registry().compressor(id).unwrap();
    let mut o = Options::new()
        .with("pressio:metric", "deepcq")
        .with("deepcq:model", model());
    o.merge(&extra);
    c.set_options(&o).unwrap();
    c
}

fn f64_of(o: &Options, k: &str) -> f64 {
    o.get_typed::<f64>(k)
        .unwrap()
        .unwrap_or_else(|| panic!("{k} has no value in {o:?}"))
}

#[test]
fn predicts_at_the_compressors_bound_without_touching_the_input() {
    let input = load("geocat", "ncep06_U_17x64x128");
    let before = input.bytes().to_vec();
    let mut c = compressor_with_deepcq("classic", Options::new().with("pressio:rel", 1e-3));
    let mut stream = Data::empty(DType::Byte, &[]);
    c.compress(&input, &mut stream).unwrap();
    assert_eq!(input.bytes(), &before[..]);
    let r = c.get_metrics_results();
    assert_eq!(
        r.get_typed::<String>("deepcq:warning").unwrap().unwrap(),
        ""
    );
    assert!((f64_of(&r, "deepcq:bound") - 1e-3).abs() < 1e-15);
    for comp in ["classic", "zfp"] {
        let ratio = f64_of(&r, &format!("deepcq:{comp}:size:compression_ratio"));
        let psnr = f64_of(&r, &format!("deepcq:{comp}:error_stat:psnr"));
        let ssim = f64_of(&r, &format!("deepcq:{comp}:ssim:ssim"));
        assert!(ratio > 1.0 && ratio < 1e4, "{comp} ratio {ratio}");
        assert!(psnr > 10.0 && psnr < 200.0, "{comp} psnr {psnr}");
        assert!(ssim > 0.0 && ssim <= 1.0, "{comp} ssim {ssim}");
    }
    // the same bound given as pressio:abs (relative to the valid range) predicts the same
    let v = input.to_f64_vec();
    let range =
        v.iter().cloned().fold(f64::MIN, f64::max) - v.iter().cloned().fold(f64::MAX, f64::min);
    let mut a = compressor_with_deepcq("zfp", Options::new().with("pressio:abs", 1e-3 * range));
    a.compress(&input, &mut stream).unwrap();
    let ra = a.get_metrics_results();
    let key = "deepcq:classic:size:compression_ratio";
    assert!((f64_of(&ra, key) / f64_of(&r, key) - 1.0).abs() < 1e-6);
    // configuration as libpressio-predict expects
    let cfg = registry()
        .metrics_by_id("deepcq")
        .unwrap()
        .get_configuration();
    assert_eq!(
        cfg.get_typed::<bool>("predictors:requires_decompress")
            .unwrap(),
        Some(false)
    );
    assert!(cfg.contains("predictors:invalidate"));
}

#[test]
fn bounds_arrays_and_warnings() {
    let input = load("geocat", "ncep06_U_17x64x128");
    let mut m = registry().metrics_by_id("deepcq").unwrap();
    m.set_options(
        &Options::new()
            .with("deepcq:model", model())
            .with("deepcq:bounds", Value::strings(["1e-3, 1e-2", "1e-7"])),
    )
    .unwrap();
    let r = m.evaluate(Some(&input), None, None).unwrap();
    let w = r.get_typed::<String>("deepcq:warning").unwrap().unwrap();
    assert!(w.contains("outside the trained range"), "{w}");
    let at = r
        .get_typed::<Data>("deepcq:zfp:error_stat:psnr:at_bounds")
        .unwrap()
        .unwrap();
    assert_eq!(at.num_elements(), 3);
    assert!((f64_of(&r, "deepcq:bound") - 1e-3).abs() < 1e-15);
    assert_eq!(
        f64_of(&r, "deepcq:zfp:error_stat:psnr"),
        at.as_slice::<f64>().unwrap()[0]
    );
    // no bound at all: a warning and placeholders, not an error
    let mut m = registry().metrics_by_id("deepcq").unwrap();
    m.set_options(&Options::new().with("deepcq:model", model()))
        .unwrap();
    let r = m.evaluate(Some(&input), None, None).unwrap();
    assert!(r
        .get_typed::<String>("deepcq:warning")
        .unwrap()
        .unwrap()
        .contains("no bound"));
    assert_eq!(
        r.get_typed::<f64>("deepcq:classic:size:compression_ratio")
            .unwrap(),
        None
    );
    // one metric over two inputs predicts for each as a fresh one does (the features of the
    // previous input are reused only for the same bytes)
    let other = load("geocat", "ncep06_T_17x64x128");
    let opts = Options::new()
        .with("deepcq:model", model())
        .with("pressio:rel", 1e-3);
    let mut m = registry().metrics_by_id("deepcq").unwrap();
    m.set_options(&opts).unwrap();
    let first = m.evaluate(Some(&input), None, None).unwrap();
    let again = m.evaluate(Some(&input), None, None).unwrap();
    let second = m.evaluate(Some(&other), None, None).unwrap();
    let mut fresh = registry().metrics_by_id("deepcq").unwrap();
    fresh.set_options(&opts).unwrap();
    let expected = fresh.evaluate(Some(&other), None, None).unwrap();
    let k = "deepcq:classic:size:compression_ratio";
    assert_eq!(f64_of(&first, k), f64_of(&again, k));
    assert_eq!(f64_of(&second, k), f64_of(&expected, k));
    assert_ne!(f64_of(&first, k), f64_of(&second, k));
    // the head variants differ and both predict
    for head in ["mlp", "moe"] {
        let mut m = registry().metrics_by_id("deepcq").unwrap();
        let o = Options::new()
            .with("deepcq:model", model())
            .with("deepcq:head", head)
            .with("pressio:rel", 1e-2);
        m.set_options(&o).unwrap();
        let r = m.evaluate(Some(&input), None, None).unwrap();
        assert!(f64_of(&r, "deepcq:zfp:size:compression_ratio") > 1.0);
    }
}

#[test]
fn bad_input_and_options_get_clear_errors() {
    let mut m = registry().metrics_by_id("deepcq").unwrap();
    m.set_options(
        &Options::new()
            .with("deepcq:model", model())
            .with("pressio:rel", 1e-3),
    )
    .unwrap();
    let err = |m: &mut pressio_ml_core::Metrics, d: &Data| match m.evaluate(Some(d), None, None) {
        Ok(r) => panic!("{:?} {:?} gave results {r:?}", d.dtype(), d.dims()),
        Err(e) => e.to_string(),
    };
    let nan = Data::from_vec(
        (0..4096)
            .map(|i| if i == 7 { f32::NAN } else { i as f32 })
            .collect::<Vec<f32>>(),
        &[64, 64],
    )
    .unwrap();
    assert!(err(&mut m, &nan).contains("NaN"));
    let tiny = Data::from_vec(vec![1.0f32; 10], &[10]).unwrap();
    assert!(err(&mut m, &tiny).contains("at least"));
    let empty = Data::empty(DType::Float, &[]);
    assert!(err(&mut m, &empty).contains("empty"));
    let flags = Data::from_bytes(DType::Bool, &[4096], &[1u8; 4096]).unwrap();
    assert!(err(&mut m, &flags).contains("dtype"));
    // integer fields are predicted like the compressors see them (exact doubles)
    let ints = Data::from_vec(
        (0..4096).map(|i| (i % 200) as u8).collect::<Vec<u8>>(),
        &[64, 64],
    );
    assert!(m.evaluate(Some(&ints.unwrap()), None, None).is_ok());
    // unknown compressor ids and models are named
    let input = load("geocat", "ncep06_U_17x64x128");
    m.set_options(&Options::new().with("deepcq:compressors", Value::strings(["nosuch"])))
        .unwrap();
    let e = err(&mut m, &input);
    assert!(e.contains("nosuch") && e.contains("classic"), "{e}");
    let mut m = registry().metrics_by_id("deepcq").unwrap();
    m.set_options(&Options::new().with("deepcq:model", "no-such-deepcq-model"))
        .unwrap();
    assert!(err(&mut m, &input).contains("no-such-deepcq-model"));
    // invalid option values
    let mut m = registry().metrics_by_id("deepcq").unwrap();
    assert!(m
        .set_options(&Options::new().with("deepcq:bounds", Value::strings(["-1"])))
        .is_err());
    assert!(m
        .set_options(&Options::new().with("deepcq:head", "big"))
        .is_err());
}

#[test]
fn fill_values_are_left_out_and_predictions_are_reproducible() {
    let input = load("geocat", "ncep06_U_17x64x128");
    let mut masked: Vec<f32> = input.as_slice::<f32>().unwrap().to_vec();
    for (i, v) in masked.iter_mut().enumerate() {
        if (i / 128) % 64 < 10 {
            *v = 1e20;
        }
    }
    let masked = Data::from_vec(masked, input.dims()).unwrap();
    let run = |d: &Data, abs: f64| {
        let mut c = compressor_with_deepcq("classic", Options::new().with("pressio:abs", abs));
        let mut s = Data::empty(DType::Byte, &[]);
        c.compress(d, &mut s).unwrap();
        c.get_metrics_results()
    };
    // the bound is relative to the valid range, not to a range that reaches 1e20
    let valid: Vec<f64> = masked
        .to_f64_vec()
        .into_iter()
        .filter(|v| v.abs() < 1e19)
        .collect();
    let range = valid.iter().cloned().fold(f64::MIN, f64::max)
        - valid.iter().cloned().fold(f64::MAX, f64::min);
    let r = run(&masked, 1e-3 * range);
    assert!((f64_of(&r, "deepcq:bound") - 1e-3).abs() < 1e-12);
    assert!(f64_of(&r, "deepcq:classic:size:compression_ratio").is_finite());
    // the same input twice, and at another libtorch thread count: identical predictions
    let a = run(&input, 0.5);
    tch::set_num_threads(1);
    let b = run(&input, 0.5);
    tch::set_num_threads(2);
    for k in [
        "deepcq:classic:size:compression_ratio",
        "deepcq:zfp:ssim:ssim",
    ] {
        assert_eq!(f64_of(&a, k).to_bits(), f64_of(&b, k).to_bits(), "{k}");
    }
}

#[test]
fn searches_reach_a_target_ratio() {
    let data = load("geocat", "ncep06_V_17x64x128");
    let loaded = LoadedModel::load(model()).unwrap();
    for target in [
        Target::Ratio(12.0),
        Target::Psnr(60.0),
        Target::MinSsim(0.999),
    ] {
        let p = by_prediction(
            registry(),
            &loaded,
            HeadKind::Moe,
            "classic",
            &data,
            target,
            0.05,
            16,
        )
        .unwrap();
        let b = bisection(registry(), "classic", &data, target, 0.05, [1e-5, 1e-1], 16).unwrap();
        eprintln!(
            "{target:?}: by prediction {} compressions (bound {:.3e}, {:.3}), bisection {} \
             (bound {:.3e}, {:.3})",
            p.compressions, p.bound, p.actual, b.compressions, b.bound, b.actual
        );
        assert!(p.met && b.met, "{p:?} {b:?}");
        assert!(target.met(p.actual, 0.05));
        assert_eq!(p.compressions, p.steps.len());
    }
    // the options interface (the C ABI's)
    let settings = Options::new()
        .with("deepcq:target_ratio", 12.0)
        .with("deepcq:model", model());
    let r = run_options(registry(), "classic", &data, &settings).unwrap();
    assert_eq!(
        r.get_typed::<bool>("deepcq:search:met").unwrap(),
        Some(true)
    );
    assert!(run_options(registry(), "nosuch", &data, &settings).is_err());
    let both = settings.clone().with("deepcq:target_psnr", 40.0);
    assert!(run_options(registry(), "classic", &data, &both).is_err());
    assert!(Target::Ratio(0.5).validate().is_err());
}
