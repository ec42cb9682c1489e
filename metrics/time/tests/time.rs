use pressio_ml_core::{
    keys, metric_configuration, Compressor, CompressorPlugin, DType, Data, KeyStatus,
    MetricsPlugin, OptionType, Options, OptionsHook, Phase, PressioError, Registry,
    RegistryBuilder, Result, Value, Version,
};
use pressio_ml_metric_time::*;
use std::thread::sleep;
use std::time::Duration;

/// A child metric that sleeps in its begin_compress hook and counts hook calls.
#[derive(Clone, Default)]
struct Slow {
    calls: u64,
    nap_ms: u64,
}

impl MetricsPlugin for Slow {
    fn id(&self) -> &str {
        "slow"
    }
    fn begin_compress(&mut self, _i: &Data, _o: &Data) -> Result<()> {
        self.calls += 1;
        sleep(Duration::from_millis(self.nap_ms));
        Ok(())
    }
    fn end_decompress(&mut self, _i: &Data, _o: &Data, _ok: bool) -> Result<()> {
        self.calls += 1;
        Ok(())
    }
    fn options_hook(&mut self, _hook: OptionsHook, _phase: Phase) {
        self.calls += 1;
    }
    fn results(&mut self, _c: &Options) -> Options {
        Options::new().with("slow:calls", self.calls)
    }
    fn options(&self) -> Options {
        Options::new().with("slow:nap_ms", self.nap_ms)
    }
    fn set_options(&mut self, o: &Options) -> Result<()> {
        if let Some(v) = o.get_typed::<u64>("slow:nap_ms")? {
            self.nap_ms = v;
        }
        Ok(())
    }
    fn configuration(&self) -> Options {
        metric_configuration(true, &[keys::PREDICTORS_ERROR_AGNOSTIC])
    }
    fn documentation(&self) -> Options {
        Options::new()
            .with(keys::DESCRIPTION, "test metric")
            .with("slow:calls", "hook calls")
            .with("slow:nap_ms", "sleep in begin_compress")
    }
    fn clone_metric(&self) -> Box<dyn MetricsPlugin> {
        Box::new(self.clone())
    }
}

/// A compressor that sleeps `ms` in compress and decompress.
#[derive(Clone)]
struct Sleepy {
    ms: u64,
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
        Ok(Data::from_byte_vec(input.bytes().to_vec()))
    }
    fn decompress(&mut self, input: &Data, template: &Data) -> Result<Data> {
        sleep(Duration::from_millis(self.ms));
        Data::from_bytes(template.dtype(), template.dims(), input.bytes())
    }
    fn clone_plugin(&self) -> Box<dyn CompressorPlugin> {
        Box::new(self.clone())
    }
}

fn registry() -> Registry {
    let mut b = RegistryBuilder::new();
    register(&mut b).unwrap();
    b.metric("slow", |_| Box::new(Slow::default())).unwrap();
    b.build()
}

fn ms(o: &Options, k: &str) -> Option<u32> {
    o.get::<u32>(k).1
}

fn all_keys() -> Vec<&'static str> {
    CALL_KEYS
        .iter()
        .chain(CHILD_HOOK_KEYS.iter())
        .map(|(k, _)| *k)
        .collect()
}

#[test]
fn fresh_instance_returns_typed_placeholders() {
    let mut m = registry().metrics_by_id("time").unwrap();
    let r = m.get_results();
    assert_eq!(r.len(), 24);
    for k in all_keys() {
        assert_eq!(r.key_status(k), KeyStatus::Exists, "{k}");
        assert_eq!(
            r.get_option(k).unwrap().option_type(),
            OptionType::U32,
            "{k}"
        );
    }
    let o = m.get_options();
    assert_eq!(o.key_status(METRIC), KeyStatus::Exists);
    assert_eq!(o.get_option(METRIC).unwrap().option_type(), OptionType::Str);
    assert!(m.get_configuration().value(keys::CHILDREN) == Some(&Value::Strings(vec![])));
}

#[test]
fn compressor_calls_are_timed() {
    let mut c = Compressor::new(Box::new(Sleepy { ms: 25 }), registry());
    c.set_options(&Options::new().with(keys::METRIC, "time"))
        .unwrap();
    let input = Data::from_vec(vec![1.0f32; 16], &[16]).unwrap();
    let mut s = Data::empty(DType::Byte, &[]);
    c.compress(&input, &mut s).unwrap();
    let r = c.get_metrics_results();
    let t = ms(&r, COMPRESS).expect("compress timed");
    assert!((25..5000).contains(&t), "{t}");
    assert_eq!(r.key_status(DECOMPRESS), KeyStatus::Exists);
    let mut out = Data::empty(DType::Float, &[16]);
    c.decompress(&s, &mut out).unwrap();
    let r = c.get_metrics_results();
    assert!(ms(&r, DECOMPRESS).unwrap() >= 25);
    // many
    let mut outs = vec![Data::empty(DType::Byte, &[]), Data::empty(DType::Byte, &[])];
    c.compress_many(&[&input, &input], &mut outs).unwrap();
    let r = c.get_metrics_results();
    assert!(ms(&r, COMPRESS_MANY).unwrap() >= 50);
    let mut back = vec![
        Data::empty(DType::Float, &[16]),
        Data::empty(DType::Float, &[16]),
    ];
    let refs: Vec<&Data> = outs.iter().collect();
    c.decompress_many(&refs, &mut back).unwrap();
    assert!(ms(&c.get_metrics_results(), DECOMPRESS_MANY).unwrap() >= 50);
    // no child: the child-hook keys stay placeholders
    assert_eq!(r.key_status("time:begin_compress"), KeyStatus::Exists);
}

#[test]
fn option_calls_are_timed_through_the_hooks() {
    let mut c = Compressor::new(Box::new(Sleepy { ms: 0 }), registry());
    c.set_options(&Options::new().with(keys::METRIC, "time"))
        .unwrap();
    let r = c.get_metrics_results();
    // the metric did not exist when that set_options began
    assert_eq!(r.key_status(SET_OPTIONS), KeyStatus::Exists);
    c.set_options(&Options::new()).unwrap();
    let _ = c.get_options();
    let _ = c.get_configuration();
    c.check_options(&Options::new()).unwrap();
    let _ = c.get_documentation();
    let r = c.get_metrics_results();
    for k in [SET_OPTIONS, GET_OPTIONS, GET_CONFIGURATION, CHECK_OPTIONS] {
        assert!(ms(&r, k).is_some(), "{k}");
    }
}

#[test]
fn standalone_evaluate_sets_compress_and_decompress() {
    let mut m = registry().metrics_by_id("time").unwrap();
    let d = Data::from_vec(vec![1u8; 4], &[4]).unwrap();
    let r = m.evaluate(Some(&d), None, Some(&d)).unwrap();
    assert!(ms(&r, COMPRESS).is_some());
    assert!(ms(&r, DECOMPRESS).is_some());
    assert_eq!(r.key_status(COMPRESS_MANY), KeyStatus::Exists);
}

#[test]
fn child_metric_hooks_are_forwarded_and_timed() {
    let reg = registry();
    let mut m = reg.metrics_by_id("time").unwrap();
    m.set_options(
        &Options::new()
            .with(METRIC, "slow")
            .with("slow:nap_ms", 30u64),
    )
    .unwrap();
    assert_eq!(
        m.get_configuration().value(keys::CHILDREN),
        Some(&Value::Strings(vec!["slow".into()]))
    );
    let o = m.get_options();
    assert_eq!(o.get_str(METRIC), Some("slow"));
    assert_eq!(o.get::<u64>("slow:nap_ms").1, Some(30));
    let d = Data::from_vec(vec![1.0f64; 4], &[4]).unwrap();
    let r = m.evaluate(Some(&d), None, Some(&d)).unwrap();
    assert!(ms(&r, "time:begin_compress").unwrap() >= 30);
    assert!(ms(&r, "time:end_compress").is_some());
    assert!(ms(&r, "time:end_decompress").is_some());
    // the child's sleep is not part of the compression time
    assert!(ms(&r, COMPRESS).unwrap() < 30);
    assert_eq!(r.get::<u64>("slow:calls").1, Some(2));
    // option hooks reach the child
    m.plugin_mut()
        .options_hook(OptionsHook::GetOptions, Phase::Begin);
    m.plugin_mut()
        .options_hook(OptionsHook::GetOptions, Phase::End);
    m.plugin_mut()
        .options_hook(OptionsHook::GetDocumentation, Phase::Begin);
    let r = m.get_results();
    assert_eq!(r.get::<u64>("slow:calls").1, Some(5));
    assert!(ms(&r, "time:begin_get_options").is_some());
    assert!(ms(&r, "time:end_get_options").is_some());
    assert!(ms(&r, GET_OPTIONS).is_some());

    // the clone keeps the child, its options and the measurements
    let mut copy = m.clone();
    assert_eq!(copy.get_results(), m.get_results());
    assert_eq!(copy.get_options().get::<u64>("slow:nap_ms").1, Some(30));

    // configuration merges the child's
    let cfg = m.get_configuration();
    let Some(Value::Strings(inv)) = cfg.value(keys::PREDICTORS_INVALIDATE) else {
        panic!()
    };
    assert!(inv.contains(&keys::PREDICTORS_RUNTIME.to_string()));
    assert!(inv.contains(&keys::PREDICTORS_ERROR_AGNOSTIC.to_string()));
    let Some(Value::Strings(req)) = cfg.value(keys::PREDICTORS_REQUIRES_DECOMPRESS) else {
        panic!()
    };
    assert!(req.contains(&"slow:calls".to_string()));
    assert!(req.contains(&DECOMPRESS.to_string()));
    assert!(!req.contains(&COMPRESS.to_string()));

    // removing the child
    m.set_options(&Options::new().with(METRIC, "")).unwrap();
    assert!(m.get_results().get_option("slow:calls").is_none());
    assert_eq!(m.get_options().key_status(METRIC), KeyStatus::Exists);
}

#[test]
fn unknown_child_and_wrong_type_are_errors() {
    let mut m = registry().metrics_by_id("time").unwrap();
    let e = m
        .set_options(&Options::new().with(METRIC, "no_such_metric"))
        .unwrap_err();
    assert!(matches!(e, PressioError::UnknownMetric(_)));
    assert_eq!(m.error_code(), 2);
    let e = m
        .set_options(&Options::new().with(METRIC, 3i32))
        .unwrap_err();
    assert!(matches!(e, PressioError::WrongOptionType { .. }));
    // a time metric may time another time metric
    m.set_options(&Options::new().with(METRIC, "time")).unwrap();
    assert_eq!(m.get_results().len(), 24);
}

#[test]
fn documentation_covers_every_key() {
    let mut m = registry().metrics_by_id("time").unwrap();
    m.set_options(&Options::new().with(METRIC, "slow")).unwrap();
    let docs = m.get_documentation();
    assert!(docs
        .get_str(keys::DESCRIPTION)
        .unwrap()
        .starts_with("time metric"));
    for k in m.get_results().keys() {
        assert!(docs.get_str(k).is_some(), "undocumented result {k}");
    }
    for k in m.get_options().keys() {
        assert!(docs.get_str(k).is_some(), "undocumented option {k}");
    }
    for k in m.get_configuration().keys() {
        assert!(docs.get_str(k).is_some(), "undocumented configuration {k}");
    }
    let cfg = m.get_configuration();
    assert_eq!(cfg.get_str(keys::STABILITY), Some("stable"));
}
