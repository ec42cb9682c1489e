//! `gwlz` never trusts its inner compressor.
//!
//! A test host stands in for LibPressio's compressors as `gwlz` meets them inside LibPressio,
//! without LibPressio: a headerless quantizer whose decoder needs the encoder's `pressio:abs`
//! (as LibPressio's `zfp`, which stores no header), and variants that report success from
//! `decompress` without a buffer (as LibPressio's `sz3` does when its output has dims but no
//! buffer), with too few values, transposed dims, another dtype, a flat 1-D result, an empty
//! stream from `compress`, or other values (another implementation under the same id). `gwlz`
//! must give a clear error naming the inner compressor (or the right result), never a panic, an
//! out-of-bounds read or wrong values.

use pressio_ml_core::{
    keys, plugin_configuration, Compressor, CompressorPlugin, DType, Data, Options, PressioError,
    Registry, RegistryBuilder, Result, Stability, ThreadSafety, Version,
};
use pressio_ml_testdata::max_abs_error;

/// How a host misbehaves.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    /// Behaves.
    None,
    /// `decompress` succeeds with dims but no buffer (LibPressio's sz3 on an unallocated output).
    NoBuffer,
    /// `decompress` returns one value too few.
    Short,
    /// `decompress` returns the dims reversed.
    Transposed,
    /// `decompress` returns the right values as one flat dimension (acceptable).
    Flat,
    /// `decompress` returns doubles for floats and floats for doubles.
    WrongDtype,
    /// `compress` succeeds with an empty stream.
    EmptyStream,
    /// Another implementation under the same id: reads the integers as multiples of `3 * abs`
    /// (as LibPressio's zfp would read a pressio-ml zfp stream: success, other values).
    OtherImplementation,
}

/// Quantizes to multiples of `2 * pressio:abs` and stores the integers with no header, so its
/// decoder must be set to the encoder's bound (default 1e-3, as LibPressio's zfp accuracy).
#[derive(Clone)]
struct Host {
    id: &'static str,
    fault: Fault,
    abs: f64,
}

impl Host {
    fn step(&self) -> f64 {
        2.0 * self.abs
    }
}

fn as_f64(d: &Data) -> Result<Vec<f64>> {
    match d.dtype() {
        DType::Float => Ok(d.as_slice::<f32>()?.iter().map(|&v| v as f64).collect()),
        DType::Double => Ok(d.as_slice::<f64>()?.to_vec()),
        other => Err(PressioError::UnsupportedDType {
            plugin: "host".into(),
            dtype: other.name().into(),
        }),
    }
}

fn typed(values: Vec<f64>, dtype: DType, dims: &[usize]) -> Result<Data> {
    match dtype {
        DType::Float => Data::from_vec(values.iter().map(|&v| v as f32).collect(), dims),
        _ => Data::from_vec(values, dims),
    }
}

impl CompressorPlugin for Host {
    fn id(&self) -> &str {
        self.id
    }
    fn prefix(&self) -> &str {
        self.id
    }
    fn version(&self) -> Version {
        Version::new(0, 1, 0)
    }
    fn options(&self) -> Options {
        Options::new().with(keys::ABS, self.abs)
    }
    fn set_options(&mut self, options: &Options) -> Result<()> {
        if let Some(a) = options.get_typed::<f64>(keys::ABS)? {
            self.abs = a;
        }
        Ok(())
    }
    fn configuration(&self) -> Options {
        plugin_configuration(
            ThreadSafety::Multiple,
            Stability::Experimental,
            &[],
            &[],
            &[],
        )
    }
    fn documentation(&self) -> Options {
        Options::new().with("pressio:description", "test host")
    }
    fn compress(&mut self, input: &Data) -> Result<Data> {
        if self.fault == Fault::EmptyStream {
            return Ok(Data::from_byte_vec(Vec::new()));
        }
        let step = self.step();
        let mut out = Vec::with_capacity(input.num_elements() * 8);
        for v in as_f64(input)? {
            out.extend_from_slice(&((v / step).round() as i64).to_le_bytes());
        }
        Ok(Data::from_byte_vec(out))
    }
    fn decompress(&mut self, input: &Data, template: &Data) -> Result<Data> {
        let (dtype, dims) = (template.dtype(), template.dims().to_vec());
        let n = template.num_elements();
        let b = input.bytes();
        if b.len() != n * 8 {
            return Err(PressioError::corrupt(format!(
                "{} bytes for {n} values",
                b.len()
            )));
        }
        let step = if self.fault == Fault::OtherImplementation {
            1.5 * self.step()
        } else {
            self.step()
        };
        let values: Vec<f64> = b
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64 * step)
            .collect();
        match self.fault {
            Fault::None | Fault::EmptyStream | Fault::OtherImplementation => {
                typed(values, dtype, &dims)
            }
            Fault::NoBuffer => Ok(Data::empty(dtype, &dims)),
            Fault::Short => typed(values[..n - 1].to_vec(), dtype, &[n - 1]),
            Fault::Transposed => {
                let rev: Vec<usize> = dims.iter().rev().copied().collect();
                typed(values, dtype, &rev)
            }
            Fault::Flat => typed(values, dtype, &[n]),
            Fault::WrongDtype => {
                let other = if dtype == DType::Float {
                    DType::Double
                } else {
                    DType::Float
                };
                typed(values, other, &dims)
            }
        }
    }
    fn clone_plugin(&self) -> Box<dyn CompressorPlugin> {
        Box::new(self.clone())
    }
}

const HOSTS: [(&str, Fault); 7] = [
    ("host", Fault::None),
    ("host_nobuffer", Fault::NoBuffer),
    ("host_short", Fault::Short),
    ("host_transposed", Fault::Transposed),
    ("host_flat", Fault::Flat),
    ("host_wrongdtype", Fault::WrongDtype),
    ("host_emptystream", Fault::EmptyStream),
];

/// gwlz plus the hosts; `decoder_fault` replaces the behaviour of the id `host` (a stream made
/// with a good `host` is then decoded by a faulty one).
fn registry(decoder_fault: Fault) -> Registry {
    let mut b = RegistryBuilder::new();
    for (id, fault) in HOSTS {
        let fault = if id == "host" { decoder_fault } else { fault };
        b.compressor(id, move |_| {
            Box::new(Host {
                id,
                fault,
                abs: 1e-3,
            })
        })
        .unwrap();
    }
    pressio_ml_gwlz::register(&mut b).unwrap();
    b.build()
}

fn gwlz(reg: &Registry, inner: &str, abs: Option<f64>) -> Compressor {
    let mut c = reg.compressor("gwlz").unwrap();
    let mut o = Options::new()
        .with("gwlz:compressor", inner)
        .with("gwlz:epochs", 2u32)
        .with("gwlz:time_budget", 0.0);
    if let Some(a) = abs {
        o.set(keys::ABS, a);
    }
    c.set_options(&o).unwrap();
    c
}

/// A smooth, textured 2-D field, `nx` x `ny` (nx != ny, so transposed dims differ).
fn field(nx: usize, ny: usize) -> Vec<f64> {
    (0..nx * ny)
        .map(|i| {
            let (x, y) = ((i % nx) as f64, (i / nx) as f64);
            (x * 0.05).sin() * (y * 0.07).cos() * 10.0 + (x * 0.31 + y * 0.17).sin()
        })
        .collect()
}

const DIMS: [usize; 2] = [72, 56];
const ABS: f64 = 0.05;

fn inputs() -> Vec<Data> {
    let v = field(DIMS[0], DIMS[1]);
    vec![
        typed(v.clone(), DType::Float, &DIMS).unwrap(),
        typed(v, DType::Double, &DIMS).unwrap(),
    ]
}

/// `input` compressed by gwlz over the well-behaved `host` of `reg`.
fn good_stream(reg: &Registry, input: &Data) -> Data {
    let mut enc = gwlz(reg, "host", Some(ABS));
    let mut stream = Data::empty(DType::Byte, &[]);
    enc.compress(input, &mut stream).unwrap();
    stream
}

/// The error of a failed call, after checking it is a typed backend error naming `id` (a panic
/// caught by the handle would be error 16).
fn backend_error(r: Result<()>, id: &str, what: &str) -> String {
    let e = r.expect_err(what);
    let msg = e.to_string();
    assert_eq!(e.code(), 13, "{what}: {msg}");
    assert!(msg.contains(id), "{what}: {msg} does not name {id}");
    assert!(!msg.contains("panic"), "{what}: {msg}");
    msg
}

#[test]
fn a_headerless_inner_compressor_decodes_with_the_encoders_bound() {
    let reg = registry(Fault::None);
    for input in inputs() {
        let mut enc = gwlz(&reg, "host", Some(ABS));
        let mut stream = Data::empty(DType::Byte, &[]);
        enc.compress(&input, &mut stream).unwrap();
        // The encoder decoded X' as the decoder will: no point needed storing exactly (an inner
        // decoder left at its default bound would give values far off, all stored exactly).
        let m = enc.get_metrics_results();
        assert_eq!(m.get_typed::<u64>("gwlz:exact").unwrap(), Some(0));
        // A fresh decoder (no bound set: the inner bound comes from the stream) and the encoder.
        for dec in [&mut gwlz(&reg, "host", None), &mut enc] {
            let mut out = Data::empty(input.dtype(), input.dims());
            dec.decompress(&stream, &mut out).unwrap();
            assert_eq!(out.dims(), input.dims());
            let err = max_abs_error(&as_f64(&input).unwrap(), &as_f64(&out).unwrap());
            assert!(err <= ABS, "{:?}: {err}", input.dtype());
        }
    }
}

#[test]
fn inner_results_without_a_buffer_or_of_the_wrong_shape_are_errors() {
    let reg = registry(Fault::None);
    let expect = [
        ("host_nobuffer", "no buffer"),
        ("host_short", "dims"),
        ("host_transposed", "dims"),
        ("host_wrongdtype", "asked for"),
        ("host_emptystream", "empty stream"),
    ];
    for input in inputs() {
        for (id, words) in expect {
            let mut c = gwlz(&reg, id, Some(ABS));
            let mut stream = Data::empty(DType::Byte, &[]);
            let what = format!("{id} {:?}", input.dtype());
            let msg = backend_error(c.compress(&input, &mut stream), id, &what);
            assert!(msg.contains(words), "{what}: {msg}");
            assert!(
                !stream.has_data(),
                "{what}: a failed compression left a stream"
            );
        }
        // A flat result of the right length holds the right values in the right order.
        let mut c = gwlz(&reg, "host_flat", Some(ABS));
        let mut stream = Data::empty(DType::Byte, &[]);
        c.compress(&input, &mut stream).unwrap();
        let mut out = Data::empty(input.dtype(), input.dims());
        c.decompress(&stream, &mut out).unwrap();
        let err = max_abs_error(&as_f64(&input).unwrap(), &as_f64(&out).unwrap());
        assert!(err <= ABS, "flat {:?}: {err}", input.dtype());
    }
}

#[test]
fn a_decoder_whose_inner_compressor_misbehaves_reports_it() {
    let good = registry(Fault::None);
    for fault in [
        Fault::NoBuffer,
        Fault::Short,
        Fault::Transposed,
        Fault::WrongDtype,
    ] {
        let bad = registry(fault);
        for input in inputs() {
            let stream = good_stream(&good, &input);
            // Into an empty output and into a pre-allocated one (left untouched on failure).
            let mut dec = gwlz(&bad, "host", None);
            let mut out = Data::empty(input.dtype(), input.dims());
            let what = format!("{fault:?} {:?}", input.dtype());
            backend_error(dec.decompress(&stream, &mut out), "host", &what);
            let mut pre = Data::owning(input.dtype(), input.dims()).unwrap();
            backend_error(dec.decompress(&stream, &mut pre), "host", &what);
            assert!(
                pre.bytes().iter().all(|&b| b == 0),
                "{what}: output written"
            );
        }
    }
    // Another implementation under the same id decodes with success but other values: the
    // stream's fingerprint of X' refuses it (error 10) instead of returning wrong values.
    let other = registry(Fault::OtherImplementation);
    for input in inputs() {
        let stream = good_stream(&good, &input);
        let mut dec = gwlz(&other, "host", None);
        let mut out = Data::empty(input.dtype(), input.dims());
        let e = dec.decompress(&stream, &mut out).expect_err("other values");
        let msg = e.to_string();
        assert_eq!(e.code(), 10, "{msg}");
        assert!(msg.contains("`host` decoded other values"), "{msg}");
        assert!(!out.has_data());
    }
}

/// Strict linear enhancers may sit on the inner stream at a finer bound than the stream's. A
/// headerless inner compressor must then decode with that bound (`INAB`), which a fresh
/// decoder only learns from the stream.
#[test]
fn a_finer_inner_bound_reaches_a_headerless_decoder() {
    let reg = registry(Fault::None);
    let mut finer = 0;
    for input in inputs() {
        for abs in [0.02, 0.05, 0.2] {
            let mut enc = gwlz(&reg, "host", Some(abs));
            enc.set_options(&Options::new().with("gwlz:step_aside", false))
                .unwrap();
            let mut stream = Data::empty(DType::Byte, &[]);
            enc.compress(&input, &mut stream).unwrap();
            let m = enc.get_metrics_results();
            let ib = m.get_typed::<f64>("gwlz:inner_bound").unwrap().unwrap();
            assert!(ib <= abs, "{ib} > {abs}");
            if ib < abs && m.get_typed::<u32>("gwlz:models").unwrap().unwrap() > 0 {
                finer += 1;
            }
            let mut out = Data::empty(input.dtype(), input.dims());
            gwlz(&reg, "host", None)
                .decompress(&stream, &mut out)
                .unwrap();
            let err = max_abs_error(&as_f64(&input).unwrap(), &as_f64(&out).unwrap());
            assert!(err <= abs, "{:?} abs {abs}: {err}", input.dtype());
        }
    }
    assert!(finer > 0, "no stream sat on a finer inner bound");
}
