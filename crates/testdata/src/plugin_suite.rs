//! Shared conformance helpers for the compressor plugins' own test suites (used by sz3, zfp and
//! sperr): real fields of `shared/data` with a size cap, bounded round trips through the
//! `Compressor` handle, small shapes, special values, hostile streams and introspection checks.

use pressio_ml_core::{Compressor, Data, Options, RegistryBuilder, Result};
use std::path::{Path, PathBuf};

/// Most values taken from one field (leading slabs of the slowest dimension), to keep the test
/// time modest on two cores; `PRESSIO_ML_TEST_MAX_VALUES` overrides it (e.g. to run whole files).
pub const MAX_VALUES: usize = 1 << 20;

/// [`MAX_VALUES`], or `PRESSIO_ML_TEST_MAX_VALUES` when set.
pub fn max_values() -> usize {
    std::env::var("PRESSIO_ML_TEST_MAX_VALUES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MAX_VALUES)
}

/// A real field: name, C-order dims from the file name, LibPressio dims (fastest first), values.
pub struct Field {
    /// File path relative to the data folder.
    pub name: String,
    /// Dims, fastest first (as LibPressio).
    pub dims: Vec<usize>,
    /// The values (possibly the leading slabs of the file).
    pub values: Vec<f32>,
}

/// The data folder, or `None` (with a visible message) when it is absent.
pub fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PRESSIO_ML_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: real-data tests need {} (or PRESSIO_ML_DATA)",
            dir.display()
        );
        None
    }
}

/// C-order dims from a name like `T_4x14x48x48.f32`.
fn dims_from_name(name: &str) -> Option<Vec<usize>> {
    let stem = name.strip_suffix(".f32")?;
    let part = stem.rsplit('_').next()?;
    part.split('x').map(|s| s.parse().ok()).collect()
}

/// Keep the leading slabs so that at most `cap` values remain (C-order dims).
fn leading_slabs(mut c_dims: Vec<usize>, cap: usize) -> Vec<usize> {
    let mut i = 0;
    while i < c_dims.len() {
        let inner: usize = c_dims[i + 1..].iter().product();
        if inner <= cap {
            c_dims[i] = c_dims[i].min((cap / inner).max(1));
            break;
        }
        c_dims[i] = 1;
        i += 1;
    }
    c_dims
}

/// Every `*.f32` field under the data folder, sorted, cut to `cap` values.
pub fn fields(dir: &Path, cap: usize) -> Vec<Field> {
    let mut files = Vec::new();
    for sub in std::fs::read_dir(dir).expect("data dir").flatten() {
        if sub.path().is_dir() {
            for f in std::fs::read_dir(sub.path())
                .expect("data subdir")
                .flatten()
            {
                if f.path().extension().is_some_and(|e| e == "f32") {
                    files.push(f.path());
                }
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let name = p.strip_prefix(dir).ok()?.display().to_string();
            let c_dims = dims_from_name(&name)?;
            let kept = leading_slabs(c_dims, cap);
            let n: usize = kept.iter().product();
            let bytes = std::fs::read(&p).ok()?;
            let values: Vec<f32> = bytes
                .chunks_exact(4)
                .take(n)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            assert_eq!(values.len(), n, "{name} is shorter than its dims say");
            let dims = kept.into_iter().rev().collect();
            Some(Field { name, dims, values })
        })
        .collect()
}

/// A fresh handle of `id` from a registry holding only `register`'s plugins.
pub fn compressor(
    register: fn(&mut RegistryBuilder) -> Result<()>,
    id: &str,
    options: &Options,
) -> Compressor {
    let mut b = RegistryBuilder::new();
    register(&mut b).expect("register");
    let mut c = b.build().compressor(id).expect("compressor");
    c.set_options(options).expect("set_options");
    c
}

/// Compress and decompress `input`; returns (decoded, compressed bytes).
pub fn roundtrip(c: &mut Compressor, input: &Data) -> (Data, usize) {
    let mut comp = Data::empty(pressio_ml_core::DType::Byte, &[]);
    c.compress(input, &mut comp)
        .unwrap_or_else(|e| panic!("compress: {e}"));
    let mut out = Data::empty(input.dtype(), input.dims());
    c.decompress(&comp, &mut out)
        .unwrap_or_else(|e| panic!("decompress: {e}"));
    assert_eq!(out.dims(), input.dims());
    assert_eq!(out.dtype(), input.dtype());
    (out, comp.num_bytes())
}

/// Max |x - x'| over finite values (f64); non-finite values must come back bit-exactly.
pub fn max_error(a: &Data, b: &Data) -> f64 {
    let (x, y) = (a.to_f64_vec(), b.to_f64_vec());
    assert_eq!(x.len(), y.len());
    let mut worst = 0.0f64;
    for (p, q) in x.iter().zip(&y) {
        if p.is_finite() {
            worst = worst.max((p - q).abs());
        } else {
            assert!(
                p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()),
                "non-finite changed"
            );
        }
    }
    worst
}

/// (min, max) over finite values, f64.
pub fn finite_range(v: &[f32]) -> (f64, f64) {
    v.iter()
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x as f64), hi.max(x as f64))
        })
}

/// A power of ten near `range * 1e-3` (the "one pressio:abs" of the real-data tests).
pub fn nice_abs(range: f64) -> f64 {
    if range > 0.0 {
        10f64.powf((range * 1e-3).log10().round())
    } else {
        1e-3
    }
}

/// Run every field at rel 1e-2, 1e-3, 1e-4 and one abs; assert the bound in f64 and print a
/// table. Returns the total number of patched values.
pub fn real_data_roundtrips(
    register: fn(&mut RegistryBuilder) -> Result<()>,
    id: &str,
    cap: usize,
) -> u64 {
    let Some(dir) = data_dir() else { return 0 };
    let fields = fields(&dir, cap);
    assert!(!fields.is_empty(), "no fields found in {}", dir.display());
    let mut patched_total = 0u64;
    let patched_key = format!("{id}:patched");
    for f in &fields {
        let input = Data::from_vec(f.values.clone(), &f.dims).expect("data");
        let (lo, hi) = finite_range(&f.values);
        let range = hi - lo;
        let abs = nice_abs(range);
        let cases: [(&str, f64, f64); 4] = [
            ("pressio:rel", 1e-2, 1e-2 * range),
            ("pressio:rel", 1e-3, 1e-3 * range),
            ("pressio:rel", 1e-4, 1e-4 * range),
            ("pressio:abs", abs, abs),
        ];
        for (key, value, bound) in cases {
            let mut c = compressor(register, id, &Options::new().with(key, value));
            let (out, bytes) = roundtrip(&mut c, &input);
            let err = max_error(&input, &out);
            let patched = c
                .get_metrics_results()
                .get::<u64>(&patched_key)
                .1
                .unwrap_or(0);
            patched_total += patched;
            println!(
                "{id} {:<45} {key}={value:<8.0e} bound={bound:<10.3e} max_err={err:<10.3e} ratio={:<7.2} patched={patched}",
                f.name,
                (input.num_bytes() as f64) / (bytes as f64),
            );
            assert!(
                err <= bound,
                "{}: {key}={value}: max error {err} > bound {bound}",
                f.name
            );
        }
    }
    println!(
        "{id}: {} fields, {patched_total} values patched in total",
        fields.len()
    );
    patched_total
}

/// A smooth field with a little deterministic noise.
pub fn smooth(dims: &[usize]) -> Vec<f64> {
    let n: usize = dims.iter().product();
    (0..n)
        .map(|i| {
            let mut r = i;
            let mut s = 0.0;
            for (k, &d) in dims.iter().enumerate() {
                let c = (r % d) as f64;
                r /= d;
                s += (c * 0.3 / (k + 1) as f64).sin() * (k + 1) as f64;
            }
            let noise = ((i as u64).wrapping_mul(2654435761) % 1000) as f64 * 1e-4;
            s + noise
        })
        .collect()
}

/// Shapes the small-shape tests cover: 1-D to 5-D, extents of 1 and 2, single values.
pub const SHAPES: &[&[usize]] = &[
    &[1],
    &[2],
    &[3],
    &[7],
    &[1000],
    &[1, 1],
    &[1, 5],
    &[5, 1],
    &[2, 2],
    &[3, 2],
    &[31, 17],
    &[1, 1, 1],
    &[2, 3, 1],
    &[1, 1, 9],
    &[2, 2, 2],
    &[3, 1, 4],
    &[9, 8, 7],
    &[2, 2, 2, 2],
    &[6, 5, 4, 3],
    &[1, 3, 1, 2],
    &[3, 2, 2, 2, 2],
];

/// Round-trip every shape in f32 and f64 at `pressio:abs` 1e-3 and `pressio:rel` 1e-2 (plus
/// the extra options) and check the bound.
pub fn small_shapes(register: fn(&mut RegistryBuilder) -> Result<()>, id: &str, extra: &Options) {
    for dims in SHAPES {
        let v = smooth(dims);
        let inputs = [
            Data::from_vec(v.iter().map(|&x| x as f32).collect::<Vec<f32>>(), dims).expect("f32"),
            Data::from_vec(v.clone(), dims).expect("f64"),
        ];
        for input in &inputs {
            let x = input.to_f64_vec();
            let (lo, hi) = x
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            for (key, value, bound) in [
                ("pressio:abs", 1e-3, 1e-3),
                ("pressio:rel", 1e-2, 1e-2 * (hi - lo)),
            ] {
                let mut o = extra.clone();
                o.set(key, value);
                let mut c = compressor(register, id, &o);
                let (out, _) = roundtrip(&mut c, input);
                let err = max_error(input, &out);
                assert!(
                    err <= bound,
                    "{id} {dims:?} {}: {key}={value}: error {err} > {bound}",
                    input.dtype()
                );
            }
        }
    }
}

/// NaN and ±Inf come back bit-exactly, a constant field under `pressio:rel` and an all-NaN
/// field round-trip exactly.
pub fn special_values(register: fn(&mut RegistryBuilder) -> Result<()>, id: &str) {
    let dims = [16usize, 12, 5];
    let mut v: Vec<f32> = smooth(&dims).into_iter().map(|x| x as f32).collect();
    v[0] = f32::NAN;
    v[17] = f32::INFINITY;
    v[500] = f32::NEG_INFINITY;
    v[959] = f32::NAN;
    let input = Data::from_vec(v, &dims).expect("data");
    let mut c = compressor(register, id, &Options::new().with("pressio:abs", 1e-2));
    let (out, _) = roundtrip(&mut c, &input);
    assert!(max_error(&input, &out) <= 1e-2);
    let r = c.get_metrics_results();
    assert_eq!(r.get::<u64>(&format!("{id}:nonfinite")).1, Some(4));
    for field in [vec![3.25f64; 60], vec![f64::NAN; 60]] {
        let input = Data::from_vec(field.clone(), &[6, 10]).expect("data");
        let mut c = compressor(register, id, &Options::new().with("pressio:rel", 1e-3));
        let (out, _) = roundtrip(&mut c, &input);
        for (a, b) in field.iter().zip(out.as_slice::<f64>().expect("f64")) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
    }
}

/// Truncated, bit-flipped and foreign streams are refused with an error (never a crash), and
/// integer input is refused.
pub fn hostile_streams(register: fn(&mut RegistryBuilder) -> Result<()>, id: &str) {
    use pressio_ml_codec::container::{write_stream, StreamHeader};
    let dims = [20usize, 15, 4];
    let v: Vec<f32> = smooth(&dims).into_iter().map(|x| x as f32).collect();
    let input = Data::from_vec(v, &dims).expect("data");
    let mut c = compressor(register, id, &Options::new().with("pressio:abs", 1e-3));
    let mut comp = Data::empty(pressio_ml_core::DType::Byte, &[]);
    c.compress(&input, &mut comp).expect("compress");
    let bytes = comp.bytes().to_vec();
    let decode = |c: &mut Compressor, b: &[u8]| {
        let mut out = Data::empty(pressio_ml_core::DType::Float, &[]);
        c.decompress(&Data::from_byte_vec(b.to_vec()), &mut out)
    };
    let step = (bytes.len() / 97).max(1);
    for cut in (0..bytes.len()).step_by(step) {
        assert!(
            decode(&mut c, &bytes[..cut]).is_err(),
            "truncation at {cut} accepted"
        );
    }
    for bit in (0..bytes.len() * 8).step_by(step * 3 + 1) {
        let mut b = bytes.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        assert!(decode(&mut c, &b).is_err(), "bit flip {bit} accepted");
    }
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    assert!(decode(&mut c, &garbage).is_err());
    // a well-formed stream of another plugin
    let header = StreamHeader {
        plugin_id: "another".into(),
        plugin_version: pressio_ml_core::Version::new(0, 1, 0),
        dtype: pressio_ml_core::DType::Float,
        dims: dims.to_vec(),
        bound_mode: 1,
        bound_value: 1e-3,
        abs_bound: 1e-3,
        model_name: String::new(),
        model_hash: vec![],
    };
    let other = write_stream(&header, &[]);
    assert!(matches!(
        decode(&mut c, &other),
        Err(pressio_ml_core::PressioError::StreamMismatch(_))
    ));
    // the original still decodes
    assert!(decode(&mut c, &bytes).is_ok());
    let bytes = Data::from_bytes(pressio_ml_core::DType::Byte, &[4], &[1, 2, 3, 4]).expect("bytes");
    let mut out = Data::empty(pressio_ml_core::DType::Byte, &[]);
    assert!(matches!(
        c.compress(&bytes, &mut out),
        Err(pressio_ml_core::PressioError::UnsupportedDType { .. })
    ));
}

/// Every declared option and configuration key is documented; predictors lists are subsets of
/// the option keys; echoing `get_options` back changes nothing.
pub fn introspection(register: fn(&mut RegistryBuilder) -> Result<()>, id: &str) {
    let mut c = compressor(register, id, &Options::new());
    let opts = c.get_options();
    let conf = c.get_configuration();
    let docs = c.get_documentation();
    for k in opts.keys().chain(conf.keys()) {
        assert!(docs.contains(k), "{id}: {k} is not documented");
    }
    assert!(docs
        .get_str("pressio:description")
        .is_some_and(|d| !d.is_empty()));
    for list in [
        "predictors:error_dependent",
        "predictors:error_agnostic",
        "predictors:runtime",
    ] {
        let v = conf.get::<Vec<String>>(list).1.expect(list);
        for k in v {
            assert!(
                opts.contains(&k),
                "{id}: {list} names {k}, which is not an option"
            );
        }
    }
    assert_eq!(
        conf.get::<String>("pressio:stability").1.as_deref(),
        Some("external")
    );
    c.set_options(&opts).expect("echo");
    assert_eq!(
        c.get_options(),
        opts,
        "{id}: echoing the options changed them"
    );
    c.check_options(&opts).expect("check");
}
