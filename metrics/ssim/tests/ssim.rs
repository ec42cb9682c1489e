use pressio_ml_core::{
    keys, Compressor, CompressorPlugin, DType, Data, FillSpec, KeyStatus, Metrics, OptionType,
    Options, PressioError, RegistryBuilder, Result, Value, Version,
};
use pressio_ml_metric_ssim::*;

fn metrics() -> Metrics {
    let mut b = RegistryBuilder::new();
    register(&mut b).unwrap();
    b.build().metrics_by_id("ssim").unwrap()
}

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

/// Brute-force reference, written independently: dims are padded to 4 (fastest first), every
/// window start is enumerated with explicit nested loops, and each window's points are copied
/// into vectors before the statistics are taken.
fn reference(x: &[f64], y: &[f64], dims: &[usize]) -> f64 {
    reference_masked(x, y, dims, &[])
}

/// [`reference`] leaving out every window that holds a point flagged in `masked` (empty: none).
fn reference_masked(x: &[f64], y: &[f64], dims: &[usize], masked: &[bool]) -> f64 {
    let nd: Vec<usize> = dims.iter().copied().filter(|&d| d > 1).collect();
    let mut e = [1usize; 4];
    for (k, d) in nd.iter().enumerate() {
        e[k] = *d;
    }
    let starts = |k: usize| -> Vec<usize> {
        if k >= nd.len() {
            vec![0]
        } else {
            let mut v = vec![];
            let mut o = 0;
            while o + 7 <= e[k] {
                v.push(o);
                o += 2;
            }
            v
        }
    };
    let wid = |k: usize| if k < nd.len() { 7 } else { 1 };
    let idx = |a: usize, b: usize, c: usize, d: usize| a + e[0] * (b + e[1] * (c + e[2] * d));
    let mut total = 0.0;
    let mut count = 0usize;
    for &o3 in &starts(3) {
        for &o2 in &starts(2) {
            for &o1 in &starts(1) {
                for &o0 in &starts(0) {
                    let mut xs = vec![];
                    let mut ys = vec![];
                    let mut hit = false;
                    for d in o3..o3 + wid(3) {
                        for c in o2..o2 + wid(2) {
                            for b in o1..o1 + wid(1) {
                                for a in o0..o0 + wid(0) {
                                    let i = idx(a, b, c, d);
                                    hit |= masked.get(i).copied().unwrap_or(false);
                                    xs.push(x[i]);
                                    ys.push(y[i]);
                                }
                            }
                        }
                    }
                    if hit {
                        continue;
                    }
                    let n = xs.len() as f64;
                    let mx = xs.iter().sum::<f64>() / n;
                    let my = ys.iter().sum::<f64>() / n;
                    let vx = xs.iter().map(|v| (v - mx).powi(2)).sum::<f64>() / n;
                    let vy = ys.iter().map(|v| (v - my).powi(2)).sum::<f64>() / n;
                    let cxy = xs
                        .iter()
                        .zip(&ys)
                        .map(|(a, b)| (a - mx) * (b - my))
                        .sum::<f64>()
                        / n;
                    let hi = xs.iter().cloned().fold(f64::MIN, f64::max);
                    let lo = xs.iter().cloned().fold(f64::MAX, f64::min);
                    let l = if hi - lo == 0.0 { 1.0 } else { hi - lo };
                    let c1 = (0.01 * l).powi(2);
                    let c2 = (0.03 * l).powi(2);
                    let c3 = c2 / 2.0;
                    let s = ((2.0 * mx * my + c1) / (mx * mx + my * my + c1))
                        * ((2.0 * vx.sqrt() * vy.sqrt() + c2) / (vx + vy + c2))
                        * ((cxy + c3) / (vx.sqrt() * vy.sqrt() + c3));
                    total += s;
                    count += 1;
                }
            }
        }
    }
    total / count as f64
}

fn eval(x: Vec<f64>, y: Vec<f64>, dims: &[usize]) -> Result<f64> {
    let mut m = metrics();
    let u = Data::from_vec(x, dims)?;
    let d = Data::from_vec(y, dims)?;
    let r = m.evaluate(Some(&u), None, Some(&d))?;
    Ok(r.get::<f64>(SSIM).1.unwrap())
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

#[test]
fn fresh_instance_placeholder() {
    let mut m = metrics();
    let r = m.get_results();
    assert_eq!(r.len(), 1);
    assert_eq!(r.key_status(SSIM), KeyStatus::Exists);
    assert_eq!(r.get_option(SSIM).unwrap().option_type(), OptionType::F64);
}

#[test]
fn hand_computed_single_window() {
    // one 1-D window: x = 0..6, y = x + 1; mx = 3, my = 4, vx = vy = cov = 4, L = 6
    let x: Vec<f64> = (0..7).map(|v| v as f64).collect();
    let y: Vec<f64> = x.iter().map(|v| v + 1.0).collect();
    let c1: f64 = 0.06 * 0.06;
    let want = (24.0 + c1) / (25.0 + c1);
    let got = eval(x, y, &[7]).unwrap();
    assert!(close(got, want, 1e-14), "{got} vs {want}");
}

#[test]
fn identical_data_gives_one() {
    for dims in [vec![100], vec![20, 15], vec![9, 10, 11], vec![8, 9, 7, 10]] {
        let n: usize = dims.iter().product();
        let x: Vec<f64> = lcg(7, n).iter().map(|v| v * 50.0 - 3.0).collect();
        let got = eval(x.clone(), x, &dims).unwrap();
        assert!(close(got, 1.0, 1e-12), "{dims:?}: {got}");
    }
    // constant data (L = 1 fallback) too
    assert!(close(
        eval(vec![3.0; 49], vec![3.0; 49], &[7, 7]).unwrap(),
        1.0,
        1e-15
    ));
}

#[test]
fn matches_brute_force_in_1_to_4_dims() {
    for (seed, dims) in [
        (1u64, vec![50usize]),
        (2, vec![17, 23]),
        (3, vec![1, 12, 1, 14]),
        (4, vec![9, 8, 13]),
        (5, vec![7, 10, 8, 9]),
        (6, vec![8, 1, 7, 7, 9]),
    ] {
        let n: usize = dims.iter().product();
        let x: Vec<f64> = lcg(seed, n)
            .iter()
            .map(|v| (v * 6.0).sin() * 10.0)
            .collect();
        let noise = lcg(seed + 100, n);
        let y: Vec<f64> = x
            .iter()
            .zip(&noise)
            .map(|(a, e)| a + (e - 0.5) * 2.0)
            .collect();
        let got = eval(x.clone(), y.clone(), &dims).unwrap();
        let want = reference(&x, &y, &dims);
        assert!(close(got, want, 1e-12), "{dims:?}: {got} vs {want}");
        assert!(got < 1.0 && got > -1.0);
        // the slice entry point agrees
        assert_eq!(ssim_f64(&x, &y, &dims, &FillSpec::none()).unwrap(), got);
    }
}

#[test]
fn symmetric_when_local_ranges_agree() {
    // y = 2c - x has the same local ranges as x, so swapping the roles changes nothing
    let x: Vec<f64> = lcg(9, 30 * 20).iter().map(|v| v * 4.0).collect();
    let y: Vec<f64> = x.iter().map(|v| 10.0 - v).collect();
    let a = eval(x.clone(), y.clone(), &[30, 20]).unwrap();
    let b = eval(y, x, &[30, 20]).unwrap();
    assert!(close(a, b, 1e-12), "{a} vs {b}");
    // an anti-correlated reconstruction scores far below 1
    assert!(a < 0.5);
}

#[test]
fn more_noise_means_lower_ssim() {
    let x: Vec<f64> = (0..40 * 40)
        .map(|i| ((i % 40) as f64 * 0.2).sin() + (i / 40) as f64 * 0.05)
        .collect();
    let noise = lcg(11, x.len());
    let mut last = 1.0;
    for amp in [0.001, 0.01, 0.1, 1.0] {
        let y: Vec<f64> = x
            .iter()
            .zip(&noise)
            .map(|(a, e)| a + (e - 0.5) * amp)
            .collect();
        let s = eval(x.clone(), y, &[40, 40]).unwrap();
        assert!(s < last, "amp {amp}: {s} >= {last}");
        last = s;
    }
}

#[test]
fn dtypes_are_read_as_f64() {
    let xi: Vec<i32> = (0..64).map(|v| (v * 37) % 11).collect();
    let yi: Vec<i32> = xi.iter().map(|v| v + (v % 3)).collect();
    let xf: Vec<f64> = xi.iter().map(|&v| v as f64).collect();
    let yf: Vec<f64> = yi.iter().map(|&v| v as f64).collect();
    let mut m = metrics();
    let r = m
        .evaluate(
            Some(&Data::from_vec(xi, &[8, 8]).unwrap()),
            None,
            Some(&Data::from_vec(yi, &[8, 8]).unwrap()),
        )
        .unwrap();
    let want = reference(&xf, &yf, &[8, 8]);
    assert!(close(r.get::<f64>(SSIM).1.unwrap(), want, 1e-12));
    let x32: Vec<f32> = xf.iter().map(|&v| v as f32).collect();
    let y32: Vec<f32> = yf.iter().map(|&v| v as f32).collect();
    let r = m
        .evaluate(
            Some(&Data::from_vec(x32, &[64]).unwrap()),
            None,
            Some(&Data::from_vec(y32, &[64]).unwrap()),
        )
        .unwrap();
    assert!(close(
        r.get::<f64>(SSIM).1.unwrap(),
        reference(&xf, &yf, &[64]),
        1e-12
    ));
}

#[test]
fn degenerate_inputs_give_nan_or_errors() {
    // too small for a window
    assert!(eval(vec![1.0; 6], vec![1.0; 6], &[6]).unwrap().is_nan());
    assert!(eval(vec![1.0; 60], vec![1.0; 60], &[10, 6])
        .unwrap()
        .is_nan());
    assert!(eval(vec![1.0; 1], vec![1.0; 1], &[1]).unwrap().is_nan());
    // five normalized dims
    let e = eval(
        vec![0.0; 7 * 7 * 7 * 7 * 2],
        vec![0.0; 7 * 7 * 7 * 7 * 2],
        &[7, 7, 7, 7, 2],
    );
    assert!(matches!(e, Err(PressioError::InvalidDims(_))));
    // mismatched element counts
    let mut m = metrics();
    let u = Data::from_vec(vec![0.0f64; 10], &[10]).unwrap();
    let d = Data::from_vec(vec![0.0f64; 9], &[9]).unwrap();
    assert!(matches!(
        m.evaluate(Some(&u), None, Some(&d)),
        Err(PressioError::InvalidInput(_))
    ));
    assert_eq!(m.get_results().key_status(SSIM), KeyStatus::Exists);
    // a decompressed template without bytes
    assert!(m
        .evaluate(Some(&u), None, Some(&Data::empty(DType::Double, &[10])))
        .is_err());
    // empty buffers: no window
    let z = Data::from_vec(Vec::<f64>::new(), &[0]).unwrap();
    let r = m.evaluate(Some(&z), None, Some(&z)).unwrap();
    assert!(r.get::<f64>(SSIM).1.unwrap().is_nan());
    let z = Data::from_vec(Vec::<f32>::new(), &[0, 10]).unwrap();
    let r = m.evaluate(Some(&z), None, Some(&z)).unwrap();
    assert!(r.get::<f64>(SSIM).1.unwrap().is_nan());
    let none = FillSpec::none();
    assert!(ssim_f64(&[1.0; 8], &[1.0; 7], &[8], &none).is_err());
    assert!(ssim_f64(&[], &[], &[0, 10], &none).unwrap().is_nan());
    assert!(ssim_f64(&[1.0; 8], &[1.0; 8], &[8, 2], &none).is_err());
    assert!(ssim_f64(&[], &[], &[0], &none).unwrap().is_nan());
}

#[test]
fn non_finite_values() {
    let x: Vec<f64> = (0..21).map(|v| (v as f64 * 0.7).cos()).collect();
    let mut y: Vec<f64> = x.iter().map(|v| v + 0.01).collect();
    // windows start at 0, 2, ..., 14; index 20 is only in the last window
    let mut xm = x.clone();
    xm[20] = f64::NAN;
    y[20] = f64::NAN;
    let got = eval(xm.clone(), y.clone(), &[21]).unwrap();
    // the matched NaN drops the last window: same as the data cut before it
    let want = reference(&x[..20], &y[..20], &[20]);
    assert!(close(got, want, 1e-12), "{got} vs {want}");
    // an unmatched NaN makes the result NaN
    y[20] = 0.0;
    assert!(eval(xm, y, &[21]).unwrap().is_nan());
    // only matched non-finite windows: NaN
    assert!(eval(vec![f64::INFINITY; 7], vec![f64::INFINITY; 7], &[7])
        .unwrap()
        .is_nan());
}

/// Returns the input plus a fixed ramp.
#[derive(Clone)]
struct Ramp {
    kept: Option<Data>,
}

impl CompressorPlugin for Ramp {
    fn id(&self) -> &str {
        "ramp"
    }
    fn prefix(&self) -> &str {
        "ramp"
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
        Ok(Data::from_byte_vec(vec![0u8; 4]))
    }
    fn decompress(&mut self, _input: &Data, _template: &Data) -> Result<Data> {
        let k = self.kept.as_ref().unwrap();
        let v: Vec<f64> = k
            .to_f64_vec()
            .iter()
            .enumerate()
            .map(|(i, x)| x + (i % 5) as f64 * 0.1)
            .collect();
        Data::from_vec(v, k.dims())
    }
    fn clone_plugin(&self) -> Box<dyn CompressorPlugin> {
        Box::new(self.clone())
    }
}

#[test]
fn through_a_compressor_handle_and_many() {
    let mut b = RegistryBuilder::new();
    register(&mut b).unwrap();
    let mut c = Compressor::new(Box::new(Ramp { kept: None }), b.build());
    c.set_options(&Options::new().with(keys::METRIC, "ssim"))
        .unwrap();
    let x: Vec<f64> = (0..12 * 13).map(|i| (i as f64 * 0.3).sin()).collect();
    let input = Data::from_vec(x.clone(), &[12, 13]).unwrap();
    let mut s = Data::empty(DType::Byte, &[]);
    c.compress(&input, &mut s).unwrap();
    let mut out = Data::empty(DType::Double, &[12, 13]);
    c.decompress(&s, &mut out).unwrap();
    let y: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, v)| v + (i % 5) as f64 * 0.1)
        .collect();
    let got = c.get_metrics_results().get::<f64>(SSIM).1.unwrap();
    assert!(close(got, reference(&x, &y, &[12, 13]), 1e-12));

    // _many: the mean over all windows of both pairs (10 + 1 windows here)
    let a: Vec<f64> = lcg(1, 25).iter().map(|v| v * 3.0).collect();
    let a2: Vec<f64> = a.iter().map(|v| v * 0.9).collect();
    let b1: Vec<f64> = lcg(2, 7).to_vec();
    let b2: Vec<f64> = b1.iter().map(|v| v + 0.3).collect();
    let mut m = metrics();
    let (da, da2) = (
        Data::from_vec(a.clone(), &[25]).unwrap(),
        Data::from_vec(a2.clone(), &[25]).unwrap(),
    );
    let (db, db2) = (
        Data::from_vec(b1.clone(), &[7]).unwrap(),
        Data::from_vec(b2.clone(), &[7]).unwrap(),
    );
    let p = m.plugin_mut();
    p.begin_compress_many(&[&da, &db], &[]).unwrap();
    p.end_decompress_many(&[], &[&da2, &db2], true).unwrap();
    let got = m.get_results().get::<f64>(SSIM).1.unwrap();
    let want = (reference(&a, &a2, &[25]) * 10.0 + reference(&b1, &b2, &[7])) / 11.0;
    assert!(close(got, want, 1e-12), "{got} vs {want}");
}

#[test]
fn configuration_documentation_clone() {
    let mut m = metrics();
    let cfg = m.get_configuration();
    assert_eq!(
        cfg.get::<bool>(keys::PREDICTORS_REQUIRES_DECOMPRESS).1,
        Some(true)
    );
    assert_eq!(
        cfg.value(keys::PREDICTORS_INVALIDATE),
        Some(&Value::Strings(vec![
            keys::PREDICTORS_ERROR_DEPENDENT.to_string()
        ]))
    );
    let docs = m.get_documentation();
    assert!(docs.get_str(keys::DESCRIPTION).is_some());
    assert!(docs.get_str(SSIM).is_some());
    // the fill keys are options of the metric, documented, and echo back
    let o = m.get_options();
    assert_eq!(o.get_str(pressio_ml_core::fill::FILL_MODE), Some("auto"));
    for k in o.keys() {
        assert!(docs.get_str(k).is_some(), "undocumented {k}");
    }
    m.set_options(&o).unwrap();
    assert_eq!(m.get_options(), o);
    let u = Data::from_vec((0..7).map(|v| v as f64).collect::<Vec<_>>(), &[7]).unwrap();
    m.evaluate(Some(&u), None, None).unwrap();
    let mut copy = m.clone();
    let r = copy.evaluate(None, None, Some(&u)).unwrap();
    assert!(close(r.get::<f64>(SSIM).1.unwrap(), 1.0, 1e-14));
}

fn shared_field(name: &str, leading: usize) -> Option<Data> {
    let f = pressio_ml_testdata::fields()
        .into_iter()
        .find(|f| f.name == name);
    if f.is_none() {
        eprintln!("skipped: {name} not found in ../shared/data");
    }
    f.map(|f| f.load_leading(leading))
}

#[test]
fn ipsl_windows_with_land_are_skipped() {
    // one month of SST, 180 x 170, land at 1e20
    let Some(input) = shared_field("ipsl_tos_24x170x180", 1) else {
        return;
    };
    let dims = input.dims().to_vec();
    let x: Vec<f64> = input.to_f64_vec();
    let land: Vec<bool> = x.iter().map(|v| v.abs() > 1e19).collect();
    let noise = lcg(21, x.len());
    // land exact; sea off by up to 0.05 K
    let y: Vec<f32> = x
        .iter()
        .zip(&noise)
        .map(|(v, e)| {
            if v.abs() > 1e19 {
                *v as f32
            } else {
                (v + (e - 0.5) * 0.1) as f32
            }
        })
        .collect();
    let yf: Vec<f64> = y.iter().map(|v| *v as f64).collect();
    let output = Data::from_vec(y, &dims).unwrap();
    let want = reference_masked(&x, &yf, &dims, &land);
    let mut m = metrics();
    let r = m.evaluate(Some(&input), None, Some(&output)).unwrap();
    let got = r.get::<f64>(SSIM).1.unwrap();
    assert!(close(got, want, 1e-12), "{got} vs {want}");
    // under none, every window, as QCAT: land windows have a 1e20 range and look perfect
    m.set_options(&Options::new().with(pressio_ml_core::fill::FILL_MODE, "none"))
        .unwrap();
    let r = m.evaluate(Some(&input), None, Some(&output)).unwrap();
    let all = r.get::<f64>(SSIM).1.unwrap();
    assert!(close(all, reference(&x, &yf, &dims), 1e-12));
    assert!(all > got + 0.01, "{all} vs {got}");
    assert_eq!(ssim(&input, &output, &FillSpec::none()).unwrap(), all);
    // the free function under auto, and on f64 slices
    assert_eq!(ssim(&input, &output, &FillSpec::default()).unwrap(), got);
    let g64 = ssim_f64(&x, &yf, &dims, &FillSpec::values(&[1e20f32 as f64])).unwrap();
    assert!(close(g64, want, 1e-12));
}

#[test]
fn grads_mask_skips_windows_whatever_was_decompressed() {
    // 3-D: 16 x 15 x 9 with a GrADS UNDEF block and scattered points
    let dims = [16usize, 15, 9];
    let n: usize = dims.iter().product();
    let mut x: Vec<f64> = lcg(22, n).iter().map(|v| 250.0 + 40.0 * v).collect();
    let u = lcg(23, n);
    for (i, v) in x.iter_mut().enumerate() {
        if i % 16 < 3 || u[i] < 0.002 {
            *v = -2.56e33;
        }
    }
    let fill: Vec<bool> = x.iter().map(|v| *v < -1e30).collect();
    // fill points decompressed as garbage: they must not matter
    let y: Vec<f64> = x
        .iter()
        .zip(&lcg(24, n))
        .map(|(v, e)| if *v < -1e30 { 1e6 * e } else { v + e - 0.5 })
        .collect();
    let got = eval(x.clone(), y.clone(), &dims).unwrap();
    let want = reference_masked(&x, &y, &dims, &fill);
    assert!(want.is_finite());
    assert!(close(got, want, 1e-12), "{got} vs {want}");
    // through a compressor handle: the fill keys reach the metric
    let mut b = RegistryBuilder::new();
    register(&mut b).unwrap();
    let mut c = Compressor::new(Box::new(Ramp { kept: None }), b.build());
    c.set_options(&Options::new().with(keys::METRIC, "ssim"))
        .unwrap();
    c.set_options(
        &Options::new()
            .with(pressio_ml_core::fill::FILL_MODE, "values")
            .with(pressio_ml_core::fill::FILL_VALUE, -2.56e33),
    )
    .unwrap();
    let input = Data::from_vec(x.clone(), &dims).unwrap();
    let mut stream = Data::empty(DType::Byte, &[]);
    c.compress(&input, &mut stream).unwrap();
    let mut out = Data::empty(DType::Double, &dims);
    c.decompress(&stream, &mut out).unwrap();
    let yr = out.to_f64_vec();
    let got = c.get_metrics_results().get::<f64>(SSIM).1.unwrap();
    assert!(close(got, reference_masked(&x, &yr, &dims, &fill), 1e-12));
    // every window holds a fill point: NaN
    let mut all = x.clone();
    for v in all.iter_mut().step_by(6) {
        *v = -2.56e33;
    }
    assert!(eval(all, y, &dims).unwrap().is_nan());
}
