//! The C ABI of pressio-ml, declared in `include/pressio_ml.h`.
//!
//! It mirrors LibPressio's C API with the prefix `pressio_ml_`: opaque handles for data buffers
//! ([`pressio_ml_data`]), option maps ([`pressio_ml_options`]), compressors
//! ([`pressio_ml_compressor`]) and metrics ([`pressio_ml_metrics`]), LibPressio's dtype and key
//! status values, and its ownership rules (every `*_new*`, `*_get_*` returning a handle, `*_copy`
//! and `*_clone` hands out a new object that the caller frees; strings and arrays the library
//! allocates are freed with [`pressio_ml_free`]).
//!
//! Safety rules that every function follows:
//!
//! * no panic crosses the ABI: each body runs under `catch_unwind`, and a panic becomes error
//!   code 16 (`internal error`) with its message;
//! * NULL handles, NULL required pointers, invalid enum values and out-of-range arguments are
//!   reported as errors (code 14, `invalid argument`), never dereferenced;
//! * every failure is recorded as the calling thread's last error ([`pressio_ml_error_code`],
//!   [`pressio_ml_error_msg`]); compressor and metrics failures are also recorded on the handle.
//!
//! The functions are ordinary `unsafe extern "C"` Rust functions too, so Rust code (and the test
//! suite) can drive the ABI without a C compiler.

#![allow(non_camel_case_types)]

mod compressor;
mod data;
mod library;
mod metrics;
mod options;

#[cfg(test)]
mod tests;

pub use compressor::*;
pub use data::*;
pub use library::*;
pub use metrics::*;
pub use options::*;

use pressio_ml_core::{PressioError, Result};
use std::any::Any;
use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

extern "C" {
    // The C library's allocator: everything the library hands out as a string or an array is
    // allocated here, so that `pressio_ml_free` (and plain `free`) can release it.
    fn malloc(size: usize) -> *mut c_void;
    fn free(ptr: *mut c_void);
}

/// Most dimensions a data buffer may be created with through the C ABI.
pub const MAX_DIMENSIONS: usize = 4096;

thread_local! {
    static LAST_ERROR: RefCell<(i32, CString)> = RefCell::new((0, CString::default()));
}

/// A C string from text, with interior NUL bytes replaced so the text is never truncated.
pub(crate) fn to_cstring(text: &str) -> CString {
    CString::new(text.replace('\0', "\u{FFFD}")).unwrap_or_default()
}

/// Record `code` and `msg` as the calling thread's last error.
pub(crate) fn set_last_error(code: i32, msg: &str) {
    let _ = LAST_ERROR.try_with(|e| *e.borrow_mut() = (code, to_cstring(msg)));
}

/// The calling thread's last error code.
pub(crate) fn last_error_code() -> i32 {
    LAST_ERROR.try_with(|e| e.borrow().0).unwrap_or(0)
}

/// A pointer to the calling thread's last error message (valid until the thread's next error).
pub(crate) fn last_error_msg() -> *const c_char {
    static EMPTY: &CStr = c"";
    LAST_ERROR
        .try_with(|e| e.borrow().1.as_ptr())
        .unwrap_or(EMPTY.as_ptr())
}

/// Text of a caught panic payload.
pub(crate) fn panic_text(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Run `f` with panics caught; an error or a panic is turned into a [`PressioError`].
pub(crate) fn catch<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let text = panic_text(payload.as_ref());
            // dropping a payload can itself panic; never let that escape
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            Err(PressioError::Internal(format!("{what} panicked: {text}")))
        }
    }
}

/// Run the body of an exported function: on an error or a panic, record the thread's last error
/// and return `fail`.
pub(crate) fn ffi<T>(what: &str, fail: T, f: impl FnOnce() -> Result<T>) -> T {
    match catch(what, f) {
        Ok(v) => v,
        Err(e) => {
            set_last_error(e.code(), &format!("{what}: {e}"));
            fail
        }
    }
}

/// A shorthand for an invalid-argument error.
pub(crate) fn invalid(msg: impl Into<String>) -> PressioError {
    PressioError::InvalidArgument(msg.into())
}

/// Borrow a handle, refusing NULL.
///
/// # Safety
/// `p` must be NULL or point to a live `T`.
pub(crate) unsafe fn handle<'a, T>(p: *const T, what: &str) -> Result<&'a T> {
    p.as_ref().ok_or_else(|| invalid(format!("{what} is NULL")))
}

/// Borrow a handle mutably, refusing NULL.
///
/// # Safety
/// `p` must be NULL or point to a live `T` that nothing else accesses during the borrow.
pub(crate) unsafe fn handle_mut<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T> {
    p.as_mut().ok_or_else(|| invalid(format!("{what} is NULL")))
}

/// Borrow a NUL-terminated UTF-8 string, refusing NULL and invalid UTF-8.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that outlives the borrow.
pub(crate) unsafe fn text<'a>(p: *const c_char, what: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(invalid(format!("{what} is NULL")));
    }
    CStr::from_ptr(p)
        .to_str()
        .map_err(|_| invalid(format!("{what} is not valid UTF-8")))
}

/// Allocate `bytes` bytes with the C allocator (at least one byte, so the result is never NULL
/// on success).
pub(crate) fn c_alloc(bytes: usize) -> Result<*mut c_void> {
    // SAFETY: malloc may be called with any size.
    let p = unsafe { malloc(bytes.max(1)) };
    if p.is_null() {
        return Err(PressioError::InvalidInput(format!(
            "out of memory allocating {bytes} bytes"
        )));
    }
    Ok(p)
}

/// Release memory from [`c_alloc`] (NULL is ignored).
///
/// # Safety
/// `p` must be NULL or a live allocation of the C allocator.
pub(crate) unsafe fn c_free(p: *mut c_void) {
    free(p)
}

/// A `malloc`'d, NUL-terminated copy of `s` (interior NUL bytes end the C string early).
pub(crate) fn c_string(s: &str) -> Result<*mut c_char> {
    let p = c_alloc(s.len() + 1)? as *mut u8;
    // SAFETY: p has room for s.len() + 1 bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(s.as_ptr(), p, s.len());
        *p.add(s.len()) = 0;
    }
    Ok(p as *mut c_char)
}

/// A `malloc`'d array of `malloc`'d strings; on failure nothing stays allocated.
pub(crate) fn c_string_array(items: &[String]) -> Result<*mut *mut c_char> {
    let bytes = items
        .len()
        .checked_mul(std::mem::size_of::<*mut c_char>())
        .ok_or_else(|| invalid("string array too large"))?;
    let arr = c_alloc(bytes)? as *mut *mut c_char;
    for (i, s) in items.iter().enumerate() {
        match c_string(s) {
            // SAFETY: arr has room for items.len() pointers.
            Ok(p) => unsafe { *arr.add(i) = p },
            Err(e) => {
                // SAFETY: the first i entries were allocated above.
                unsafe {
                    for j in 0..i {
                        c_free(*arr.add(j) as *mut c_void);
                    }
                    c_free(arr as *mut c_void);
                }
                return Err(e);
            }
        }
    }
    Ok(arr)
}

/// Read a C array of `n` dimensions (NULL is allowed only when `n` is 0).
///
/// # Safety
/// `dims` must be NULL or point to `n` readable `size_t` values.
pub(crate) unsafe fn dims_arg(n: usize, dims: *const usize) -> Result<Vec<usize>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if n > MAX_DIMENSIONS {
        return Err(invalid(format!(
            "{n} dimensions (at most {MAX_DIMENSIONS})"
        )));
    }
    if dims.is_null() {
        return Err(invalid(format!("dims is NULL but num_dimensions is {n}")));
    }
    Ok(std::slice::from_raw_parts(dims, n).to_vec())
}
