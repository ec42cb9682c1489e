//! Unit tests of the C ABI against a mock plugin (the registry's plugins are tested by the
//! integration tests in `tests/capi_*.rs`).

use super::*;
use pressio_ml_core::{
    plugin_configuration, Compressor, CompressorPlugin, DType, Data, Options, PressioError,
    Stability, ThreadSafety, Version,
};
use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr;

/// Stores the raw bytes behind a small header; `mock:panic` makes `compress` panic, and
/// `mock:nobuffer` makes `decompress` report success with dims but no buffer (as LibPressio's
/// sz3 does when its output has no buffer).
#[derive(Clone)]
struct Mock {
    panic: bool,
    nobuffer: bool,
    thread_safety: ThreadSafety,
}

impl Default for Mock {
    fn default() -> Self {
        Mock {
            panic: false,
            nobuffer: false,
            thread_safety: ThreadSafety::Multiple,
        }
    }
}

impl CompressorPlugin for Mock {
    fn id(&self) -> &str {
        "mock"
    }
    fn prefix(&self) -> &str {
        "mock"
    }
    fn version(&self) -> Version {
        Version::new(1, 2, 3)
    }
    fn options(&self) -> Options {
        Options::new()
            .with("mock:panic", self.panic)
            .with("mock:nobuffer", self.nobuffer)
            .with("pressio:abs", 0.0f64)
    }
    fn set_options(&mut self, options: &Options) -> pressio_ml_core::Result<()> {
        options.get_typed::<f64>("pressio:abs")?;
        if let Some(p) = options.get_typed::<bool>("mock:panic")? {
            self.panic = p;
        }
        if let Some(p) = options.get_typed::<bool>("mock:nobuffer")? {
            self.nobuffer = p;
        }
        Ok(())
    }
    fn configuration(&self) -> Options {
        plugin_configuration(self.thread_safety, Stability::Experimental, &[], &[], &[])
    }
    fn documentation(&self) -> Options {
        Options::new().with("pressio:description", "mock")
    }
    fn compress(&mut self, input: &Data) -> pressio_ml_core::Result<Data> {
        assert!(!self.panic, "mock panic requested");
        let mut out = b"MOCK".to_vec();
        out.push(input.dtype() as u8);
        out.push(input.dims().len() as u8);
        for &d in input.dims() {
            out.extend_from_slice(&(d as u64).to_le_bytes());
        }
        out.extend_from_slice(input.bytes());
        Ok(Data::from_byte_vec(out))
    }
    fn decompress(&mut self, input: &Data, _template: &Data) -> pressio_ml_core::Result<Data> {
        let b = input.bytes();
        let bad = || PressioError::corrupt("mock stream");
        if b.len() < 6 || &b[..4] != b"MOCK" {
            return Err(bad());
        }
        let dtype = DType::from_i32(b[4] as i32).ok_or_else(bad)?;
        let nd = b[5] as usize;
        let mut dims = Vec::new();
        for i in 0..nd {
            let s = b.get(6 + 8 * i..14 + 8 * i).ok_or_else(bad)?;
            dims.push(u64::from_le_bytes(s.try_into().unwrap()) as usize);
        }
        if self.nobuffer {
            return Ok(Data::empty(dtype, &dims));
        }
        Data::from_bytes(dtype, &dims, b.get(6 + 8 * nd..).ok_or_else(bad)?)
    }
    fn clone_plugin(&self) -> Box<dyn CompressorPlugin> {
        Box::new(self.clone())
    }
}

fn mock_with(thread_safety: ThreadSafety) -> *mut pressio_ml_compressor {
    let plugin = Mock {
        thread_safety,
        ..Mock::default()
    };
    pressio_ml_compressor::new(Compressor::new(Box::new(plugin), crate::registry().clone()))
        .into_raw()
}

fn mock() -> *mut pressio_ml_compressor {
    mock_with(ThreadSafety::Multiple)
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

unsafe fn rust_str(p: *const c_char) -> String {
    CStr::from_ptr(p).to_str().unwrap().to_string()
}

const FLOAT: i32 = DType::Float as i32;
const BYTE: i32 = DType::Byte as i32;

#[test]
fn library_strings() {
    unsafe {
        assert_eq!(rust_str(pressio_ml_version()), env!("CARGO_PKG_VERSION"));
        let ids = rust_str(pressio_ml_supported_compressors());
        assert_eq!(ids, crate::registry().compressor_ids().join(" "));
        let ids = rust_str(pressio_ml_supported_metrics());
        assert_eq!(ids, crate::registry().metric_ids().join(" "));
        assert_eq!(pressio_ml_dtype_size(DType::Double as i32), 8);
        assert_eq!(pressio_ml_dtype_size(12), -1);
        pressio_ml_free(ptr::null_mut());
        let s = c_string("abc").unwrap();
        assert_eq!(rust_str(s), "abc");
        pressio_ml_free(s as *mut c_void);
    }
}

#[test]
fn unknown_compressor_sets_thread_error() {
    unsafe {
        let id = c("no-such-compressor");
        assert!(pressio_ml_get_compressor(id.as_ptr()).is_null());
        assert_eq!(pressio_ml_error_code(), 1);
        assert!(rust_str(pressio_ml_error_msg()).contains("no-such-compressor"));
        assert!(pressio_ml_get_compressor(ptr::null()).is_null());
        assert_eq!(pressio_ml_error_code(), 14);
    }
}

#[test]
fn data_handles() {
    unsafe {
        let mut values = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let dims = [3usize, 2];
        let copy =
            pressio_ml_data_new_copy(FLOAT, values.as_ptr() as *const c_void, 2, dims.as_ptr());
        assert!(!copy.is_null());
        assert_eq!(pressio_ml_data_num_elements(copy), 6);
        assert_eq!(pressio_ml_data_get_bytes(copy), 24);
        assert_eq!(pressio_ml_data_num_dimensions(copy), 2);
        assert_eq!(pressio_ml_data_get_dimension(copy, 0), 3);
        assert_eq!(pressio_ml_data_get_dimension(copy, 1), 2);
        assert_eq!(pressio_ml_data_get_dimension(copy, 2), 0);
        assert_eq!(pressio_ml_error_code(), 14);
        assert_eq!(pressio_ml_data_dtype(copy), FLOAT);
        assert!(pressio_ml_data_has_data(copy));

        let view = pressio_ml_data_new_nonowning(
            FLOAT,
            values.as_mut_ptr() as *mut c_void,
            2,
            dims.as_ptr(),
        );
        let mut n = 0usize;
        let p = pressio_ml_data_ptr(view, &mut n) as *mut f32;
        assert_eq!(p, values.as_mut_ptr());
        assert_eq!(n, 24);
        *p.add(1) = 7.0;
        let cl = pressio_ml_data_new_clone(view);
        pressio_ml_data_free(view);
        assert_eq!(values[1], 7.0);
        let p2 = pressio_ml_data_ptr(cl, ptr::null_mut()) as *const f32;
        assert_ne!(p2, values.as_ptr());
        assert_eq!(*p2.add(1), 7.0);

        let owning = pressio_ml_data_new_owning(DType::Double as i32, 1, [5usize].as_ptr());
        assert_eq!(pressio_ml_data_get_bytes(owning), 40);
        let empty = pressio_ml_data_new_empty(BYTE, 0, ptr::null());
        assert!(!pressio_ml_data_has_data(empty));
        assert!(pressio_ml_data_ptr(empty, &mut n).is_null());
        assert_eq!(n, 0);

        // invalid arguments
        assert!(pressio_ml_data_new_empty(99, 0, ptr::null()).is_null());
        assert!(pressio_ml_data_new_owning(FLOAT, 2, ptr::null()).is_null());
        assert!(pressio_ml_data_new_copy(FLOAT, ptr::null(), 2, dims.as_ptr()).is_null());
        assert!(pressio_ml_data_new_owning(FLOAT, 2, [usize::MAX, 4].as_ptr()).is_null());
        assert_eq!(pressio_ml_error_code(), 7);
        let odd = (values.as_mut_ptr() as *mut u8).add(1) as *mut c_void;
        assert!(pressio_ml_data_new_nonowning(FLOAT, odd, 1, [2usize].as_ptr()).is_null());
        assert_eq!(pressio_ml_data_num_elements(ptr::null()), 0);
        assert!(!pressio_ml_data_has_data(ptr::null()));
        assert_eq!(pressio_ml_data_dtype(ptr::null()), BYTE);
        assert_eq!(pressio_ml_error_code(), 14);
        pressio_ml_data_free(ptr::null_mut());

        for d in [copy, cl, owning, empty] {
            pressio_ml_data_free(d);
        }
    }
}

#[test]
fn options_exact_type_semantics() {
    unsafe {
        let o = pressio_ml_options_new();
        let k = c("pressio:abs");
        pressio_ml_options_set_double(o, k.as_ptr(), 0.5);
        let mut d = 0.0f64;
        let mut f = 0.0f32;
        assert_eq!(
            pressio_ml_options_get_double(o, k.as_ptr(), &mut d),
            KEY_SET
        );
        assert_eq!(d, 0.5);
        assert_eq!(
            pressio_ml_options_get_float(o, k.as_ptr(), &mut f),
            KEY_EXISTS
        );
        let missing = c("missing");
        assert_eq!(
            pressio_ml_options_get_double(o, missing.as_ptr(), &mut d),
            KEY_DOES_NOT_EXIST
        );
        assert_eq!(pressio_ml_options_exists(o, k.as_ptr()), KEY_SET);
        assert_eq!(
            pressio_ml_options_exists(o, missing.as_ptr()),
            KEY_DOES_NOT_EXIST
        );

        macro_rules! roundtrip {
            ($set:ident, $get:ident, $v:expr, $t:ty) => {{
                let key = c(stringify!($set));
                $set(o, key.as_ptr(), $v);
                let mut out: $t = Default::default();
                assert_eq!($get(o, key.as_ptr(), &mut out), KEY_SET);
                assert_eq!(out, $v);
            }};
        }
        roundtrip!(
            pressio_ml_options_set_uinteger8,
            pressio_ml_options_get_uinteger8,
            200u8,
            u8
        );
        roundtrip!(
            pressio_ml_options_set_integer8,
            pressio_ml_options_get_integer8,
            -100i8,
            i8
        );
        roundtrip!(
            pressio_ml_options_set_uinteger16,
            pressio_ml_options_get_uinteger16,
            60000u16,
            u16
        );
        roundtrip!(
            pressio_ml_options_set_integer16,
            pressio_ml_options_get_integer16,
            -30000i16,
            i16
        );
        roundtrip!(
            pressio_ml_options_set_uinteger,
            pressio_ml_options_get_uinteger,
            4_000_000_000u32,
            u32
        );
        roundtrip!(
            pressio_ml_options_set_integer,
            pressio_ml_options_get_integer,
            -5i32,
            i32
        );
        roundtrip!(
            pressio_ml_options_set_uinteger64,
            pressio_ml_options_get_uinteger64,
            u64::MAX,
            u64
        );
        roundtrip!(
            pressio_ml_options_set_integer64,
            pressio_ml_options_get_integer64,
            i64::MIN,
            i64
        );
        roundtrip!(
            pressio_ml_options_set_float,
            pressio_ml_options_get_float,
            1.5f32,
            f32
        );
        roundtrip!(
            pressio_ml_options_set_bool,
            pressio_ml_options_get_bool,
            true,
            bool
        );
        roundtrip!(
            pressio_ml_options_set_dtype,
            pressio_ml_options_get_dtype,
            FLOAT,
            i32
        );
        roundtrip!(
            pressio_ml_options_set_threadsafety,
            pressio_ml_options_get_threadsafety,
            2,
            i32
        );

        // strings
        let sk = c("s");
        let v = c("hello");
        pressio_ml_options_set_string(o, sk.as_ptr(), v.as_ptr());
        let mut s: *mut c_char = ptr::null_mut();
        assert_eq!(
            pressio_ml_options_get_string(o, sk.as_ptr(), &mut s),
            KEY_SET
        );
        assert_eq!(rust_str(s), "hello");
        pressio_ml_free(s as *mut c_void);
        assert_eq!(
            pressio_ml_options_get_string(o, k.as_ptr(), &mut s),
            KEY_EXISTS
        );

        let ak = c("a");
        let items = [c("x"), c("yz")];
        let ptrs: Vec<*const c_char> = items.iter().map(|s| s.as_ptr()).collect();
        pressio_ml_options_set_strings(o, ak.as_ptr(), 2, ptrs.as_ptr());
        let mut n = 0usize;
        let mut arr: *mut *mut c_char = ptr::null_mut();
        assert_eq!(
            pressio_ml_options_get_strings(o, ak.as_ptr(), &mut n, &mut arr),
            KEY_SET
        );
        assert_eq!(n, 2);
        assert_eq!(rust_str(*arr.add(1)), "yz");
        for i in 0..n {
            pressio_ml_free(*arr.add(i) as *mut c_void);
        }
        pressio_ml_free(arr as *mut c_void);

        // data: deep copy in, copy out into NULL and into an existing handle
        let mut vals = [1.0f32, 2.0];
        let view = pressio_ml_data_new_nonowning(
            FLOAT,
            vals.as_mut_ptr() as *mut c_void,
            1,
            [2usize].as_ptr(),
        );
        let dk = c("d");
        pressio_ml_options_set_data(o, dk.as_ptr(), view);
        // the stored value is a copy: later writes to the borrowed memory do not reach it
        *(pressio_ml_data_ptr(view, ptr::null_mut()) as *mut f32) = 9.0;
        let mut out: *mut pressio_ml_data = ptr::null_mut();
        assert_eq!(
            pressio_ml_options_get_data(o, dk.as_ptr(), &mut out),
            KEY_SET
        );
        assert_eq!(
            *(pressio_ml_data_ptr(out, ptr::null_mut()) as *const f32),
            1.0
        );
        let existing = pressio_ml_data_new_empty(BYTE, 0, ptr::null());
        let mut out2 = existing;
        assert_eq!(
            pressio_ml_options_get_data(o, dk.as_ptr(), &mut out2),
            KEY_SET
        );
        assert_eq!(out2, existing);
        assert_eq!(pressio_ml_data_num_elements(existing), 2);
        pressio_ml_data_free(out);
        pressio_ml_data_free(existing);
        pressio_ml_data_free(view);

        // copy, to_string, size
        let cp = pressio_ml_options_copy(o);
        assert_eq!(pressio_ml_options_size(cp), pressio_ml_options_size(o));
        let text = pressio_ml_options_to_string(cp);
        assert!(rust_str(text).contains("pressio:abs<double> = 0.5"));
        pressio_ml_free(text as *mut c_void);
        pressio_ml_options_free(cp);

        // cast_set_string keeps the declared type
        let t = c("0.25");
        assert_eq!(
            pressio_ml_options_cast_set_string(o, k.as_ptr(), t.as_ptr()),
            KEY_SET
        );
        assert_eq!(
            pressio_ml_options_get_double(o, k.as_ptr(), &mut d),
            KEY_SET
        );
        assert_eq!(d, 0.25);
        let bad = c("zz");
        assert_eq!(
            pressio_ml_options_cast_set_string(o, k.as_ptr(), bad.as_ptr()),
            KEY_EXISTS
        );
        assert_eq!(pressio_ml_error_code(), 4);
        assert_eq!(
            pressio_ml_options_cast_set_string(o, missing.as_ptr(), t.as_ptr()),
            KEY_DOES_NOT_EXIST
        );

        // invalid arguments
        assert_eq!(
            pressio_ml_options_get_double(ptr::null(), k.as_ptr(), &mut d),
            KEY_DOES_NOT_EXIST
        );
        assert_eq!(pressio_ml_error_code(), 14);
        assert_eq!(
            pressio_ml_options_get_double(o, k.as_ptr(), ptr::null_mut()),
            KEY_DOES_NOT_EXIST
        );
        pressio_ml_options_set_double(ptr::null_mut(), k.as_ptr(), 1.0);
        pressio_ml_options_set_dtype(o, k.as_ptr(), 42);
        assert_eq!(
            pressio_ml_options_get_double(o, k.as_ptr(), &mut d),
            KEY_SET
        );
        assert!(pressio_ml_options_copy(ptr::null()).is_null());
        assert!(pressio_ml_options_to_string(ptr::null()).is_null());
        pressio_ml_options_free(ptr::null_mut());
        pressio_ml_options_free(o);
    }
}

/// Compress `values` (64 floats, viewed as 8x8 without a copy) with `comp`; returns the input
/// view and the stream, both to be freed by the caller.
unsafe fn compress_8x8(
    comp: *mut pressio_ml_compressor,
    values: &mut [f32],
) -> (*mut pressio_ml_data, *mut pressio_ml_data) {
    assert_eq!(values.len(), 64);
    let input = pressio_ml_data_new_nonowning(
        FLOAT,
        values.as_mut_ptr() as *mut c_void,
        2,
        [8usize, 8].as_ptr(),
    );
    let compressed = pressio_ml_data_new_empty(BYTE, 0, ptr::null());
    assert_eq!(pressio_ml_compressor_compress(comp, input, compressed), 0);
    (input, compressed)
}

#[test]
fn compressor_roundtrip_and_errors() {
    unsafe {
        let comp = mock();
        assert_eq!(rust_str(pressio_ml_compressor_version(comp)), "1.2.3");
        assert_eq!(rust_str(pressio_ml_compressor_get_prefix(comp)), "mock");
        let opts = pressio_ml_compressor_get_options(comp);
        let abs = c("pressio:abs");
        assert_eq!(pressio_ml_options_exists(opts, abs.as_ptr()), KEY_SET);
        assert_eq!(pressio_ml_compressor_set_options(comp, opts), 0);
        assert_eq!(pressio_ml_compressor_check_options(comp, opts), 0);
        let cfg = pressio_ml_compressor_get_configuration(comp);
        let mut ts = -1;
        let key = c("pressio:thread_safe");
        assert_eq!(
            pressio_ml_options_get_threadsafety(cfg, key.as_ptr(), &mut ts),
            KEY_SET
        );
        assert_eq!(ts, 2);
        let docs = pressio_ml_compressor_get_documentation(comp);
        assert!(pressio_ml_options_size(docs) > 0);

        // wrong option type
        pressio_ml_options_set_float(opts, abs.as_ptr(), 1.0);
        assert_eq!(pressio_ml_compressor_set_options(comp, opts), 4);
        assert_eq!(pressio_ml_compressor_error_code(comp), 4);
        assert!(rust_str(pressio_ml_compressor_error_msg(comp)).contains("pressio:abs"));

        let mut values: Vec<f32> = (0..64).map(|i| i as f32 * 0.5).collect();
        let (input, compressed) = compress_8x8(comp, &mut values);
        assert_eq!(pressio_ml_compressor_error_code(comp), 0);
        assert_eq!(rust_str(pressio_ml_compressor_error_msg(comp)), "");
        assert_eq!(pressio_ml_data_dtype(compressed), BYTE);

        // decompress into an empty template
        let out = pressio_ml_data_new_empty(FLOAT, 2, [8usize, 8].as_ptr());
        assert_eq!(pressio_ml_compressor_decompress(comp, compressed, out), 0);
        assert_eq!(pressio_ml_data_num_elements(out), 64);
        // into a pre-allocated borrowed buffer: writes through
        let mut target = vec![0f32; 64];
        let pre = pressio_ml_data_new_nonowning(
            FLOAT,
            target.as_mut_ptr() as *mut c_void,
            2,
            [8usize, 8].as_ptr(),
        );
        assert_eq!(pressio_ml_compressor_decompress(comp, compressed, pre), 0);
        assert_eq!(
            pressio_ml_data_ptr(pre, ptr::null_mut()) as *mut f32,
            target.as_mut_ptr()
        );
        assert_eq!(target, values);

        // truncated stream
        let mut nbytes = 0usize;
        let p = pressio_ml_data_ptr(compressed, &mut nbytes);
        let cut = pressio_ml_data_new_copy(BYTE, p, 1, [nbytes / 2].as_ptr());
        let out2 = pressio_ml_data_new_empty(FLOAT, 0, ptr::null());
        let code = pressio_ml_compressor_decompress(comp, cut, out2);
        assert_ne!(code, 0);
        assert_eq!(pressio_ml_compressor_error_code(comp), code);
        assert_eq!(pressio_ml_error_code(), code);

        // NULL and aliased arguments
        assert_eq!(pressio_ml_compressor_compress(comp, ptr::null(), out2), 14);
        assert_eq!(pressio_ml_compressor_error_code(comp), 14);
        assert!(rust_str(pressio_ml_compressor_error_msg(comp)).contains("input is NULL"));
        assert_eq!(pressio_ml_compressor_compress(comp, out2, out2), 14);
        assert_eq!(
            pressio_ml_compressor_compress(ptr::null_mut(), input, out2),
            14
        );
        assert_eq!(pressio_ml_compressor_error_code(ptr::null()), 14);
        assert!(!pressio_ml_compressor_error_msg(ptr::null()).is_null());
        assert!(pressio_ml_compressor_version(ptr::null()).is_null());
        assert!(pressio_ml_compressor_get_options(ptr::null()).is_null());
        assert!(pressio_ml_compressor_clone(ptr::null()).is_null());

        // many
        let c2 = pressio_ml_data_new_empty(BYTE, 0, ptr::null());
        let c3 = pressio_ml_data_new_empty(BYTE, 0, ptr::null());
        let ins = [
            input as *const pressio_ml_data,
            input as *const pressio_ml_data,
        ];
        let outs = [c2, c3];
        assert_eq!(
            pressio_ml_compressor_compress_many(comp, ins.as_ptr(), 2, outs.as_ptr(), 2),
            0
        );
        assert!(pressio_ml_data_has_data(c2) && pressio_ml_data_has_data(c3));
        let d2 = pressio_ml_data_new_empty(FLOAT, 0, ptr::null());
        let d3 = pressio_ml_data_new_empty(FLOAT, 0, ptr::null());
        let cins = [c2 as *const pressio_ml_data, c3 as *const pressio_ml_data];
        let douts = [d2, d3];
        assert_eq!(
            pressio_ml_compressor_decompress_many(comp, cins.as_ptr(), 2, douts.as_ptr(), 2),
            0
        );
        assert_eq!(pressio_ml_data_num_elements(d3), 64);
        let dup = [d2, d2];
        assert_eq!(
            pressio_ml_compressor_decompress_many(comp, cins.as_ptr(), 2, dup.as_ptr(), 2),
            14
        );
        assert_eq!(
            pressio_ml_compressor_decompress_many(comp, cins.as_ptr(), 2, douts.as_ptr(), 1),
            14
        );
        assert_eq!(pressio_ml_data_num_elements(d2), 64);

        // a panicking plugin reports an internal error and stays usable
        let clone = pressio_ml_compressor_clone(comp);
        let pk = c("mock:panic");
        let po = pressio_ml_options_new();
        pressio_ml_options_set_bool(po, pk.as_ptr(), true);
        assert_eq!(pressio_ml_compressor_set_options(clone, po), 0);
        let o3 = pressio_ml_data_new_empty(BYTE, 0, ptr::null());
        assert_eq!(pressio_ml_compressor_compress(clone, input, o3), 16);
        assert!(rust_str(pressio_ml_compressor_error_msg(clone)).contains("mock panic requested"));
        pressio_ml_options_set_bool(po, pk.as_ptr(), false);
        assert_eq!(pressio_ml_compressor_set_options(clone, po), 0);
        assert_eq!(pressio_ml_compressor_compress(clone, input, o3), 0);
        assert_eq!(pressio_ml_compressor_compress(comp, input, o3), 0);

        // metrics: none attached
        assert!(pressio_ml_compressor_get_metrics(comp).is_null());
        let res = pressio_ml_compressor_get_metrics_results(comp);
        assert!(!res.is_null());
        pressio_ml_compressor_set_metrics(comp, ptr::null());
        assert_eq!(pressio_ml_error_code(), 14);

        for d in [input, compressed, out, pre, cut, out2, c2, c3, d2, d3, o3] {
            pressio_ml_data_free(d);
        }
        for o in [opts, cfg, docs, po, res] {
            pressio_ml_options_free(o);
        }
        pressio_ml_compressor_release(clone);
        pressio_ml_compressor_release(comp);
        pressio_ml_compressor_release(ptr::null_mut());
    }
}

#[test]
fn a_plugin_result_without_a_buffer_is_an_error_not_a_null_output() {
    unsafe {
        let comp = mock();
        let mut values: Vec<f32> = (0..64).map(|i| i as f32).collect();
        let (input, compressed) = compress_8x8(comp, &mut values);
        let opts = pressio_ml_options_new();
        let key = c("mock:nobuffer");
        pressio_ml_options_set_bool(opts, key.as_ptr(), true);
        assert_eq!(pressio_ml_compressor_set_options(comp, opts), 0);
        // into an empty output (which would otherwise come back with dims and a NULL buffer)
        // and into a pre-allocated one (left untouched)
        let empty = pressio_ml_data_new_empty(FLOAT, 2, [8usize, 8].as_ptr());
        let mut target = vec![7f32; 64];
        let pre = pressio_ml_data_new_nonowning(
            FLOAT,
            target.as_mut_ptr() as *mut c_void,
            2,
            [8usize, 8].as_ptr(),
        );
        for out in [empty, pre] {
            assert_eq!(pressio_ml_compressor_decompress(comp, compressed, out), 13);
            let msg = rust_str(pressio_ml_compressor_error_msg(comp));
            assert!(msg.contains("mock") && msg.contains("no buffer"), "{msg}");
        }
        assert!(!pressio_ml_data_has_data(empty));
        assert!(target.iter().all(|&v| v == 7.0));
        for d in [input, compressed, empty, pre] {
            pressio_ml_data_free(d);
        }
        pressio_ml_options_free(opts);
        pressio_ml_compressor_release(comp);
    }
}

#[test]
fn metrics_errors() {
    unsafe {
        let bad = [c("no-such-metric")];
        let ptrs: Vec<*const c_char> = bad.iter().map(|s| s.as_ptr()).collect();
        assert!(pressio_ml_new_metrics(ptrs.as_ptr(), 1).is_null());
        assert_ne!(pressio_ml_error_code(), 0);
        assert!(pressio_ml_new_metrics(ptr::null(), 2).is_null());
        assert_eq!(pressio_ml_error_code(), 14);
        assert!(pressio_ml_new_metrics(ptrs.as_ptr(), -1).is_null());
        assert!(pressio_ml_metrics_get_results(ptr::null()).is_null());
        assert!(pressio_ml_metrics_evaluate(
            ptr::null_mut(),
            ptr::null(),
            ptr::null(),
            ptr::null()
        )
        .is_null());
        assert_eq!(
            pressio_ml_metrics_set_options(ptr::null_mut(), ptr::null()),
            14
        );
        assert_eq!(pressio_ml_metrics_error_code(ptr::null()), 14);
        assert!(!pressio_ml_metrics_error_msg(ptr::null()).is_null());
        pressio_ml_metrics_free(ptr::null_mut());
    }
}

#[test]
fn handles_cross_threads() {
    for ts in [ThreadSafety::Multiple, ThreadSafety::Single] {
        let h = mock_with(ts);
        assert_eq!(
            unsafe { (*h).is_globally_serialized() },
            ts == ThreadSafety::Single
        );
        drive_from_threads(h, ts == ThreadSafety::Single);
    }
}

/// Four threads round-trip through one handle, or through one clone each.
fn drive_from_threads(comp: *mut pressio_ml_compressor, clone_per_thread: bool) {
    let comp = comp as usize;
    let handles: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || unsafe {
                let shared = comp as *mut pressio_ml_compressor;
                let comp = if clone_per_thread {
                    pressio_ml_compressor_clone(shared)
                } else {
                    shared
                };
                let mut v: Vec<f64> = (0..100).map(|i| (i * t) as f64).collect();
                let input = pressio_ml_data_new_nonowning(
                    DType::Double as i32,
                    v.as_mut_ptr() as *mut c_void,
                    1,
                    [100usize].as_ptr(),
                );
                let cmp = pressio_ml_data_new_empty(BYTE, 0, ptr::null());
                let out = pressio_ml_data_new_owning(DType::Double as i32, 1, [100usize].as_ptr());
                for _ in 0..50 {
                    assert_eq!(pressio_ml_compressor_compress(comp, input, cmp), 0);
                    assert_eq!(pressio_ml_compressor_decompress(comp, cmp, out), 0);
                    let p = pressio_ml_data_ptr(out, ptr::null_mut()) as *const f64;
                    assert_eq!(std::slice::from_raw_parts(p, 100), &v[..]);
                }
                for d in [input, cmp, out] {
                    pressio_ml_data_free(d);
                }
                if clone_per_thread {
                    pressio_ml_compressor_release(comp);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    unsafe { pressio_ml_compressor_release(comp as *mut pressio_ml_compressor) };
}
