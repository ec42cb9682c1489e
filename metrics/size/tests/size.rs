use pressio_ml_core::{
    keys, CompressorPlugin, DType, Data, KeyStatus, Metrics, OptionType, Options, RegistryBuilder,
    Result, Value, Version,
};
use pressio_ml_metric_size::*;

fn metrics() -> Metrics {
    let mut b = RegistryBuilder::new();
    register(&mut b).unwrap();
    b.build().metrics_by_id("size").unwrap()
}

const ALL: [&str; 7] = [
    UNCOMPRESSED_SIZE,
    COMPRESSED_SIZE,
    DECOMPRESSED_SIZE,
    COMPRESSION_RATIO,
    BIT_RATE,
    VALID_POINTS,
    VALID_BIT_RATE,
];

fn u64_of(o: &Options, k: &str) -> Option<u64> {
    o.get::<u64>(k).1
}

fn f64_of(o: &Options, k: &str) -> Option<f64> {
    o.get::<f64>(k).1
}

/// A compressor whose stream is always `stream_len` bytes and whose output is zeros.
struct FixedSize {
    stream_len: usize,
}

impl CompressorPlugin for FixedSize {
    fn id(&self) -> &str {
        "fixed"
    }
    fn prefix(&self) -> &str {
        "fixed"
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
    fn compress(&mut self, _input: &Data) -> Result<Data> {
        Ok(Data::from_byte_vec(vec![7u8; self.stream_len]))
    }
    fn decompress(&mut self, _input: &Data, template: &Data) -> Result<Data> {
        Data::owning(template.dtype(), template.dims())
    }
    fn clone_plugin(&self) -> Box<dyn CompressorPlugin> {
        Box::new(FixedSize {
            stream_len: self.stream_len,
        })
    }
}

#[test]
fn fresh_instance_returns_typed_placeholders() {
    let mut m = metrics();
    let r = m.get_results();
    assert_eq!(r.len(), 7);
    for k in ALL {
        assert_eq!(r.key_status(k), KeyStatus::Exists, "{k}");
    }
    for k in [
        UNCOMPRESSED_SIZE,
        COMPRESSED_SIZE,
        DECOMPRESSED_SIZE,
        VALID_POINTS,
    ] {
        assert_eq!(r.get_option(k).unwrap().option_type(), OptionType::U64);
    }
    for k in [COMPRESSION_RATIO, BIT_RATE, VALID_BIT_RATE] {
        assert_eq!(r.get_option(k).unwrap().option_type(), OptionType::F64);
    }
}

#[test]
fn evaluate_known_byte_counts() {
    let mut m = metrics();
    // 10 x 20 floats = 800 bytes; a 100-byte stream
    let u = Data::from_vec(vec![1.0f32; 200], &[10, 20]).unwrap();
    let c = Data::from_byte_vec(vec![0u8; 100]);
    let d = Data::from_vec(vec![1.0f32; 200], &[10, 20]).unwrap();
    let r = m.evaluate(Some(&u), Some(&c), Some(&d)).unwrap();
    assert_eq!(u64_of(&r, UNCOMPRESSED_SIZE), Some(800));
    assert_eq!(u64_of(&r, COMPRESSED_SIZE), Some(100));
    assert_eq!(u64_of(&r, DECOMPRESSED_SIZE), Some(800));
    assert_eq!(f64_of(&r, COMPRESSION_RATIO), Some(8.0));
    // 100 bytes * 8 bits / 200 elements
    assert_eq!(f64_of(&r, BIT_RATE), Some(4.0));
}

#[test]
fn evaluate_without_stream_leaves_placeholders() {
    let mut m = metrics();
    let u = Data::from_vec(vec![1i16; 6], &[6]).unwrap();
    let r = m.evaluate(Some(&u), None, None).unwrap();
    assert_eq!(u64_of(&r, UNCOMPRESSED_SIZE), Some(12));
    for k in [
        COMPRESSED_SIZE,
        DECOMPRESSED_SIZE,
        COMPRESSION_RATIO,
        BIT_RATE,
    ] {
        assert_eq!(r.key_status(k), KeyStatus::Exists, "{k}");
    }
    // neither buffer: a clear error, no panic
    assert!(m.evaluate(None, None, None).is_err());
}

#[test]
fn through_a_compressor_handle() {
    let mut b = RegistryBuilder::new();
    register(&mut b).unwrap();
    let reg = b.build();
    let mut c = pressio_ml_core::Compressor::new(Box::new(FixedSize { stream_len: 37 }), reg);
    c.set_options(&Options::new().with(keys::METRIC, "size"))
        .unwrap();
    let input = Data::from_vec((0..1000).map(|i| i as f64).collect(), &[10, 100]).unwrap();
    let mut stream = Data::empty(DType::Byte, &[]);
    c.compress(&input, &mut stream).unwrap();
    let r = c.get_metrics_results();
    assert_eq!(u64_of(&r, UNCOMPRESSED_SIZE), Some(8000));
    assert_eq!(u64_of(&r, COMPRESSED_SIZE), Some(37));
    assert_eq!(r.key_status(DECOMPRESSED_SIZE), KeyStatus::Exists);
    assert_eq!(f64_of(&r, COMPRESSION_RATIO), Some(8000.0 / 37.0));
    assert_eq!(f64_of(&r, BIT_RATE), Some(37.0 * 8.0 / 1000.0));
    let mut out = Data::empty(DType::Double, &[10, 100]);
    c.decompress(&stream, &mut out).unwrap();
    let r = c.get_metrics_results();
    assert_eq!(u64_of(&r, DECOMPRESSED_SIZE), Some(8000));

    // compress_many sums over the buffers
    let a = Data::from_vec(vec![0u8; 10], &[10]).unwrap();
    let bb = Data::from_vec(vec![0u32; 5], &[5]).unwrap();
    let mut outs = vec![Data::empty(DType::Byte, &[]), Data::empty(DType::Byte, &[])];
    c.compress_many(&[&a, &bb], &mut outs).unwrap();
    let r = c.get_metrics_results();
    assert_eq!(u64_of(&r, UNCOMPRESSED_SIZE), Some(30));
    assert_eq!(u64_of(&r, COMPRESSED_SIZE), Some(74));
    assert_eq!(f64_of(&r, BIT_RATE), Some(74.0 * 8.0 / 15.0));
    assert_eq!(r.key_status(DECOMPRESSED_SIZE), KeyStatus::Exists);
}

#[test]
fn failed_compression_clears_stream_size() {
    let mut m = metrics();
    let u = Data::from_vec(vec![1.0f64; 4], &[4]).unwrap();
    let c = Data::from_byte_vec(vec![0u8; 3]);
    let p = m.plugin_mut();
    p.begin_compress(&u, &c).unwrap();
    p.end_compress(&u, &c, false).unwrap();
    let r = m.get_results();
    assert_eq!(u64_of(&r, UNCOMPRESSED_SIZE), Some(32));
    assert_eq!(r.key_status(COMPRESSED_SIZE), KeyStatus::Exists);
    assert_eq!(r.key_status(COMPRESSION_RATIO), KeyStatus::Exists);
}

#[test]
fn decompression_only_evaluation_uses_stream_size() {
    let mut m = metrics();
    let c = Data::from_byte_vec(vec![0u8; 5]);
    let d = Data::from_vec(vec![0.0f32; 10], &[10]).unwrap();
    let r = m.evaluate(None, Some(&c), Some(&d)).unwrap();
    assert_eq!(u64_of(&r, COMPRESSED_SIZE), Some(5));
    assert_eq!(u64_of(&r, DECOMPRESSED_SIZE), Some(40));
    assert_eq!(r.key_status(COMPRESSION_RATIO), KeyStatus::Exists);
}

#[test]
fn clone_keeps_state() {
    let mut m = metrics();
    let u = Data::from_vec(vec![1.0f64; 4], &[2, 2]).unwrap();
    let c = Data::from_byte_vec(vec![0u8; 8]);
    m.evaluate(Some(&u), Some(&c), None).unwrap();
    let mut copy = m.clone();
    assert_eq!(copy.get_results(), m.get_results());
    assert_eq!(f64_of(&copy.get_results(), COMPRESSION_RATIO), Some(4.0));
}

#[test]
fn configuration_and_documentation() {
    let m = metrics();
    let cfg = m.get_configuration();
    assert_eq!(
        cfg.value(keys::PREDICTORS_REQUIRES_DECOMPRESS),
        Some(&Value::Strings(vec![DECOMPRESSED_SIZE.to_string()]))
    );
    assert_eq!(cfg.get_str(keys::STABILITY), Some("stable"));
    assert_eq!(
        cfg.value(keys::THREAD_SAFE),
        Some(&Value::ThreadSafety(
            pressio_ml_core::ThreadSafety::Multiple
        ))
    );
    assert!(cfg.contains(keys::PREDICTORS_INVALIDATE));
    let docs = m.get_documentation();
    assert!(docs.get_str(keys::DESCRIPTION).is_some());
    let mut m2 = metrics();
    for k in m2.get_results().keys() {
        assert!(docs.get_str(k).is_some(), "undocumented {k}");
    }
    for k in m.get_options().keys() {
        assert!(docs.get_str(k).is_some(), "undocumented {k}");
    }
}

#[test]
fn valid_points_and_their_bit_rate_follow_the_fill_keys() {
    let mut b = RegistryBuilder::new();
    register(&mut b).unwrap();
    let mut c = pressio_ml_core::Compressor::new(Box::new(FixedSize { stream_len: 50 }), b.build());
    c.set_options(&Options::new().with(keys::METRIC, "size"))
        .unwrap();
    // 100 floats: 30 land points at 1e20, 5 GrADS UNDEF, 2 NaN, the rest data
    let v: Vec<f32> = (0..100)
        .map(|i| match i {
            0..30 => 1e20,
            30..35 => -2.56e33,
            35..37 => f32::NAN,
            _ => 280.0 + i as f32 * 0.1,
        })
        .collect();
    let input = Data::from_vec(v, &[10, 10]).unwrap();
    let run = |c: &mut pressio_ml_core::Compressor| {
        let mut stream = Data::empty(DType::Byte, &[]);
        c.compress(&input, &mut stream).unwrap();
        c.get_metrics_results()
    };
    let r = run(&mut c);
    assert_eq!(u64_of(&r, VALID_POINTS), Some(63));
    assert_eq!(f64_of(&r, VALID_BIT_RATE), Some(50.0 * 8.0 / 63.0));
    assert_eq!(f64_of(&r, BIT_RATE), Some(4.0));
    // only the land value declared
    let fill = |mode: &str| Options::new().with(pressio_ml_core::fill::FILL_MODE, mode);
    c.set_options(&fill("values").with(pressio_ml_core::fill::FILL_VALUE, 1e20))
        .unwrap();
    assert_eq!(u64_of(&run(&mut c), VALID_POINTS), Some(68));
    // none: every finite point
    c.set_options(&fill("none")).unwrap();
    let r = run(&mut c);
    assert_eq!(u64_of(&r, VALID_POINTS), Some(98));
    assert_eq!(f64_of(&r, VALID_BIT_RATE), Some(400.0 / 98.0));
    assert!(c.set_options(&fill("sometimes")).is_err());
    // integers have no fill points; an input without a buffer leaves placeholders
    let mut m = metrics();
    let ints = Data::from_vec(vec![255u8, 0, 7, 255], &[4]).unwrap();
    let r = m.evaluate(Some(&ints), Some(&Data::from_byte_vec(vec![0; 2])), None);
    assert_eq!(u64_of(&r.unwrap(), VALID_POINTS), Some(4));
    let r = m
        .evaluate(Some(&Data::empty(DType::Float, &[4])), None, None)
        .unwrap();
    assert_eq!(r.key_status(VALID_POINTS), KeyStatus::Exists);
    assert_eq!(u64_of(&r, UNCOMPRESSED_SIZE), Some(16));
}
