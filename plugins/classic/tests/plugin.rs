//! Behaviour of the `classic` plugin: options, configuration, dtypes, dims, threads, special
//! values and corrupt streams.

use pressio_ml_classic::{register, Classic};
use pressio_ml_core::{
    keys, CompressorPlugin, DType, Data, Options, PressioError, RegistryBuilder, Value,
};

fn smooth(n: usize, seed: u32) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let x = i as f64;
            (x * 0.011 + seed as f64).sin() * 5.0
                + (x * 0.0003).cos()
                + ((i * 7919 + seed as usize) % 97) as f64 * 1e-3
        })
        .collect()
}

fn roundtrip(c: &mut Classic, input: &Data) -> (Data, Data) {
    let z = c.compress(input).expect("compress");
    let d = c
        .decompress(&z, &Data::empty(input.dtype(), input.dims()))
        .expect("decompress");
    assert_eq!(d.dims(), input.dims());
    assert_eq!(d.dtype(), input.dtype());
    (z, d)
}

fn rel_bound(a: &Data, rel: f64) -> f64 {
    let v = a.to_f64_vec();
    let f = v.iter().filter(|x| x.is_finite());
    let hi = f.clone().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
    let lo = f.fold(f64::INFINITY, |m, &x| m.min(x));
    rel * (hi - lo)
}

fn max_err(a: &Data, b: &Data) -> f64 {
    a.to_f64_vec()
        .iter()
        .zip(b.to_f64_vec())
        .filter(|(x, _)| x.is_finite())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn registry_options_and_documentation() {
    let mut b = RegistryBuilder::new();
    register(&mut b).unwrap();
    let reg = b.build();
    let mut c = reg.compressor("classic").unwrap();
    let opts = c.get_options();
    for k in [
        keys::ABS,
        keys::REL,
        keys::NTHREADS,
        "classic:predictor",
        "classic:interp_algo",
    ] {
        assert!(opts.contains(k), "{k} not declared");
    }
    assert_eq!(
        opts.get::<f64>(keys::REL).1,
        Some(1e-3),
        "default bound is rel 1e-3"
    );
    let docs = c.get_documentation();
    assert!(docs.contains(keys::DESCRIPTION));
    let config = c.get_configuration();
    for k in opts.keys().chain(config.keys()) {
        assert!(docs.contains(k), "{k} is not documented");
    }
    assert_eq!(
        config.value(keys::THREAD_SAFE),
        Some(&Value::ThreadSafety(
            pressio_ml_core::ThreadSafety::Multiple
        ))
    );
    assert!(config.contains(keys::STABILITY));
    for list in [
        keys::PREDICTORS_ERROR_DEPENDENT,
        keys::PREDICTORS_ERROR_AGNOSTIC,
        keys::PREDICTORS_RUNTIME,
    ] {
        let Some(Value::Strings(v)) = config.value(list) else {
            panic!("{list} missing")
        };
        for k in v {
            assert!(opts.contains(k), "{list} names {k}, which is not an option");
        }
    }
    // Bad values are refused and leave the plugin unchanged.
    for (k, v) in [
        ("classic:predictor", Value::from("zfp")),
        ("classic:interp_algo", Value::from("quintic")),
        ("classic:anchor_stride", Value::U32(3)),
        ("classic:quant_radius", Value::U32(0)),
        ("classic:interp_alpha", Value::F64(0.5)),
        (keys::NTHREADS, Value::U32(0)),
        (keys::ABS, Value::F64(-1.0)),
        (keys::REL, Value::F32(1e-3)),
    ] {
        let o = Options::new().with(k, v);
        assert!(c.check_options(&o).is_err(), "{k} accepted");
        assert!(c.set_options(&o).is_err(), "{k} accepted");
    }
    assert_eq!(
        c.get_options()
            .get::<String>("classic:predictor")
            .1
            .as_deref(),
        Some("interp")
    );
    c.set_options(&Options::new().with("classic:predictor", "lorenzo"))
        .unwrap();
    assert_eq!(
        c.get_options()
            .get::<String>("classic:predictor")
            .1
            .as_deref(),
        Some("lorenzo")
    );
    // Echoing the options back works.
    let echo = c.get_options();
    c.set_options(&echo).unwrap();
}

#[test]
fn dtypes_and_dims() {
    let mut c = Classic::default();
    let bytes = Data::from_bytes(pressio_ml_core::DType::Byte, &[3], &[1, 2, 3]).unwrap();
    assert!(matches!(
        c.compress(&bytes),
        Err(PressioError::UnsupportedDType { .. })
    ));
    for dims in [
        vec![1usize],
        vec![7],
        vec![1, 9, 1],
        vec![30, 20],
        vec![9, 8, 7],
        vec![5, 4, 3, 6],
        vec![3, 4, 2, 3, 5],
        vec![2, 2, 2, 2, 2, 3],
    ] {
        let n: usize = dims.iter().product();
        let v = smooth(n, 3);
        for pred in ["interp", "lorenzo"] {
            c.set_options(
                &Options::new()
                    .with("classic:predictor", pred)
                    .with(keys::ABS, 1e-3),
            )
            .unwrap();
            let d64 = Data::from_vec(v.clone(), &dims).unwrap();
            let (_, out) = roundtrip(&mut c, &d64);
            assert!(max_err(&d64, &out) <= 1e-3, "{dims:?} {pred}");
            let d32 =
                Data::from_vec(v.iter().map(|&x| x as f32).collect::<Vec<_>>(), &dims).unwrap();
            let (_, out) = roundtrip(&mut c, &d32);
            assert!(max_err(&d32, &out) <= 1e-3, "{dims:?} {pred}");
        }
    }
}

#[test]
fn output_does_not_depend_on_threads() {
    let dims = [300usize, 200, 7];
    let v: Vec<f32> = smooth(dims.iter().product(), 1)
        .iter()
        .map(|&x| x as f32)
        .collect();
    let input = Data::from_vec(v, &dims).unwrap();
    for pred in ["interp", "lorenzo"] {
        let mut reference: Option<Vec<u8>> = None;
        for t in [1u32, 2, 3, 8] {
            let mut c = Classic::default();
            c.set_options(
                &Options::new()
                    .with(keys::NTHREADS, t)
                    .with("classic:predictor", pred),
            )
            .unwrap();
            let (z, out) = roundtrip(&mut c, &input);
            assert!(max_err(&input, &out) <= rel_bound(&input, 1e-3));
            match &reference {
                None => reference = Some(z.bytes().to_vec()),
                Some(r) => assert_eq!(r.as_slice(), z.bytes(), "{pred} with {t} threads"),
            }
        }
    }
}

#[test]
fn special_values() {
    let mut c = Classic::default();
    // NaN and infinities pass through bit-exactly.
    let mut v: Vec<f32> = smooth(4000, 2).iter().map(|&x| x as f32).collect();
    v[0] = f32::NAN;
    v[17] = f32::INFINITY;
    v[3999] = f32::NEG_INFINITY;
    let input = Data::from_vec(v.clone(), &[40, 100]).unwrap();
    let (_, out) = roundtrip(&mut c, &input);
    let o = out.as_slice::<f32>().unwrap();
    for (a, b) in v.iter().zip(o) {
        if a.is_finite() {
            assert!(((*a as f64) - (*b as f64)).abs() <= rel_bound(&input, 1e-3));
        } else {
            assert_eq!(a.to_bits(), b.to_bits());
        }
    }
    // Constant fields (rel) and abs = 0 are lossless.
    let constant = Data::from_vec(vec![2.5f64; 1000], &[10, 100]).unwrap();
    let (_, out) = roundtrip(&mut c, &constant);
    assert_eq!(out, constant);
    c.set_options(&Options::new().with(keys::ABS, 0.0)).unwrap();
    let (_, out) = roundtrip(&mut c, &input);
    assert_eq!(out.bytes(), input.bytes());
    // Huge and tiny magnitudes.
    c.set_options(&Options::new().with(keys::ABS, 1e-6))
        .unwrap();
    let wild: Vec<f64> = (0..999)
        .map(|i| {
            if i % 7 == 0 {
                1e300
            } else if i % 5 == 0 {
                -1e-300
            } else {
                i as f64
            }
        })
        .collect();
    let input = Data::from_vec(wild, &[999]).unwrap();
    let (_, out) = roundtrip(&mut c, &input);
    assert!(max_err(&input, &out) <= 1e-6);
}

#[test]
fn corrupt_streams_are_errors() {
    let mut c = Classic::default();
    let v: Vec<f32> = smooth(5000, 4).iter().map(|&x| x as f32).collect();
    let input = Data::from_vec(v, &[50, 100]).unwrap();
    let z = c.compress(&input).unwrap();
    let bytes = z.bytes().to_vec();
    let tmpl = Data::empty(DType::Float, &[50, 100]);
    for cut in [0usize, 1, 10, bytes.len() / 2, bytes.len() - 1] {
        let t = Data::from_byte_vec(bytes[..cut].to_vec());
        assert!(c.decompress(&t, &tmpl).is_err());
    }
    for i in (0..bytes.len()).step_by(7) {
        let mut b = bytes.clone();
        b[i] ^= 0x5a;
        assert!(
            c.decompress(&Data::from_byte_vec(b), &tmpl).is_err(),
            "flip at {i} accepted"
        );
    }
}
