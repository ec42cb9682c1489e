use pressio_ml_core::{
    keys, Compressor, CompressorPlugin, DType, Data, KeyStatus, Metrics, OptionType, Options,
    PressioError, Registry, RegistryBuilder, Result, Value, Version,
};
use pressio_ml_metric_composite::*;
use std::thread::sleep;
use std::time::Duration;

fn registry() -> Registry {
    let mut b = RegistryBuilder::new();
    pressio_ml_metric_size::register(&mut b).unwrap();
    pressio_ml_metric_time::register(&mut b).unwrap();
    pressio_ml_metric_error_stat::register(&mut b).unwrap();
    pressio_ml_metric_ssim::register(&mut b).unwrap();
    register(&mut b).unwrap();
    b.build()
}

const RATES: [&str; 4] = [
    COMPRESSION_RATE,
    DECOMPRESSION_RATE,
    COMPRESSION_RATE_MANY,
    DECOMPRESSION_RATE_MANY,
];

/// Sleeps `ms` in each call; the stream is a quarter of the input bytes; the output adds 0.5.
#[derive(Clone)]
struct Sleepy {
    ms: u64,
    kept: Option<Data>,
}

impl CompressorPlugin for Sleepy {
    fn id(&self) -> &str {
        "sleepy"
    }
    fn prefix(&self) -> &str {
        "sleepy"
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
        sleep(Duration::from_millis(self.ms));
        self.kept = Some(input.clone());
        Ok(Data::from_byte_vec(vec![0u8; input.num_bytes() / 4]))
    }
    fn decompress(&mut self, _input: &Data, _template: &Data) -> Result<Data> {
        sleep(Duration::from_millis(self.ms));
        let k = self.kept.as_ref().unwrap();
        let v: Vec<f64> = k.to_f64_vec().iter().map(|x| x + 0.5).collect();
        Data::from_vec(v, k.dims())
    }
    fn clone_plugin(&self) -> Box<dyn CompressorPlugin> {
        Box::new(self.clone())
    }
}

fn composite(ids: &[&str]) -> Metrics {
    registry().metrics(ids).unwrap()
}

#[test]
fn fresh_composite_without_children() {
    let mut m = registry().metrics_by_id("composite").unwrap();
    let r = m.get_results();
    assert_eq!(r.len(), 4);
    for k in RATES {
        assert_eq!(r.key_status(k), KeyStatus::Exists);
        assert_eq!(r.get_option(k).unwrap().option_type(), OptionType::F64);
    }
    let o = m.get_options();
    assert_eq!(o.value(PLUGINS), Some(&Value::Strings(vec![])));
    assert_eq!(o.value(NAMES), Some(&Value::Strings(vec![])));
    // hooks with no child do nothing and fail nothing
    let d = Data::from_vec(vec![1.0f32; 3], &[3]).unwrap();
    let r = m.evaluate(Some(&d), None, Some(&d)).unwrap();
    assert_eq!(r.len(), 4);
}

#[test]
fn union_of_children_results_with_placeholders() {
    let mut m = composite(&["size", "error_stat", "ssim", "time"]);
    let r = m.get_results();
    for k in [
        "size:compression_ratio",
        "error_stat:psnr",
        "error_stat:n",
        "ssim:ssim",
        "time:compress",
    ] {
        assert_eq!(r.key_status(k), KeyStatus::Exists, "{k}");
    }
    for k in RATES {
        assert_eq!(r.key_status(k), KeyStatus::Exists, "{k}");
    }
    assert_eq!(r.len(), 7 + 20 + 1 + 24 + 4);
    assert_eq!(
        m.get_configuration().value(keys::CHILDREN),
        Some(&Value::Strings(vec![
            "size".into(),
            "error_stat".into(),
            "ssim".into(),
            "time".into()
        ]))
    );
}

#[test]
fn hooks_reach_every_child() {
    let reg = registry();
    let mut m = composite(&["error_stat", "ssim", "size"]);
    let x: Vec<f64> = (0..200).map(|i| (i as f64 * 0.1).sin()).collect();
    let y: Vec<f64> = x.iter().map(|v| v + 0.01).collect();
    let u = Data::from_vec(x, &[200]).unwrap();
    let d = Data::from_vec(y, &[200]).unwrap();
    let c = Data::from_byte_vec(vec![0u8; 40]);
    let r = m.evaluate(Some(&u), Some(&c), Some(&d)).unwrap();
    // same values as each metric alone
    for id in ["error_stat", "ssim", "size"] {
        let mut alone = reg.metrics_by_id(id).unwrap();
        let ra = alone.evaluate(Some(&u), Some(&c), Some(&d)).unwrap();
        for (k, v) in ra.iter() {
            assert_eq!(r.get_option(k), Some(v), "{k}");
        }
    }
    assert_eq!(r.get::<f64>("size:compression_ratio").1, Some(40.0));
    // no time child: no rates
    for k in RATES {
        assert_eq!(r.key_status(k), KeyStatus::Exists, "{k}");
    }
}

#[test]
fn rates_with_time_and_size() {
    let mut c = Compressor::new(Box::new(Sleepy { ms: 30, kept: None }), registry());
    let m = composite(&["time", "size"]);
    c.set_metrics(&m);
    let input = Data::from_vec(vec![2.0f64; 2000], &[40, 50]).unwrap();
    let mut s = Data::empty(DType::Byte, &[]);
    c.compress(&input, &mut s).unwrap();
    let r = c.get_metrics_results();
    let ms = r.get::<u32>("time:compress").1.unwrap();
    let bytes = r.get::<u64>("size:uncompressed_size").1.unwrap();
    assert_eq!(bytes, 16000);
    assert!(ms >= 30);
    let rate = r.get::<f64>(COMPRESSION_RATE).1.unwrap();
    assert_eq!(rate, 16000.0 / ms as f64);
    assert!(rate <= 16000.0 / 30.0);
    assert_eq!(r.key_status(DECOMPRESSION_RATE), KeyStatus::Exists);
    let mut out = Data::empty(DType::Double, &[40, 50]);
    c.decompress(&s, &mut out).unwrap();
    let r = c.get_metrics_results();
    let dms = r.get::<u32>("time:decompress").1.unwrap();
    assert_eq!(
        r.get::<f64>(DECOMPRESSION_RATE).1,
        Some(16000.0 / dms as f64)
    );
    // many: sizes summed over the buffers
    let mut outs = vec![Data::empty(DType::Byte, &[]), Data::empty(DType::Byte, &[])];
    c.compress_many(&[&input, &input], &mut outs).unwrap();
    let r = c.get_metrics_results();
    let mms = r.get::<u32>("time:compress_many").1.unwrap();
    assert!(mms >= 60);
    assert_eq!(
        r.get::<f64>(COMPRESSION_RATE_MANY).1,
        Some(32000.0 / mms as f64)
    );
}

#[test]
fn rates_need_both_children() {
    for ids in [&["size"][..], &["time"][..]] {
        let mut c = Compressor::new(Box::new(Sleepy { ms: 1, kept: None }), registry());
        c.set_metrics(&composite(ids));
        let input = Data::from_vec(vec![2.0f32; 100], &[100]).unwrap();
        let mut s = Data::empty(DType::Byte, &[]);
        c.compress(&input, &mut s).unwrap();
        let r = c.get_metrics_results();
        for k in RATES {
            assert_eq!(r.key_status(k), KeyStatus::Exists, "{ids:?} {k}");
        }
    }
}

#[test]
fn a_time_child_of_time_with_size_gives_rates_too() {
    // rates come from the merged results, whoever provides them
    let mut m = composite(&["time"]);
    m.set_options(&Options::new().with("time:metric", "size"))
        .unwrap();
    let d = Data::from_vec(vec![1.0f64; 8], &[8]).unwrap();
    let r = m.evaluate(Some(&d), None, None).unwrap();
    let ms = r.get::<u32>("time:compress").1.unwrap();
    assert_eq!(r.get::<f64>(COMPRESSION_RATE).1, Some(64.0 / ms as f64));
}

#[test]
fn options_names_and_errors() {
    let reg = registry();
    assert!(matches!(
        reg.metrics(&["size", "nope"]),
        Err(PressioError::UnknownMetric(_))
    ));
    let mut m = composite(&["size", "time"]);
    assert_eq!(
        m.get_options().value(NAMES),
        Some(&Value::Strings(vec!["size".into(), "time".into()]))
    );
    // the options of the children are included and forwarded
    assert_eq!(m.get_options().key_status("time:metric"), KeyStatus::Exists);
    m.set_options(&Options::new().with(NAMES, Value::Strings(vec!["a".into(), "b".into()])))
        .unwrap();
    assert_eq!(
        m.get_options().value(NAMES),
        Some(&Value::Strings(vec!["a".into(), "b".into()]))
    );
    let e = m
        .set_options(&Options::new().with(NAMES, Value::Strings(vec!["a".into()])))
        .unwrap_err();
    assert!(matches!(e, PressioError::InvalidOption { .. }));
    // an unknown child leaves the children as they were
    let e = m
        .set_options(&Options::new().with(PLUGINS, Value::Strings(vec!["zzz".into()])))
        .unwrap_err();
    assert!(matches!(e, PressioError::UnknownMetric(_)));
    assert_eq!(
        m.plugin_mut().children(),
        vec!["size".to_string(), "time".to_string()]
    );
    // wrong type
    assert!(matches!(
        m.set_options(&Options::new().with(PLUGINS, "size")),
        Err(PressioError::WrongOptionType { .. })
    ));
    // a new list resets the names; plugins and names can be set together
    m.set_options(
        &Options::new()
            .with(PLUGINS, Value::Strings(vec!["ssim".into()]))
            .with(NAMES, Value::Strings(vec!["quality".into()])),
    )
    .unwrap();
    assert_eq!(
        m.get_options().value(NAMES),
        Some(&Value::Strings(vec!["quality".into()]))
    );
    m.set_options(&Options::new().with(PLUGINS, Value::Strings(vec!["size".into()])))
        .unwrap();
    assert_eq!(
        m.get_options().value(NAMES),
        Some(&Value::Strings(vec!["size".into()]))
    );
    // forwarding an unknown child id to the time child is an error
    let mut t = composite(&["time"]);
    assert!(matches!(
        t.set_options(&Options::new().with("time:metric", "nope")),
        Err(PressioError::UnknownMetric(_))
    ));
}

#[test]
fn same_plugin_list_keeps_state_and_nesting_terminates() {
    let mut m = composite(&["error_stat"]);
    let u = Data::from_vec(vec![1.0f64, 2.0, 3.0], &[3]).unwrap();
    m.evaluate(Some(&u), None, None).unwrap();
    m.set_options(&Options::new().with(PLUGINS, Value::Strings(vec!["error_stat".into()])))
        .unwrap();
    let d = Data::from_vec(vec![1.0f64, 2.0, 4.0], &[3]).unwrap();
    let r = m.evaluate(None, None, Some(&d)).unwrap();
    assert_eq!(r.get::<f64>("error_stat:max_error").1, Some(1.0));
    // a composite inside a composite does not rebuild itself forever
    let mut nested = composite(&["composite", "size"]);
    assert_eq!(nested.get_results().len(), 7 + 4);
    nested
        .set_options(&Options::new().with("anything", 1i32))
        .unwrap();
}

#[test]
fn failing_child_does_not_stop_the_others() {
    let mut m = composite(&["error_stat", "size"]);
    let u = Data::from_vec(vec![1.0f64; 4], &[4]).unwrap();
    let d = Data::from_vec(vec![1.0f64; 3], &[3]).unwrap();
    let e = m.evaluate(Some(&u), None, Some(&d)).unwrap_err();
    assert!(matches!(e, PressioError::InvalidInput(_)));
    let r = m.get_results();
    assert_eq!(r.get::<u64>("size:decompressed_size").1, Some(24));
    assert_eq!(r.key_status("error_stat:mse"), KeyStatus::Exists);
}

#[test]
fn clone_copies_children_and_state() {
    let mut m = composite(&["size", "error_stat"]);
    let u = Data::from_vec(vec![1.0f32, 5.0], &[2]).unwrap();
    let c = Data::from_byte_vec(vec![0u8; 2]);
    m.evaluate(Some(&u), Some(&c), None).unwrap();
    let mut copy = m.clone();
    assert_eq!(copy.get_results(), m.get_results());
    let d = Data::from_vec(vec![1.0f32, 4.0], &[2]).unwrap();
    let r = copy.evaluate(None, None, Some(&d)).unwrap();
    assert_eq!(r.get::<f64>("error_stat:max_error").1, Some(1.0));
    assert_eq!(r.get::<f64>("size:compression_ratio").1, Some(4.0));
    assert_eq!(copy.get_options(), m.get_options());
}

#[test]
fn configuration_merges_children() {
    let m = composite(&["size", "error_stat", "time"]);
    let cfg = m.get_configuration();
    let Some(Value::Strings(req)) = cfg.value(keys::PREDICTORS_REQUIRES_DECOMPRESS) else {
        panic!("requires_decompress is a list")
    };
    for k in [
        "size:decompressed_size",
        "error_stat:psnr",
        "error_stat:n",
        "time:decompress",
        DECOMPRESSION_RATE,
    ] {
        assert!(req.contains(&k.to_string()), "{k}");
    }
    for k in ["size:compressed_size", "time:compress", COMPRESSION_RATE] {
        assert!(!req.contains(&k.to_string()), "{k}");
    }
    let Some(Value::Strings(inv)) = cfg.value(keys::PREDICTORS_INVALIDATE) else {
        panic!()
    };
    assert!(inv.contains(&keys::PREDICTORS_RUNTIME.to_string()));
    assert!(inv.contains(&keys::PREDICTORS_ERROR_DEPENDENT.to_string()));
    assert_eq!(cfg.get_str(keys::STABILITY), Some("stable"));
    assert_eq!(
        cfg.value(keys::THREAD_SAFE),
        Some(&Value::ThreadSafety(
            pressio_ml_core::ThreadSafety::Multiple
        ))
    );
}

/// The registry walk: every metric, fresh, documents every result, option and configuration key.
#[test]
fn registry_walk_documentation() {
    let reg = registry();
    let mut ids: Vec<String> = reg.metric_ids();
    ids.sort();
    assert_eq!(ids, ["composite", "error_stat", "size", "ssim", "time"]);
    let mut handles: Vec<Metrics> = ids
        .iter()
        .map(|id| reg.metrics_by_id(id).unwrap())
        .collect();
    handles.push(composite(&["size", "error_stat", "time", "ssim"]));
    let mut timed = reg.metrics_by_id("time").unwrap();
    timed
        .set_options(&Options::new().with("time:metric", "composite"))
        .unwrap();
    handles.push(timed);
    for m in &mut handles {
        let docs = m.get_documentation();
        assert!(docs.get_str(keys::DESCRIPTION).is_some(), "{}", m.id());
        let mut all: Vec<String> = m.get_results().keys().cloned().collect();
        all.extend(m.get_options().keys().cloned());
        all.extend(m.get_configuration().keys().cloned());
        for k in all {
            assert!(docs.get_str(&k).is_some(), "{}: undocumented {k}", m.id());
        }
    }
    // distinct descriptions
    let mut descs: Vec<String> = ids
        .iter()
        .map(|id| {
            reg.metrics_by_id(id)
                .unwrap()
                .get_documentation()
                .get_str(keys::DESCRIPTION)
                .unwrap()
                .to_string()
        })
        .collect();
    descs.sort();
    descs.dedup();
    assert_eq!(descs.len(), 5);
}
