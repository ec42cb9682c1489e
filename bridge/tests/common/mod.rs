//! Helpers shared by the bridge's integration tests: the visible skip message, and small owning
//! wrappers around LibPressio's C API (through the bindgen bindings of the bridge crate).

#![allow(dead_code)]

use std::io::Write;

/// Print `skipped: <why>` to the real stderr (not captured by the test harness, so it shows in
/// `cargo test` output even for passing tests).
pub fn skipped(why: &str) {
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
}

/// Print the skip message when LibPressio was not found; true when the caller must return.
pub fn skip_without_libpressio() -> bool {
    if pressio_ml_plugin::LIBPRESSIO_FOUND {
        return false;
    }
    skipped(
        "LibPressio not found (set LIBPRESSIO_PREFIX, LibPressio_DIR or PKG_CONFIG_PATH to build \
         and test the LibPressio bridge)",
    );
    true
}

#[cfg(pressio_ml_libpressio)]
#[allow(unused_imports)]
pub use with_libpressio::*;

#[cfg(pressio_ml_libpressio)]
mod with_libpressio {
    use pressio_ml_core::{DType, Data, Options};
    use pressio_ml_plugin::convert::{self, OwnedOptions};
    use pressio_ml_plugin::sys;
    use std::ffi::{c_void, CStr, CString};
    use std::sync::{Mutex, MutexGuard};

    /// Serialises tests that change LibPressio's registries (it is a plain std::map).
    pub fn registry_lock() -> MutexGuard<'static, ()> {
        static LOCK: Mutex<()> = Mutex::new(());
        LOCK.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `pressio_instance()`, released on drop.
    pub struct Library(pub *mut sys::pressio);

    impl Library {
        /// A new library handle; also makes sure the bridge registered its plugins (in a test
        /// executable the load-time registration already ran; this mirrors LIBPRESSIO_PLUGINS).
        pub fn new() -> Self {
            pressio_ml_plugin::libpressio_register_all();
            // SAFETY: plain constructor.
            Library(unsafe { sys::pressio_instance() })
        }

        /// `pressio_get_compressor`, or the library's error message.
        pub fn compressor(&self, id: &str) -> Result<Compressor, String> {
            let id = CString::new(id).unwrap();
            // SAFETY: valid handle and string.
            let c = unsafe { sys::pressio_get_compressor(self.0, id.as_ptr()) };
            if c.is_null() {
                // SAFETY: valid handle.
                Err(unsafe { CStr::from_ptr(sys::pressio_error_msg(self.0)) }
                    .to_string_lossy()
                    .into_owned())
            } else {
                Ok(Compressor(c))
            }
        }
    }

    impl Drop for Library {
        fn drop(&mut self) {
            // SAFETY: owned handle.
            unsafe { sys::pressio_release(self.0) }
        }
    }

    /// A LibPressio compressor handle, released on drop.
    pub struct Compressor(pub *mut sys::pressio_compressor);

    impl Compressor {
        /// The last error message.
        pub fn error_msg(&self) -> String {
            // SAFETY: valid handle.
            unsafe { CStr::from_ptr(sys::pressio_compressor_error_msg(self.0)) }
                .to_string_lossy()
                .into_owned()
        }
        /// The last error code.
        pub fn error_code(&self) -> i32 {
            // SAFETY: valid handle.
            unsafe { sys::pressio_compressor_error_code(self.0) }
        }
        /// `pressio_compressor_get_options`.
        pub fn options(&self) -> OwnedOptions {
            // SAFETY: returns a new object we own.
            unsafe { OwnedOptions::from_raw(sys::pressio_compressor_get_options(self.0)) }
        }
        /// `pressio_compressor_get_configuration`.
        pub fn configuration(&self) -> OwnedOptions {
            // SAFETY: as above.
            unsafe { OwnedOptions::from_raw(sys::pressio_compressor_get_configuration(self.0)) }
        }
        /// `pressio_compressor_get_documentation`.
        pub fn documentation(&self) -> OwnedOptions {
            // SAFETY: as above.
            unsafe { OwnedOptions::from_raw(sys::pressio_compressor_get_documentation(self.0)) }
        }
        /// `pressio_compressor_get_metrics_results`.
        pub fn metrics_results(&self) -> OwnedOptions {
            // SAFETY: as above.
            unsafe { OwnedOptions::from_raw(sys::pressio_compressor_get_metrics_results(self.0)) }
        }
        /// `pressio_compressor_set_options` with LibPressio options.
        pub fn set_raw(&self, o: &OwnedOptions) -> i32 {
            // SAFETY: valid handles.
            unsafe { sys::pressio_compressor_set_options(self.0, o.as_ptr()) }
        }
        /// `pressio_compressor_set_options` with pressio-ml options.
        pub fn set(&self, o: &Options) -> i32 {
            self.set_raw(&OwnedOptions::from_options(o))
        }
        /// `pressio_compressor_check_options` with LibPressio options.
        pub fn check_raw(&self, o: &OwnedOptions) -> i32 {
            // SAFETY: valid handles.
            unsafe { sys::pressio_compressor_check_options(self.0, o.as_ptr()) }
        }
        /// `pressio_compressor_compress`.
        pub fn compress(&self, input: &PData, output: &mut PData) -> i32 {
            // SAFETY: valid handles.
            unsafe { sys::pressio_compressor_compress(self.0, input.0, output.0) }
        }
        /// `pressio_compressor_decompress`.
        pub fn decompress(&self, input: &PData, output: &mut PData) -> i32 {
            // SAFETY: valid handles.
            unsafe { sys::pressio_compressor_decompress(self.0, input.0, output.0) }
        }
        /// Attach LibPressio metrics built from `ids` (`pressio_new_metrics`).
        pub fn set_metrics(&self, lib: &Library, ids: &[&str]) {
            let owned: Vec<CString> = ids.iter().map(|s| CString::new(*s).unwrap()).collect();
            let ptrs: Vec<*const std::ffi::c_char> = owned.iter().map(|s| s.as_ptr()).collect();
            // SAFETY: valid handles; set_metrics copies the metrics object.
            unsafe {
                let m = sys::pressio_new_metrics(lib.0, ptrs.as_ptr(), ptrs.len() as i32);
                assert!(!m.is_null(), "pressio_new_metrics({ids:?}) failed");
                sys::pressio_compressor_set_metrics(self.0, m);
                sys::pressio_metrics_free(m);
            }
        }
        /// `pressio_compressor_set_name`.
        pub fn set_name(&self, name: &str) {
            let n = CString::new(name).unwrap();
            // SAFETY: valid handle and string.
            unsafe { sys::pressio_compressor_set_name(self.0, n.as_ptr()) }
        }
    }

    impl Drop for Compressor {
        fn drop(&mut self) {
            // SAFETY: owned handle.
            unsafe { sys::pressio_compressor_release(self.0) }
        }
    }

    /// An owned `pressio_data`, freed on drop.
    pub struct PData(pub *mut sys::pressio_data);

    impl PData {
        /// A malloc'd copy of `d` (LibPressio's "malloc" domain).
        pub fn copy_of(d: &Data) -> Self {
            // SAFETY: returns a new object we own.
            PData(unsafe { convert::new_pressio_data(d) })
        }
        /// `pressio_data_new_empty`.
        pub fn empty(dtype: DType, dims: &[usize]) -> Self {
            // SAFETY: plain constructor.
            PData(unsafe {
                sys::pressio_data_new_empty(
                    dtype as i32 as sys::pressio_dtype,
                    dims.len(),
                    dims.as_ptr(),
                )
            })
        }
        /// `pressio_data_new_owning` (LibPressio allocates, uninitialised).
        pub fn owning(dtype: DType, dims: &[usize]) -> Self {
            // SAFETY: plain constructor.
            PData(unsafe {
                sys::pressio_data_new_owning(
                    dtype as i32 as sys::pressio_dtype,
                    dims.len(),
                    dims.as_ptr(),
                )
            })
        }
        /// `pressio_data_new_nonowning` over `buf` (which must outlive the value).
        pub fn nonowning<T>(dtype: DType, buf: &mut [T], dims: &[usize]) -> Self {
            // SAFETY: the caller keeps `buf` alive while the view is used.
            PData(unsafe {
                sys::pressio_data_new_nonowning(
                    dtype as i32 as sys::pressio_dtype,
                    buf.as_mut_ptr() as *mut c_void,
                    dims.len(),
                    dims.as_ptr(),
                )
            })
        }
        /// An owned pressio-ml copy.
        pub fn to_data(&self) -> Data {
            // SAFETY: valid handle.
            unsafe { convert::copy_data(self.0) }.expect("readable pressio_data")
        }
        /// The buffer pointer.
        pub fn ptr(&self) -> *const c_void {
            // SAFETY: valid handle.
            unsafe { sys::pressio_data_ptr(self.0, std::ptr::null_mut()) }
        }
        /// Size in bytes.
        pub fn bytes(&self) -> usize {
            // SAFETY: valid handle.
            unsafe { sys::pressio_data_get_bytes(self.0) }
        }
        /// The dims, fastest first.
        pub fn dims(&self) -> Vec<usize> {
            // SAFETY: valid handle.
            unsafe { convert::data_meta(self.0) }.unwrap().1
        }
        /// True when it has a buffer.
        pub fn has_data(&self) -> bool {
            // SAFETY: valid handle.
            unsafe { sys::pressio_data_has_data(self.0) }
        }
    }

    impl Drop for PData {
        fn drop(&mut self) {
            // SAFETY: owned handle.
            unsafe { sys::pressio_data_free(self.0) }
        }
    }

    /// A real float field from ../shared/data (fastest-first dims), or None (with the skip
    /// message) when the data folder is absent.
    pub fn field(name: &str) -> Option<(Data, Vec<usize>)> {
        let f = pressio_ml_testdata::fields()
            .into_iter()
            .find(|f| f.name == name)?;
        let d = f.load();
        Some((d, f.dims.clone()))
    }

    /// Max |a - b| over two float buffers.
    pub fn max_err(a: &Data, b: &Data) -> f64 {
        pressio_ml_testdata::max_abs_error(
            a.as_slice::<f32>().unwrap(),
            b.as_slice::<f32>().unwrap(),
        )
    }
}
