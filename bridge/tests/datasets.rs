//! Every plugin the bridge serves, driven through LibPressio's C API over the datasets of
//! LibPressio's own integration suite (`test_compressor_integration`: 1-D to 3-D, float and
//! int, a 0-1 range, zeros) plus their double and int8..uint64 versions. Unlike that suite,
//! which only fails on a crash, every compress and decompress here must return 0 and keep the
//! bound (max abs error computed in f64): with the plugin's default bound (`pressio:rel` 1e-3)
//! and with an explicit `pressio:abs`, decompressing into a clone of the input (as LibPressio's
//! suite does) and into an output with dims but no buffer. `gwlz` runs over `classic` and over
//! LibPressio's own `zfp` (and its `sz3`/`sperr` where this LibPressio has them).
//!
//! A second test compares `gwlz` over LibPressio's `zfp` with `gwlz` over pressio-ml's `zfp` on a
//! real field: the inner decoder must run in the encoder's accuracy mode (LibPressio's zfp
//! stores no header), so no point may need storing exactly and the ratios must be close.

mod common;

#[test]
fn libpressio_datasets_keep_the_bound_in_every_served_plugin() {
    if !common::skip_without_libpressio() {
        #[cfg(pressio_ml_libpressio)]
        real::datasets();
    }
}

#[test]
fn gwlz_over_libpressio_zfp_matches_gwlz_over_pressio_ml_zfp() {
    if !common::skip_without_libpressio() {
        #[cfg(pressio_ml_libpressio)]
        real::gwlz_zfp_ratio();
    }
}

#[cfg(pressio_ml_libpressio)]
mod real {
    use super::common::*;
    use pressio_ml_core::{DType, Data, Element, Options};
    use pressio_ml_plugin::{libpressio_has, sys, Kind};

    /// LibPressio's `from_function`: values over fastest-first dims.
    fn from_fn<T: Element>(dims: &[usize], f: impl Fn(&[usize]) -> T) -> Data {
        let n: usize = dims.iter().product();
        let mut at = vec![0usize; dims.len()];
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(f(&at));
            for (k, d) in dims.iter().enumerate() {
                at[k] += 1;
                if at[k] < *d {
                    break;
                }
                at[k] = 0;
            }
        }
        Data::from_vec(v, dims).unwrap()
    }

    fn centered(i: &[usize]) -> i64 {
        i.iter().map(|&x| x as i64 - 31).sum()
    }

    /// LibPressio's eight datasets, their double versions, and 1-D and 3-D versions in every
    /// integer type (unsigned ones shifted to start at 0).
    fn cases() -> Vec<(String, Data)> {
        let (d1, d2, d3) = ([500usize], [500usize, 500], [62usize, 62, 62]);
        let mut c = vec![
            ("1d float".into(), from_fn(&d1, |i| i[0] as f32 + 0.5)),
            ("1d int".into(), from_fn(&d1, |i| i[0] as i32)),
            (
                "2d float".into(),
                from_fn(&d2, |i| (i[0] + 500 * i[1]) as f32 + 0.5),
            ),
            (
                "3d float".into(),
                from_fn(&d3, |i| centered(i) as f32 + 0.5),
            ),
            ("3d float zeros".into(), from_fn(&d3, |_| 0f32)),
            (
                "2d int".into(),
                from_fn(&d2, |i| (i[0] + 500 * i[1]) as i32),
            ),
            ("3d int".into(), from_fn(&d3, |i| centered(i) as i32)),
            (
                "2d 0-1 float".into(),
                from_fn(&d2, |i| (i[0] + 500 * i[1]) as f32 / 250000.0),
            ),
            ("1d double".into(), from_fn(&d1, |i| i[0] as f64 + 0.5)),
            (
                "2d 0-1 double".into(),
                from_fn(&d2, |i| (i[0] + 500 * i[1]) as f64 / 250000.0),
            ),
            (
                "3d double".into(),
                from_fn(&d3, |i| centered(i) as f64 + 0.5),
            ),
        ];
        macro_rules! ints {
            ($($t:ty, $shift:expr);*) => {$(
                let name = stringify!($t);
                c.push((format!("1d {name}"), from_fn(&d1, |i| (i[0] % 120) as $t)));
                c.push((
                    format!("3d {name}"),
                    from_fn(&d3, |i| (centered(i) + $shift) as $t),
                ));
            )*};
        }
        ints!(i8, 0; i16, 0; i32, 0; i64, 0; u8, 93; u16, 93; u32, 93; u64, 93);
        c
    }

    /// The plugins the bridge serves, as (label, id, options).
    fn plugins() -> Vec<(String, &'static str, Options)> {
        let mut p = vec![
            ("classic".to_string(), "classic", Options::new()),
            ("aesz".to_string(), "aesz", Options::new()),
        ];
        for inner in ["classic", "zfp", "sz3", "sperr"] {
            if inner == "classic" || libpressio_has(Kind::Compressor, inner) {
                p.push((
                    format!("gwlz over {inner}"),
                    "gwlz",
                    Options::new().with("gwlz:compressor", inner),
                ));
            }
        }
        p
    }

    fn range(v: &[f64]) -> f64 {
        let (lo, hi) = v
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
                (l.min(x), h.max(x))
            });
        hi - lo
    }

    /// One compress and two decompressions through LibPressio's C API; every return code and
    /// the bound are checked.
    fn round_trip(lib: &Library, what: &str, id: &str, opts: &Options, input: &Data, bound: f64) {
        let c = lib.compressor(id).unwrap();
        assert_eq!(c.set(opts), 0, "{what}: set_options: {}", c.error_msg());
        let pin = PData::copy_of(input);
        let mut comp = PData::empty(DType::Byte, &[]);
        assert_eq!(
            c.compress(&pin, &mut comp),
            0,
            "{what}: compress: {}",
            c.error_msg()
        );
        assert!(comp.has_data() && comp.bytes() > 0, "{what}: empty stream");
        let x = input.to_f64_vec();
        // SAFETY: valid handle; the clone is freed by its wrapper.
        let clone = PData(unsafe { sys::pressio_data_new_clone(pin.0) });
        for (how, mut out) in [
            ("into a clone", clone),
            ("into dims only", PData::empty(input.dtype(), input.dims())),
        ] {
            assert_eq!(
                c.decompress(&comp, &mut out),
                0,
                "{what} {how}: decompress: {}",
                c.error_msg()
            );
            assert!(out.has_data(), "{what} {how}: no buffer");
            let y = out.to_data();
            assert_eq!(y.dtype(), input.dtype(), "{what} {how}");
            assert_eq!(y.dims(), input.dims(), "{what} {how}");
            let err = x
                .iter()
                .zip(y.to_f64_vec())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(
                err <= bound,
                "{what} {how}: max error {err} > bound {bound}"
            );
        }
    }

    pub fn datasets() {
        let lib = Library::new();
        let mut runs = 0;
        for (label, id, base) in plugins() {
            for (name, input) in cases() {
                let x = input.to_f64_vec();
                let r = range(&x);
                let int = !matches!(input.dtype(), DType::Float | DType::Double);
                let floor = |b: f64| if int { b.floor() } else { b };
                // the default bound (pressio:rel 1e-3), then an explicit pressio:abs
                let abs = if r > 0.0 { 1e-2 * r } else { 0.5 };
                for (how, opts, bound) in [
                    ("default bound", base.clone(), floor(1e-3 * r)),
                    (
                        "pressio:abs",
                        base.clone().with("pressio:abs", abs),
                        floor(abs),
                    ),
                ] {
                    let what = format!("{label}, {name}, {how}");
                    round_trip(&lib, &what, id, &opts, &input, bound);
                    runs += 1;
                }
            }
        }
        eprintln!("{runs} LibPressio round trips kept their bound");
    }

    pub fn gwlz_zfp_ratio() {
        let Some((input, _)) = field("ncep06_T_17x64x128") else {
            skipped("../shared/data not found (set PRESSIO_ML_DATA to run on real fields)");
            return;
        };
        let abs = 0.05;
        let opts = Options::new()
            .with("gwlz:compressor", "zfp")
            .with("pressio:abs", abs);
        // inside LibPressio: gwlz over LibPressio's zfp
        let lib = Library::new();
        let c = lib.compressor("gwlz").unwrap();
        assert_eq!(c.set(&opts), 0, "{}", c.error_msg());
        let pin = PData::copy_of(&input);
        let mut comp = PData::empty(DType::Byte, &[]);
        assert_eq!(c.compress(&pin, &mut comp), 0, "{}", c.error_msg());
        let m = c.metrics_results().to_options();
        assert_eq!(m.get::<u64>("gwlz:exact").1, Some(0), "{m}");
        let mut out = PData::empty(DType::Float, input.dims());
        assert_eq!(c.decompress(&comp, &mut out), 0, "{}", c.error_msg());
        assert!(max_err(&input, &out.to_data()) <= abs);
        let inside = input.num_bytes() as f64 / comp.bytes() as f64;

        // in pressio-ml: gwlz over pressio-ml's zfp
        let mut ml = pressio_ml::registry().compressor("gwlz").unwrap();
        ml.set_options(&opts).unwrap();
        let mut stream = Data::empty(DType::Byte, &[]);
        ml.compress(&input, &mut stream).unwrap();
        let native = input.num_bytes() as f64 / stream.num_bytes() as f64;
        eprintln!("gwlz over zfp, abs {abs}: ratio {inside:.2} inside LibPressio, {native:.2} in pressio-ml");
        assert!(
            inside >= 0.8 * native,
            "ratio {inside:.2} inside LibPressio, {native:.2} in pressio-ml"
        );
    }
}
