//! The other direction: LibPressio's own compressors as pressio-ml plugins.
//!
//! [`LibPressioCompressor`] is a [`CompressorPlugin`] that forwards every call to a compressor of
//! the LibPressio library this process uses, through LibPressio's C API. It is the hook for
//! pressio-ml meta plugins inside LibPressio: the bridge's [`crate::registry`] maps the ids of
//! LibPressio's compressors (`sz3`, `zfp`, `sperr`, ... whatever LibPressio has when the bridge
//! registry is first built) to this forwarder, so a meta plugin that builds its child through
//! the `&Registry` its factory receives (e.g. a future `gwlz:compressor=sz3`) wraps LibPressio's
//! own sz3 when it runs inside LibPressio.

use crate::convert::{self, OwnedOptions};
use crate::sys;
use pressio_ml_core::{CompressorPlugin, DType, Data, Options, PressioError, Result, Version};
use std::ffi::{c_void, CStr, CString};

/// A LibPressio compressor driven through LibPressio's C API.
pub struct LibPressioCompressor {
    id: String,
    prefix: String,
    library: *mut sys::pressio,
    compressor: *mut sys::pressio_compressor,
}

// SAFETY: the handles are owned by this value and only used through `&mut self` (or `&self` for
// LibPressio's const getters); LibPressio compressor handles may move between threads.
unsafe impl Send for LibPressioCompressor {}

impl LibPressioCompressor {
    /// A fresh instance of LibPressio's compressor `id`.
    pub fn new(id: &str) -> Result<Self> {
        let cid = CString::new(id).map_err(|_| PressioError::UnknownCompressor(id.into()))?;
        // SAFETY: plain C API calls; every pointer is checked before use.
        unsafe {
            let library = sys::pressio_instance();
            if library.is_null() {
                return Err(PressioError::backend(id, "pressio_instance failed"));
            }
            let compressor = sys::pressio_get_compressor(library, cid.as_ptr());
            if compressor.is_null() {
                let msg = CStr::from_ptr(sys::pressio_error_msg(library))
                    .to_string_lossy()
                    .into_owned();
                sys::pressio_release(library);
                return Err(PressioError::UnknownCompressor(format!("{id} ({msg})")));
            }
            Ok(Self::from_parts(id.to_string(), library, compressor))
        }
    }

    /// # Safety
    /// `library` and `compressor` must be valid, owned handles.
    unsafe fn from_parts(
        id: String,
        library: *mut sys::pressio,
        compressor: *mut sys::pressio_compressor,
    ) -> Self {
        let p = sys::pressio_compressor_get_prefix(compressor);
        let prefix = if p.is_null() {
            id.clone()
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        };
        LibPressioCompressor {
            id,
            prefix,
            library,
            compressor,
        }
    }

    fn error(&self) -> PressioError {
        // SAFETY: valid handle; the message is copied before any other call.
        let msg = unsafe {
            let p = sys::pressio_compressor_error_msg(self.compressor);
            if p.is_null() {
                String::new()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        PressioError::backend(format!("libpressio:{}", self.id), msg)
    }

    fn check(&self, rc: i32) -> Result<()> {
        if rc > 0 {
            Err(self.error())
        } else {
            Ok(())
        }
    }

    fn read(&self, p: *mut sys::pressio_options) -> Options {
        // SAFETY: LibPressio returns a new options object that we own.
        unsafe { OwnedOptions::from_raw(p) }.to_options()
    }
}

impl Drop for LibPressioCompressor {
    fn drop(&mut self) {
        // SAFETY: we own both handles.
        unsafe {
            sys::pressio_compressor_release(self.compressor);
            sys::pressio_release(self.library);
        }
    }
}

/// A non-owning `pressio_data` view of `d` (freed by the caller with `pressio_data_free`, which
/// leaves the bytes alone).
///
/// # Safety
/// `d` must outlive the view; LibPressio only reads compressor inputs.
unsafe fn view(d: &Data) -> *mut sys::pressio_data {
    let dims = d.dims();
    let dtype = d.dtype() as i32 as sys::pressio_dtype;
    if d.has_data() {
        sys::pressio_data_new_nonowning(dtype, d.as_ptr() as *mut c_void, dims.len(), dims.as_ptr())
    } else {
        sys::pressio_data_new_empty(dtype, dims.len(), dims.as_ptr())
    }
}

/// An empty `pressio_data` with the given dtype and dims (an output template).
fn empty(dtype: DType, dims: &[usize]) -> *mut sys::pressio_data {
    // SAFETY: plain constructor.
    unsafe {
        sys::pressio_data_new_empty(
            dtype as i32 as sys::pressio_dtype,
            dims.len(),
            dims.as_ptr(),
        )
    }
}

/// Owns an array of `pressio_data` pointers and frees them on drop.
struct DataVec(Vec<*mut sys::pressio_data>);

impl Drop for DataVec {
    fn drop(&mut self) {
        for &d in &self.0 {
            // SAFETY: every pointer was created by the C API and is owned here.
            unsafe { sys::pressio_data_free(d) }
        }
    }
}

impl DataVec {
    fn to_data(&self) -> Result<Vec<Data>> {
        // SAFETY: valid pointers.
        self.0
            .iter()
            .map(|&d| unsafe { convert::copy_data(d) })
            .collect()
    }
}

impl CompressorPlugin for LibPressioCompressor {
    fn id(&self) -> &str {
        &self.id
    }

    fn prefix(&self) -> &str {
        &self.prefix
    }

    fn version(&self) -> Version {
        // SAFETY: valid handle.
        unsafe {
            let part = |v: i32| u32::try_from(v).unwrap_or(0);
            Version::new(
                part(sys::pressio_compressor_major_version(self.compressor)),
                part(sys::pressio_compressor_minor_version(self.compressor)),
                part(sys::pressio_compressor_patch_version(self.compressor)),
            )
        }
    }

    fn options(&self) -> Options {
        // SAFETY: valid handle.
        self.read(unsafe { sys::pressio_compressor_get_options(self.compressor) })
    }

    fn set_options(&mut self, options: &Options) -> Result<()> {
        let mut set = Options::new();
        for (k, slot) in options.iter() {
            if slot.has_value() {
                set.insert_option(k.clone(), slot.clone());
            }
        }
        let o = OwnedOptions::from_options(&set);
        // SAFETY: valid handles.
        let rc = unsafe { sys::pressio_compressor_set_options(self.compressor, o.as_ptr()) };
        self.check(rc)
    }

    fn check_options(&self, options: &Options) -> Result<()> {
        let o = OwnedOptions::from_options(options);
        // SAFETY: valid handles (LibPressio's check_options only records its error in the handle).
        let rc = unsafe { sys::pressio_compressor_check_options(self.compressor, o.as_ptr()) };
        self.check(rc)
    }

    fn configuration(&self) -> Options {
        // SAFETY: valid handle.
        self.read(unsafe { sys::pressio_compressor_get_configuration(self.compressor) })
    }

    fn documentation(&self) -> Options {
        // SAFETY: valid handle.
        self.read(unsafe { sys::pressio_compressor_get_documentation(self.compressor) })
    }

    fn compress(&mut self, input: &Data) -> Result<Data> {
        // SAFETY: the view borrows `input` for the duration of the call only.
        unsafe {
            let bufs = DataVec(vec![view(input), empty(DType::Byte, &[])]);
            let rc = sys::pressio_compressor_compress(self.compressor, bufs.0[0], bufs.0[1]);
            self.check(rc)?;
            convert::copy_data(bufs.0[1])
        }
    }

    fn decompress(&mut self, input: &Data, template: &Data) -> Result<Data> {
        // SAFETY: as in compress.
        unsafe {
            let bufs = DataVec(vec![view(input), empty(template.dtype(), template.dims())]);
            let rc = sys::pressio_compressor_decompress(self.compressor, bufs.0[0], bufs.0[1]);
            self.check(rc)?;
            convert::copy_data(bufs.0[1])
        }
    }

    fn compress_many(&mut self, inputs: &[&Data]) -> Result<Vec<Data>> {
        // SAFETY: the views borrow `inputs` for the duration of the call only.
        unsafe {
            let ins = DataVec(inputs.iter().map(|d| view(d)).collect());
            let outs = DataVec(inputs.iter().map(|_| empty(DType::Byte, &[])).collect());
            let in_ptrs: Vec<*const sys::pressio_data> =
                ins.0.iter().map(|&p| p as *const _).collect();
            let rc = sys::pressio_compressor_compress_many(
                self.compressor,
                in_ptrs.as_ptr(),
                in_ptrs.len(),
                outs.0.as_ptr() as *mut *mut sys::pressio_data,
                outs.0.len(),
            );
            self.check(rc)?;
            outs.to_data()
        }
    }

    fn decompress_many(&mut self, inputs: &[&Data], templates: &[&Data]) -> Result<Vec<Data>> {
        if inputs.len() != templates.len() {
            return Err(PressioError::InvalidArgument(format!(
                "{} inputs but {} outputs",
                inputs.len(),
                templates.len()
            )));
        }
        // SAFETY: as in compress_many.
        unsafe {
            let ins = DataVec(inputs.iter().map(|d| view(d)).collect());
            let outs = DataVec(
                templates
                    .iter()
                    .map(|t| empty(t.dtype(), t.dims()))
                    .collect(),
            );
            let in_ptrs: Vec<*const sys::pressio_data> =
                ins.0.iter().map(|&p| p as *const _).collect();
            let rc = sys::pressio_compressor_decompress_many(
                self.compressor,
                in_ptrs.as_ptr(),
                in_ptrs.len(),
                outs.0.as_ptr() as *mut *mut sys::pressio_data,
                outs.0.len(),
            );
            self.check(rc)?;
            outs.to_data()
        }
    }

    fn metrics_results(&self) -> Options {
        // SAFETY: valid handle.
        self.read(unsafe { sys::pressio_compressor_get_metrics_results(self.compressor) })
    }

    fn clone_plugin(&self) -> Box<dyn CompressorPlugin> {
        // SAFETY: valid handles; the clone gets its own library handle.
        unsafe {
            let library = sys::pressio_instance();
            let compressor = sys::pressio_compressor_clone(self.compressor);
            if library.is_null() || compressor.is_null() {
                panic!("LibPressio could not clone compressor {}", self.id);
            }
            Box::new(LibPressioCompressor::from_parts(
                self.id.clone(),
                library,
                compressor,
            ))
        }
    }
}
