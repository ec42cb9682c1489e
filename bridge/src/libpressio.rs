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
use pressio_ml_core::{
    check_decompressed, CompressorPlugin, DType, Data, Options, PressioError, Result, Version,
};
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

    /// The id errors about this compressor's results are reported under.
    fn who(&self) -> String {
        format!("libpressio:{}", self.id)
    }

    /// An owned copy of a decompressed output, checked against what `template` asked for (see
    /// [`check_decompressed`]): LibPressio's plugins are never trusted to have filled it.
    ///
    /// # Safety
    /// `out` must be a valid `pressio_data` pointer.
    unsafe fn decompressed(&self, out: *const sys::pressio_data, template: &Data) -> Result<Data> {
        let d = convert::copy_data(out)
            .map_err(|e| PressioError::backend(self.who(), format!("decompressed output: {e}")))?;
        check_decompressed(&self.who(), &d, asked(template))?;
        Ok(d)
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

/// An empty `pressio_data` with the given dtype and dims (a compression output).
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

/// The dtype and dims a decompression `template` asks for, when it gives them (dims and at
/// least one element).
fn asked(template: &Data) -> Option<(DType, &[usize])> {
    (!template.dims().is_empty() && template.num_elements() > 0)
        .then(|| (template.dtype(), template.dims()))
}

/// The output LibPressio's compressors expect for a decompression: an allocated buffer of the
/// template's dtype and dims, as LibPressio's own callers pass. Some of its plugins only write
/// into the buffer they are given (its `sz3` returns success and leaves the data NULL when the
/// output has dims but no buffer). A template without dims gives an empty output.
fn decompress_output(template: &Data) -> Result<*mut sys::pressio_data> {
    let Some((dtype, dims)) = asked(template) else {
        return Ok(empty(template.dtype(), template.dims()));
    };
    if template.expected_bytes() > Data::MAX_BYTES {
        return Err(PressioError::InvalidDims(format!(
            "{dims:?} x {} bytes is too large",
            dtype.size()
        )));
    }
    // SAFETY: plain constructor; NULL (allocation failure) is checked.
    let p = unsafe {
        sys::pressio_data_new_owning(
            dtype as i32 as sys::pressio_dtype,
            dims.len(),
            dims.as_ptr(),
        )
    };
    if p.is_null() {
        return Err(PressioError::InvalidDims(format!(
            "cannot allocate {} bytes for dims {dims:?}",
            template.expected_bytes()
        )));
    }
    Ok(p)
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
    /// Owned copies of the outputs of a compression.
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
            let bufs = DataVec(vec![view(input), decompress_output(template)?]);
            let rc = sys::pressio_compressor_decompress(self.compressor, bufs.0[0], bufs.0[1]);
            self.check(rc)?;
            self.decompressed(bufs.0[1], template)
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
        pressio_ml_core::check_many_counts(inputs.len(), templates.len())?;
        // SAFETY: as in compress_many.
        unsafe {
            let ins = DataVec(inputs.iter().map(|d| view(d)).collect());
            let mut outs = DataVec(Vec::with_capacity(templates.len()));
            for t in templates {
                outs.0.push(decompress_output(t)?);
            }
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
            outs.0
                .iter()
                .zip(templates)
                .map(|(&o, t)| self.decompressed(o, t))
                .collect()
        }
    }

    fn metrics_results(&self) -> Options {
        // SAFETY: valid handle.
        self.read(unsafe { sys::pressio_compressor_get_metrics_results(self.compressor) })
    }

    fn clone_plugin(&self) -> Box<dyn CompressorPlugin> {
        // SAFETY: valid handles; the clone gets its own library handle, and whatever was
        // obtained is released when the other half failed.
        unsafe {
            let library = sys::pressio_instance();
            let compressor = sys::pressio_compressor_clone(self.compressor);
            if library.is_null() || compressor.is_null() {
                if !compressor.is_null() {
                    sys::pressio_compressor_release(compressor);
                }
                if !library.is_null() {
                    sys::pressio_release(library);
                }
                return Box::new(Unavailable::new(
                    &self.id,
                    "LibPressio could not clone the compressor",
                ));
            }
            Box::new(LibPressioCompressor::from_parts(
                self.id.clone(),
                library,
                compressor,
            ))
        }
    }
}

/// Stands in for a LibPressio compressor that could not be created or cloned (LibPressio
/// listed the id but `pressio_get_compressor` or `pressio_compressor_clone` failed): it declares
/// no options and every call that would use the compressor fails with the reason, so a meta
/// plugin reports the failure as an error instead of panicking.
#[derive(Clone)]
pub struct Unavailable {
    id: String,
    reason: String,
}

impl Unavailable {
    /// A stand-in for LibPressio's compressor `id`, failing with `reason`.
    pub fn new(id: &str, reason: impl Into<String>) -> Self {
        Unavailable {
            id: id.to_string(),
            reason: reason.into(),
        }
    }

    fn fail<T>(&self) -> Result<T> {
        Err(PressioError::backend(
            format!("libpressio:{}", self.id),
            format!("compressor unavailable: {}", self.reason),
        ))
    }
}

impl CompressorPlugin for Unavailable {
    fn id(&self) -> &str {
        &self.id
    }

    fn prefix(&self) -> &str {
        &self.id
    }

    fn version(&self) -> Version {
        Version::new(0, 0, 0)
    }

    fn options(&self) -> Options {
        Options::new()
    }

    fn set_options(&mut self, _options: &Options) -> Result<()> {
        self.fail()
    }

    fn check_options(&self, _options: &Options) -> Result<()> {
        self.fail()
    }

    fn configuration(&self) -> Options {
        Options::new()
    }

    fn documentation(&self) -> Options {
        Options::new()
    }

    fn compress(&mut self, _input: &Data) -> Result<Data> {
        self.fail()
    }

    fn decompress(&mut self, _input: &Data, _template: &Data) -> Result<Data> {
        self.fail()
    }

    fn clone_plugin(&self) -> Box<dyn CompressorPlugin> {
        Box::new(self.clone())
    }
}
