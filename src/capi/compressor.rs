//! `pressio_ml_compressor`: compressor handles (LibPressio's `pressio_compressor`).

use super::data::pressio_ml_data;
use super::metrics::pressio_ml_metrics;
use super::options::pressio_ml_options;
use super::{catch, ffi, handle, invalid, set_last_error, text, to_cstring};
use pressio_ml_core::{Compressor, DType, Data, PressioError, Result, ThreadSafety};
use std::collections::HashMap;
use std::ffi::{c_char, c_int, CString};
use std::ptr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

/// Mutable state of a compressor handle, behind its mutex.
struct State {
    inner: Compressor,
    /// An error found by the ABI layer itself (NULL argument, panic outside the plugin call);
    /// takes precedence over the compressor's own last error until the next recorded call.
    abi_error: Option<(i32, String)>,
    /// The message last returned by `pressio_ml_compressor_error_msg`.
    msg: CString,
}

/// An opaque compressor handle: one plugin instance with its options, attached metric and last
/// error. Created by [`pressio_ml_get_compressor`] and [`pressio_ml_compressor_clone`], freed
/// with [`pressio_ml_compressor_release`].
///
/// Every handle may be used from any thread: calls on one handle are serialized by an internal
/// mutex, and calls on handles of a plugin whose `pressio:thread_safe` is `single` are serialized
/// process-wide.
pub struct pressio_ml_compressor {
    state: Mutex<State>,
    /// Process-wide lock shared by every handle of a `single` plugin.
    global: Option<Arc<Mutex<()>>>,
    version: CString,
    prefix: CString,
}

/// The process-wide lock of a `single` plugin id.
fn single_lock(id: &str) -> Arc<Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<String, Arc<Mutex<()>>>>> = OnceLock::new();
    let mut map = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    map.entry(id.to_string()).or_default().clone()
}

impl pressio_ml_compressor {
    /// A handle around `inner`.
    pub fn new(inner: Compressor) -> Self {
        let global =
            (inner.thread_safety() == ThreadSafety::Single).then(|| single_lock(inner.id()));
        pressio_ml_compressor {
            version: to_cstring(&inner.version().to_string()),
            prefix: to_cstring(inner.prefix()),
            global,
            state: Mutex::new(State {
                inner,
                abi_error: None,
                msg: CString::default(),
            }),
        }
    }

    pub(crate) fn into_raw(self) -> *mut pressio_ml_compressor {
        Box::into_raw(Box::new(self))
    }

    /// Lock the handle (and the plugin-wide lock for `single` plugins). A poisoned lock is
    /// recovered: panics are caught inside and leave the compressor in a usable state.
    fn lock(&self) -> (Option<MutexGuard<'_, ()>>, MutexGuard<'_, State>) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let global = self
            .global
            .as_ref()
            .map(|g| g.lock().unwrap_or_else(PoisonError::into_inner));
        (global, state)
    }

    /// Run `f` on the compressor. When `recorded`, this is a call that resets the handle's error
    /// (set_options, check_options, compress, decompress and their `_many` forms). Any failure is
    /// recorded on the handle and as the thread's last error, and returned.
    fn run<T>(
        &self,
        what: &str,
        recorded: bool,
        f: impl FnOnce(&mut Compressor) -> Result<T>,
    ) -> Result<T> {
        let (_global, mut st) = self.lock();
        if recorded {
            st.abi_error = None;
        }
        let r = catch(what, || f(&mut st.inner));
        if let Err(e) = &r {
            // the compressor's own error state already holds errors of the recorded calls; keep
            // ABI-level ones (and panics) so the handle reports them too
            let own = (st.inner.error_code(), st.inner.error_msg().to_string());
            if own.0 != e.code() || own.1 != e.to_string() || !recorded {
                st.abi_error = Some((e.code(), e.to_string()));
            }
        }
        r
    }

    /// True when calls on this handle take the process-wide lock of a `single` plugin.
    pub fn is_globally_serialized(&self) -> bool {
        self.global.is_some()
    }

    /// The wrapped compressor, locked, for Rust callers.
    pub fn with<T>(&self, f: impl FnOnce(&mut Compressor) -> T) -> T {
        let (_global, mut st) = self.lock();
        f(&mut st.inner)
    }
}

/// Report `e` as the thread's last error and return its code.
fn report(what: &str, e: &PressioError) -> c_int {
    set_last_error(e.code(), &format!("{what}: {e}"));
    e.code()
}

/// The body of the `int`-returning compressor functions: 0 on success, the error code otherwise
/// (also recorded on the handle when it is not NULL, and as the thread's last error).
unsafe fn status(
    compressor: *const pressio_ml_compressor,
    what: &str,
    recorded: bool,
    f: impl FnOnce(&mut Compressor) -> Result<()>,
) -> c_int {
    let r = catch(what, || {
        handle(compressor, "compressor")?.run(what, recorded, f)
    });
    match r {
        Ok(()) => 0,
        Err(e) => report(what, &e),
    }
}

/// A new handle for the compressor registered as `compressor_id`; NULL (error 1, "invalid
/// compressor id") when there is none. Release it with `pressio_ml_compressor_release`.
///
/// # Safety
/// `compressor_id` must be NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_get_compressor(
    compressor_id: *const c_char,
) -> *mut pressio_ml_compressor {
    ffi("pressio_ml_get_compressor", ptr::null_mut(), || {
        let id = text(compressor_id, "compressor_id")?;
        Ok(pressio_ml_compressor::new(crate::registry().compressor(id)?).into_raw())
    })
}

/// Free a compressor handle (NULL is ignored).
///
/// # Safety
/// `compressor` must be NULL or a live compressor handle that no other thread is using, not used
/// afterwards.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_compressor_release(compressor: *mut pressio_ml_compressor) {
    ffi("pressio_ml_compressor_release", (), || {
        if !compressor.is_null() {
            drop(Box::from_raw(compressor));
        }
        Ok(())
    })
}

/// A new, independent handle with the same plugin options and attached metric; NULL on error.
///
/// # Safety
/// `compressor` must be NULL or a live compressor handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_compressor_clone(
    compressor: *const pressio_ml_compressor,
) -> *mut pressio_ml_compressor {
    ffi("pressio_ml_compressor_clone", ptr::null_mut(), || {
        let c = handle(compressor, "compressor")?;
        let copy = c.run("pressio_ml_compressor_clone", false, |inner| {
            Ok(inner.clone())
        })?;
        Ok(pressio_ml_compressor::new(copy).into_raw())
    })
}

unsafe fn options_getter(
    compressor: *const pressio_ml_compressor,
    what: &str,
    f: impl FnOnce(&Compressor) -> pressio_ml_core::Options,
) -> *mut pressio_ml_options {
    ffi(what, ptr::null_mut(), || {
        let c = handle(compressor, "compressor")?;
        let o = c.run(what, false, |inner| Ok(f(inner)))?;
        Ok(pressio_ml_options::into_raw(o))
    })
}

/// A new options object with every settable key (values or typed placeholders); NULL on error.
/// Free it with `pressio_ml_options_free`.
///
/// # Safety
/// `compressor` must be NULL or a live compressor handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_compressor_get_options(
    compressor: *const pressio_ml_compressor,
) -> *mut pressio_ml_options {
    options_getter(
        compressor,
        "pressio_ml_compressor_get_options",
        Compressor::get_options,
    )
}

/// A new options object with the read-only configuration (`pressio:thread_safe`, ...); NULL on
/// error. Free it with `pressio_ml_options_free`.
///
/// # Safety
/// `compressor` must be NULL or a live compressor handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_compressor_get_configuration(
    compressor: *const pressio_ml_compressor,
) -> *mut pressio_ml_options {
    options_getter(
        compressor,
        "pressio_ml_compressor_get_configuration",
        Compressor::get_configuration,
    )
}

/// A new options object documenting every key (string values); NULL on error. Free it with
/// `pressio_ml_options_free`.
///
/// # Safety
/// `compressor` must be NULL or a live compressor handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_compressor_get_documentation(
    compressor: *const pressio_ml_compressor,
) -> *mut pressio_ml_options {
    options_getter(
        compressor,
        "pressio_ml_compressor_get_documentation",
        Compressor::get_documentation,
    )
}

/// Apply `options` (unknown keys are ignored; a known key of the wrong type is an error).
/// Returns 0 or an error code.
///
/// # Safety
/// `compressor` must be NULL or a live compressor handle; `options` NULL or a live options
/// handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_compressor_set_options(
    compressor: *mut pressio_ml_compressor,
    options: *const pressio_ml_options,
) -> c_int {
    status(compressor, "pressio_ml_compressor_set_options", true, |c| {
        c.set_options(&handle(options, "options")?.inner)
    })
}

/// Validate `options` without applying them. Returns 0 or an error code.
///
/// # Safety
/// `compressor` must be NULL or a live compressor handle; `options` NULL or a live options
/// handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_compressor_check_options(
    compressor: *mut pressio_ml_compressor,
    options: *const pressio_ml_options,
) -> c_int {
    status(
        compressor,
        "pressio_ml_compressor_check_options",
        true,
        |c| c.check_options(&handle(options, "options")?.inner),
    )
}

/// Compress `input` into `output`, whose contents are replaced by a byte buffer. Returns 0 or an
/// error code.
///
/// # Safety
/// `compressor` must be NULL or a live compressor handle; `input` and `output` NULL or live,
/// distinct data handles.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_compressor_compress(
    compressor: *mut pressio_ml_compressor,
    input: *const pressio_ml_data,
    output: *mut pressio_ml_data,
) -> c_int {
    status(compressor, "pressio_ml_compressor_compress", true, |c| {
        let (input, output) = in_out(input, output)?;
        c.compress(input, output)
    })
}

/// Decompress `input` into `output`. An empty `output` (from `pressio_ml_data_new_empty`)
/// receives a new buffer, checked against its dims when it has any; a pre-allocated `output`
/// (owning or nonowning) is filled in place. Returns 0 or an error code.
///
/// # Safety
/// `compressor` must be NULL or a live compressor handle; `input` and `output` NULL or live,
/// distinct data handles.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_compressor_decompress(
    compressor: *mut pressio_ml_compressor,
    input: *const pressio_ml_data,
    output: *mut pressio_ml_data,
) -> c_int {
    status(compressor, "pressio_ml_compressor_decompress", true, |c| {
        let (input, output) = in_out(input, output)?;
        c.decompress(input, output)
    })
}

unsafe fn in_out<'a>(
    input: *const pressio_ml_data,
    output: *mut pressio_ml_data,
) -> Result<(&'a Data, &'a mut Data)> {
    if ptr::eq(input, output) {
        return Err(invalid("input and output are the same data handle"));
    }
    let i = &handle(input, "input")?.inner;
    let o = &mut super::handle_mut(output, "output")?.inner;
    Ok((i, o))
}

/// Move the outputs' buffers out of their handles, run `f`, and move them back (also on error).
unsafe fn many(
    inputs: *const *const pressio_ml_data,
    num_inputs: usize,
    outputs: *const *mut pressio_ml_data,
    num_outputs: usize,
    f: impl FnOnce(&[&Data], &mut [Data]) -> Result<()>,
) -> Result<()> {
    let arr = |p: *const *const pressio_ml_data, n: usize, what: &str| -> Result<Vec<_>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        if p.is_null() {
            return Err(invalid(format!("{what} is NULL")));
        }
        let v = std::slice::from_raw_parts(p, n).to_vec();
        if let Some(i) = v.iter().position(|h| h.is_null()) {
            return Err(invalid(format!("{what}[{i}] is NULL")));
        }
        Ok(v)
    };
    let ins = arr(inputs, num_inputs, "inputs")?;
    let outs: Vec<*mut pressio_ml_data> = arr(
        outputs as *const *const pressio_ml_data,
        num_outputs,
        "outputs",
    )?
    .into_iter()
    .map(|p| p as *mut pressio_ml_data)
    .collect();
    for (i, o) in outs.iter().enumerate() {
        if outs[..i].contains(o) || ins.contains(&(*o as *const pressio_ml_data)) {
            return Err(invalid(format!(
                "outputs[{i}] is also another input or output"
            )));
        }
    }
    let in_refs: Vec<&Data> = ins.iter().map(|&p| &(*p).inner).collect();
    let mut bufs: Vec<Data> = outs
        .iter()
        .map(|&p| std::mem::replace(&mut (*p).inner, Data::empty(DType::Byte, &[])))
        .collect();
    let r = catch("many", || f(&in_refs, &mut bufs));
    for (&p, d) in outs.iter().zip(bufs) {
        (*p).inner = d;
    }
    r
}

/// Compress `num_inputs` buffers into `num_outputs` (equal) byte buffers. Returns 0 or an error
/// code.
///
/// # Safety
/// `compressor` must be NULL or a live compressor handle; `inputs` and `outputs` NULL or arrays
/// of the given sizes holding live data handles, the outputs distinct from each other and from
/// the inputs.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_compressor_compress_many(
    compressor: *mut pressio_ml_compressor,
    inputs: *const *const pressio_ml_data,
    num_inputs: usize,
    outputs: *const *mut pressio_ml_data,
    num_outputs: usize,
) -> c_int {
    status(
        compressor,
        "pressio_ml_compressor_compress_many",
        true,
        |c| {
            many(inputs, num_inputs, outputs, num_outputs, |i, o| {
                c.compress_many(i, o)
            })
        },
    )
}

/// Decompress `num_inputs` streams into `num_outputs` (equal) outputs, each empty or
/// pre-allocated as for `pressio_ml_compressor_decompress`. Returns 0 or an error code.
///
/// # Safety
/// As for [`pressio_ml_compressor_compress_many`].
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_compressor_decompress_many(
    compressor: *mut pressio_ml_compressor,
    inputs: *const *const pressio_ml_data,
    num_inputs: usize,
    outputs: *const *mut pressio_ml_data,
    num_outputs: usize,
) -> c_int {
    status(
        compressor,
        "pressio_ml_compressor_decompress_many",
        true,
        |c| {
            many(inputs, num_inputs, outputs, num_outputs, |i, o| {
                c.decompress_many(i, o)
            })
        },
    )
}

/// Code of the handle's last error (0 when the last recorded call succeeded). A NULL handle
/// returns the "invalid argument" code.
///
/// # Safety
/// `compressor` must be NULL or a live compressor handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_compressor_error_code(
    compressor: *const pressio_ml_compressor,
) -> c_int {
    let r = catch("pressio_ml_compressor_error_code", || {
        let c = handle(compressor, "compressor")?;
        let (_g, st) = c.lock();
        Ok(st
            .abi_error
            .as_ref()
            .map_or_else(|| st.inner.error_code(), |e| e.0))
    });
    r.unwrap_or_else(|e| report("pressio_ml_compressor_error_code", &e))
}

/// Message of the handle's last error ("" when none), borrowed from the handle: valid until the
/// next call on this handle. A NULL handle returns a static message.
///
/// # Safety
/// `compressor` must be NULL or a live compressor handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_compressor_error_msg(
    compressor: *const pressio_ml_compressor,
) -> *const c_char {
    let r = catch("pressio_ml_compressor_error_msg", || {
        let c = handle(compressor, "compressor")?;
        let (_g, mut st) = c.lock();
        let msg = match &st.abi_error {
            Some(e) => e.1.clone(),
            None => st.inner.error_msg().to_string(),
        };
        // keep the previous pointer valid when the message did not change
        if st.msg.to_bytes() != to_cstring(&msg).to_bytes() {
            st.msg = to_cstring(&msg);
        }
        Ok(st.msg.as_ptr())
    });
    r.unwrap_or_else(|e| {
        report("pressio_ml_compressor_error_msg", &e);
        c"invalid argument: compressor is NULL".as_ptr()
    })
}

/// The plugin's version (`"major.minor.patch"`), borrowed from the handle; NULL on a NULL handle.
///
/// # Safety
/// `compressor` must be NULL or a live compressor handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_compressor_version(
    compressor: *const pressio_ml_compressor,
) -> *const c_char {
    ffi("pressio_ml_compressor_version", ptr::null(), || {
        Ok(handle(compressor, "compressor")?.version.as_ptr())
    })
}

/// The plugin's option prefix, borrowed from the handle; NULL on a NULL handle.
///
/// # Safety
/// `compressor` must be NULL or a live compressor handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_compressor_get_prefix(
    compressor: *const pressio_ml_compressor,
) -> *const c_char {
    ffi("pressio_ml_compressor_get_prefix", ptr::null(), || {
        Ok(handle(compressor, "compressor")?.prefix.as_ptr())
    })
}

/// Attach a copy of `metrics` to the compressor (the caller keeps and frees its own handle).
///
/// # Safety
/// `compressor` must be NULL or a live compressor handle; `metrics` NULL or a live metrics
/// handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_compressor_set_metrics(
    compressor: *mut pressio_ml_compressor,
    metrics: *const pressio_ml_metrics,
) {
    ffi("pressio_ml_compressor_set_metrics", (), || {
        let c = handle(compressor, "compressor")?;
        let m = handle(metrics, "metrics")?.cloned();
        c.run("pressio_ml_compressor_set_metrics", false, |inner| {
            inner.set_metrics(&m);
            Ok(())
        })
    })
}

/// A new copy of the attached metrics; NULL when none is attached (not an error) or on error.
/// Free it with `pressio_ml_metrics_free`.
///
/// # Safety
/// `compressor` must be NULL or a live compressor handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_compressor_get_metrics(
    compressor: *const pressio_ml_compressor,
) -> *mut pressio_ml_metrics {
    ffi("pressio_ml_compressor_get_metrics", ptr::null_mut(), || {
        let c = handle(compressor, "compressor")?;
        let m = c.run("pressio_ml_compressor_get_metrics", false, |inner| {
            Ok(inner.get_metrics())
        })?;
        Ok(m.map_or(ptr::null_mut(), pressio_ml_metrics::into_raw))
    })
}

/// A new options object with the attached metric's results (empty when none is attached); NULL
/// on error. Free it with `pressio_ml_options_free`.
///
/// # Safety
/// `compressor` must be NULL or a live compressor handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_compressor_get_metrics_results(
    compressor: *const pressio_ml_compressor,
) -> *mut pressio_ml_options {
    options_getter(
        compressor,
        "pressio_ml_compressor_get_metrics_results",
        Compressor::get_metrics_results,
    )
}
