//! `pressio_ml_data`: typed n-D buffers (LibPressio's `pressio_data`).

use super::{dims_arg, ffi, handle, handle_mut, invalid};
use pressio_ml_core::{DType, Data, PressioError, Result};
use std::ffi::{c_int, c_void};
use std::ptr;

/// An opaque data handle: a [`Data`] buffer that owns its bytes, borrows them from the caller,
/// or holds metadata only. Created by the `pressio_ml_data_new_*` functions and freed with
/// [`pressio_ml_data_free`].
pub struct pressio_ml_data {
    pub(crate) inner: Data,
}

impl pressio_ml_data {
    /// A new heap handle around `inner`, handed to C.
    pub(crate) fn into_raw(inner: Data) -> *mut pressio_ml_data {
        Box::into_raw(Box::new(pressio_ml_data { inner }))
    }

    /// The wrapped buffer.
    pub fn data(&self) -> &Data {
        &self.inner
    }
}

/// The dtype with C value `v`.
pub(crate) fn dtype_arg(v: c_int) -> Result<DType> {
    DType::from_i32(v).ok_or_else(|| invalid(format!("{v} is not a pressio_ml_dtype")))
}

/// Number of bytes `dims` of `dtype` take, refusing overflow and absurd sizes.
fn byte_len(dtype: DType, dims: &[usize]) -> Result<usize> {
    dims.iter()
        .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
        .filter(|&b| b <= Data::MAX_BYTES)
        .ok_or_else(|| PressioError::InvalidDims(format!("{dims:?} of {dtype} is too large")))
}

/// A new buffer holding a copy of `src` (`pressio_data_new_copy`).
///
/// # Safety
/// `src` must be readable for `product(dims) * size(dtype)` bytes; `dims` must hold
/// `num_dimensions` values.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_data_new_copy(
    dtype: c_int,
    src: *const c_void,
    num_dimensions: usize,
    dims: *const usize,
) -> *mut pressio_ml_data {
    ffi("pressio_ml_data_new_copy", ptr::null_mut(), || {
        let dtype = dtype_arg(dtype)?;
        let dims = dims_arg(num_dimensions, dims)?;
        if dims.is_empty() {
            return Ok(pressio_ml_data::into_raw(Data::empty(dtype, &dims)));
        }
        let len = byte_len(dtype, &dims)?;
        if len > 0 && src.is_null() {
            return Err(invalid("src is NULL"));
        }
        let bytes: &[u8] = if len == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(src as *const u8, len)
        };
        Ok(pressio_ml_data::into_raw(Data::from_bytes(
            dtype, &dims, bytes,
        )?))
    })
}

/// A new buffer that borrows `data` (`pressio_data_new_nonowning`).
///
/// # Safety
/// `data` must be valid for reads and writes of `product(dims) * size(dtype)` bytes, aligned for
/// `dtype`, and outlive the handle; `dims` must hold `num_dimensions` values.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_data_new_nonowning(
    dtype: c_int,
    data: *mut c_void,
    num_dimensions: usize,
    dims: *const usize,
) -> *mut pressio_ml_data {
    ffi("pressio_ml_data_new_nonowning", ptr::null_mut(), || {
        let dtype = dtype_arg(dtype)?;
        let dims = dims_arg(num_dimensions, dims)?;
        if dims.is_empty() {
            return Ok(pressio_ml_data::into_raw(Data::empty(dtype, &dims)));
        }
        byte_len(dtype, &dims)?;
        let d = Data::from_raw_parts(dtype, data as *mut u8, &dims)?;
        Ok(pressio_ml_data::into_raw(d))
    })
}

/// A new zero-filled buffer that the handle owns (`pressio_data_new_owning`).
///
/// # Safety
/// `dims` must hold `num_dimensions` values.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_data_new_owning(
    dtype: c_int,
    num_dimensions: usize,
    dims: *const usize,
) -> *mut pressio_ml_data {
    ffi("pressio_ml_data_new_owning", ptr::null_mut(), || {
        let dtype = dtype_arg(dtype)?;
        let dims = dims_arg(num_dimensions, dims)?;
        if dims.is_empty() {
            return Ok(pressio_ml_data::into_raw(Data::empty(dtype, &dims)));
        }
        Ok(pressio_ml_data::into_raw(Data::owning(dtype, &dims)?))
    })
}

/// A new handle with metadata only (`pressio_data_new_empty`).
///
/// # Safety
/// `dims` must hold `num_dimensions` values.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_data_new_empty(
    dtype: c_int,
    num_dimensions: usize,
    dims: *const usize,
) -> *mut pressio_ml_data {
    ffi("pressio_ml_data_new_empty", ptr::null_mut(), || {
        let dtype = dtype_arg(dtype)?;
        let dims = dims_arg(num_dimensions, dims)?;
        Ok(pressio_ml_data::into_raw(Data::empty(dtype, &dims)))
    })
}

/// A new deep copy of `src` that owns its bytes (`pressio_data_new_clone`).
///
/// # Safety
/// `src` must be NULL or a live data handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_data_new_clone(
    src: *const pressio_ml_data,
) -> *mut pressio_ml_data {
    ffi("pressio_ml_data_new_clone", ptr::null_mut(), || {
        Ok(pressio_ml_data::into_raw(handle(src, "src")?.inner.clone()))
    })
}

/// Free a data handle and the bytes it owns; borrowed bytes are left alone. NULL is ignored.
///
/// # Safety
/// `data` must be NULL or a live data handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_data_free(data: *mut pressio_ml_data) {
    ffi("pressio_ml_data_free", (), || {
        if !data.is_null() {
            drop(Box::from_raw(data));
        }
        Ok(())
    })
}

/// The buffer's first byte (NULL for an empty buffer), borrowed from the handle; `out_bytes`, if
/// not NULL, receives the size in bytes.
///
/// # Safety
/// `data` must be NULL or a live data handle; `out_bytes` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_data_ptr(
    data: *const pressio_ml_data,
    out_bytes: *mut usize,
) -> *mut c_void {
    ffi("pressio_ml_data_ptr", ptr::null_mut(), || {
        if !out_bytes.is_null() {
            *out_bytes = 0;
        }
        // the handle was created mutable; C callers may write through the returned pointer
        let d = handle_mut(data as *mut pressio_ml_data, "data")?;
        if !out_bytes.is_null() {
            *out_bytes = d.inner.num_bytes();
        }
        if !d.inner.has_data() {
            return Ok(ptr::null_mut());
        }
        Ok(d.inner.bytes_mut().as_mut_ptr() as *mut c_void)
    })
}

/// The element type (byte for a NULL handle, which is also recorded as an error).
///
/// # Safety
/// `data` must be NULL or a live data handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_data_dtype(data: *const pressio_ml_data) -> c_int {
    ffi("pressio_ml_data_dtype", DType::Byte as c_int, || {
        Ok(handle(data, "data")?.inner.dtype() as c_int)
    })
}

/// Number of dimensions (0 for a NULL handle, recorded as an error).
///
/// # Safety
/// `data` must be NULL or a live data handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_data_num_dimensions(data: *const pressio_ml_data) -> usize {
    ffi("pressio_ml_data_num_dimensions", 0, || {
        Ok(handle(data, "data")?.inner.dims().len())
    })
}

/// Extent of dimension `i` (0 is fastest); 0 when `i` is out of range or the handle is NULL
/// (both recorded as errors).
///
/// # Safety
/// `data` must be NULL or a live data handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_data_get_dimension(
    data: *const pressio_ml_data,
    i: usize,
) -> usize {
    ffi("pressio_ml_data_get_dimension", 0, || {
        let d = handle(data, "data")?;
        d.inner.dims().get(i).copied().ok_or_else(|| {
            invalid(format!(
                "dimension {i} out of range ({} dimensions)",
                d.inner.dims().len()
            ))
        })
    })
}

/// Size of the buffer in bytes (0 for an empty buffer or a NULL handle).
///
/// # Safety
/// `data` must be NULL or a live data handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_data_get_bytes(data: *const pressio_ml_data) -> usize {
    ffi("pressio_ml_data_get_bytes", 0, || {
        Ok(handle(data, "data")?.inner.num_bytes())
    })
}

/// Number of elements the dimensions describe (0 with no dimensions or a NULL handle).
///
/// # Safety
/// `data` must be NULL or a live data handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_data_num_elements(data: *const pressio_ml_data) -> usize {
    ffi("pressio_ml_data_num_elements", 0, || {
        Ok(handle(data, "data")?.inner.num_elements())
    })
}

/// True when the handle holds bytes (false for an empty buffer or a NULL handle).
///
/// # Safety
/// `data` must be NULL or a live data handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_data_has_data(data: *const pressio_ml_data) -> bool {
    ffi("pressio_ml_data_has_data", false, || {
        Ok(handle(data, "data")?.inner.has_data())
    })
}
