//! Registration semantics (only ids LibPressio lacks, a new instance per factory call), the
//! metrics half of the bridge (a pressio-ml metric driven by LibPressio's compressors, checked
//! against LibPressio's own metric), and the meta-plugin hook (LibPressio's compressors as
//! pressio-ml plugins).

mod common;

#[test]
fn libpressio_registration_metrics_and_meta_hook() {
    if !common::skip_without_libpressio() {
        #[cfg(pressio_ml_libpressio)]
        real::run();
    }
}

#[cfg(pressio_ml_libpressio)]
mod real {
    use super::common::*;
    use pressio_ml_core::{DType, Data, KeyStatus, Options};
    use pressio_ml_plugin::convert::OwnedOptions;
    use pressio_ml_plugin::{
        is_registered_by_bridge, libpressio_has, register_as, registry, sys, unregister, Kind,
    };
    use std::ffi::CString;

    fn registration() {
        let _g = registry_lock();
        let _lib = Library::new();
        assert!(is_registered_by_bridge(Kind::Compressor, "classic"));
        // LibPressio's own ids stay LibPressio's
        for id in ["size", "error_stat", "time", "composite"] {
            assert!(libpressio_has(Kind::Metric, id), "{id}");
            assert!(!is_registered_by_bridge(Kind::Metric, id), "{id}");
        }
        assert!(libpressio_has(Kind::Compressor, "zfp"));
        assert!(!is_registered_by_bridge(Kind::Compressor, "zfp"));
        // pressio-ml's sz3/sperr wrappers are never offered, even where LibPressio lacks them
        for id in ["sz3", "sperr"] {
            assert!(!is_registered_by_bridge(Kind::Compressor, id), "{id}");
        }
        // taking over an existing id is refused
        assert!(register_as(Kind::Compressor, "classic", "zfp").is_err());
        assert!(register_as(Kind::Metric, "size", "error_stat").is_err());
        assert!(register_as(Kind::Compressor, "no_such_plugin", "pressio_ml_x").is_err());
        // unregistering is only for our ids
        assert!(!unregister(Kind::Compressor, "zfp"));
        // registering again is idempotent
        assert!(pressio_ml_plugin::register_all() >= 1);
        assert!(is_registered_by_bridge(Kind::Compressor, "classic"));
    }

    fn new_instance_per_factory_call() {
        let lib = Library::new();
        let a = lib.compressor("classic").unwrap();
        let b = lib.compressor("classic").unwrap();
        assert_eq!(a.set(&Options::new().with("pressio:abs", 0.125f64)), 0);
        assert_eq!(a.options().key_status("pressio:abs"), KeyStatus::Set);
        assert_eq!(b.options().key_status("pressio:abs"), KeyStatus::Exists);
        // clone keeps the options, and is independent
        // SAFETY: valid handle; the clone is released by the wrapper.
        let c = Compressor(unsafe { sys::pressio_compressor_clone(a.0) });
        assert_eq!(
            c.options().to_options().get::<f64>("pressio:abs").1,
            Some(0.125)
        );
        assert_eq!(c.set(&Options::new().with("pressio:abs", 0.5f64)), 0);
        assert_eq!(
            a.options().to_options().get::<f64>("pressio:abs").1,
            Some(0.125)
        );
    }

    /// A pressio-ml metric registered under an alias, observing LibPressio's own zfp, must agree
    /// with LibPressio's error_stat observing another zfp instance.
    fn metric_bridge_matches_libpressio() {
        let Some((input, dims)) = field("ncep06_T_17x64x128") else {
            skipped("../shared/data not found (set PRESSIO_ML_DATA to run on real fields)");
            return;
        };
        let _g = registry_lock();
        let lib = Library::new();
        register_as(Kind::Metric, "error_stat", "pressio_ml_error_stat").unwrap();
        assert!(is_registered_by_bridge(
            Kind::Metric,
            "pressio_ml_error_stat"
        ));

        let run = |metric: &str| -> Options {
            let z = lib.compressor("zfp").unwrap();
            z.set_metrics(&lib, &[metric]);
            assert_eq!(
                z.set(&Options::new().with("pressio:abs", 0.05f64)),
                0,
                "{}",
                z.error_msg()
            );
            let pin = PData::copy_of(&input);
            let mut comp = PData::empty(DType::Byte, &[]);
            assert_eq!(z.compress(&pin, &mut comp), 0, "{}", z.error_msg());
            let mut out = PData::empty(DType::Float, &dims);
            assert_eq!(z.decompress(&comp, &mut out), 0, "{}", z.error_msg());
            z.metrics_results().to_options()
        };
        let ours = run("pressio_ml_error_stat");
        let theirs = run("error_stat");
        for k in [
            "error_stat:max_error",
            "error_stat:mse",
            "error_stat:psnr",
            "error_stat:value_range",
            "error_stat:average_error",
        ] {
            let a = ours
                .get::<f64>(k)
                .1
                .unwrap_or_else(|| panic!("{k} missing: {ours}"));
            let b = theirs.get::<f64>(k).1.unwrap();
            assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{k}: {a} vs {b}");
        }
        assert_eq!(
            ours.get::<u64>("error_stat:n").1,
            Some(input.num_elements() as u64)
        );

        // the metric's configuration and documentation reach LibPressio; a fresh instance
        // reports typed placeholders (what LibPressio's IsDocumented test reads)
        let id = CString::new("pressio_ml_error_stat").unwrap();
        // SAFETY: valid handles; every returned object is freed by its wrapper or here.
        unsafe {
            let m = sys::pressio_new_metric(lib.0, id.as_ptr());
            assert!(!m.is_null());
            let cfg =
                OwnedOptions::from_raw(sys::pressio_metrics_get_configuration(m)).to_options();
            assert!(cfg.contains("pressio:thread_safe"));
            assert!(cfg.contains("predictors:requires_decompress"));
            let docs =
                OwnedOptions::from_raw(sys::pressio_metrics_get_documentation(m)).to_options();
            assert!(docs.get_str("pressio:description").is_some());
            let fresh = OwnedOptions::from_raw(sys::pressio_metrics_get_results(m));
            assert_eq!(fresh.key_status("error_stat:max_error"), KeyStatus::Exists);
            // standalone evaluation (pressio_metrics_evaluate) uses the same hooks
            let a = PData::copy_of(&input);
            let mut shifted = input.clone();
            for v in shifted.as_mut_slice::<f32>().unwrap() {
                *v += 0.25;
            }
            let b = PData::copy_of(&shifted);
            let r = OwnedOptions::from_raw(sys::pressio_metrics_evaluate(
                m,
                a.0,
                std::ptr::null(),
                b.0,
            ))
            .to_options();
            let e = r.get::<f64>("error_stat:max_error").1.unwrap();
            assert!((e - 0.25).abs() < 1e-4, "{e}");
            sys::pressio_metrics_free(m);
        }

        assert!(unregister(Kind::Metric, "pressio_ml_error_stat"));
        assert!(!libpressio_has(Kind::Metric, "pressio_ml_error_stat"));
    }

    /// The meta-plugin hook: LibPressio's zfp as a pressio-ml plugin, from the bridge registry.
    fn libpressio_compressor_as_plugin() {
        let Some((input, _)) = field("vorticity2d_512x512") else {
            return;
        };
        let _lib = Library::new();
        assert!(registry().has_compressor("zfp"));
        assert!(!pressio_ml_plugin::native_registry().has_compressor("zfp"));
        let mut z = registry().compressor_plugin("zfp").unwrap();
        assert_eq!(z.prefix(), "zfp");
        assert!(z.options().contains("zfp:accuracy"));
        let bound = 1e-3;
        z.set_options(&Options::new().with("pressio:abs", bound))
            .unwrap();
        let stream = z.compress(&input).unwrap();
        assert!(stream.num_bytes() < input.num_bytes());
        let out = z
            .decompress(&stream, &Data::empty(DType::Float, input.dims()))
            .unwrap();
        assert!(max_err(&input, &out) <= bound);
        // compress_many goes through LibPressio's compress_many
        let outs = z.compress_many(&[&input]).unwrap();
        assert_eq!(outs[0].num_bytes(), stream.num_bytes());
        // LibPressio's errors come back as pressio-ml errors
        let err = z
            .compress(&Data::from_vec(vec![1u8; 64], &[64]).unwrap())
            .err();
        assert!(err.is_some_and(|e| e.to_string().contains("libpressio:zfp")));
        // a clone carries the configuration (LibPressio's zfp keeps its bound inside the zfp
        // stream, not in its options)
        let mut copy = z.clone_plugin();
        assert_eq!(copy.compress(&input).unwrap(), stream);
    }

    /// LibPressio's compressors get an allocated output of the dtype and dims asked for (its
    /// `noop` copies its input into exactly that; its `sz3` only writes into a buffer it is
    /// given), and what they return is checked (`check_decompressed`) before gwlz reads it.
    fn libpressio_outputs_are_allocated() {
        let _lib = Library::new();
        let mut noop = registry().compressor_plugin("noop").unwrap();
        let input = Data::from_vec((0..64).map(|i| i as f32).collect(), &[8, 8]).unwrap();
        let stream = noop.compress(&input).unwrap();
        let out = noop
            .decompress(&stream, &Data::empty(DType::Float, &[8, 8]))
            .unwrap();
        assert_eq!(out, input);
        // gwlz over noop: the inner stream is the raw input, decoded into gwlz's float template
        let c = Library::new().compressor("gwlz").unwrap();
        assert_eq!(
            c.set(
                &Options::new()
                    .with("gwlz:compressor", "noop")
                    .with("pressio:abs", 0.5f64)
            ),
            0,
            "{}",
            c.error_msg()
        );
        let pin = PData::copy_of(&input);
        let mut comp = PData::empty(DType::Byte, &[]);
        assert_eq!(c.compress(&pin, &mut comp), 0, "{}", c.error_msg());
        let mut back = PData::empty(DType::Float, &[8, 8]);
        assert_eq!(c.decompress(&comp, &mut back), 0, "{}", c.error_msg());
        assert!(max_err(&input, &back.to_data()) <= 0.5);
    }

    pub fn run() {
        libpressio_outputs_are_allocated();
        registration();
        new_instance_per_factory_call();
        metric_bridge_matches_libpressio();
        libpressio_compressor_as_plugin();
    }
}
