//! The `extern "C"` functions the C++ shim calls (declared in `src/shim/pressio_ml_shim.h`), the
//! exported `libpressio_register_all`, and safe Rust access to the shim's registration.
//!
//! Each LibPressio plugin instance owns one handle here: a pressio-ml plugin (the `*_impl` level
//! of LibPressio's base classes; LibPressio's base classes keep doing the metric hooks, the
//! generic keys and `check_options`' "extra keys" test themselves). Every entry point catches
//! panics; errors are returned as pressio-ml's positive error codes with the message kept in the
//! handle.

use crate::convert::{self, data_view};
use crate::sys;
use pressio_ml_core::{
    generic_compressor_documentation, CompressorPlugin, DType, Data, MetricsPlugin, Options,
    OptionsHook, Phase, PressioError, Result,
};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

/// Kind of plugin in LibPressio's registries.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `libpressio::compressor_plugins()`
    Compressor = 0,
    /// `libpressio::metrics_plugins()`
    Metric = 1,
}

extern "C" {
    /// Move `*src` into `*dst` and free `src` (C++ shim).
    pub(crate) fn pressio_ml_shim_data_assign(
        dst: *mut sys::pressio_data,
        src: *mut sys::pressio_data,
    );
    fn pressio_ml_shim_register_all() -> usize;
    fn pressio_ml_shim_is_ours(kind: c_int, id: *const c_char) -> c_int;
    fn pressio_ml_shim_libpressio_ids(
        kind: c_int,
        push: unsafe extern "C" fn(*mut c_void, *const c_char),
        ctx: *mut c_void,
    );
    fn pressio_ml_shim_libpressio_has(kind: c_int, id: *const c_char) -> c_int;
    fn pressio_ml_shim_register_as(
        kind: c_int,
        rust_id: *const c_char,
        as_id: *const c_char,
    ) -> c_int;
    fn pressio_ml_shim_unregister(kind: c_int, as_id: *const c_char) -> c_int;
}

fn cstr(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

/// Register every offered pressio-ml id that LibPressio does not already have (idempotent; the
/// library also does this when it is loaded). Returns how many ids this library has registered.
pub fn register_all() -> usize {
    // SAFETY: the shim function takes no arguments and catches its exceptions.
    unsafe { pressio_ml_shim_register_all() }
}

/// True when `id` of `kind` is registered in LibPressio by this library.
pub fn is_registered_by_bridge(kind: Kind, id: &str) -> bool {
    let id = cstr(id);
    // SAFETY: valid C string.
    unsafe { pressio_ml_shim_is_ours(kind as c_int, id.as_ptr()) != 0 }
}

/// Every id in LibPressio's registry of `kind` (including the ones this library registered).
pub fn libpressio_ids(kind: Kind) -> Vec<String> {
    unsafe extern "C" fn push(ctx: *mut c_void, id: *const c_char) {
        // SAFETY: ctx is the Vec below and id a valid string, for the duration of the call.
        let v = &mut *(ctx as *mut Vec<String>);
        v.push(CStr::from_ptr(id).to_string_lossy().into_owned());
    }
    let mut v: Vec<String> = Vec::new();
    // SAFETY: the callback only touches `v`, which outlives the call.
    unsafe { pressio_ml_shim_libpressio_ids(kind as c_int, push, &mut v as *mut _ as *mut c_void) };
    v
}

/// True when LibPressio's registry of `kind` holds `id`, whoever registered it.
pub fn libpressio_has(kind: Kind, id: &str) -> bool {
    let id = cstr(id);
    // SAFETY: valid C string.
    unsafe { pressio_ml_shim_libpressio_has(kind as c_int, id.as_ptr()) != 0 }
}

/// Register the pressio-ml plugin `rust_id` under the LibPressio id `as_id` (for instance a
/// pressio-ml metric whose own id LibPressio already uses). Fails when `as_id` is taken or
/// `rust_id` unknown.
pub fn register_as(kind: Kind, rust_id: &str, as_id: &str) -> Result<()> {
    let (r, a) = (cstr(rust_id), cstr(as_id));
    // SAFETY: valid C strings.
    match unsafe { pressio_ml_shim_register_as(kind as c_int, r.as_ptr(), a.as_ptr()) } {
        0 => Ok(()),
        1 => Err(PressioError::InvalidArgument(format!(
            "LibPressio already has an id {as_id}"
        ))),
        2 => Err(match kind {
            Kind::Compressor => PressioError::UnknownCompressor(rust_id.into()),
            Kind::Metric => PressioError::UnknownMetric(rust_id.into()),
        }),
        _ => Err(PressioError::Internal("registration failed".into())),
    }
}

/// Unregister an id that this library registered; false when it is not one of ours.
pub fn unregister(kind: Kind, id: &str) -> bool {
    let id = cstr(id);
    // SAFETY: valid C string.
    unsafe { pressio_ml_shim_unregister(kind as c_int, id.as_ptr()) == 0 }
}

/// LibPressio's entry point for plugin libraries: registers every pressio-ml plugin (see
/// [`register_all`]). LibPressio's Python binding and test main call it after loading the file
/// named by `LIBPRESSIO_PLUGINS`; `pressio -D` and plain linking rely on the load-time
/// registration instead, which this function repeats harmlessly.
///
/// Other plugin libraries (pressio-tools' `libpressio_meta`) export a function of the same name.
/// When this library comes first in the symbol search order (`LD_PRELOAD`, or linked before
/// them), a host's call lands here; the next definition in the search order is then called
/// too, so their registration still runs.
#[no_mangle]
pub extern "C" fn libpressio_register_all() {
    let _ = catch_unwind(register_all);
    chain_next_register_all();
}

/// Call the next `libpressio_register_all` in the dynamic linker's search order, if any.
fn chain_next_register_all() {
    use std::sync::atomic::{AtomicBool, Ordering};
    extern "C" {
        fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    }
    /// glibc's `RTLD_NEXT`.
    const RTLD_NEXT: *mut c_void = -1isize as *mut c_void;
    static ACTIVE: AtomicBool = AtomicBool::new(false);
    if ACTIVE.swap(true, Ordering::AcqRel) {
        return;
    }
    // SAFETY: dlsym with a valid symbol name; a non-NULL result is a function of this signature
    // (LibPressio's plugin-library convention: `extern "C" void libpressio_register_all()`).
    unsafe {
        let f = dlsym(RTLD_NEXT, c"libpressio_register_all".as_ptr());
        let own = libpressio_register_all as *const () as *mut c_void;
        if !f.is_null() && f != own {
            let f: extern "C" fn() = std::mem::transmute(f);
            f();
        }
    }
    ACTIVE.store(false, Ordering::Release);
}

/// C entry point of [`register_as`]: 0 on success, 1 when `as_id` is taken, 2 when `rust_id` is
/// unknown. `kind` is 0 for compressors and 1 for metrics.
///
/// # Safety
/// `rust_id` and `as_id` must be valid NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_libpressio_register_as(
    kind: c_int,
    rust_id: *const c_char,
    as_id: *const c_char,
) -> c_int {
    if rust_id.is_null() || as_id.is_null() || !(0..=1).contains(&kind) {
        return 2;
    }
    pressio_ml_shim_register_as(kind, rust_id, as_id)
}

/// C entry point of [`unregister`]: 0 when the id was ours and is now unregistered, 1 otherwise.
///
/// # Safety
/// `id` must be a valid NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_libpressio_unregister(kind: c_int, id: *const c_char) -> c_int {
    if id.is_null() || !(0..=1).contains(&kind) {
        return 1;
    }
    pressio_ml_shim_unregister(kind, id)
}

fn ids(kind: c_int) -> &'static [CString] {
    static COMPRESSORS: OnceLock<Vec<CString>> = OnceLock::new();
    static METRICS: OnceLock<Vec<CString>> = OnceLock::new();
    if kind == Kind::Compressor as c_int {
        COMPRESSORS.get_or_init(|| {
            crate::offered_compressor_ids()
                .iter()
                .map(|s| cstr(s))
                .collect()
        })
    } else {
        METRICS.get_or_init(|| {
            crate::offered_metric_ids()
                .iter()
                .map(|s| cstr(s))
                .collect()
        })
    }
}

/// Number of ids of `kind` offered to LibPressio.
#[no_mangle]
pub extern "C" fn pressio_ml_bridge_count(kind: c_int) -> usize {
    catch_unwind(|| ids(kind).len()).unwrap_or(0)
}

/// The i-th id of `kind` (NULL when out of range).
#[no_mangle]
pub extern "C" fn pressio_ml_bridge_id(kind: c_int, i: usize) -> *const c_char {
    catch_unwind(|| ids(kind).get(i).map_or(std::ptr::null(), |s| s.as_ptr()))
        .unwrap_or(std::ptr::null())
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Run `f`, turning a panic into an internal error.
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        Err(PressioError::Internal(format!(
            "{what} panicked: {}",
            panic_message(p)
        )))
    })
}

/// # Safety
/// `s` must be NULL or a valid NUL-terminated string.
unsafe fn str_arg<'a>(s: *const c_char) -> &'a str {
    if s.is_null() {
        ""
    } else {
        CStr::from_ptr(s).to_str().unwrap_or("")
    }
}

/// Reject resolved keys whose value pressio-ml cannot represent when the plugin declares them.
fn check_unreadable(
    declared: &Options,
    unreadable: &[(String, pressio_ml_core::OptionType)],
) -> Result<()> {
    for (k, ty) in unreadable {
        if let Some(slot) = declared.get_option(k) {
            return Err(PressioError::WrongOptionType {
                key: k.clone(),
                expected: slot.option_type().name().to_string(),
                found: format!("{} (a type pressio-ml cannot read)", ty.name()),
            });
        }
    }
    Ok(())
}

/// # Safety
/// `p` must point to `n` valid `pressio_data` pointers (or be NULL when `n` is 0).
unsafe fn views(p: *const *const sys::pressio_data, n: usize) -> Result<Vec<Data>> {
    if n == 0 || p.is_null() {
        return Ok(Vec::new());
    }
    std::slice::from_raw_parts(p, n)
        .iter()
        .map(|&d| data_view(d))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// compressors

/// A pressio-ml compressor behind one LibPressio plugin instance.
pub struct BridgeCompressor {
    plugin: Box<dyn CompressorPlugin>,
    prefix: CString,
    version: CString,
    error: CString,
}

impl BridgeCompressor {
    fn new(plugin: Box<dyn CompressorPlugin>) -> Self {
        BridgeCompressor {
            prefix: cstr(plugin.prefix()),
            version: cstr(&plugin.version().to_string()),
            plugin,
            error: CString::default(),
        }
    }

    fn finish(&mut self, r: Result<()>) -> c_int {
        match r {
            Ok(()) => {
                self.error = CString::default();
                0
            }
            Err(e) => {
                self.error = cstr(&e.to_string());
                e.code()
            }
        }
    }

    fn documentation(&self) -> Options {
        let mut d = self.plugin.documentation();
        // LibPressio's base class documents its generic keys itself; add pressio-ml's text only
        // for keys it does not (the metric switches), so every key stays documented.
        for (k, slot) in generic_compressor_documentation(self.plugin.prefix()).iter() {
            if k.starts_with("metrics:") && !d.contains(k) {
                d.insert_option(k.clone(), slot.clone());
            }
        }
        d
    }

    /// # Safety
    /// `input` and `output` must be valid `pressio_data` pointers.
    unsafe fn compress(
        &mut self,
        input: *const sys::pressio_data,
        output: *mut sys::pressio_data,
    ) -> Result<()> {
        let input = data_view(input)?;
        input.check_input()?;
        let plugin = &mut self.plugin;
        let out = guarded("compress", || plugin.compress(&input))?;
        convert::store(output, &out)
    }

    /// # Safety
    /// `input` and `output` must be valid `pressio_data` pointers.
    unsafe fn decompress(
        &mut self,
        input: *const sys::pressio_data,
        output: *mut sys::pressio_data,
    ) -> Result<()> {
        let input = data_view(input)?;
        if !input.has_data() {
            return Err(PressioError::InvalidInput(
                "compressed input is empty".into(),
            ));
        }
        let (dtype, dims) = convert::data_meta(output)?;
        let template = Data::empty(dtype, &dims);
        let plugin = &mut self.plugin;
        let out = guarded("decompress", || plugin.decompress(&input, &template))?;
        convert::deliver(self.plugin.id(), out, output)
    }

    /// # Safety
    /// The arrays must hold the given numbers of valid `pressio_data` pointers.
    unsafe fn compress_many(
        &mut self,
        inputs: *const *const sys::pressio_data,
        n_inputs: usize,
        outputs: *const *mut sys::pressio_data,
        n_outputs: usize,
    ) -> Result<()> {
        if n_inputs != n_outputs {
            return Err(PressioError::InvalidArgument(format!(
                "{n_inputs} inputs but {n_outputs} outputs"
            )));
        }
        let ins = views(inputs, n_inputs)?;
        for i in &ins {
            i.check_input()?;
        }
        let refs: Vec<&Data> = ins.iter().collect();
        let plugin = &mut self.plugin;
        let outs = guarded("compress_many", || plugin.compress_many(&refs))?;
        if outs.len() != n_outputs {
            return Err(PressioError::Internal(format!(
                "compress_many returned {} buffers for {n_outputs} outputs",
                outs.len()
            )));
        }
        for (i, d) in outs.iter().enumerate() {
            convert::store(*outputs.add(i), d)?;
        }
        Ok(())
    }

    /// # Safety
    /// The arrays must hold the given numbers of valid `pressio_data` pointers.
    unsafe fn decompress_many(
        &mut self,
        inputs: *const *const sys::pressio_data,
        n_inputs: usize,
        outputs: *const *mut sys::pressio_data,
        n_outputs: usize,
    ) -> Result<()> {
        if n_inputs != n_outputs {
            return Err(PressioError::InvalidArgument(format!(
                "{n_inputs} inputs but {n_outputs} outputs"
            )));
        }
        let ins = views(inputs, n_inputs)?;
        if ins.iter().any(|i| !i.has_data()) {
            return Err(PressioError::InvalidInput(
                "compressed input is empty".into(),
            ));
        }
        let mut templates = Vec::with_capacity(n_outputs);
        for i in 0..n_outputs {
            let (dtype, dims) = convert::data_meta(*outputs.add(i))?;
            templates.push(Data::empty(dtype, &dims));
        }
        let in_refs: Vec<&Data> = ins.iter().collect();
        let t_refs: Vec<&Data> = templates.iter().collect();
        let plugin = &mut self.plugin;
        let outs = guarded("decompress_many", || {
            plugin.decompress_many(&in_refs, &t_refs)
        })?;
        if outs.len() != n_outputs {
            return Err(PressioError::Internal(format!(
                "decompress_many returned {} buffers for {n_outputs} outputs",
                outs.len()
            )));
        }
        for (i, d) in outs.into_iter().enumerate() {
            convert::deliver(self.plugin.id(), d, *outputs.add(i))?;
        }
        Ok(())
    }
}

/// A new compressor handle for the pressio-ml id `id` (NULL when unknown).
///
/// # Safety
/// `id` must be a valid NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_compressor_new(
    id: *const c_char,
) -> *mut BridgeCompressor {
    let id = str_arg(id);
    catch_unwind(|| {
        // only pressio-ml's own compressors (the registry also forwards LibPressio's), built with
        // the full registry so meta plugins find LibPressio's compressors
        if !crate::native_registry().has_compressor(id) {
            return std::ptr::null_mut();
        }
        match crate::registry().compressor_plugin(id) {
            Ok(p) => Box::into_raw(Box::new(BridgeCompressor::new(p))),
            Err(_) => std::ptr::null_mut(),
        }
    })
    .unwrap_or(std::ptr::null_mut())
}

/// A copy of a handle with the same options (NULL on failure).
///
/// # Safety
/// `c` must be NULL or a handle from this module.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_compressor_clone(
    c: *const BridgeCompressor,
) -> *mut BridgeCompressor {
    let Some(c) = c.as_ref() else {
        return std::ptr::null_mut();
    };
    catch_unwind(AssertUnwindSafe(|| {
        Box::into_raw(Box::new(BridgeCompressor::new(c.plugin.clone_plugin())))
    }))
    .unwrap_or(std::ptr::null_mut())
}

/// Free a handle.
///
/// # Safety
/// `c` must be NULL or a handle from this module, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_compressor_free(c: *mut BridgeCompressor) {
    if !c.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(c))));
    }
}

/// The plugin's option prefix (borrowed).
///
/// # Safety
/// `c` must be a valid handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_compressor_prefix(
    c: *const BridgeCompressor,
) -> *const c_char {
    c.as_ref().map_or(c"".as_ptr(), |c| c.prefix.as_ptr())
}

/// The plugin's version string (borrowed).
///
/// # Safety
/// `c` must be a valid handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_compressor_version(
    c: *const BridgeCompressor,
) -> *const c_char {
    c.as_ref().map_or(c"".as_ptr(), |c| c.version.as_ptr())
}

/// One part of the version: 0 major, 1 minor, 2 patch.
///
/// # Safety
/// `c` must be a valid handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_compressor_version_part(
    c: *const BridgeCompressor,
    which: c_int,
) -> c_int {
    let Some(c) = c.as_ref() else { return 0 };
    let v = c.plugin.version();
    let part = match which {
        0 => v.major,
        1 => v.minor,
        _ => v.patch,
    };
    c_int::try_from(part).unwrap_or(c_int::MAX)
}

/// The message of the last error (borrowed; empty after a success).
///
/// # Safety
/// `c` must be a valid handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_compressor_error_msg(
    c: *const BridgeCompressor,
) -> *const c_char {
    c.as_ref().map_or(c"".as_ptr(), |c| c.error.as_ptr())
}

/// Write the options (0), configuration (1), documentation (2) or internal metrics results (3)
/// into `out`, keys formatted for the plugin name `name`.
///
/// # Safety
/// `c` must be a valid handle, `name` NULL or a string, `out` a valid `pressio_options`.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_compressor_get(
    c: *const BridgeCompressor,
    which: c_int,
    name: *const c_char,
    out: *mut sys::pressio_options,
) -> c_int {
    let (Some(c), false) = (c.as_ref(), out.is_null()) else {
        return PressioError::InvalidArgument(String::new()).code();
    };
    let name = str_arg(name);
    let r = catch_unwind(AssertUnwindSafe(|| {
        let o = match which {
            0 => c.plugin.options(),
            1 => c.plugin.configuration(),
            2 => c.documentation(),
            _ => c.plugin.metrics_results(),
        };
        convert::write_options(out, name, &o);
    }));
    match r {
        Ok(()) => 0,
        Err(_) => PressioError::Internal(String::new()).code(),
    }
}

/// Apply options (resolved for the plugin name `name`).
///
/// # Safety
/// `c` must be a valid handle, `name` NULL or a string, `options` a valid `pressio_options`.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_compressor_set_options(
    c: *mut BridgeCompressor,
    name: *const c_char,
    options: *const sys::pressio_options,
) -> c_int {
    let Some(c) = c.as_mut() else {
        return PressioError::InvalidArgument(String::new()).code();
    };
    let name = str_arg(name);
    let r = guarded("set_options", || {
        let (opts, unreadable) = convert::read_options(options, name);
        check_unreadable(&c.plugin.options(), &unreadable)?;
        c.plugin.set_options(&opts)
    });
    c.finish(r)
}

/// Check options without applying them.
///
/// # Safety
/// As [`pressio_ml_bridge_compressor_set_options`].
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_compressor_check_options(
    c: *mut BridgeCompressor,
    name: *const c_char,
    options: *const sys::pressio_options,
) -> c_int {
    let Some(c) = c.as_mut() else {
        return PressioError::InvalidArgument(String::new()).code();
    };
    let name = str_arg(name);
    let r = guarded("check_options", || {
        let (opts, unreadable) = convert::read_options(options, name);
        check_unreadable(&c.plugin.options(), &unreadable)?;
        c.plugin.check_options(&opts)
    });
    c.finish(r)
}

/// Compress `input` into `output` (replaced by a malloc'd byte buffer).
///
/// # Safety
/// `c` must be a valid handle; `input` and `output` valid `pressio_data` pointers.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_compressor_compress(
    c: *mut BridgeCompressor,
    input: *const sys::pressio_data,
    output: *mut sys::pressio_data,
) -> c_int {
    let Some(c) = c.as_mut() else {
        return PressioError::InvalidArgument(String::new()).code();
    };
    let r = if input.is_null() || output.is_null() {
        Err(PressioError::InvalidArgument("NULL buffer".into()))
    } else {
        guarded("compress", || c.compress(input, output))
    };
    c.finish(r)
}

/// Decompress `input` into `output` (empty: allocated; pre-allocated: filled in place).
///
/// # Safety
/// `c` must be a valid handle; `input` and `output` valid `pressio_data` pointers.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_compressor_decompress(
    c: *mut BridgeCompressor,
    input: *const sys::pressio_data,
    output: *mut sys::pressio_data,
) -> c_int {
    let Some(c) = c.as_mut() else {
        return PressioError::InvalidArgument(String::new()).code();
    };
    let r = if input.is_null() || output.is_null() {
        Err(PressioError::InvalidArgument("NULL buffer".into()))
    } else {
        guarded("decompress", || c.decompress(input, output))
    };
    c.finish(r)
}

/// Compress several buffers.
///
/// # Safety
/// `c` must be a valid handle; the arrays must hold the given numbers of valid pointers.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_compressor_compress_many(
    c: *mut BridgeCompressor,
    inputs: *const *const sys::pressio_data,
    n_inputs: usize,
    outputs: *const *mut sys::pressio_data,
    n_outputs: usize,
) -> c_int {
    let Some(c) = c.as_mut() else {
        return PressioError::InvalidArgument(String::new()).code();
    };
    let r = guarded("compress_many", || {
        c.compress_many(inputs, n_inputs, outputs, n_outputs)
    });
    c.finish(r)
}

/// Decompress several buffers.
///
/// # Safety
/// `c` must be a valid handle; the arrays must hold the given numbers of valid pointers.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_compressor_decompress_many(
    c: *mut BridgeCompressor,
    inputs: *const *const sys::pressio_data,
    n_inputs: usize,
    outputs: *const *mut sys::pressio_data,
    n_outputs: usize,
) -> c_int {
    let Some(c) = c.as_mut() else {
        return PressioError::InvalidArgument(String::new()).code();
    };
    let r = guarded("decompress_many", || {
        c.decompress_many(inputs, n_inputs, outputs, n_outputs)
    });
    c.finish(r)
}

/// Call `push(ctx, id)` for each child of the plugin.
///
/// # Safety
/// `c` must be a valid handle and `push` a valid callback.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_compressor_children(
    c: *const BridgeCompressor,
    push: Option<unsafe extern "C" fn(*mut c_void, *const c_char)>,
    ctx: *mut c_void,
) {
    let (Some(c), Some(push)) = (c.as_ref(), push) else {
        return;
    };
    if let Ok(children) = catch_unwind(AssertUnwindSafe(|| c.plugin.children())) {
        for child in children {
            let s = cstr(&child);
            push(ctx, s.as_ptr());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// metrics

/// A pressio-ml metric behind one LibPressio metrics instance.
pub struct BridgeMetric {
    plugin: Box<dyn MetricsPlugin>,
    prefix: CString,
    error: CString,
}

impl BridgeMetric {
    fn new(plugin: Box<dyn MetricsPlugin>) -> Self {
        BridgeMetric {
            prefix: cstr(plugin.prefix()),
            plugin,
            error: CString::default(),
        }
    }

    fn finish(&mut self, r: Result<()>) -> c_int {
        match r {
            Ok(()) => {
                self.error = CString::default();
                0
            }
            Err(e) => {
                self.error = cstr(&e.to_string());
                e.code()
            }
        }
    }

    /// Run one compress/decompress hook on buffers already translated.
    fn hook(
        &mut self,
        which: c_int,
        many: bool,
        ins: &[Data],
        outs: &[Data],
        rc: c_int,
    ) -> Result<()> {
        let ok = rc == 0;
        let p = &mut self.plugin;
        if many {
            let i: Vec<&Data> = ins.iter().collect();
            let o: Vec<&Data> = outs.iter().collect();
            match which {
                0 => p.begin_compress_many(&i, &o),
                1 => p.end_compress_many(&i, &o, ok),
                2 => p.begin_decompress_many(&i, &o),
                _ => p.end_decompress_many(&i, &o, ok),
            }
        } else {
            let empty = Data::empty(DType::Byte, &[]);
            let i = ins.first().unwrap_or(&empty);
            let o = outs.first().unwrap_or(&empty);
            match which {
                0 => p.begin_compress(i, o),
                1 => p.end_compress(i, o, ok),
                2 => p.begin_decompress(i, o),
                _ => p.end_decompress(i, o, ok),
            }
        }
    }
}

/// A new metrics handle for the pressio-ml id `id` (NULL when unknown).
///
/// # Safety
/// `id` must be a valid NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_metric_new(id: *const c_char) -> *mut BridgeMetric {
    let id = str_arg(id);
    catch_unwind(|| match crate::registry().metric_plugin(id) {
        Ok(p) => Box::into_raw(Box::new(BridgeMetric::new(p))),
        Err(_) => std::ptr::null_mut(),
    })
    .unwrap_or(std::ptr::null_mut())
}

/// A copy of a handle with the same options and state (NULL on failure).
///
/// # Safety
/// `m` must be NULL or a handle from this module.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_metric_clone(
    m: *const BridgeMetric,
) -> *mut BridgeMetric {
    let Some(m) = m.as_ref() else {
        return std::ptr::null_mut();
    };
    catch_unwind(AssertUnwindSafe(|| {
        Box::into_raw(Box::new(BridgeMetric::new(m.plugin.clone_metric())))
    }))
    .unwrap_or(std::ptr::null_mut())
}

/// Free a handle.
///
/// # Safety
/// `m` must be NULL or a handle from this module, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_metric_free(m: *mut BridgeMetric) {
    if !m.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(m))));
    }
}

/// The metric's key prefix (borrowed).
///
/// # Safety
/// `m` must be a valid handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_metric_prefix(m: *const BridgeMetric) -> *const c_char {
    m.as_ref().map_or(c"".as_ptr(), |m| m.prefix.as_ptr())
}

/// The message of the last error (borrowed).
///
/// # Safety
/// `m` must be a valid handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_metric_error_msg(
    m: *const BridgeMetric,
) -> *const c_char {
    m.as_ref().map_or(c"".as_ptr(), |m| m.error.as_ptr())
}

/// Write the options (0), configuration (1) or documentation (2) into `out`.
///
/// # Safety
/// `m` must be a valid handle, `name` NULL or a string, `out` a valid `pressio_options`.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_metric_get(
    m: *const BridgeMetric,
    which: c_int,
    name: *const c_char,
    out: *mut sys::pressio_options,
) -> c_int {
    let (Some(m), false) = (m.as_ref(), out.is_null()) else {
        return PressioError::InvalidArgument(String::new()).code();
    };
    let name = str_arg(name);
    let r = catch_unwind(AssertUnwindSafe(|| {
        let o = match which {
            0 => m.plugin.options(),
            1 => m.plugin.configuration(),
            _ => m.plugin.documentation(),
        };
        convert::write_options(out, name, &o);
    }));
    match r {
        Ok(()) => 0,
        Err(_) => PressioError::Internal(String::new()).code(),
    }
}

/// Apply options (resolved for the metric name `name`).
///
/// # Safety
/// `m` must be a valid handle, `name` NULL or a string, `options` a valid `pressio_options`.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_metric_set_options(
    m: *mut BridgeMetric,
    name: *const c_char,
    options: *const sys::pressio_options,
) -> c_int {
    let Some(m) = m.as_mut() else {
        return PressioError::InvalidArgument(String::new()).code();
    };
    let name = str_arg(name);
    let r = guarded("set_options", || {
        let (opts, unreadable) = convert::read_options(options, name);
        check_unreadable(&m.plugin.options(), &unreadable)?;
        m.plugin.set_options(&opts)
    });
    m.finish(r)
}

/// Write the metric's results into `out`.
///
/// # Safety
/// `m` must be a valid handle, `name` NULL or a string, `compressor_results` NULL or valid, `out`
/// a valid `pressio_options`.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_metric_results(
    m: *mut BridgeMetric,
    name: *const c_char,
    compressor_results: *const sys::pressio_options,
    out: *mut sys::pressio_options,
) -> c_int {
    let Some(m) = m.as_mut() else {
        return PressioError::InvalidArgument(String::new()).code();
    };
    if out.is_null() {
        return PressioError::InvalidArgument(String::new()).code();
    }
    let name = str_arg(name);
    let r = guarded("get_metrics_results", || {
        let (cr, _) = convert::read_options(compressor_results, "");
        let results = m.plugin.results(&cr);
        convert::write_options(out, name, &results);
        Ok(())
    });
    m.finish(r)
}

/// A compress/decompress hook (see the shim header).
///
/// # Safety
/// `m` must be a valid handle; the arrays must hold the given numbers of valid (or NULL)
/// `pressio_data` pointers.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_metric_hook(
    m: *mut BridgeMetric,
    which: c_int,
    many: c_int,
    inputs: *const *const sys::pressio_data,
    n_inputs: usize,
    outputs: *const *const sys::pressio_data,
    n_outputs: usize,
    rc: c_int,
) -> c_int {
    let Some(m) = m.as_mut() else {
        return PressioError::InvalidArgument(String::new()).code();
    };
    let r = guarded("metric hook", || {
        let ins = views(inputs, n_inputs)?;
        let outs = views(outputs, n_outputs)?;
        m.hook(which, many != 0, &ins, &outs, rc)
    });
    m.finish(r)
}

/// An options hook of the compressor the metric observes (see the shim header).
///
/// # Safety
/// `m` must be a valid handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_metric_options_hook(
    m: *mut BridgeMetric,
    hook: c_int,
    phase: c_int,
) {
    let Some(m) = m.as_mut() else { return };
    let hook = match hook {
        0 => OptionsHook::CheckOptions,
        1 => OptionsHook::SetOptions,
        2 => OptionsHook::GetOptions,
        3 => OptionsHook::GetConfiguration,
        _ => OptionsHook::GetDocumentation,
    };
    let phase = if phase == 0 { Phase::Begin } else { Phase::End };
    let _ = catch_unwind(AssertUnwindSafe(|| m.plugin.options_hook(hook, phase)));
}

/// Call `push(ctx, id)` for each child of the metric.
///
/// # Safety
/// `m` must be a valid handle and `push` a valid callback.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_bridge_metric_children(
    m: *const BridgeMetric,
    push: Option<unsafe extern "C" fn(*mut c_void, *const c_char)>,
    ctx: *mut c_void,
) {
    let (Some(m), Some(push)) = (m.as_ref(), push) else {
        return;
    };
    if let Ok(children) = catch_unwind(AssertUnwindSafe(|| m.plugin.children())) {
        for child in children {
            let s = cstr(&child);
            push(ctx, s.as_ptr());
        }
    }
}
