//! Option translation between pressio-ml and a real LibPressio: every option type both ways,
//! typed placeholders, LibPressio's exact-type semantics, hierarchical names, configuration and
//! documentation as LibPressio's integration suite expects them.

mod common;

#[test]
fn libpressio_option_translation() {
    if !common::skip_without_libpressio() {
        #[cfg(pressio_ml_libpressio)]
        real::run();
    }
}

#[cfg(pressio_ml_libpressio)]
mod real {
    use super::common::*;
    use pressio_ml_core::{
        DType, Data, KeyStatus, OptionType, Options, PressioOption, ThreadSafety, Value,
    };
    use pressio_ml_plugin::convert::{self, OwnedOptions};
    use pressio_ml_plugin::sys;
    use std::ffi::CString;

    fn every_value() -> Vec<(&'static str, Value)> {
        vec![
            ("t:u8", Value::U8(250)),
            ("t:i8", Value::I8(-7)),
            ("t:u16", Value::U16(65000)),
            ("t:i16", Value::I16(-32000)),
            ("t:u32", Value::U32(4_000_000_000)),
            ("t:i32", Value::I32(-2_000_000_000)),
            ("t:u64", Value::U64(u64::MAX - 1)),
            ("t:i64", Value::I64(i64::MIN + 1)),
            ("t:f32", Value::F32(0.1)),
            ("t:f64", Value::F64(1e-300)),
            ("t:bool", Value::Bool(true)),
            ("t:str", Value::Str("héllo world".into())),
            (
                "t:strings",
                Value::Strings(vec!["a".into(), String::new(), "c d".into()]),
            ),
            (
                "t:data",
                Value::Data(
                    Data::from_vec(vec![1.5f64, -2.0, 3.25, 4.0, 5.0, 6.0], &[3, 2]).unwrap(),
                ),
            ),
            (
                "t:data_empty",
                Value::Data(Data::empty(DType::Int16, &[4, 5])),
            ),
            ("t:dtype", Value::DType(DType::Uint16)),
            (
                "t:threadsafety",
                Value::ThreadSafety(ThreadSafety::Serialized),
            ),
        ]
    }

    /// The raw LibPressio type of `key`.
    fn lp_type(o: &OwnedOptions, key: &str) -> OptionType {
        let k = CString::new(key).unwrap();
        // SAFETY: valid options and key; pressio_options_get returns a new option we free.
        unsafe {
            let opt = sys::pressio_options_get(o.as_ptr(), k.as_ptr());
            let t = sys::pressio_option_get_type(opt);
            sys::pressio_option_free(opt);
            OptionType::from_i32(t as i32).unwrap()
        }
    }

    fn every_type_both_ways() {
        let mut o = Options::new();
        for (k, v) in every_value() {
            o.set(k, v);
        }
        // placeholders of every type (except unset itself)
        for t in 0..=17 {
            let ty = OptionType::from_i32(t).unwrap();
            if ty != OptionType::Unset {
                o.set_type(format!("p:{}", ty.name()), ty);
            }
        }
        let lp = OwnedOptions::from_options(&o);
        // LibPressio sees the exact types, and placeholders as existing-but-unset keys
        for (k, v) in every_value() {
            assert_eq!(lp.key_status(k), KeyStatus::Set, "{k}");
            assert_eq!(lp_type(&lp, k), v.option_type(), "{k}");
        }
        for t in 0..=17 {
            let ty = OptionType::from_i32(t).unwrap();
            if ty != OptionType::Unset {
                let k = format!("p:{}", ty.name());
                assert_eq!(lp.key_status(&k), KeyStatus::Exists, "{k}");
                assert_eq!(lp_type(&lp, &k), ty, "{k}");
            }
        }
        // LibPressio's own typed getters agree (exact-type get: set only for the stored type)
        let k = CString::new("t:f64").unwrap();
        let mut d = 0f64;
        let mut f = 0f32;
        // SAFETY: valid options, keys and out-pointers.
        unsafe {
            assert_eq!(
                sys::pressio_options_get_double(lp.as_ptr(), k.as_ptr(), &mut d),
                sys::pressio_options_key_set
            );
            assert_eq!(d, 1e-300);
            assert_eq!(
                sys::pressio_options_get_float(lp.as_ptr(), k.as_ptr(), &mut f),
                sys::pressio_options_key_exists
            );
            let mut ts = 0;
            let kt = CString::new("t:threadsafety").unwrap();
            assert_eq!(
                sys::pressio_options_get_threadsafety(lp.as_ptr(), kt.as_ptr(), &mut ts),
                sys::pressio_options_key_set
            );
            assert_eq!(ts, sys::pressio_thread_safety_serialized);
        }
        // and everything comes back identical
        let back = lp.to_options();
        for (k, slot) in o.iter() {
            if k == "t:data_empty" {
                // LibPressio's pressio_options_set_data deep-copies, and its copy of a buffer
                // without data allocates one: only dtype and dims are kept
                let d = back.get::<Data>(k).1.unwrap();
                assert_eq!((d.dtype(), d.dims()), (DType::Int16, &[4usize, 5][..]));
                continue;
            }
            assert_eq!(back.get_option(k), Some(slot), "{k}");
        }
        assert_eq!(back.len(), o.len());
        // a value LibPressio itself set reads back with its type
        let mut raw = OwnedOptions::new();
        let kd = CString::new("x:dtype").unwrap();
        // SAFETY: valid options.
        unsafe {
            sys::pressio_options_set_dtype(raw.as_mut_ptr(), kd.as_ptr(), sys::pressio_float_dtype)
        };
        assert_eq!(
            raw.to_options().get::<DType>("x:dtype").1,
            Some(DType::Float)
        );
    }

    fn classic_through_libpressio() {
        let lib = Library::new();
        let c = lib.compressor("classic").expect("classic is registered");
        let opts = c.options();
        // typed placeholders for unset keys, declared types for set ones, plus LibPressio's
        // generic keys
        assert_eq!(opts.key_status("pressio:abs"), KeyStatus::Exists);
        assert_eq!(lp_type(&opts, "pressio:abs"), OptionType::F64);
        assert_eq!(lp_type(&opts, "classic:quant_radius"), OptionType::U32);
        assert_eq!(lp_type(&opts, "classic:verify"), OptionType::Bool);
        assert_eq!(lp_type(&opts, "classic:predictor"), OptionType::Str);
        assert_eq!(opts.key_status("pressio:metric"), KeyStatus::Set);
        assert_eq!(opts.key_status("metrics:errors_fatal"), KeyStatus::Set);

        // configuration as LibPressio's integration suite requires it
        let cfg = c.configuration();
        assert_eq!(
            lp_type(&cfg, "pressio:thread_safe"),
            OptionType::ThreadSafety
        );
        assert_eq!(lp_type(&cfg, "pressio:stability"), OptionType::Str);
        let cfg_r = cfg.to_options();
        let declared: Vec<String> = opts.to_options().keys().cloned().collect();
        for k in [
            "predictors:error_dependent",
            "predictors:error_agnostic",
            "predictors:runtime",
        ] {
            assert_eq!(lp_type(&cfg, k), OptionType::Strings, "{k}");
            let v = cfg_r.get::<Vec<String>>(k).1.unwrap();
            for key in v {
                assert!(declared.contains(&key), "{k} lists undeclared {key}");
            }
        }
        assert_eq!(cfg_r.get_str("pressio:prefix"), Some("classic"));
        assert_eq!(cfg_r.get_str("pressio:type"), Some("compressor"));
        let v = pressio_ml_plugin::native_registry()
            .compressor_plugin("classic")
            .unwrap()
            .version();
        assert_eq!(
            cfg_r.get_str("pressio:version"),
            Some(v.to_string().as_str())
        );
        assert_eq!(
            cfg_r.get::<i32>("pressio:version_major").1,
            Some(v.major as i32)
        );

        // documentation covers every option and configuration key, with a description
        let docs = c.documentation().to_options();
        assert!(docs
            .get_str("pressio:description")
            .is_some_and(|d| !d.is_empty()));
        for k in opts.to_options().keys().chain(cfg_r.keys()) {
            assert!(docs.contains(k), "{k} is undocumented");
        }

        // set options both ways: a double bound and a string and an integer
        let mut set = Options::new();
        set.set("pressio:abs", 0.25f64);
        set.set("classic:predictor", "lorenzo");
        set.set("classic:quant_radius", 1024u32);
        assert_eq!(c.set(&set), 0, "{}", c.error_msg());
        let now = c.options().to_options();
        assert_eq!(now.get::<f64>("pressio:abs").1, Some(0.25));
        assert_eq!(now.get_str("classic:predictor"), Some("lorenzo"));
        assert_eq!(now.get::<u32>("classic:quant_radius").1, Some(1024));

        // exact-type semantics: a float where a double is declared is an error (pressio-ml
        // reports it instead of ignoring it silently), and nothing changes ...
        let rc = c.set(&Options::new().with("pressio:abs", 0.5f32));
        assert_eq!(rc, 4);
        let msg = c.error_msg();
        assert!(
            msg.contains("pressio:abs") && msg.contains("double") && msg.contains("float"),
            "{msg}"
        );
        assert_eq!(
            c.options().to_options().get::<f64>("pressio:abs").1,
            Some(0.25)
        );
        // ... while casting into the compressor's template (what the CLI and Python do) works
        let mut template = c.options();
        let k = CString::new("pressio:abs").unwrap();
        // SAFETY: valid options; the option is freed after use.
        unsafe {
            let v = sys::pressio_option_new_float(0.5);
            let st = sys::pressio_options_cast_set(
                template.as_mut_ptr(),
                k.as_ptr(),
                v,
                sys::pressio_conversion_implicit,
            );
            sys::pressio_option_free(v);
            assert_eq!(st, sys::pressio_options_key_set);
        }
        assert_eq!(c.set_raw(&template), 0, "{}", c.error_msg());
        assert_eq!(
            c.options().to_options().get::<f64>("pressio:abs").1,
            Some(0.5)
        );
        // keys the plugin does not know are ignored
        assert_eq!(c.set(&Options::new().with("other:thing", 3i8)), 0);
        // an invalid value of the right type is refused with the plugin's message
        let rc = c.set(&Options::new().with("classic:predictor", "nonsense"));
        assert_ne!(rc, 0);
        assert!(
            c.error_msg().contains("classic:predictor"),
            "{}",
            c.error_msg()
        );
        // check_options: LibPressio's base refuses unknown keys under the plugin's prefix
        let extra = OwnedOptions::from_options(&Options::new().with("classic:no_such_key", 1i32));
        assert_eq!(c.check_raw(&extra), 1);
        assert!(c.error_msg().contains("extra keys"), "{}", c.error_msg());
        let fine = OwnedOptions::from_options(&Options::new().with("pressio:abs", 1e-3f64));
        assert_eq!(c.check_raw(&fine), 0, "{}", c.error_msg());
    }

    fn hierarchical_names() {
        let lib = Library::new();
        let c = lib.compressor("classic").unwrap();
        c.set_name("outer");
        let opts = c.options();
        assert_eq!(opts.key_status("/outer:pressio:abs"), KeyStatus::Exists);
        assert_eq!(
            opts.key_status("/outer:classic:quant_radius"),
            KeyStatus::Set
        );
        assert_eq!(opts.key_status("pressio:abs"), KeyStatus::DoesNotExist);
        // a named key wins over the plain one; the plain one applies when no named key exists
        let mut o = Options::new();
        o.set("pressio:abs", 1.0f64);
        o.set("/outer:pressio:abs", 2.0f64);
        o.set("/elsewhere:classic:quant_radius", 7u32);
        o.set("classic:quant_radius", 512u32);
        assert_eq!(c.set(&o), 0, "{}", c.error_msg());
        let now = c.options().to_options();
        assert_eq!(now.get::<f64>("/outer:pressio:abs").1, Some(2.0));
        assert_eq!(now.get::<u32>("/outer:classic:quant_radius").1, Some(512));
        let cfg = c.configuration().to_options();
        assert!(cfg.contains("/outer:pressio:thread_safe"));
    }

    fn unreadable_values() {
        let lib = Library::new();
        let c = lib.compressor("classic").unwrap();
        // a user pointer has no pressio-ml equivalent: refused for a declared key ...
        let mut o = OwnedOptions::new();
        let k = CString::new("classic:quant_radius").unwrap();
        let mut target = 0u8;
        // SAFETY: valid options; the pointer is never dereferenced.
        unsafe {
            sys::pressio_options_set_userptr(
                o.as_mut_ptr(),
                k.as_ptr(),
                &mut target as *mut u8 as *mut std::ffi::c_void,
            )
        };
        assert_eq!(c.set_raw(&o), 4);
        assert!(c.error_msg().contains("void*"), "{}", c.error_msg());
        // ... and ignored for a key the plugin does not declare
        let mut o = OwnedOptions::new();
        let k = CString::new("someone:else").unwrap();
        // SAFETY: as above.
        unsafe {
            sys::pressio_options_set_userptr(
                o.as_mut_ptr(),
                k.as_ptr(),
                &mut target as *mut u8 as *mut std::ffi::c_void,
            )
        };
        assert_eq!(c.set_raw(&o), 0, "{}", c.error_msg());
        // and reading such options keeps everything else
        // SAFETY: valid options.
        let (read, bad) = unsafe { convert::read_options(o.as_ptr(), "") };
        assert!(read.is_empty());
        assert_eq!(bad, vec![("someone:else".to_string(), OptionType::UserPtr)]);
        let _ = PressioOption::placeholder(OptionType::UserPtr);
    }

    pub fn run() {
        every_type_both_ways();
        classic_through_libpressio();
        hierarchical_names();
        unreadable_values();
    }
}
