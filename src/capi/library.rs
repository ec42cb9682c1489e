//! Library-level functions: version, supported plugins, the thread's last error, `free`.

use super::{c_free, ffi, last_error_code, last_error_msg};
use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::OnceLock;

/// The version of pressio-ml as a static string (`"major.minor.patch"`); never freed.
#[no_mangle]
pub extern "C" fn pressio_ml_version() -> *const c_char {
    static V: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    V.as_ptr() as *const c_char
}

fn joined(ids: Vec<String>) -> CString {
    super::to_cstring(&ids.join(" "))
}

/// Space-separated ids of every registered compressor, as a static string; never freed.
#[no_mangle]
pub extern "C" fn pressio_ml_supported_compressors() -> *const c_char {
    static IDS: OnceLock<CString> = OnceLock::new();
    ffi("pressio_ml_supported_compressors", std::ptr::null(), || {
        Ok(IDS
            .get_or_init(|| joined(crate::registry().compressor_ids()))
            .as_ptr())
    })
}

/// Space-separated ids of every registered metric, as a static string; never freed.
#[no_mangle]
pub extern "C" fn pressio_ml_supported_metrics() -> *const c_char {
    static IDS: OnceLock<CString> = OnceLock::new();
    ffi("pressio_ml_supported_metrics", std::ptr::null(), || {
        Ok(IDS
            .get_or_init(|| joined(crate::registry().metric_ids()))
            .as_ptr())
    })
}

/// Code of the calling thread's last error (0 if it never had one).
#[no_mangle]
pub extern "C" fn pressio_ml_error_code() -> c_int {
    last_error_code()
}

/// Message of the calling thread's last error; borrowed, valid until the thread's next error.
#[no_mangle]
pub extern "C" fn pressio_ml_error_msg() -> *const c_char {
    last_error_msg()
}

/// Release a string or an array that the library handed out (NULL is ignored).
///
/// # Safety
/// `ptr` must be NULL or a pointer returned by this library as "free with `pressio_ml_free`",
/// not freed before.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_free(ptr: *mut c_void) {
    c_free(ptr)
}

/// Size in bytes of one element of `dtype`, or -1 when `dtype` is not a valid dtype.
#[no_mangle]
pub extern "C" fn pressio_ml_dtype_size(dtype: c_int) -> c_int {
    pressio_ml_core::DType::from_i32(dtype).map_or(-1, |d| d.size() as c_int)
}
