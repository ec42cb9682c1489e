//! `pressio_ml_options`: typed option maps (LibPressio's `pressio_options`).

use super::data::{dtype_arg, pressio_ml_data};
use super::{c_string, c_string_array, ffi, handle, handle_mut, invalid, text};
use pressio_ml_core::{KeyStatus, Options, PressioError, ThreadSafety, Value};
use std::ffi::{c_char, c_int};
use std::ptr;

/// An opaque options handle: a map of keys to typed values or typed placeholders. Created by
/// [`pressio_ml_options_new`], [`pressio_ml_options_copy`] and the `*_get_options`,
/// `*_get_configuration`, `*_get_documentation` and `*_get_results` functions; freed with
/// [`pressio_ml_options_free`].
pub struct pressio_ml_options {
    pub(crate) inner: Options,
}

impl pressio_ml_options {
    /// A new heap handle around `inner`, handed to C.
    pub(crate) fn into_raw(inner: Options) -> *mut pressio_ml_options {
        Box::into_raw(Box::new(pressio_ml_options { inner }))
    }

    /// The wrapped options.
    pub fn options(&self) -> &Options {
        &self.inner
    }
}

/// `pressio_ml_options_key_set`.
pub const KEY_SET: c_int = KeyStatus::Set as c_int;
/// `pressio_ml_options_key_exists`.
pub const KEY_EXISTS: c_int = KeyStatus::Exists as c_int;
/// `pressio_ml_options_key_does_not_exist`.
pub const KEY_DOES_NOT_EXIST: c_int = KeyStatus::DoesNotExist as c_int;

/// A new, empty options map.
#[no_mangle]
pub extern "C" fn pressio_ml_options_new() -> *mut pressio_ml_options {
    ffi("pressio_ml_options_new", ptr::null_mut(), || {
        Ok(pressio_ml_options::into_raw(Options::new()))
    })
}

/// A new deep copy of `options` (data values are copied too); NULL on a NULL argument.
///
/// # Safety
/// `options` must be NULL or a live options handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_options_copy(
    options: *const pressio_ml_options,
) -> *mut pressio_ml_options {
    ffi("pressio_ml_options_copy", ptr::null_mut(), || {
        Ok(pressio_ml_options::into_raw(
            handle(options, "options")?.inner.clone(),
        ))
    })
}

/// Free an options handle (NULL is ignored).
///
/// # Safety
/// `options` must be NULL or a live options handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_options_free(options: *mut pressio_ml_options) {
    ffi("pressio_ml_options_free", (), || {
        if !options.is_null() {
            drop(Box::from_raw(options));
        }
        Ok(())
    })
}

/// Raw status of `key`: set (holds a value), exists (declared, unset) or does not exist.
///
/// # Safety
/// `options` must be NULL or a live options handle; `key` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_options_exists(
    options: *const pressio_ml_options,
    key: *const c_char,
) -> c_int {
    ffi("pressio_ml_options_exists", KEY_DOES_NOT_EXIST, || {
        let o = handle(options, "options")?;
        Ok(o.inner.key_status(text(key, "key")?) as c_int)
    })
}

/// Number of keys, set or not.
///
/// # Safety
/// `options` must be NULL or a live options handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_options_size(options: *const pressio_ml_options) -> usize {
    ffi("pressio_ml_options_size", 0, || {
        Ok(handle(options, "options")?.inner.len())
    })
}

/// Number of keys that hold a value.
///
/// # Safety
/// `options` must be NULL or a live options handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_options_num_set(options: *const pressio_ml_options) -> usize {
    ffi("pressio_ml_options_num_set", 0, || {
        Ok(handle(options, "options")?.inner.num_set())
    })
}

/// A human-readable dump, one `key<type> = value` line per key; `malloc`'d, free it with
/// `pressio_ml_free`. NULL on error.
///
/// # Safety
/// `options` must be NULL or a live options handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_options_to_string(
    options: *const pressio_ml_options,
) -> *mut c_char {
    ffi("pressio_ml_options_to_string", ptr::null_mut(), || {
        c_string(&handle(options, "options")?.inner.to_string())
    })
}

/// Parse `value` into the declared type of `key` (what command lines need).
///
/// # Safety
/// `options` must be NULL or a live options handle; `key` and `value` NULL or C strings.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_options_cast_set_string(
    options: *mut pressio_ml_options,
    key: *const c_char,
    value: *const c_char,
) -> c_int {
    ffi(
        "pressio_ml_options_cast_set_string",
        KEY_DOES_NOT_EXIST,
        || {
            let o = handle_mut(options, "options")?;
            let key = text(key, "key")?;
            let value = text(value, "value")?;
            match o.inner.cast_set_string(key, value) {
                Ok(()) => Ok(KEY_SET),
                Err(e) => {
                    let status = match e {
                        PressioError::UnknownOption(_) => KEY_DOES_NOT_EXIST,
                        _ => KEY_EXISTS,
                    };
                    super::set_last_error(
                        e.code(),
                        &format!("pressio_ml_options_cast_set_string: {e}"),
                    );
                    Ok(status)
                }
            }
        },
    )
}

/// The body of every exact-type getter: write the value and return the key status.
unsafe fn get_exact<T>(
    options: *const pressio_ml_options,
    key: *const c_char,
    out: *mut T,
    extract: impl FnOnce(&Value) -> Option<Result<T, PressioError>>,
) -> Result<c_int, PressioError> {
    let o = handle(options, "options")?;
    let key = text(key, "key")?;
    if out.is_null() {
        return Err(invalid("value is NULL"));
    }
    match o.inner.value(key) {
        None => Ok(KEY_DOES_NOT_EXIST),
        Some(v) => match extract(v) {
            Some(r) => {
                out.write(r?);
                Ok(KEY_SET)
            }
            None => Ok(KEY_EXISTS),
        },
    }
}

/// The body of every setter.
unsafe fn set_value(
    options: *mut pressio_ml_options,
    key: *const c_char,
    value: impl FnOnce() -> Result<Value, PressioError>,
) -> Result<(), PressioError> {
    let o = handle_mut(options, "options")?;
    let key = text(key, "key")?;
    let v = value()?;
    o.inner.set(key, v);
    Ok(())
}

macro_rules! scalar_option {
    ($set:ident, $get:ident, $t:ty, $variant:ident, $cname:literal) => {
        #[doc = concat!("Set `key` to a `", $cname, "` value (replacing its type and value).")]
        ///
        /// # Safety
        /// `options` must be NULL or a live options handle; `key` NULL or a C string.
        #[no_mangle]
        pub unsafe extern "C" fn $set(
            options: *mut pressio_ml_options,
            key: *const c_char,
            value: $t,
        ) {
            ffi(stringify!($set), (), || set_value(options, key, || Ok(Value::$variant(value))))
        }

        #[doc = concat!("Exact-type get of a `", $cname, "`: `set` and `*value` written when the key holds a `", $cname, "`; `exists` when it holds another type; `does_not_exist` when absent or unset (or on an invalid argument, recorded as an error).")]
        ///
        /// # Safety
        /// `options` must be NULL or a live options handle; `key` NULL or a C string; `value`
        /// NULL or writable.
        #[no_mangle]
        pub unsafe extern "C" fn $get(
            options: *const pressio_ml_options,
            key: *const c_char,
            value: *mut $t,
        ) -> c_int {
            ffi(stringify!($get), KEY_DOES_NOT_EXIST, || {
                get_exact(options, key, value, |v| match v {
                    Value::$variant(x) => Some(Ok(*x)),
                    _ => None,
                })
            })
        }
    };
}

scalar_option!(
    pressio_ml_options_set_uinteger8,
    pressio_ml_options_get_uinteger8,
    u8,
    U8,
    "uint8_t"
);
scalar_option!(
    pressio_ml_options_set_integer8,
    pressio_ml_options_get_integer8,
    i8,
    I8,
    "int8_t"
);
scalar_option!(
    pressio_ml_options_set_uinteger16,
    pressio_ml_options_get_uinteger16,
    u16,
    U16,
    "uint16_t"
);
scalar_option!(
    pressio_ml_options_set_integer16,
    pressio_ml_options_get_integer16,
    i16,
    I16,
    "int16_t"
);
scalar_option!(
    pressio_ml_options_set_uinteger,
    pressio_ml_options_get_uinteger,
    u32,
    U32,
    "uint32_t"
);
scalar_option!(
    pressio_ml_options_set_integer,
    pressio_ml_options_get_integer,
    i32,
    I32,
    "int32_t"
);
scalar_option!(
    pressio_ml_options_set_uinteger64,
    pressio_ml_options_get_uinteger64,
    u64,
    U64,
    "uint64_t"
);
scalar_option!(
    pressio_ml_options_set_integer64,
    pressio_ml_options_get_integer64,
    i64,
    I64,
    "int64_t"
);
scalar_option!(
    pressio_ml_options_set_float,
    pressio_ml_options_get_float,
    f32,
    F32,
    "float"
);
scalar_option!(
    pressio_ml_options_set_double,
    pressio_ml_options_get_double,
    f64,
    F64,
    "double"
);
scalar_option!(
    pressio_ml_options_set_bool,
    pressio_ml_options_get_bool,
    bool,
    Bool,
    "bool"
);

/// Set `key` to an `enum pressio_ml_dtype` value; an invalid value is recorded as an error and
/// nothing is set.
///
/// # Safety
/// `options` must be NULL or a live options handle; `key` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_options_set_dtype(
    options: *mut pressio_ml_options,
    key: *const c_char,
    value: c_int,
) {
    ffi("pressio_ml_options_set_dtype", (), || {
        set_value(options, key, || Ok(Value::DType(dtype_arg(value)?)))
    })
}

/// Exact-type get of an `enum pressio_ml_dtype` (same statuses as the scalar getters).
///
/// # Safety
/// `options` must be NULL or a live options handle; `key` NULL or a C string; `value` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_options_get_dtype(
    options: *const pressio_ml_options,
    key: *const c_char,
    value: *mut c_int,
) -> c_int {
    ffi("pressio_ml_options_get_dtype", KEY_DOES_NOT_EXIST, || {
        get_exact(options, key, value, |v| match v {
            Value::DType(d) => Some(Ok(*d as c_int)),
            _ => None,
        })
    })
}

fn thread_safety_arg(v: c_int) -> Result<ThreadSafety, PressioError> {
    match v {
        0 => Ok(ThreadSafety::Single),
        1 => Ok(ThreadSafety::Serialized),
        2 => Ok(ThreadSafety::Multiple),
        _ => Err(invalid(format!("{v} is not a pressio_ml_thread_safety"))),
    }
}

/// Set `key` to an `enum pressio_ml_thread_safety` value; an invalid value is recorded as an
/// error and nothing is set.
///
/// # Safety
/// `options` must be NULL or a live options handle; `key` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_options_set_threadsafety(
    options: *mut pressio_ml_options,
    key: *const c_char,
    value: c_int,
) {
    ffi("pressio_ml_options_set_threadsafety", (), || {
        set_value(options, key, || {
            Ok(Value::ThreadSafety(thread_safety_arg(value)?))
        })
    })
}

/// Exact-type get of an `enum pressio_ml_thread_safety` (same statuses as the scalar getters).
///
/// # Safety
/// `options` must be NULL or a live options handle; `key` NULL or a C string; `value` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_options_get_threadsafety(
    options: *const pressio_ml_options,
    key: *const c_char,
    value: *mut c_int,
) -> c_int {
    ffi(
        "pressio_ml_options_get_threadsafety",
        KEY_DOES_NOT_EXIST,
        || {
            get_exact(options, key, value, |v| match v {
                Value::ThreadSafety(t) => Some(Ok(*t as c_int)),
                _ => None,
            })
        },
    )
}

/// Set `key` to a copy of the string `value`.
///
/// # Safety
/// `options` must be NULL or a live options handle; `key` and `value` NULL or C strings.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_options_set_string(
    options: *mut pressio_ml_options,
    key: *const c_char,
    value: *const c_char,
) {
    ffi("pressio_ml_options_set_string", (), || {
        set_value(options, key, || {
            Ok(Value::Str(text(value, "value")?.to_string()))
        })
    })
}

/// Exact-type get of a string: on `set`, `*value` receives a `malloc`'d copy that the caller
/// frees with `pressio_ml_free`.
///
/// # Safety
/// `options` must be NULL or a live options handle; `key` NULL or a C string; `value` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_options_get_string(
    options: *const pressio_ml_options,
    key: *const c_char,
    value: *mut *mut c_char,
) -> c_int {
    ffi("pressio_ml_options_get_string", KEY_DOES_NOT_EXIST, || {
        get_exact(options, key, value, |v| match v {
            Value::Str(s) => Some(c_string(s)),
            _ => None,
        })
    })
}

/// Set `key` to a copy of the `size` strings in `values`.
///
/// # Safety
/// `options` must be NULL or a live options handle; `key` NULL or a C string; `values` NULL (only
/// when `size` is 0) or an array of `size` C strings.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_options_set_strings(
    options: *mut pressio_ml_options,
    key: *const c_char,
    size: usize,
    values: *const *const c_char,
) {
    ffi("pressio_ml_options_set_strings", (), || {
        set_value(options, key, || {
            if size == 0 {
                return Ok(Value::Strings(Vec::new()));
            }
            if values.is_null() {
                return Err(invalid("values is NULL"));
            }
            let items = std::slice::from_raw_parts(values, size)
                .iter()
                .enumerate()
                .map(|(i, &p)| text(p, &format!("values[{i}]")).map(str::to_string))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::Strings(items))
        })
    })
}

/// Exact-type get of a string array: on `set`, `*size` receives the count and `*values` a
/// `malloc`'d array of `malloc`'d strings (NULL when the count is 0); free every string and then
/// the array with `pressio_ml_free`.
///
/// # Safety
/// `options` must be NULL or a live options handle; `key` NULL or a C string; `size` and
/// `values` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_options_get_strings(
    options: *const pressio_ml_options,
    key: *const c_char,
    size: *mut usize,
    values: *mut *mut *mut c_char,
) -> c_int {
    ffi("pressio_ml_options_get_strings", KEY_DOES_NOT_EXIST, || {
        if size.is_null() {
            return Err(invalid("size is NULL"));
        }
        let mut count = 0usize;
        let status = get_exact(options, key, values, |v| match v {
            Value::Strings(items) => {
                count = items.len();
                Some(if items.is_empty() {
                    Ok(ptr::null_mut())
                } else {
                    c_string_array(items)
                })
            }
            _ => None,
        })?;
        if status == KEY_SET {
            *size = count;
        }
        Ok(status)
    })
}

/// Set `key` to a deep copy of `value` (borrowed bytes are copied too).
///
/// # Safety
/// `options` must be NULL or a live options handle; `key` NULL or a C string; `value` NULL or a
/// live data handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_options_set_data(
    options: *mut pressio_ml_options,
    key: *const c_char,
    value: *const pressio_ml_data,
) {
    ffi("pressio_ml_options_set_data", (), || {
        set_value(options, key, || {
            Ok(Value::Data(handle(value, "value")?.inner.clone()))
        })
    })
}

/// Exact-type get of a data buffer: on `set`, a deep copy is stored into `*value`. If `*value` is
/// NULL a new handle is created (free it with `pressio_ml_data_free`); otherwise the existing
/// handle's contents are replaced by the copy (LibPressio's copy-assignment; memory it borrowed
/// is left untouched).
///
/// # Safety
/// `options` must be NULL or a live options handle; `key` NULL or a C string; `value` NULL or a
/// writable pointer holding NULL or a live data handle.
#[no_mangle]
pub unsafe extern "C" fn pressio_ml_options_get_data(
    options: *const pressio_ml_options,
    key: *const c_char,
    value: *mut *mut pressio_ml_data,
) -> c_int {
    ffi("pressio_ml_options_get_data", KEY_DOES_NOT_EXIST, || {
        if value.is_null() {
            return Err(invalid("value is NULL"));
        }
        let existing = *value;
        get_exact(options, key, value, |v| match v {
            Value::Data(d) => Some(Ok(match existing.as_mut() {
                Some(h) => {
                    h.inner = d.clone();
                    existing
                }
                None => pressio_ml_data::into_raw(d.clone()),
            })),
            _ => None,
        })
    })
}
