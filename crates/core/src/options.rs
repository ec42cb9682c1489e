//! Typed options with LibPressio's semantics: declared types, typed placeholders for unset keys,
//! the three-way key status, exact-type `get`, and conversions with a safety level.

use crate::compressor::ThreadSafety;
use crate::data::Data;
use crate::dtype::DType;
use crate::error::{PressioError, Result};
use std::collections::BTreeMap;
use std::fmt;

/// LibPressio's `enum pressio_option_type`, with its exact values.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptionType {
    /// `uint32_t`
    U32 = 0,
    /// `int32_t`
    I32 = 1,
    /// `float`
    F32 = 2,
    /// `double`
    F64 = 3,
    /// `char*`
    Str = 4,
    /// `void*` (not used by pressio-ml plugins; kept for numbering)
    UserPtr = 5,
    /// no type
    Unset = 6,
    /// `char*[]`
    Strings = 7,
    /// `pressio_data`
    Data = 8,
    /// `uint8_t`
    U8 = 9,
    /// `int8_t`
    I8 = 10,
    /// `uint16_t`
    U16 = 11,
    /// `int16_t`
    I16 = 12,
    /// `uint64_t`
    U64 = 13,
    /// `int64_t`
    I64 = 14,
    /// `bool`
    Bool = 15,
    /// `enum pressio_dtype`
    DType = 16,
    /// `enum pressio_thread_safety`
    ThreadSafety = 17,
}

impl OptionType {
    /// The spelling the `pressio` CLI prints between angle brackets.
    pub fn name(self) -> &'static str {
        match self {
            OptionType::U32 => "uint32",
            OptionType::I32 => "int32",
            OptionType::F32 => "float",
            OptionType::F64 => "double",
            OptionType::Str => "char*",
            OptionType::UserPtr => "void*",
            OptionType::Unset => "unset",
            OptionType::Strings => "char*[]",
            OptionType::Data => "data",
            OptionType::U8 => "uint8",
            OptionType::I8 => "int8",
            OptionType::U16 => "uint16",
            OptionType::I16 => "int16",
            OptionType::U64 => "uint64",
            OptionType::I64 => "int64",
            OptionType::Bool => "bool",
            OptionType::DType => "dtype",
            OptionType::ThreadSafety => "threadsafety",
        }
    }

    /// The type with LibPressio value `v`.
    pub fn from_i32(v: i32) -> Option<OptionType> {
        use OptionType::*;
        [
            U32,
            I32,
            F32,
            F64,
            Str,
            UserPtr,
            Unset,
            Strings,
            Data,
            U8,
            I8,
            U16,
            I16,
            U64,
            I64,
            Bool,
            DType,
            ThreadSafety,
        ]
        .get(usize::try_from(v).ok()?)
        .copied()
    }

    fn is_integer(self) -> bool {
        use OptionType::*;
        matches!(self, U8 | I8 | U16 | I16 | U32 | I32 | U64 | I64)
    }
}

impl fmt::Display for OptionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// LibPressio's `enum pressio_options_key_status`.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// The key holds a value (of the requested type, for typed gets).
    Set = 0,
    /// The key exists but is unset, or (typed gets) holds another type.
    Exists = 1,
    /// The key is absent (or, for typed gets, present but unset).
    DoesNotExist = 2,
}

/// LibPressio's `enum pressio_conversion_safety`.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConversionSafety {
    /// Only conversions that lose nothing (widening numbers).
    Implicit = 0,
    /// Any numeric conversion that keeps the value in range.
    Explicit = 1,
    /// Also string parsing and formatting (what CLIs need).
    Special = 2,
}

/// A typed option value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `uint8_t`
    U8(u8),
    /// `int8_t`
    I8(i8),
    /// `uint16_t`
    U16(u16),
    /// `int16_t`
    I16(i16),
    /// `uint32_t`
    U32(u32),
    /// `int32_t`
    I32(i32),
    /// `uint64_t`
    U64(u64),
    /// `int64_t`
    I64(i64),
    /// `float`
    F32(f32),
    /// `double`
    F64(f64),
    /// `bool`
    Bool(bool),
    /// `char*`
    Str(String),
    /// `char*[]`
    Strings(Vec<String>),
    /// `pressio_data`
    Data(Data),
    /// `enum pressio_dtype`
    DType(DType),
    /// `enum pressio_thread_safety`
    ThreadSafety(ThreadSafety),
}

impl Value {
    /// A `char*[]` value from any list of strings.
    pub fn strings<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Value {
        Value::Strings(items.into_iter().map(|s| s.as_ref().to_string()).collect())
    }

    /// The option type of this value.
    pub fn option_type(&self) -> OptionType {
        match self {
            Value::U8(_) => OptionType::U8,
            Value::I8(_) => OptionType::I8,
            Value::U16(_) => OptionType::U16,
            Value::I16(_) => OptionType::I16,
            Value::U32(_) => OptionType::U32,
            Value::I32(_) => OptionType::I32,
            Value::U64(_) => OptionType::U64,
            Value::I64(_) => OptionType::I64,
            Value::F32(_) => OptionType::F32,
            Value::F64(_) => OptionType::F64,
            Value::Bool(_) => OptionType::Bool,
            Value::Str(_) => OptionType::Str,
            Value::Strings(_) => OptionType::Strings,
            Value::Data(_) => OptionType::Data,
            Value::DType(_) => OptionType::DType,
            Value::ThreadSafety(_) => OptionType::ThreadSafety,
        }
    }

    fn as_i128(&self) -> Option<i128> {
        Some(match self {
            Value::U8(v) => *v as i128,
            Value::I8(v) => *v as i128,
            Value::U16(v) => *v as i128,
            Value::I16(v) => *v as i128,
            Value::U32(v) => *v as i128,
            Value::I32(v) => *v as i128,
            Value::U64(v) => *v as i128,
            Value::I64(v) => *v as i128,
            Value::Bool(v) => *v as i128,
            _ => return None,
        })
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Value::F32(v) => Some(*v as f64),
            Value::F64(v) => Some(*v),
            other => other.as_i128().map(|v| v as f64),
        }
    }

    fn int_to(ty: OptionType, v: i128) -> Option<Value> {
        Some(match ty {
            OptionType::U8 => Value::U8(u8::try_from(v).ok()?),
            OptionType::I8 => Value::I8(i8::try_from(v).ok()?),
            OptionType::U16 => Value::U16(u16::try_from(v).ok()?),
            OptionType::I16 => Value::I16(i16::try_from(v).ok()?),
            OptionType::U32 => Value::U32(u32::try_from(v).ok()?),
            OptionType::I32 => Value::I32(i32::try_from(v).ok()?),
            OptionType::U64 => Value::U64(u64::try_from(v).ok()?),
            OptionType::I64 => Value::I64(i64::try_from(v).ok()?),
            OptionType::Bool => Value::Bool(v != 0),
            _ => return None,
        })
    }

    fn parse_str(ty: OptionType, s: &str) -> Option<Value> {
        let t = s.trim();
        Some(match ty {
            OptionType::F32 => Value::F32(t.parse().ok()?),
            OptionType::F64 => Value::F64(t.parse().ok()?),
            OptionType::Bool => Value::Bool(match t.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => return None,
            }),
            OptionType::Str => Value::Str(s.to_string()),
            OptionType::Strings => Value::Strings(vec![s.to_string()]),
            OptionType::DType => Value::DType(DType::parse(t).ok()?),
            OptionType::ThreadSafety => Value::ThreadSafety(match t {
                "single" | "0" => ThreadSafety::Single,
                "serialized" | "1" => ThreadSafety::Serialized,
                "multiple" | "2" => ThreadSafety::Multiple,
                _ => return None,
            }),
            ty if ty.is_integer() => {
                let v: i128 = if let Ok(i) = t.parse::<i128>() {
                    i
                } else {
                    let f: f64 = t.parse().ok()?;
                    if f.fract() != 0.0 || !f.is_finite() {
                        return None;
                    }
                    f as i128
                };
                Value::int_to(ty, v)?
            }
            _ => return None,
        })
    }

    /// Convert to `ty` under `safety`; `None` when the conversion is not allowed or fails.
    ///
    /// * implicit: same type, or a numeric conversion that loses nothing;
    /// * explicit: any numeric conversion that keeps the value in range (floats to integers
    ///   only when integral);
    /// * special: also strings to and from numbers, bools, dtypes and string arrays.
    pub fn convert(&self, ty: OptionType, safety: ConversionSafety) -> Option<Value> {
        if self.option_type() == ty {
            return Some(self.clone());
        }
        // string sources
        if let Value::Str(s) = self {
            return (safety == ConversionSafety::Special)
                .then(|| Value::parse_str(ty, s))
                .flatten();
        }
        if let Value::Strings(v) = self {
            if safety == ConversionSafety::Special && v.len() == 1 {
                return Value::parse_str(ty, &v[0]);
            }
            return None;
        }
        // to strings
        if ty == OptionType::Str {
            return (safety == ConversionSafety::Special).then(|| Value::Str(self.to_string()));
        }
        if ty == OptionType::Strings {
            return (safety == ConversionSafety::Special)
                .then(|| Value::Strings(vec![self.to_string()]));
        }
        // numeric
        if let Some(i) = self.as_i128() {
            if ty.is_integer() || ty == OptionType::Bool {
                let out = Value::int_to(ty, i)?;
                let lossless = out.as_i128() == Some(i);
                return (lossless || safety >= ConversionSafety::Explicit).then_some(out);
            }
            if matches!(ty, OptionType::F32 | OptionType::F64) {
                let f = i as f64;
                let out = if ty == OptionType::F32 {
                    Value::F32(f as f32)
                } else {
                    Value::F64(f)
                };
                let lossless = out.as_f64().map(|g| g as i128) == Some(i);
                return (lossless || safety >= ConversionSafety::Explicit).then_some(out);
            }
            return None;
        }
        if let Some(f) = self.as_f64() {
            match ty {
                OptionType::F64 => return Some(Value::F64(f)),
                OptionType::F32 => {
                    let out = f as f32;
                    let lossless = (out as f64) == f || f.is_nan();
                    return (lossless || safety >= ConversionSafety::Explicit)
                        .then_some(Value::F32(out));
                }
                ty if ty.is_integer() => {
                    if safety < ConversionSafety::Explicit || f.fract() != 0.0 || !f.is_finite() {
                        return None;
                    }
                    return Value::int_to(ty, f as i128);
                }
                _ => return None,
            }
        }
        None
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::U8(v) => write!(f, "{v}"),
            Value::I8(v) => write!(f, "{v}"),
            Value::U16(v) => write!(f, "{v}"),
            Value::I16(v) => write!(f, "{v}"),
            Value::U32(v) => write!(f, "{v}"),
            Value::I32(v) => write!(f, "{v}"),
            Value::U64(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            // shortest representation that parses back to the same value: enough digits to
            // check a bound
            Value::F32(v) => write!(f, "{v:?}"),
            Value::F64(v) => write!(f, "{v:?}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Str(s) => write!(f, "{s}"),
            Value::Strings(v) => write!(f, "{{{}}}", v.join(", ")),
            Value::Data(d) => write!(f, "data({} {:?})", d.dtype(), d.dims()),
            Value::DType(d) => write!(f, "{d}"),
            Value::ThreadSafety(t) => write!(f, "{}", t.name()),
        }
    }
}

/// A Rust type that maps to exactly one option type (used by typed `get`/`set`).
pub trait OptionValue: Sized {
    /// The option type of this Rust type.
    const TYPE: OptionType;
    /// Wrap into a [`Value`].
    fn into_value(self) -> Value;
    /// Unwrap from a [`Value`] of exactly this type.
    fn from_value(v: &Value) -> Option<Self>;
}

macro_rules! option_value {
    ($t:ty, $variant:ident) => {
        impl OptionValue for $t {
            const TYPE: OptionType = OptionType::$variant;
            fn into_value(self) -> Value {
                Value::$variant(self)
            }
            fn from_value(v: &Value) -> Option<Self> {
                match v {
                    Value::$variant(x) => Some(x.clone()),
                    _ => None,
                }
            }
        }
        impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::$variant(v)
            }
        }
    };
}
option_value!(u8, U8);
option_value!(i8, I8);
option_value!(u16, U16);
option_value!(i16, I16);
option_value!(u32, U32);
option_value!(i32, I32);
option_value!(u64, U64);
option_value!(i64, I64);
option_value!(f32, F32);
option_value!(f64, F64);
option_value!(bool, Bool);
option_value!(String, Str);
option_value!(Vec<String>, Strings);
option_value!(Data, Data);
option_value!(DType, DType);
option_value!(ThreadSafety, ThreadSafety);

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Str(v.to_string())
    }
}

/// One option slot: a declared type and maybe a value (LibPressio's `pressio_option`).
#[derive(Debug, Clone, PartialEq)]
pub struct PressioOption {
    ty: OptionType,
    value: Option<Value>,
}

impl PressioOption {
    /// A slot holding `value`.
    pub fn new(value: Value) -> Self {
        PressioOption {
            ty: value.option_type(),
            value: Some(value),
        }
    }
    /// An unset slot of type `ty` (a typed placeholder).
    pub fn placeholder(ty: OptionType) -> Self {
        PressioOption { ty, value: None }
    }
    /// The declared type.
    pub fn option_type(&self) -> OptionType {
        self.ty
    }
    /// The value, if set.
    pub fn value(&self) -> Option<&Value> {
        self.value.as_ref()
    }
    /// True when a value is set.
    pub fn has_value(&self) -> bool {
        self.value.is_some()
    }
}

/// A map of option keys to typed slots, sorted by key (LibPressio's `pressio_options`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    map: BTreeMap<String, PressioOption>,
}

impl Options {
    /// An empty set of options.
    pub fn new() -> Self {
        Options::default()
    }

    /// Set `key` to `value` (replacing type and value).
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.map
            .insert(key.into(), PressioOption::new(value.into()));
    }

    /// Builder form of [`Options::set`].
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.set(key, value);
        self
    }

    /// Declare `key` with type `ty` and no value (keeps nothing of a previous value).
    pub fn set_type(&mut self, key: impl Into<String>, ty: OptionType) {
        self.map.insert(key.into(), PressioOption::placeholder(ty));
    }

    /// Set `key` to `Some(value)` or declare it unset with `T`'s type.
    pub fn set_or_placeholder<T: OptionValue>(&mut self, key: impl Into<String>, value: Option<T>) {
        match value {
            Some(v) => self.set(key, v.into_value()),
            None => self.set_type(key, T::TYPE),
        }
    }

    /// Insert a slot as is.
    pub fn insert_option(&mut self, key: impl Into<String>, opt: PressioOption) {
        self.map.insert(key.into(), opt);
    }

    /// Unset `key`, keeping its declared type.
    pub fn clear(&mut self, key: &str) {
        if let Some(o) = self.map.get_mut(key) {
            o.value = None;
        }
    }

    /// Remove `key` entirely.
    pub fn remove(&mut self, key: &str) -> Option<PressioOption> {
        self.map.remove(key)
    }

    /// Raw key status: set, exists (declared but unset) or does not exist.
    pub fn key_status(&self, key: &str) -> KeyStatus {
        match self.map.get(key) {
            Some(o) if o.has_value() => KeyStatus::Set,
            Some(_) => KeyStatus::Exists,
            None => KeyStatus::DoesNotExist,
        }
    }

    /// The slot for `key`.
    pub fn get_option(&self, key: &str) -> Option<&PressioOption> {
        self.map.get(key)
    }

    /// The value of `key`, if set.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.map.get(key).and_then(|o| o.value.as_ref())
    }

    /// LibPressio's exact-type get: `Set` with the value when the key is set with exactly type
    /// `T`; `Exists` when set with another type; `DoesNotExist` when absent or unset.
    pub fn get<T: OptionValue>(&self, key: &str) -> (KeyStatus, Option<T>) {
        match self.value(key) {
            Some(v) => match T::from_value(v) {
                Some(t) => (KeyStatus::Set, Some(t)),
                None => (KeyStatus::Exists, None),
            },
            None => (KeyStatus::DoesNotExist, None),
        }
    }

    /// Exact-type get that treats a value of another type as an error (what plugins use in
    /// `set_options`, so a wrongly typed key is reported instead of silently ignored).
    pub fn get_typed<T: OptionValue>(&self, key: &str) -> Result<Option<T>> {
        match self.get::<T>(key) {
            (KeyStatus::Set, v) => Ok(v),
            (KeyStatus::Exists, _) => Err(PressioError::WrongOptionType {
                key: key.to_string(),
                expected: T::TYPE.name().to_string(),
                found: self
                    .value(key)
                    .map(|v| v.option_type().name().to_string())
                    .unwrap_or_default(),
            }),
            (KeyStatus::DoesNotExist, _) => Ok(None),
        }
    }

    /// Get `key` converted to `T` under `safety` (`pressio_options_cast_*`).
    pub fn cast<T: OptionValue>(
        &self,
        key: &str,
        safety: ConversionSafety,
    ) -> (KeyStatus, Option<T>) {
        match self.value(key) {
            Some(v) => match v.convert(T::TYPE, safety).as_ref().and_then(T::from_value) {
                Some(t) => (KeyStatus::Set, Some(t)),
                None => (KeyStatus::Exists, None),
            },
            None => (KeyStatus::DoesNotExist, None),
        }
    }

    /// Set `key` from `value`, keeping the key's existing declared type
    /// (`pressio_options_cast_set`). Returns `Set` on success, `Exists` when the value cannot be
    /// converted, `DoesNotExist` when the key is not declared.
    pub fn cast_set(&mut self, key: &str, value: &Value, safety: ConversionSafety) -> KeyStatus {
        let Some(slot) = self.map.get_mut(key) else {
            return KeyStatus::DoesNotExist;
        };
        let target = if slot.ty == OptionType::Unset {
            value.option_type()
        } else {
            slot.ty
        };
        match value.convert(target, safety) {
            Some(v) => {
                slot.ty = target;
                slot.value = Some(v);
                KeyStatus::Set
            }
            None => KeyStatus::Exists,
        }
    }

    /// Parse `text` into the declared type of `key` (what command lines need); an error names the
    /// key and the expected type.
    pub fn cast_set_string(&mut self, key: &str, text: &str) -> Result<()> {
        match self.cast_set(
            key,
            &Value::Str(text.to_string()),
            ConversionSafety::Special,
        ) {
            KeyStatus::Set => Ok(()),
            KeyStatus::Exists => Err(PressioError::WrongOptionType {
                key: key.to_string(),
                expected: self.map[key].ty.name().to_string(),
                found: format!("`{text}`"),
            }),
            KeyStatus::DoesNotExist => Err(PressioError::UnknownOption(key.to_string())),
        }
    }

    /// Copy every entry of `other` into `self`; on a collision `self` keeps its value
    /// (`pressio_options_merge` keeps the lhs).
    pub fn merge(&mut self, other: &Options) {
        for (k, v) in &other.map {
            self.map.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }

    /// Copy every entry of `other` into `self`, `other` winning on collisions.
    pub fn extend_from(&mut self, other: &Options) {
        for (k, v) in &other.map {
            self.map.insert(k.clone(), v.clone());
        }
    }

    /// Iterate over `(key, slot)` in sorted key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &PressioOption)> {
        self.map.iter()
    }

    /// The keys in sorted order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.map.keys()
    }

    /// True when `key` is declared (set or not).
    pub fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// Number of keys, set or not (`pressio_options_size`).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when there is no key.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Number of keys holding a value (`pressio_options_num_set`).
    pub fn num_set(&self) -> usize {
        self.map.values().filter(|o| o.has_value()).count()
    }

    /// A string value, if `key` is set with type string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        match self.value(key) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for Options {
    /// One `key<type> = value` line per key, sorted, as the `pressio` CLI prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, o) in &self.map {
            match &o.value {
                Some(v) => writeln!(f, "{k}<{}> = {v}", o.ty.name())?,
                None => writeln!(f, "{k}<{}> = <empty>", o.ty.name())?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_type_get_semantics() {
        let mut o = Options::new();
        o.set("pressio:abs", 1e-3f64);
        o.set_type("pressio:rel", OptionType::F64);
        assert_eq!(o.get::<f64>("pressio:abs"), (KeyStatus::Set, Some(1e-3)));
        assert_eq!(o.get::<f32>("pressio:abs").0, KeyStatus::Exists);
        assert_eq!(o.get::<f64>("pressio:rel").0, KeyStatus::DoesNotExist);
        assert_eq!(o.key_status("pressio:rel"), KeyStatus::Exists);
        assert_eq!(o.key_status("nope"), KeyStatus::DoesNotExist);
        assert!(o.get_typed::<f32>("pressio:abs").is_err());
        assert_eq!(o.num_set(), 1);
        assert_eq!(o.len(), 2);
    }

    #[test]
    fn conversions() {
        let v = Value::I32(3);
        assert_eq!(
            v.convert(OptionType::F64, ConversionSafety::Implicit),
            Some(Value::F64(3.0))
        );
        assert_eq!(
            v.convert(OptionType::U8, ConversionSafety::Implicit),
            Some(Value::U8(3))
        );
        assert_eq!(
            Value::I32(-3).convert(OptionType::U8, ConversionSafety::Explicit),
            None
        );
        assert_eq!(
            Value::F64(2.5).convert(OptionType::I32, ConversionSafety::Explicit),
            None
        );
        assert_eq!(
            Value::F64(2.0).convert(OptionType::I32, ConversionSafety::Implicit),
            None
        );
        assert_eq!(
            Value::F64(0.1).convert(OptionType::F32, ConversionSafety::Implicit),
            None
        );
        assert_eq!(
            Value::from("1e-4").convert(OptionType::F64, ConversionSafety::Explicit),
            None
        );
        assert_eq!(
            Value::from("1e-4").convert(OptionType::F64, ConversionSafety::Special),
            Some(Value::F64(1e-4))
        );
        assert_eq!(
            Value::from("12").convert(OptionType::U32, ConversionSafety::Special),
            Some(Value::U32(12))
        );
        assert_eq!(
            Value::from("x").convert(OptionType::U32, ConversionSafety::Special),
            None
        );
        assert_eq!(
            Value::from("true").convert(OptionType::Bool, ConversionSafety::Special),
            Some(Value::Bool(true))
        );
    }

    #[test]
    fn cast_set_keeps_declared_type() {
        let mut o = Options::new();
        o.set_type("pressio:abs", OptionType::F64);
        o.cast_set_string("pressio:abs", "0.5").unwrap();
        assert_eq!(o.get::<f64>("pressio:abs").1, Some(0.5));
        assert!(o.cast_set_string("pressio:abs", "zz").is_err());
        assert!(matches!(
            o.cast_set_string("missing", "1"),
            Err(PressioError::UnknownOption(_))
        ));
        let text = o.to_string();
        assert_eq!(text, "pressio:abs<double> = 0.5\n");
    }
}
