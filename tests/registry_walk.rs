//! Walks the registry as LibPressio's integration test does: every compressor and metric is
//! documented, configured and usable, ids and prefixes are unique, and small inputs of every
//! float dtype and 1-D to 4-D shapes round-trip within bound.

use pressio_ml::{keys, registry, DType, Data, KeyStatus, Options, PressioError, Value};
use pressio_ml_testdata::max_abs_error;
use std::collections::HashSet;

fn strings(o: &Options, k: &str) -> Option<Vec<String>> {
    match o.value(k) {
        Some(Value::Strings(v)) => Some(v.clone()),
        _ => None,
    }
}

#[test]
fn compressors_are_documented_configured_and_unique() {
    let reg = registry();
    let ids = reg.compressor_ids();
    for expected in ["classic", "sz3", "zfp", "sperr", "aesz"] {
        assert!(
            ids.iter().any(|i| i == expected),
            "{expected} is not registered"
        );
    }
    let mut prefixes = HashSet::new();
    let mut descriptions = HashSet::new();
    for id in &ids {
        let c = reg.compressor(id).unwrap();
        assert_eq!(c.id(), id);
        let docs = c.get_documentation();
        let desc = docs
            .get_str(keys::DESCRIPTION)
            .unwrap_or_default()
            .to_string();
        assert!(!desc.is_empty(), "{id}: no pressio:description");
        assert!(
            descriptions.insert(desc),
            "{id}: description shared with another plugin"
        );
        assert!(
            prefixes.insert(c.prefix().to_string()),
            "{id}: prefix {} reused",
            c.prefix()
        );
        let opts = c.get_options();
        let conf = c.get_configuration();
        for k in opts.keys().chain(conf.keys()) {
            assert!(docs.contains(k), "{id}: key {k} is not documented");
        }
        assert!(
            matches!(conf.value(keys::THREAD_SAFE), Some(Value::ThreadSafety(_))),
            "{id}: pressio:thread_safe missing or mistyped"
        );
        let st = conf.get_str(keys::STABILITY).unwrap_or_default();
        assert!(
            ["stable", "unstable", "experimental", "external"].contains(&st),
            "{id}: pressio:stability = {st:?}"
        );
        for list in [
            keys::PREDICTORS_ERROR_DEPENDENT,
            keys::PREDICTORS_ERROR_AGNOSTIC,
            keys::PREDICTORS_RUNTIME,
        ] {
            let v = strings(&conf, list).unwrap_or_else(|| panic!("{id}: {list} missing"));
            for k in v {
                assert!(
                    opts.contains(&k),
                    "{id}: {list} names {k}, which is not an option"
                );
            }
        }
        if let Some(h) = strings(&conf, keys::HIGHLEVEL) {
            for k in h {
                assert!(
                    opts.contains(&k),
                    "{id}: pressio:highlevel names unknown {k}"
                );
            }
        }
        assert_ne!(
            opts.key_status(keys::ABS),
            KeyStatus::DoesNotExist,
            "{id}: no pressio:abs"
        );
        assert_ne!(
            opts.key_status(keys::REL),
            KeyStatus::DoesNotExist,
            "{id}: no pressio:rel"
        );
    }
}

#[test]
fn metrics_are_documented_and_configured() {
    let reg = registry();
    let ids = reg.metric_ids();
    for expected in ["size", "error_stat", "time", "ssim", "composite"] {
        assert!(
            ids.iter().any(|i| i == expected),
            "metric {expected} is not registered"
        );
    }
    let mut descriptions = HashSet::new();
    for id in &ids {
        let mut m = reg.metrics_by_id(id).unwrap();
        let docs = m.get_documentation();
        let desc = docs
            .get_str(keys::DESCRIPTION)
            .unwrap_or_default()
            .to_string();
        assert!(!desc.is_empty(), "metric {id}: no description");
        assert!(descriptions.insert(desc), "metric {id}: description reused");
        let results = m.get_results();
        let conf = m.get_configuration();
        let opts = m.get_options();
        for k in results.keys().chain(conf.keys()).chain(opts.keys()) {
            assert!(docs.contains(k), "metric {id}: key {k} is not documented");
        }
        assert!(matches!(
            conf.value(keys::THREAD_SAFE),
            Some(Value::ThreadSafety(_))
        ));
        assert!(
            conf.get_str(keys::STABILITY).is_some(),
            "metric {id}: no stability"
        );
        match conf.value(keys::PREDICTORS_REQUIRES_DECOMPRESS) {
            Some(Value::Bool(_)) => {}
            Some(Value::Strings(v)) => {
                for k in v {
                    assert!(
                        results.contains(k),
                        "metric {id}: requires_decompress names {k}"
                    );
                }
            }
            other => panic!("metric {id}: predictors:requires_decompress = {other:?}"),
        }
    }
}

#[test]
fn options_echo_back_and_clones_agree() {
    let reg = registry();
    for id in reg.compressor_ids() {
        let mut c = reg.compressor(&id).unwrap();
        let before = c.get_options();
        c.set_options(&before)
            .unwrap_or_else(|e| panic!("{id}: echoing options back: {e}"));
        assert_eq!(c.get_options(), before, "{id}: options changed by an echo");
        c.check_options(&before).unwrap();
        let mut bad = Options::new();
        bad.set(format!("{}:no_such_key", c.prefix()), 1i32);
        assert!(
            c.check_options(&bad).is_err(),
            "{id}: unknown own key accepted by check"
        );
        let wrong = Options::new().with(keys::ABS, "not a number");
        assert!(
            c.set_options(&wrong).is_err(),
            "{id}: string pressio:abs accepted"
        );
        assert!(c.error_code() > 0 && !c.error_msg().is_empty());
        c.set_options(&Options::new().with(keys::ABS, 0.25))
            .unwrap();
        let cl = c.clone();
        assert_eq!(cl.get_options(), c.get_options(), "{id}: clone differs");
        assert_eq!(cl.get_options().get::<f64>(keys::ABS).1, Some(0.25));
    }
}

fn smooth<T: pressio_ml::Element>(n: usize, seed: u64) -> Vec<T> {
    let mut s = seed | 1;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let noise = (s >> 40) as f64 / (1u64 << 24) as f64;
            T::from_f64((i as f64 * 0.05).sin() * 3.0 + noise * 0.1)
        })
        .collect()
}

fn roundtrip_case<T: pressio_ml::Element + PartialEq>(id: &str, dims: &[usize], abs: f64) {
    let reg = registry();
    let n: usize = dims.iter().product();
    let values: Vec<T> = smooth(n, n as u64 * 7 + dims.len() as u64);
    let input = Data::from_vec(values.clone(), dims).unwrap();
    let mut c = reg.compressor(id).unwrap();
    c.set_options(&Options::new().with(keys::ABS, abs)).unwrap();
    let mut comp = Data::empty(DType::Byte, &[]);
    c.compress(&input, &mut comp)
        .unwrap_or_else(|e| panic!("{id} {:?} {dims:?}: compress: {e}", T::DTYPE));
    // empty template with dims
    let mut out = Data::empty(T::DTYPE, dims);
    c.decompress(&comp, &mut out)
        .unwrap_or_else(|e| panic!("{id} {:?} {dims:?}: decompress: {e}", T::DTYPE));
    assert_eq!(out.dims(), dims);
    let err = max_abs_error(&values, out.as_slice::<T>().unwrap());
    assert!(
        err <= abs,
        "{id} {:?} {dims:?}: max error {err} > {abs}",
        T::DTYPE
    );
    // pre-allocated, borrowed output is filled in place
    let mut backing = vec![T::from_f64(0.0); n];
    let mut borrowed =
        unsafe { Data::from_raw_parts(T::DTYPE, backing.as_mut_ptr() as *mut u8, dims).unwrap() };
    c.decompress(&comp, &mut borrowed).unwrap();
    drop(borrowed);
    assert_eq!(max_abs_error(&values, &backing), err);
    // the input was not modified
    assert!(input.as_slice::<T>().unwrap() == &values[..]);
    // a clone decodes the same stream identically
    let mut out2 = Data::empty(T::DTYPE, dims);
    c.clone().decompress(&comp, &mut out2).unwrap();
    assert_eq!(out2, out);
}

#[test]
fn small_inputs_of_every_float_dtype_and_rank() {
    let shapes: &[&[usize]] = &[
        &[1],
        &[2],
        &[37],
        &[1, 50],
        &[13, 9],
        &[7, 6, 5],
        &[16, 1, 9],
        &[5, 4, 3, 3],
        &[9, 8, 7, 6],
    ];
    for id in registry().compressor_ids() {
        for dims in shapes {
            roundtrip_case::<f32>(&id, dims, 1e-3);
            roundtrip_case::<f64>(&id, dims, 1e-6);
        }
    }
}

#[test]
fn nonfinite_values_come_back_exactly() {
    let reg = registry();
    for id in reg.compressor_ids() {
        let mut v: Vec<f32> = smooth(24 * 20, 3);
        v[0] = f32::NAN;
        v[17] = f32::INFINITY;
        v[200] = f32::NEG_INFINITY;
        v[479] = f32::NAN;
        let input = Data::from_vec(v.clone(), &[24, 20]).unwrap();
        let mut c = reg.compressor(&id).unwrap();
        c.set_options(&Options::new().with(keys::REL, 1e-3))
            .unwrap();
        let mut comp = Data::empty(DType::Byte, &[]);
        c.compress(&input, &mut comp)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let mut out = Data::empty(DType::Float, &[24, 20]);
        c.decompress(&comp, &mut out).unwrap();
        let o = out.as_slice::<f32>().unwrap();
        for i in [0, 17, 200, 479] {
            assert_eq!(v[i].to_bits(), o[i].to_bits(), "{id}: value {i}");
        }
        let bound = 1e-3 * pressio_ml_testdata::value_range(&v);
        assert!(
            max_abs_error(&v, o) <= bound,
            "{id}: bound broken next to non-finite values"
        );
    }
}

#[test]
fn bad_input_is_refused_with_clear_errors() {
    let reg = registry();
    assert!(matches!(
        reg.compressor("no-such"),
        Err(PressioError::UnknownCompressor(_))
    ));
    let input = Data::from_vec(smooth::<f32>(64 * 32, 5), &[64, 32]).unwrap();
    let ids = reg.compressor_ids();
    for id in &ids {
        let mut c = reg.compressor(id).unwrap();
        c.set_options(&Options::new().with(keys::ABS, 1e-2))
            .unwrap();
        let mut comp = Data::empty(DType::Byte, &[]);
        // empty input
        assert!(
            c.compress(&Data::empty(DType::Float, &[0]), &mut comp)
                .is_err(),
            "{id}"
        );
        assert!(
            c.compress(&Data::empty(DType::Float, &[10]), &mut comp)
                .is_err(),
            "{id}"
        );
        // unsupported dtype (integers are fields, raw bytes are not)
        let bytes = Data::from_bytes(DType::Byte, &[16], &[7u8; 16]).unwrap();
        let e = c.compress(&bytes, &mut comp);
        assert!(e.is_err(), "{id}: byte data accepted");
        c.compress(&input, &mut comp).unwrap();
        // wrong output dims / dtype
        let mut wrong = Data::empty(DType::Float, &[10, 10]);
        assert!(
            c.decompress(&comp, &mut wrong).is_err(),
            "{id}: wrong dims accepted"
        );
        let mut wrong_t = Data::empty(DType::Double, &[64, 32]);
        assert!(
            c.decompress(&comp, &mut wrong_t).is_err(),
            "{id}: wrong dtype accepted"
        );
        // truncated and bit-flipped streams
        let bytes = comp.bytes().to_vec();
        for cut in [0, 1, 4, 10, bytes.len() / 2, bytes.len() - 1] {
            let t = Data::from_byte_vec(bytes[..cut].to_vec());
            let mut out = Data::empty(DType::Float, &[64, 32]);
            assert!(
                c.decompress(&t, &mut out).is_err(),
                "{id}: truncation at {cut} accepted"
            );
        }
        for bit in [3usize, 77, bytes.len() * 4, bytes.len() * 8 - 9] {
            let mut f = bytes.clone();
            f[bit / 8] ^= 1 << (bit % 8);
            let mut out = Data::empty(DType::Float, &[64, 32]);
            let r = c.decompress(&Data::from_byte_vec(f), &mut out);
            assert!(r.is_err(), "{id}: bit flip {bit} accepted");
        }
        // a stream of another plugin. A gwlz that stepped aside wrote its inner sz3's own
        // stream, which sz3 decodes, and gwlz decodes its inner compressor's streams (tests of
        // plugins/gwlz).
        let writer = pressio_ml_codec::container::peek_header(comp.bytes())
            .unwrap()
            .plugin_id;
        assert!(
            writer == *id || (id == "gwlz" && writer == "sz3"),
            "{id} wrote a {writer} stream"
        );
        let writer = writer.as_str();
        for other in ids.iter().filter(|o| *o != id) {
            let mut d = reg.compressor(other).unwrap();
            let mut out = Data::empty(DType::Float, &[64, 32]);
            let inner_of_gwlz =
                other == "gwlz" && d.get_options().get_str("gwlz:compressor") == Some(writer);
            if other == writer || inner_of_gwlz {
                assert!(d.decompress(&comp, &mut out).is_ok(), "{other} on {id}");
                continue;
            }
            match d.decompress(&comp, &mut out) {
                Err(PressioError::StreamMismatch(m)) => assert!(m.contains(writer), "{m}"),
                other_r => panic!("{other} decoding a {id} stream: {other_r:?}"),
            }
        }
    }
}
