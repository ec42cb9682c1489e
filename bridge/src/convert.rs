//! Translation between pressio-ml's Rust objects ([`Options`], [`Data`]) and LibPressio's
//! `pressio_options` / `pressio_data`, through LibPressio's C API.
//!
//! * Options: every option type both ways, typed placeholders (unset keys) both ways, and
//!   LibPressio's hierarchical names: keys written for a named plugin are `"/<name>:<key>"`, and
//!   keys read for a named plugin are resolved along LibPressio's search path (`/a/b:key`, then
//!   `/a:key`, then `key`), as the base-class `get`/`set` helpers do.
//! * Buffers: dims are fastest-first on both sides (no reordering); inputs are borrowed without a
//!   copy when the buffer is aligned for its dtype; outputs are handed to LibPressio as malloc'd
//!   buffers (`pressio_data_new_copy`, LibPressio's "malloc" domain), or copied into the caller's
//!   pre-allocated buffer when it has the right dtype and size.

use crate::sys;
use pressio_ml_core::{
    check_decompressed, DType, Data, KeyStatus, OptionType, Options, PressioError, PressioOption,
    Result, ThreadSafety, Value,
};
use std::collections::BTreeMap;
use std::ffi::{c_char, c_void, CStr, CString};

extern "C" {
    /// libc's `free`, for the malloc'd arrays LibPressio's string-array getters return.
    fn free(p: *mut c_void);
}

/// LibPressio's `libpressio::names::format_name`: `"/" + name + ":" + key`, or `key` when the name
/// is empty.
pub fn format_name(name: &str, key: &str) -> String {
    if name.is_empty() {
        key.to_string()
    } else {
        format!("/{name}:{key}")
    }
}

/// LibPressio's `libpressio::names::search`: the names a lookup tries, most specific first,
/// ending with the empty name (`"a/b"` → `["a/b", "a", ""]`).
pub fn search_path(name: &str) -> Vec<String> {
    let n = name.strip_prefix('/').unwrap_or(name);
    let n = n.strip_suffix('/').unwrap_or(n);
    let mut out = Vec::new();
    if !n.is_empty() {
        let mut cur = n;
        loop {
            out.push(cur.to_string());
            match cur.rfind('/') {
                Some(i) => cur = &cur[..i],
                None => break,
            }
        }
    }
    out.push(String::new());
    out
}

/// Split a LibPressio key into its name and plain key (`"/a/b:pressio:abs"` →
/// `("a/b", "pressio:abs")`, `"pressio:abs"` → `("", "pressio:abs")`).
pub fn split_name(key: &str) -> (&str, &str) {
    match key.strip_prefix('/') {
        Some(rest) => match rest.find(':') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => ("", key),
        },
        None => ("", key),
    }
}

fn cstring(s: &str) -> CString {
    // keys and values with an interior NUL cannot cross the C API; keep what precedes it
    CString::new(s).unwrap_or_else(|e| {
        let n = e.nul_position();
        let mut v = e.into_vec();
        v.truncate(n);
        CString::new(v).unwrap_or_default()
    })
}

/// One entry read from a `pressio_options`: a slot pressio-ml can represent, or the type of a
/// value it cannot (`void*` user pointers, unknown dtypes).
pub type RawEntry = std::result::Result<PressioOption, OptionType>;

/// Read every entry of `opts`, keys as LibPressio stores them (with their `/name:` parts).
///
/// # Safety
/// `opts` must be a valid `pressio_options` pointer (or NULL, read as empty).
pub unsafe fn read_raw(opts: *const sys::pressio_options) -> Vec<(String, RawEntry)> {
    let mut out = Vec::new();
    if opts.is_null() {
        return out;
    }
    let iter = sys::pressio_options_get_iter(opts);
    if iter.is_null() {
        return out;
    }
    while sys::pressio_options_iter_has_value(iter) {
        let key = CStr::from_ptr(sys::pressio_options_iter_get_key(iter))
            .to_string_lossy()
            .into_owned();
        let opt = sys::pressio_options_iter_get_value(iter);
        if !opt.is_null() {
            out.push((key, read_option(opt)));
            sys::pressio_option_free(opt);
        }
        sys::pressio_options_iter_next(iter);
    }
    sys::pressio_options_iter_free(iter);
    out
}

/// Convert one `pressio_option` into a pressio-ml slot.
///
/// # Safety
/// `opt` must be a valid `pressio_option` pointer.
pub unsafe fn read_option(opt: *const sys::pressio_option) -> RawEntry {
    let raw_ty = sys::pressio_option_get_type(opt);
    let Some(ty) = OptionType::from_i32(raw_ty as i32) else {
        return Err(OptionType::Unset);
    };
    if !sys::pressio_option_has_value(opt) {
        return Ok(PressioOption::placeholder(ty));
    }
    let v = match ty {
        OptionType::U8 => Value::U8(sys::pressio_option_get_uinteger8(opt)),
        OptionType::I8 => Value::I8(sys::pressio_option_get_integer8(opt)),
        OptionType::U16 => Value::U16(sys::pressio_option_get_uinteger16(opt)),
        OptionType::I16 => Value::I16(sys::pressio_option_get_integer16(opt)),
        OptionType::U32 => Value::U32(sys::pressio_option_get_uinteger(opt)),
        OptionType::I32 => Value::I32(sys::pressio_option_get_integer(opt)),
        OptionType::U64 => Value::U64(sys::pressio_option_get_uinteger64(opt)),
        OptionType::I64 => Value::I64(sys::pressio_option_get_integer64(opt)),
        OptionType::F32 => Value::F32(sys::pressio_option_get_float(opt)),
        OptionType::F64 => Value::F64(sys::pressio_option_get_double(opt)),
        OptionType::Bool => Value::Bool(sys::pressio_option_get_bool(opt)),
        OptionType::Str => {
            let p = sys::pressio_option_get_string(opt);
            Value::Str(if p.is_null() {
                String::new()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            })
        }
        OptionType::Strings => {
            let mut n = 0usize;
            let arr = sys::pressio_option_get_strings(opt, &mut n);
            let mut v = Vec::with_capacity(n);
            if !arr.is_null() {
                for i in 0..n {
                    let s = *arr.add(i);
                    if !s.is_null() {
                        v.push(CStr::from_ptr(s).to_string_lossy().into_owned());
                        free(s as *mut c_void);
                    }
                }
                free(arr as *mut c_void);
            }
            Value::Strings(v)
        }
        OptionType::Data => {
            let d = sys::pressio_option_get_data(opt);
            if d.is_null() {
                return Err(ty);
            }
            let r = copy_data(d);
            sys::pressio_data_free(d);
            match r {
                Ok(d) => Value::Data(d),
                Err(_) => return Err(ty),
            }
        }
        OptionType::DType => match DType::from_i32(sys::pressio_option_get_dtype(opt) as i32) {
            Some(d) => Value::DType(d),
            None => return Err(ty),
        },
        OptionType::ThreadSafety => match sys::pressio_option_get_threadsafety(opt) {
            sys::pressio_thread_safety_single => Value::ThreadSafety(ThreadSafety::Single),
            sys::pressio_thread_safety_serialized => Value::ThreadSafety(ThreadSafety::Serialized),
            sys::pressio_thread_safety_multiple => Value::ThreadSafety(ThreadSafety::Multiple),
            _ => return Err(ty),
        },
        OptionType::UserPtr | OptionType::Unset => return Err(ty),
    };
    Ok(PressioOption::new(v))
}

/// Options as a plugin named `name` sees them: every plain key resolved along LibPressio's name
/// search path. Also returns the resolved keys whose values pressio-ml cannot represent, with
/// their LibPressio type.
pub fn resolve(raw: Vec<(String, RawEntry)>, name: &str) -> (Options, Vec<(String, OptionType)>) {
    let path = search_path(name);
    let mut best: BTreeMap<String, (usize, RawEntry)> = BTreeMap::new();
    for (key, entry) in raw {
        let (n, plain) = split_name(&key);
        let Some(rank) = path.iter().position(|p| p == n) else {
            continue;
        };
        match best.get(plain) {
            Some((r, _)) if *r <= rank => {}
            _ => {
                best.insert(plain.to_string(), (rank, entry));
            }
        }
    }
    let mut opts = Options::new();
    let mut unreadable = Vec::new();
    for (k, (_, e)) in best {
        match e {
            Ok(slot) => opts.insert_option(k, slot),
            Err(ty) => unreadable.push((k, ty)),
        }
    }
    (opts, unreadable)
}

/// Read `opts` as the plugin named `name` sees them (see [`resolve`]).
///
/// # Safety
/// As [`read_raw`].
pub unsafe fn read_options(
    opts: *const sys::pressio_options,
    name: &str,
) -> (Options, Vec<(String, OptionType)>) {
    resolve(read_raw(opts), name)
}

/// Write every slot of `o` into `out`, keys formatted for the plugin named `name`; unset slots
/// become typed placeholders (`pressio_options_set_type`).
///
/// # Safety
/// `out` must be a valid, writable `pressio_options` pointer.
pub unsafe fn write_options(out: *mut sys::pressio_options, name: &str, o: &Options) {
    for (k, slot) in o.iter() {
        let key = cstring(&format_name(name, k));
        match slot.value() {
            None => sys::pressio_options_set_type(
                out,
                key.as_ptr(),
                slot.option_type() as i32 as sys::pressio_option_type,
            ),
            Some(v) => write_value(out, &key, v),
        }
    }
}

/// Set one typed value.
///
/// # Safety
/// `out` must be a valid, writable `pressio_options` pointer.
pub unsafe fn write_value(out: *mut sys::pressio_options, key: &CStr, v: &Value) {
    let k = key.as_ptr();
    match v {
        Value::U8(x) => sys::pressio_options_set_uinteger8(out, k, *x),
        Value::I8(x) => sys::pressio_options_set_integer8(out, k, *x),
        Value::U16(x) => sys::pressio_options_set_uinteger16(out, k, *x),
        Value::I16(x) => sys::pressio_options_set_integer16(out, k, *x),
        Value::U32(x) => sys::pressio_options_set_uinteger(out, k, *x),
        Value::I32(x) => sys::pressio_options_set_integer(out, k, *x),
        Value::U64(x) => sys::pressio_options_set_uinteger64(out, k, *x),
        Value::I64(x) => sys::pressio_options_set_integer64(out, k, *x),
        Value::F32(x) => sys::pressio_options_set_float(out, k, *x),
        Value::F64(x) => sys::pressio_options_set_double(out, k, *x),
        Value::Bool(x) => sys::pressio_options_set_bool(out, k, *x),
        Value::Str(s) => {
            let s = cstring(s);
            sys::pressio_options_set_string(out, k, s.as_ptr());
        }
        Value::Strings(v) => {
            let owned: Vec<CString> = v.iter().map(|s| cstring(s)).collect();
            let ptrs: Vec<*const c_char> = owned.iter().map(|s| s.as_ptr()).collect();
            sys::pressio_options_set_strings(out, k, ptrs.len(), ptrs.as_ptr());
        }
        Value::Data(d) => {
            let pd = new_pressio_data(d);
            if !pd.is_null() {
                // set_data stores a deep copy
                sys::pressio_options_set_data(out, k, pd);
                sys::pressio_data_free(pd);
            }
        }
        Value::DType(d) => sys::pressio_options_set_dtype(out, k, *d as i32 as sys::pressio_dtype),
        Value::ThreadSafety(t) => {
            sys::pressio_options_set_threadsafety(out, k, *t as i32 as sys::pressio_thread_safety)
        }
    }
}

/// The dtype and dims of a `pressio_data` (dims fastest-first, as both sides store them).
///
/// # Safety
/// `d` must be a valid `pressio_data` pointer.
pub unsafe fn data_meta(d: *const sys::pressio_data) -> Result<(DType, Vec<usize>)> {
    let raw = sys::pressio_data_dtype(d);
    let dtype = DType::from_i32(raw as i32)
        .ok_or_else(|| PressioError::InvalidArgument(format!("unknown pressio_dtype {raw}")))?;
    let n = sys::pressio_data_num_dimensions(d);
    let dims = (0..n)
        .map(|i| sys::pressio_data_get_dimension(d, i))
        .collect();
    Ok((dtype, dims))
}

/// A [`Data`] over a `pressio_data`: borrowed without a copy when the buffer holds exactly the
/// bytes its dims describe and is aligned for its dtype, an owned copy otherwise, metadata only
/// when it has no buffer. NULL reads as an empty byte buffer.
///
/// # Safety
/// `d` must be NULL or a valid `pressio_data` pointer whose buffer outlives the returned value and
/// is not written while it is alive (the returned value is only ever read).
pub unsafe fn data_view(d: *const sys::pressio_data) -> Result<Data> {
    if d.is_null() {
        return Ok(Data::empty(DType::Byte, &[]));
    }
    let (dtype, dims) = data_meta(d)?;
    if !sys::pressio_data_has_data(d) {
        return Ok(Data::empty(dtype, &dims));
    }
    let mut bytes = 0usize;
    let ptr = sys::pressio_data_ptr(d, &mut bytes) as *mut u8;
    let expected = dims
        .iter()
        .try_fold(1usize, |a, &x| a.checked_mul(x))
        .and_then(|n| n.checked_mul(dtype.size()))
        .filter(|_| !dims.is_empty());
    if expected == Some(bytes) {
        if let Ok(v) = Data::from_raw_parts(dtype, ptr, &dims) {
            return Ok(v);
        }
        // unaligned: copy
        return Data::from_bytes(dtype, &dims, std::slice::from_raw_parts(ptr, bytes));
    }
    if dtype == DType::Byte || dtype == DType::Uint8 {
        // a byte stream whose dims do not describe it: take the bytes as one dimension
        return Data::from_bytes(dtype, &[bytes], std::slice::from_raw_parts(ptr, bytes));
    }
    Err(PressioError::InvalidDims(format!(
        "pressio_data of {dtype} with dims {dims:?} holds {bytes} bytes"
    )))
}

/// An owned copy of a `pressio_data`.
///
/// # Safety
/// `d` must be a valid `pressio_data` pointer.
pub unsafe fn copy_data(d: *const sys::pressio_data) -> Result<Data> {
    Ok(data_view(d)?.clone())
}

/// A new `pressio_data` holding a malloc'd copy of `d` (LibPressio's "malloc" domain, freed by
/// `pressio_data_free`), or metadata only when `d` has no buffer. The caller owns the result.
///
/// # Safety
/// Calls LibPressio's C API; the result must be released with `pressio_data_free` or handed to
/// LibPressio.
pub unsafe fn new_pressio_data(d: &Data) -> *mut sys::pressio_data {
    let dtype = d.dtype() as i32 as sys::pressio_dtype;
    let dims = d.dims();
    if d.has_data() {
        sys::pressio_data_new_copy(dtype, d.as_ptr() as *mut c_void, dims.len(), dims.as_ptr())
    } else {
        sys::pressio_data_new_empty(dtype, dims.len(), dims.as_ptr())
    }
}

/// Replace `*out` with a malloc'd copy of `d`.
///
/// # Safety
/// `out` must be a valid, writable `pressio_data` pointer.
pub unsafe fn store(out: *mut sys::pressio_data, d: &Data) -> Result<()> {
    let pd = new_pressio_data(d);
    if pd.is_null() {
        return Err(PressioError::Internal(format!(
            "LibPressio could not allocate {} bytes",
            d.num_bytes()
        )));
    }
    crate::ffi::pressio_ml_shim_data_assign(out, pd);
    Ok(())
}

/// Hand a decompressed `result` to LibPressio's `output`, honouring its template: when the
/// output carries dims, the dtype (unless the output is untyped bytes) and element count must
/// match and the result takes the output's dims; a pre-allocated output of the same dtype and
/// size is filled in place (its buffer, possibly the caller's memory, is kept); otherwise the
/// output is replaced by a malloc'd buffer.
///
/// `result` is first checked with [`check_decompressed`]: a plugin that reports success without
/// a buffer of the size its dims describe is an error (named after `plugin`), never a NULL or
/// short buffer handed to LibPressio.
///
/// # Safety
/// `output` must be a valid, writable `pressio_data` pointer.
pub unsafe fn deliver(
    plugin: &str,
    mut result: Data,
    output: *mut sys::pressio_data,
) -> Result<()> {
    check_decompressed(plugin, &result, None)?;
    let (dtype, dims) = data_meta(output)?;
    let n: usize = dims.iter().product();
    if !dims.is_empty() && n > 0 {
        if dtype != result.dtype() && dtype != DType::Byte {
            return Err(PressioError::StreamMismatch(format!(
                "stream holds {} but the output asks for {dtype}",
                result.dtype()
            )));
        }
        if n != result.num_elements() {
            return Err(PressioError::InvalidDims(format!(
                "stream holds dims {:?} but the output asks for {dims:?}",
                result.dims()
            )));
        }
        if dtype == result.dtype() {
            result.reshape(&dims)?;
        }
    }
    if sys::pressio_data_has_data(output) && dtype == result.dtype() {
        let mut bytes = 0usize;
        let ptr = sys::pressio_data_ptr(output, &mut bytes) as *mut u8;
        if bytes == result.num_bytes() && !ptr.is_null() {
            std::ptr::copy_nonoverlapping(result.as_ptr(), ptr, bytes);
            return Ok(());
        }
    }
    store(output, &result)
}

/// An owned `pressio_options` (freed on drop), for code that calls LibPressio's C API.
pub struct OwnedOptions(*mut sys::pressio_options);

impl OwnedOptions {
    /// A new, empty set of options.
    pub fn new() -> Self {
        // SAFETY: plain constructor of the C API.
        OwnedOptions(unsafe { sys::pressio_options_new() })
    }

    /// Take ownership of a pointer returned by LibPressio (NULL gives an empty set).
    ///
    /// # Safety
    /// `p` must be NULL or a `pressio_options` pointer the caller owns.
    pub unsafe fn from_raw(p: *mut sys::pressio_options) -> Self {
        if p.is_null() {
            OwnedOptions::new()
        } else {
            OwnedOptions(p)
        }
    }

    /// LibPressio options holding `o` (plain keys).
    pub fn from_options(o: &Options) -> Self {
        let me = OwnedOptions::new();
        // SAFETY: me.0 is a valid options object.
        unsafe { write_options(me.0, "", o) };
        me
    }

    /// The entries as pressio-ml options, keys exactly as LibPressio stores them (entries
    /// pressio-ml cannot represent, such as user pointers, are dropped).
    pub fn to_options(&self) -> Options {
        let mut o = Options::new();
        // SAFETY: self.0 is a valid options object.
        for (k, e) in unsafe { read_raw(self.0) } {
            if let Ok(slot) = e {
                o.insert_option(k, slot);
            }
        }
        o
    }

    /// The entries as the plugin named `name` sees them: plain keys resolved along LibPressio's
    /// name search path (see [`resolve`]).
    pub fn to_options_for(&self, name: &str) -> Options {
        // SAFETY: self.0 is a valid options object.
        unsafe { read_options(self.0, name).0 }
    }

    /// The raw pointer (still owned by `self`).
    pub fn as_ptr(&self) -> *const sys::pressio_options {
        self.0
    }

    /// The raw pointer, mutably (still owned by `self`).
    pub fn as_mut_ptr(&mut self) -> *mut sys::pressio_options {
        self.0
    }

    /// LibPressio's raw key status of `key`.
    pub fn key_status(&self, key: &str) -> KeyStatus {
        let k = cstring(key);
        // SAFETY: valid options and key.
        match unsafe { sys::pressio_options_exists(self.0, k.as_ptr()) } {
            sys::pressio_options_key_set => KeyStatus::Set,
            sys::pressio_options_key_exists => KeyStatus::Exists,
            _ => KeyStatus::DoesNotExist,
        }
    }
}

impl Default for OwnedOptions {
    fn default() -> Self {
        OwnedOptions::new()
    }
}

impl Drop for OwnedOptions {
    fn drop(&mut self) {
        // SAFETY: we own the pointer.
        unsafe { sys::pressio_options_free(self.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(format_name("", "pressio:abs"), "pressio:abs");
        assert_eq!(format_name("a/b", "pressio:abs"), "/a/b:pressio:abs");
        assert_eq!(search_path("a/b"), vec!["a/b", "a", ""]);
        assert_eq!(search_path("/a/"), vec!["a", ""]);
        assert_eq!(search_path(""), vec![""]);
        assert_eq!(split_name("/a/b:pressio:abs"), ("a/b", "pressio:abs"));
        assert_eq!(split_name("pressio:abs"), ("", "pressio:abs"));
    }

    #[test]
    fn resolution_prefers_the_most_specific_name() {
        let raw = vec![
            (
                "pressio:abs".to_string(),
                Ok(PressioOption::new(Value::F64(1.0))),
            ),
            (
                "/a:pressio:abs".to_string(),
                Ok(PressioOption::new(Value::F64(2.0))),
            ),
            (
                "/a/b:pressio:abs".to_string(),
                Ok(PressioOption::new(Value::F64(3.0))),
            ),
            (
                "/c:pressio:abs".to_string(),
                Ok(PressioOption::new(Value::F64(4.0))),
            ),
            ("/a:x:p".to_string(), Err(OptionType::UserPtr)),
        ];
        let (o, bad) = resolve(raw.clone(), "a/b");
        assert_eq!(o.get::<f64>("pressio:abs").1, Some(3.0));
        assert_eq!(bad, vec![("x:p".to_string(), OptionType::UserPtr)]);
        let (o, _) = resolve(raw.clone(), "a");
        assert_eq!(o.get::<f64>("pressio:abs").1, Some(2.0));
        let (o, _) = resolve(raw.clone(), "");
        assert_eq!(o.get::<f64>("pressio:abs").1, Some(1.0));
        assert!(!o.contains("x:p"));
    }
}
