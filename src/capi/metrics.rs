//! `pressio_ml_metrics`: metrics handles (LibPressio's `pressio_metrics`).

use super::data::pressio_ml_data;
use super::options::pressio_ml_options;
use super::{catch, ffi, handle, invalid, set_last_error, to_cstring};
use pressio_ml_core::{Metrics, PressioError, Result};
use std::ffi::{c_char, c_int, CString};
use std::ptr;
use std::sync::{Mutex, MutexGuard, PoisonError};

struct State {
    inner: Metrics,
    /// An error found by the ABI layer (NULL argument, panic), until the next call.
    abi_error: Option<(i32, String)>,
    msg: CString,
}

/// An opaque metrics handle. Created by [`pressio_ml_new_metrics`] and
/// `pressio_ml_compressor_get_metrics`, freed with [`pressio_ml_metrics_free`]. Calls on one
/// handle are serialized by an internal mutex, so a handle may be used from any thread.
pub struct pressio_ml_metrics {
    state: Mutex<State>,
}

impl pressio_ml_metrics {
    /// A new heap handle around `inner`, handed to C.
    pub(crate) fn into_raw(inner: Metrics) -> *mut pressio_ml_metrics {
        Box::into_raw(Box::new(pressio_ml_metrics {
            state: Mutex::new(State {
                inner,
                abi_error: None,
                msg: CString::default(),
            }),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the wrapped metrics.
    pub fn cloned(&self) -> Metrics {
        self.lock().inner.clone()
    }

    /// Run `f` on the metrics; failures are recorded on the handle.
    fn run<T>(&self, what: &str, f: impl FnOnce(&mut Metrics) -> Result<T>) -> Result<T> {
        let mut st = self.lock();
        st.abi_error = None;
        let r = catch(what, || f(&mut st.inner));
        if let Err(e) = &r {
            if st.inner.error_code() != e.code() || st.inner.error_msg() != e.to_string() {
                st.abi_error = Some((e.code(), e.to_string()));
            }
        }
        r
    }
}

/// A new metrics handle evaluating the `num_metrics` metrics named in `metric_ids` together
/// (a `composite`, as LibPressio's `pressio_new_metrics`); NULL (error 2) when an id is unknown.
/// Free it with `pressio_ml_metrics_free`.
///
/// # Safety
/// `metric_ids` must be NULL (only when `num_metrics` is 0) or an array of `num_metrics` C
/// strings.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_new_metrics(
    metric_ids: *const *const c_char,
    num_metrics: c_int,
) -> *mut pressio_ml_metrics {
    ffi("pressio_ml_new_metrics", ptr::null_mut(), || {
        let n = usize::try_from(num_metrics)
            .map_err(|_| invalid(format!("num_metrics is {num_metrics}")))?;
        if n > 0 && metric_ids.is_null() {
            return Err(invalid("metric_ids is NULL"));
        }
        let ids: Vec<&str> = (0..n)
            .map(|i| super::text(*metric_ids.add(i), &format!("metric_ids[{i}]")))
            .collect::<Result<_>>()?;
        let reg = crate::registry();
        let m = if let [only] = ids.as_slice() {
            if reg.metric_ids().iter().any(|m| m == "composite") {
                reg.metrics(&ids)?
            } else {
                reg.metrics_by_id(only)?
            }
        } else {
            reg.metrics(&ids)?
        };
        Ok(pressio_ml_metrics::into_raw(m))
    })
}

/// Free a metrics handle (NULL is ignored).
///
/// # Safety
/// `metrics` must be NULL or a live metrics handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_metrics_free(metrics: *mut pressio_ml_metrics) {
    ffi("pressio_ml_metrics_free", (), || {
        if !metrics.is_null() {
            drop(Box::from_raw(metrics));
        }
        Ok(())
    })
}

unsafe fn options_getter(
    metrics: *const pressio_ml_metrics,
    what: &str,
    f: impl FnOnce(&mut Metrics) -> pressio_ml_core::Options,
) -> *mut pressio_ml_options {
    ffi(what, ptr::null_mut(), || {
        let o = handle(metrics, "metrics")?.run(what, |m| Ok(f(m)))?;
        Ok(pressio_ml_options::into_raw(o))
    })
}

/// A new options object with the metrics' settable options; NULL on error. Free it with
/// `pressio_ml_options_free`.
///
/// # Safety
/// `metrics` must be NULL or a live metrics handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_metrics_get_options(
    metrics: *const pressio_ml_metrics,
) -> *mut pressio_ml_options {
    options_getter(metrics, "pressio_ml_metrics_get_options", |m| {
        m.get_options()
    })
}

/// A new options object with the metrics' configuration; NULL on error. Free it with
/// `pressio_ml_options_free`.
///
/// # Safety
/// `metrics` must be NULL or a live metrics handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_metrics_get_configuration(
    metrics: *const pressio_ml_metrics,
) -> *mut pressio_ml_options {
    options_getter(metrics, "pressio_ml_metrics_get_configuration", |m| {
        m.get_configuration()
    })
}

/// A new options object documenting the metrics' keys; NULL on error. Free it with
/// `pressio_ml_options_free`.
///
/// # Safety
/// `metrics` must be NULL or a live metrics handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_metrics_get_documentation(
    metrics: *const pressio_ml_metrics,
) -> *mut pressio_ml_options {
    options_getter(metrics, "pressio_ml_metrics_get_documentation", |m| {
        m.get_documentation()
    })
}

/// Apply `options` to the metrics. Returns 0 or an error code.
///
/// # Safety
/// `metrics` must be NULL or a live metrics handle; `options` NULL or a live options handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_metrics_set_options(
    metrics: *mut pressio_ml_metrics,
    options: *const pressio_ml_options,
) -> c_int {
    let what = "pressio_ml_metrics_set_options";
    let r = catch(what, || {
        handle(metrics, "metrics")?.run(what, |m| m.set_options(&handle(options, "options")?.inner))
    });
    match r {
        Ok(()) => 0,
        Err(e) => report(what, &e),
    }
}

fn report(what: &str, e: &PressioError) -> c_int {
    set_last_error(e.code(), &format!("{what}: {e}"));
    e.code()
}

/// A new options object with the current results (every result key, unset ones as typed
/// placeholders); NULL on error. Free it with `pressio_ml_options_free`.
///
/// # Safety
/// `metrics` must be NULL or a live metrics handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_metrics_get_results(
    metrics: *const pressio_ml_metrics,
) -> *mut pressio_ml_options {
    options_getter(metrics, "pressio_ml_metrics_get_results", |m| {
        m.get_results()
    })
}

/// Evaluate the metrics standalone: the compression hooks run when `uncompressed` is not NULL,
/// the decompression hooks when `decompressed` is not NULL (at least one is required);
/// `compressed` may be NULL. Returns a new options object with the results (free it with
/// `pressio_ml_options_free`), NULL on error.
///
/// # Safety
/// `metrics` must be NULL or a live metrics handle; the data arguments NULL or live data
/// handles.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_metrics_evaluate(
    metrics: *mut pressio_ml_metrics,
    uncompressed: *const pressio_ml_data,
    compressed: *const pressio_ml_data,
    decompressed: *const pressio_ml_data,
) -> *mut pressio_ml_options {
    let what = "pressio_ml_metrics_evaluate";
    ffi(what, ptr::null_mut(), || {
        let m = handle(metrics, "metrics")?;
        let u = uncompressed.as_ref().map(|d| &d.inner);
        let c = compressed.as_ref().map(|d| &d.inner);
        let d = decompressed.as_ref().map(|d| &d.inner);
        let o = m.run(what, |m| m.evaluate(u, c, d))?;
        Ok(pressio_ml_options::into_raw(o))
    })
}

/// Code of the handle's last error (0 when its last call succeeded); the "invalid argument"
/// code for a NULL handle.
///
/// # Safety
/// `metrics` must be NULL or a live metrics handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_metrics_error_code(
    metrics: *const pressio_ml_metrics,
) -> c_int {
    let what = "pressio_ml_metrics_error_code";
    let r = catch(what, || {
        let st = handle(metrics, "metrics")?.lock();
        Ok(st
            .abi_error
            .as_ref()
            .map_or_else(|| st.inner.error_code(), |e| e.0))
    });
    r.unwrap_or_else(|e| report(what, &e))
}

/// Message of the handle's last error ("" when none), borrowed from the handle: valid until the
/// next call on it. A NULL handle returns a static message.
///
/// # Safety
/// `metrics` must be NULL or a live metrics handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_metrics_error_msg(
    metrics: *const pressio_ml_metrics,
) -> *const c_char {
    let what = "pressio_ml_metrics_error_msg";
    let r = catch(what, || {
        let mut st = handle(metrics, "metrics")?.lock();
        let msg = match &st.abi_error {
            Some(e) => to_cstring(&e.1),
            None => to_cstring(st.inner.error_msg()),
        };
        if st.msg != msg {
            st.msg = msg;
        }
        Ok(st.msg.as_ptr())
    });
    r.unwrap_or_else(|e| {
        report(what, &e);
        c"invalid argument: metrics is NULL".as_ptr()
    })
}

/// Search the relative bound (`pressio:rel`) of compressor `compressor_id` that meets a
/// quality target on `input`, by DeepCQ's predictions verified with real compressions (or by
/// bisection), as `pressio-ml opt` does. `settings` holds exactly one of
/// `deepcq:target_ratio`, `deepcq:target_psnr`, `deepcq:min_ssim` (double), and optionally
/// `deepcq:tolerance` (double, default 0.05), `deepcq:max_compressions` (uint32, default 16),
/// `deepcq:search` (`deepcq` or `bisection`), `deepcq:model` and `deepcq:head`. Returns a new
/// options handle with `deepcq:search:bound`, `deepcq:search:achieved`, `deepcq:search:met`,
/// `deepcq:search:compressions` and `deepcq:search:seconds` (free it with
/// `pressio_ml_options_free`), or NULL with the error in `pressio_ml_error_code` / `_msg`.
///
/// # Safety
/// `input` must be a live data handle, `compressor_id` a C string and `settings` a live
/// options handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_deepcq_search(
    input: *const pressio_ml_data,
    compressor_id: *const c_char,
    settings: *const super::options::pressio_ml_options,
) -> *mut super::options::pressio_ml_options {
    ffi("pressio_ml_deepcq_search", ptr::null_mut(), || {
        let data = handle(input, "input")?;
        let id = super::text(compressor_id, "compressor_id")?;
        let settings = handle(settings, "settings")?;
        let results = pressio_ml_metric_deepcq::search::run_options(
            crate::registry(),
            id,
            data.data(),
            settings.options(),
        )?;
        Ok(super::options::pressio_ml_options::into_raw(results))
    })
}
