use pressio_ml_core::{
    keys, Compressor, CompressorPlugin, DType, Data, Element, FillSpec, KeyStatus, Metrics,
    OptionType, Options, RegistryBuilder, Result, Value, Version,
};
use pressio_ml_metric_error_stat::*;

fn metrics() -> Metrics {
    let mut b = RegistryBuilder::new();
    register(&mut b).unwrap();
    b.build().metrics_by_id("error_stat").unwrap()
}

fn get(o: &Options, k: &str) -> f64 {
    o.get::<f64>(k).1.unwrap_or_else(|| panic!("{k} not set"))
}

fn n_of(o: &Options) -> u64 {
    o.get::<u64>(N).1.unwrap()
}

/// Deterministic pseudo-random numbers in [0, 1).
fn lcg(seed: u64, n: usize) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

/// A direct, two-pass reference written independently of the plugin.
fn reference(x: &[f64], y: &[f64]) -> Vec<(&'static str, f64)> {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let lo = x.iter().cloned().fold(f64::MAX, f64::min);
    let hi = x.iter().cloned().fold(f64::MIN, f64::max);
    let range = hi - lo;
    let d: Vec<f64> = x.iter().zip(y).map(|(a, b)| a - b).collect();
    let e: Vec<f64> = d.iter().map(|v| v.abs()).collect();
    let mse = d.iter().map(|v| v * v).sum::<f64>() / n;
    let emin = e.iter().cloned().fold(f64::MAX, f64::min);
    let emax = e.iter().cloned().fold(0.0, f64::max);
    let dmin = d.iter().cloned().fold(f64::MAX, f64::min);
    let dmax = d.iter().cloned().fold(f64::MIN, f64::max);
    let pw: Vec<f64> = x
        .iter()
        .zip(&e)
        .filter(|(a, _)| **a != 0.0)
        .map(|(a, err)| err / a.abs())
        .collect();
    vec![
        (PSNR, 20.0 * range.log10() - 10.0 * mse.log10()),
        (MSE, mse),
        (RMSE, mse.sqrt()),
        (VALUE_MEAN, mean),
        (VALUE_STD, var.sqrt()),
        (VALUE_MIN, lo),
        (VALUE_MAX, hi),
        (VALUE_RANGE, range),
        (MIN_ERROR, emin),
        (MAX_ERROR, emax),
        (MIN_REL_ERROR, emin / range),
        (MAX_REL_ERROR, emax / range),
        (
            MIN_PW_REL_ERROR,
            pw.iter().cloned().fold(f64::MAX, f64::min),
        ),
        (MAX_PW_REL_ERROR, pw.iter().cloned().fold(0.0, f64::max)),
        (AVERAGE_DIFFERENCE, d.iter().sum::<f64>() / n),
        (AVERAGE_ERROR, e.iter().sum::<f64>() / n),
        (DIFFERENCE_RANGE, dmax - dmin),
        (ERROR_RANGE, emax - emin),
    ]
}

fn assert_close(r: &Options, expected: &[(&str, f64)], tol: f64) {
    for (k, want) in expected {
        let got = get(r, k);
        let scale = want.abs().max(1e-300);
        assert!(
            (got - want).abs() <= tol * scale || (got == *want),
            "{k}: got {got}, want {want}"
        );
    }
}

fn eval<T: Element>(x: Vec<T>, y: Vec<T>, dims: &[usize]) -> Result<Options> {
    let mut m = metrics();
    let u = Data::from_vec(x, dims)?;
    let d = Data::from_vec(y, dims)?;
    m.evaluate(Some(&u), None, Some(&d))
}

#[test]
fn fresh_instance_returns_typed_placeholders() {
    let mut m = metrics();
    let r = m.get_results();
    assert_eq!(r.len(), 20);
    for k in [N, VALID_POINTS] {
        assert_eq!(r.get_option(k).unwrap().option_type(), OptionType::U64);
        assert_eq!(r.key_status(k), KeyStatus::Exists);
    }
    for k in DOUBLE_KEYS {
        assert_eq!(r.key_status(k), KeyStatus::Exists, "{k}");
        assert_eq!(
            r.get_option(k).unwrap().option_type(),
            OptionType::F64,
            "{k}"
        );
    }
}

#[test]
fn hand_computed_small_case() {
    let r = eval(vec![1.0f64, 2.0, 3.0, 4.0], vec![1.5, 2.0, 2.0, 4.0], &[4]).unwrap();
    assert_eq!(n_of(&r), 4);
    let mse = (0.25 + 1.0) / 4.0;
    let expect = [
        (MSE, mse),
        (RMSE, f64::sqrt(0.3125)),
        (PSNR, -20.0 * (f64::sqrt(0.3125) / 3.0).log10()),
        (VALUE_MEAN, 2.5),
        (VALUE_STD, f64::sqrt(1.25)),
        (VALUE_MIN, 1.0),
        (VALUE_MAX, 4.0),
        (VALUE_RANGE, 3.0),
        (MIN_ERROR, 0.0),
        (MAX_ERROR, 1.0),
        (MIN_REL_ERROR, 0.0),
        (MAX_REL_ERROR, 1.0 / 3.0),
        (MIN_PW_REL_ERROR, 0.0),
        (MAX_PW_REL_ERROR, 0.5),
        (AVERAGE_DIFFERENCE, 0.125),
        (AVERAGE_ERROR, 0.375),
        (DIFFERENCE_RANGE, 1.5),
        (ERROR_RANGE, 1.0),
    ];
    assert_close(&r, &expect, 1e-14);
}

#[test]
fn f64_matches_independent_reference() {
    let x: Vec<f64> = lcg(1, 5000).iter().map(|v| v * 200.0 - 50.0).collect();
    let noise = lcg(2, 5000);
    let y: Vec<f64> = x
        .iter()
        .zip(&noise)
        .map(|(a, e)| a + (e - 0.5) * 1e-2)
        .collect();
    let r = eval(x.clone(), y.clone(), &[50, 100]).unwrap();
    assert_eq!(n_of(&r), 5000);
    assert_close(&r, &reference(&x, &y), 1e-9);
}

#[test]
fn f32_matches_reference_in_f64() {
    let x: Vec<f32> = lcg(3, 3000).iter().map(|v| (v * 10.0) as f32).collect();
    let y: Vec<f32> = x
        .iter()
        .enumerate()
        .map(|(i, v)| v + (i % 7) as f32 * 1e-3)
        .collect();
    let xf: Vec<f64> = x.iter().map(|v| *v as f64).collect();
    let yf: Vec<f64> = y.iter().map(|v| *v as f64).collect();
    let r = eval(x, y, &[10, 300]).unwrap();
    assert_close(&r, &reference(&xf, &yf), 1e-9);
}

#[test]
fn integer_dtypes() {
    // i32 with negative values and a zero (skipped by the pointwise relative error)
    let x = vec![-4i32, 0, 2, 10];
    let y = vec![-3i32, 1, 2, 6];
    let r = eval(x.clone(), y.clone(), &[2, 2]).unwrap();
    let xf: Vec<f64> = x.iter().map(|v| *v as f64).collect();
    let yf: Vec<f64> = y.iter().map(|v| *v as f64).collect();
    assert_close(&r, &reference(&xf, &yf), 1e-14);
    // unsigned: the difference must not wrap around
    let r = eval(vec![0u8, 255, 10], vec![255u8, 0, 10], &[3]).unwrap();
    assert_eq!(get(&r, MAX_ERROR), 255.0);
    assert_eq!(get(&r, DIFFERENCE_RANGE), 510.0);
    assert_eq!(get(&r, AVERAGE_DIFFERENCE), 0.0);
    assert_eq!(get(&r, MAX_PW_REL_ERROR), 1.0);
    let r = eval(vec![u64::MAX, 0], vec![0u64, 0], &[2]).unwrap();
    assert_eq!(get(&r, MAX_ERROR), u64::MAX as f64);
    let r = eval(vec![1i8, -1, 3], vec![1i8, -1, 3], &[3]).unwrap();
    assert_eq!(get(&r, PSNR), f64::INFINITY);
    let r = eval(vec![100u16, 200], vec![101u16, 199], &[2]).unwrap();
    assert_eq!(get(&r, MSE), 1.0);
    let r = eval(vec![5i64, 7], vec![6i64, 7], &[2]).unwrap();
    assert_eq!(get(&r, MSE), 0.5);
}

#[test]
fn special_psnr_cases() {
    // exact reconstruction: +inf
    let r = eval(vec![1.0f32, 2.0, 3.0], vec![1.0, 2.0, 3.0], &[3]).unwrap();
    assert_eq!(get(&r, PSNR), f64::INFINITY);
    assert_eq!(get(&r, MSE), 0.0);
    // constant field reproduced exactly: still +inf, not NaN
    let r = eval(vec![2.0f64; 5], vec![2.0; 5], &[5]).unwrap();
    assert_eq!(get(&r, PSNR), f64::INFINITY);
    assert_eq!(get(&r, VALUE_RANGE), 0.0);
    assert!(get(&r, MAX_REL_ERROR).is_nan());
    // constant field with an error: -inf, relative error +inf
    let r = eval(vec![2.0f64; 5], vec![2.0, 2.0, 2.5, 2.0, 2.0], &[5]).unwrap();
    assert_eq!(get(&r, PSNR), f64::NEG_INFINITY);
    assert_eq!(get(&r, MAX_REL_ERROR), f64::INFINITY);
    // all zeros: pointwise relative errors undefined
    let r = eval(vec![0.0f64; 3], vec![0.0, 0.1, 0.0], &[3]).unwrap();
    assert!(get(&r, MIN_PW_REL_ERROR).is_nan());
    assert!(get(&r, MAX_PW_REL_ERROR).is_nan());
}

#[test]
fn non_finite_values() {
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    // matched NaN and matched infinities are skipped
    let r = eval(
        vec![nan, 1.0, inf, 3.0, -inf],
        vec![nan, 1.5, inf, 3.0, -inf],
        &[5],
    )
    .unwrap();
    assert_eq!(n_of(&r), 2);
    assert_close(&r, &reference(&[1.0, 3.0], &[1.5, 3.0]), 1e-14);
    // a NaN that was not reproduced poisons the error statistics
    let r = eval(vec![nan, 1.0, 2.0], vec![0.0, 1.0, 2.0], &[3]).unwrap();
    assert_eq!(n_of(&r), 3);
    assert!(get(&r, MAX_ERROR).is_nan());
    assert!(get(&r, MSE).is_nan());
    assert!(get(&r, PSNR).is_nan());
    // a NaN produced by the decompressor, too
    let r = eval(vec![0.5f32, 1.0], vec![f32::NAN, 1.0], &[2]).unwrap();
    assert!(get(&r, MAX_ERROR).is_nan());
    assert!(get(&r, MIN_ERROR).is_nan());
    // opposite infinities are not a match
    let r = eval(vec![inf, 1.0], vec![-inf, 1.0], &[2]).unwrap();
    assert_eq!(n_of(&r), 2);
    assert_eq!(get(&r, MAX_ERROR), inf);
    // nothing left: n = 0 and NaN everywhere
    let r = eval(vec![nan, inf], vec![nan, inf], &[2]).unwrap();
    assert_eq!(n_of(&r), 0);
    for k in DOUBLE_KEYS {
        assert!(get(&r, k).is_nan(), "{k}");
    }
}

#[test]
fn mismatched_and_empty_inputs_do_not_panic() {
    let mut m = metrics();
    let u = Data::from_vec(vec![1.0f64, 2.0, 3.0], &[3]).unwrap();
    let d = Data::from_vec(vec![1.0f64, 2.0], &[2]).unwrap();
    let e = m.evaluate(Some(&u), None, Some(&d)).unwrap_err();
    assert!(matches!(e, pressio_ml_core::PressioError::InvalidInput(_)));
    assert_ne!(m.error_code(), 0);
    let r = m.get_results();
    assert_eq!(r.key_status(PSNR), KeyStatus::Exists);
    // a decompressed template without bytes
    let t = Data::empty(DType::Double, &[3]);
    assert!(m.evaluate(Some(&u), None, Some(&t)).is_err());
    // empty buffers: n = 0, NaN results
    let z = Data::from_vec(Vec::<f32>::new(), &[0]).unwrap();
    let r = m.evaluate(Some(&z), None, Some(&z)).unwrap();
    assert_eq!(n_of(&r), 0);
    assert!(get(&r, PSNR).is_nan());
    // different dtypes with the same element count are compared in f64
    let a = Data::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
    let b = Data::from_vec(vec![1i32, 3], &[2]).unwrap();
    let r = m.evaluate(Some(&a), None, Some(&b)).unwrap();
    assert_eq!(get(&r, MAX_ERROR), 1.0);
    // decompression without a compression: nothing to compare, placeholders stay
    let mut fresh = metrics();
    let r = fresh.evaluate(None, None, Some(&a)).unwrap();
    assert_eq!(r.key_status(MSE), KeyStatus::Exists);
}

/// A "compressor" that keeps the input and returns it with `offset` added.
#[derive(Clone)]
struct Offset {
    offset: f64,
    kept: Option<Data>,
}

impl CompressorPlugin for Offset {
    fn id(&self) -> &str {
        "offset"
    }
    fn prefix(&self) -> &str {
        "offset"
    }
    fn version(&self) -> Version {
        Version::new(0, 1, 0)
    }
    fn options(&self) -> Options {
        Options::new()
    }
    fn set_options(&mut self, _options: &Options) -> Result<()> {
        Ok(())
    }
    fn configuration(&self) -> Options {
        Options::new()
    }
    fn documentation(&self) -> Options {
        Options::new()
    }
    fn compress(&mut self, input: &Data) -> Result<Data> {
        self.kept = Some(input.clone());
        Ok(Data::from_byte_vec(vec![1u8; 16]))
    }
    fn decompress(&mut self, _input: &Data, _template: &Data) -> Result<Data> {
        let k = self.kept.as_ref().unwrap();
        let v: Vec<f32> = k
            .to_f64_vec()
            .iter()
            .map(|x| (x + self.offset) as f32)
            .collect();
        Data::from_vec(v, k.dims())
    }
    fn clone_plugin(&self) -> Box<dyn CompressorPlugin> {
        Box::new(self.clone())
    }
}

#[test]
fn through_a_compressor_handle() {
    let mut b = RegistryBuilder::new();
    register(&mut b).unwrap();
    let mut c = Compressor::new(
        Box::new(Offset {
            offset: 0.25,
            kept: None,
        }),
        b.build(),
    );
    c.set_options(&Options::new().with(keys::METRIC, "error_stat"))
        .unwrap();
    let x: Vec<f32> = (0..64).map(|i| i as f32).collect();
    let input = Data::from_vec(x.clone(), &[8, 8]).unwrap();
    let mut stream = Data::empty(DType::Byte, &[]);
    c.compress(&input, &mut stream).unwrap();
    // computed only after the decompression
    assert_eq!(c.get_metrics_results().key_status(PSNR), KeyStatus::Exists);
    let mut out = Data::empty(DType::Float, &[8, 8]);
    c.decompress(&stream, &mut out).unwrap();
    let r = c.get_metrics_results();
    assert_eq!(n_of(&r), 64);
    assert_eq!(get(&r, MAX_ERROR), 0.25);
    assert_eq!(get(&r, AVERAGE_DIFFERENCE), -0.25);
    assert_eq!(get(&r, MSE), 0.0625);
    assert_close(&r, &[(PSNR, 20.0 * (63.0f64 / 0.25).log10())], 1e-12);
}

#[test]
fn many_buffers_are_pooled() {
    let x1 = vec![1.0f64, 2.0, 3.0];
    let y1 = vec![1.0f64, 2.5, 3.0];
    let x2 = vec![10.0f64, -4.0];
    let y2 = vec![9.0f64, -4.0];
    let mut m = metrics();
    let (a, b) = (
        Data::from_vec(x1.clone(), &[3]).unwrap(),
        Data::from_vec(x2.clone(), &[2]).unwrap(),
    );
    let (c, d) = (
        Data::from_vec(y1.clone(), &[3]).unwrap(),
        Data::from_vec(y2.clone(), &[2]).unwrap(),
    );
    let p = m.plugin_mut();
    p.begin_compress_many(&[&a, &b], &[]).unwrap();
    p.end_decompress_many(&[], &[&c, &d], true).unwrap();
    let r = m.get_results();
    let x: Vec<f64> = x1.into_iter().chain(x2).collect();
    let y: Vec<f64> = y1.into_iter().chain(y2).collect();
    assert_eq!(n_of(&r), 5);
    assert_close(&r, &reference(&x, &y), 1e-14);
    // a count mismatch is an error
    assert!(m
        .plugin_mut()
        .end_decompress_many(&[], &[&c], true)
        .is_err());
}

#[test]
fn clone_copies_state_and_docs_cover_keys() {
    let mut m = metrics();
    let u = Data::from_vec(vec![1.0f64, 2.0], &[2]).unwrap();
    m.evaluate(Some(&u), None, None).unwrap();
    let mut copy = m.clone();
    let d = Data::from_vec(vec![1.0f64, 2.5], &[2]).unwrap();
    // the copy kept the input from the "compression"
    let r = copy.evaluate(None, None, Some(&d)).unwrap();
    assert_eq!(get(&r, MAX_ERROR), 0.5);
    let docs = m.get_documentation();
    assert!(docs.get_str(keys::DESCRIPTION).is_some());
    for k in metrics().get_results().keys() {
        assert!(docs.get_str(k).is_some(), "undocumented {k}");
    }
    // the fill keys are options of the metric, documented, and echo back
    let o = m.get_options();
    assert_eq!(o.len(), 3);
    for k in o.keys() {
        assert!(docs.get_str(k).is_some(), "undocumented {k}");
    }
    m.set_options(&o).unwrap();
    assert_eq!(m.get_options(), o);
    let cfg = m.get_configuration();
    assert_eq!(
        cfg.get::<bool>(keys::PREDICTORS_REQUIRES_DECOMPRESS).1,
        Some(true)
    );
    assert_eq!(cfg.get_str(keys::STABILITY), Some("stable"));
}

/// A real field from ../shared/data, its first `leading` slowest slices; None (and a visible
/// message) where the data is absent.
fn shared_field(name: &str, leading: usize) -> Option<Data> {
    let f = pressio_ml_testdata::fields()
        .into_iter()
        .find(|f| f.name == name);
    if f.is_none() {
        eprintln!("skipped: {name} not found in ../shared/data");
    }
    f.map(|f| f.load_leading(leading))
}

/// The values at the positions where `keep` holds, as f64.
fn select(v: &[f32], keep: &[bool]) -> Vec<f64> {
    v.iter()
        .zip(keep)
        .filter(|(_, k)| **k)
        .map(|(a, _)| *a as f64)
        .collect()
}

fn with_fill(m: &mut Metrics, mode: &str, value: Option<f64>) {
    let mut o = Options::new().with(pressio_ml_core::fill::FILL_MODE, mode);
    if let Some(v) = value {
        o.set(pressio_ml_core::fill::FILL_VALUE, v);
    }
    m.set_options(&o).unwrap();
}

#[test]
fn ipsl_land_points_are_left_out() {
    // SST with land points at 1e20 (31% of the points)
    let Some(input) = shared_field("ipsl_tos_24x170x180", 6) else {
        return;
    };
    let x = input.as_slice::<f32>().unwrap().to_vec();
    // independent criterion for the valid (sea) points: the land value is the only huge one
    let sea: Vec<bool> = x.iter().map(|v| v.abs() < 1e19).collect();
    let all = vec![true; x.len()];
    let n_sea = sea.iter().filter(|s| **s).count();
    assert!(
        n_sea > x.len() / 2 && n_sea < x.len(),
        "{n_sea} of {}",
        x.len()
    );
    // land exact; sea points off by up to 0.02 K
    let noise = lcg(11, x.len());
    let y: Vec<f32> = x
        .iter()
        .zip(&noise)
        .map(|(v, e)| {
            if v.abs() < 1e19 {
                (*v as f64 + (e - 0.5) * 0.04) as f32
            } else {
                *v
            }
        })
        .collect();
    let output = Data::from_vec(y.clone(), input.dims()).unwrap();
    let (xs, ys) = (select(&x, &sea), select(&y, &sea));
    let over_sea = reference(&xs, &ys);
    let over_all = reference(&select(&x, &all), &select(&y, &all));

    // default (auto): over the sea points only
    let mut m = metrics();
    let r = m.evaluate(Some(&input), None, Some(&output)).unwrap();
    assert_eq!(n_of(&r), n_sea as u64);
    assert_eq!(r.get::<u64>(VALID_POINTS).1, Some(n_sea as u64));
    assert_close(&r, &over_sea, 1e-9);
    let psnr = get(&r, PSNR);
    assert!(
        get(&r, VALUE_RANGE) < 40.0 && psnr > 50.0 && psnr < 100.0,
        "{psnr}"
    );
    assert!(get(&r, MAX_ERROR) <= 0.02 + 1e-4);
    // what the decompressed buffer holds at land points does not matter
    let mut y2 = y.clone();
    for (v, s) in y2.iter_mut().zip(&sea) {
        if !s {
            *v = 0.0;
        }
    }
    let out2 = Data::from_vec(y2, input.dims()).unwrap();
    let r2 = m.evaluate(Some(&input), None, Some(&out2)).unwrap();
    assert_close(&r2, &over_sea, 1e-9);
    // the land value declared explicitly: the same
    with_fill(&mut m, "values", Some(1e20));
    let r = m.evaluate(Some(&input), None, Some(&output)).unwrap();
    assert_close(&r, &over_sea, 1e-9);

    // none: every point, LibPressio's numbers (the 1e20 range makes psnr meaningless)
    with_fill(&mut m, "none", None);
    let r = m.evaluate(Some(&input), None, Some(&output)).unwrap();
    assert_eq!(n_of(&r), x.len() as u64);
    assert_eq!(r.get::<u64>(VALID_POINTS).1, Some(x.len() as u64));
    assert_close(&r, &over_all, 1e-9);
    assert!(get(&r, PSNR) > psnr + 300.0);
    // only another value declared: 1e20 is data again
    with_fill(&mut m, "values", Some(-999.0));
    let r = m.evaluate(Some(&input), None, Some(&output)).unwrap();
    assert_close(&r, &over_all, 1e-9);
    // the free function agrees
    let s = error_stats(&input, &output, &FillSpec::none()).unwrap();
    assert_eq!(s.n, x.len() as u64);
    assert_eq!(s.to_options().get::<f64>(PSNR).1, Some(get(&r, PSNR)));
}

#[test]
fn grads_mask_through_a_compressor_handle() {
    // a real 3-D temperature field with a scattered GrADS UNDEF mask on 10% of the points
    let Some(input) = shared_field("ncep06_T_17x64x128", 6) else {
        return;
    };
    let u = lcg(12, input.num_elements());
    let x: Vec<f32> = input
        .as_slice::<f32>()
        .unwrap()
        .iter()
        .zip(&u)
        .map(|(v, r)| if *r < 0.1 { -2.56e33 } else { *v })
        .collect();
    let valid: Vec<bool> = x.iter().map(|v| *v > -1e30).collect();
    let input = Data::from_vec(x.clone(), input.dims()).unwrap();
    let mut b = RegistryBuilder::new();
    register(&mut b).unwrap();
    // the offset leaves -2.56e33 bit-exact in f32 and moves every temperature by ~0.25
    let mut c = Compressor::new(
        Box::new(Offset {
            offset: 0.25,
            kept: None,
        }),
        b.build(),
    );
    c.set_options(&Options::new().with(keys::METRIC, "error_stat"))
        .unwrap();
    // the fill keys are declared through the compressor
    let o = c.get_options();
    assert_eq!(o.get_str(pressio_ml_core::fill::FILL_MODE), Some("auto"));
    let run = |c: &mut Compressor| -> (Options, Vec<f32>) {
        let mut stream = Data::empty(DType::Byte, &[]);
        c.compress(&input, &mut stream).unwrap();
        let mut out = Data::empty(DType::Float, input.dims());
        c.decompress(&stream, &mut out).unwrap();
        (
            c.get_metrics_results(),
            out.as_slice::<f32>().unwrap().to_vec(),
        )
    };
    let (r, y) = run(&mut c);
    for (a, b) in x.iter().zip(&y) {
        if *a < -1e30 {
            assert_eq!(a.to_bits(), b.to_bits());
        }
    }
    let n_valid = valid.iter().filter(|v| **v).count() as u64;
    assert_eq!(r.get::<u64>(VALID_POINTS).1, Some(n_valid));
    assert_close(
        &r,
        &reference(&select(&x, &valid), &select(&y, &valid)),
        1e-9,
    );
    assert!((get(&r, MAX_ERROR) - 0.25).abs() < 1e-4);
    // pressio:fill_mode set on the compressor reaches its metric
    c.set_options(&Options::new().with(pressio_ml_core::fill::FILL_MODE, "none"))
        .unwrap();
    let (r, y) = run(&mut c);
    let all = vec![true; x.len()];
    assert_close(&r, &reference(&select(&x, &all), &select(&y, &all)), 1e-9);
    assert!(get(&r, VALUE_RANGE) > 1e33);
    // a bad value is refused by the metric too
    assert!(c
        .set_options(&Options::new().with(
            pressio_ml_core::fill::FILL_VALUES,
            Value::Strings(vec!["x".into()])
        ))
        .is_err());
}

#[test]
fn fill_handling_keeps_the_non_finite_rules() {
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    let fill = -2.56e33;
    // matched NaN/Inf skipped, fill skipped whatever was decompressed there
    let x = vec![nan, 1.0, inf, fill, 3.0, 2.0];
    let y = vec![nan, 1.5, inf, 7.0, 3.0, 2.0];
    let r = eval(x.clone(), y.clone(), &[6]).unwrap();
    assert_eq!(n_of(&r), 3);
    assert_eq!(r.get::<u64>(VALID_POINTS).1, Some(3));
    assert_close(&r, &reference(&[1.0, 3.0, 2.0], &[1.5, 3.0, 2.0]), 1e-14);
    // an unreproduced NaN still poisons the statistics, and is not a valid point
    let mut y2 = y.clone();
    y2[0] = 0.0;
    let r = eval(x.clone(), y2, &[6]).unwrap();
    assert_eq!(n_of(&r), 4);
    assert_eq!(r.get::<u64>(VALID_POINTS).1, Some(3));
    assert!(get(&r, MAX_ERROR).is_nan() && get(&r, PSNR).is_nan());
    // a NaN decompressed at a valid point too
    let mut y3 = y.clone();
    y3[4] = nan;
    assert!(get(&eval(x.clone(), y3, &[6]).unwrap(), MSE).is_nan());
    // under none the fill point is data
    let s = error_stats(
        &Data::from_vec(x, &[6]).unwrap(),
        &Data::from_vec(y, &[6]).unwrap(),
        &FillSpec::none(),
    )
    .unwrap();
    assert_eq!((s.n, s.valid_points), (4, 4));
    assert_eq!(s.value_min, fill);
    // auto does not apply its conventions when they would mark every finite value
    let r = eval(vec![1e20f32, -2.56e33], vec![1e20f32, 0.0], &[2]).unwrap();
    assert_eq!(n_of(&r), 2);
    // declared values: the fill points are left out, even when nothing else is left
    let mut m = metrics();
    let only_fill = Data::from_vec(vec![1e20f32, 5.0, 1e20], &[3]).unwrap();
    with_fill(&mut m, "values", Some(1e20));
    let out = Data::from_vec(vec![0.0f32, 5.0, 0.0], &[3]).unwrap();
    let r = m.evaluate(Some(&only_fill), None, Some(&out)).unwrap();
    assert_eq!((n_of(&r), get(&r, MAX_ERROR)), (1, 0.0));
    let r = m
        .evaluate(
            Some(&Data::from_vec(vec![1e20f32; 2], &[2]).unwrap()),
            None,
            Some(&Data::from_vec(vec![0.0f32; 2], &[2]).unwrap()),
        )
        .unwrap();
    assert_eq!(n_of(&r), 0);
    assert!(get(&r, PSNR).is_nan());
}
