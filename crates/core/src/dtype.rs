//! LibPressio's dtype enum, with its exact numeric values.

use crate::error::{PressioError, Result};
use std::fmt;

/// Element type of a [`crate::Data`] buffer.
///
/// The discriminants are LibPressio's `enum pressio_dtype` values, in LibPressio's order.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// 64-bit IEEE float (`pressio_double_dtype = 0`).
    Double = 0,
    /// 32-bit IEEE float.
    Float = 1,
    /// Unsigned 8-bit integer.
    Uint8 = 2,
    /// Unsigned 16-bit integer.
    Uint16 = 3,
    /// Unsigned 32-bit integer.
    Uint32 = 4,
    /// Unsigned 64-bit integer.
    Uint64 = 5,
    /// Signed 8-bit integer.
    Int8 = 6,
    /// Signed 16-bit integer.
    Int16 = 7,
    /// Signed 32-bit integer.
    Int32 = 8,
    /// Signed 64-bit integer.
    Int64 = 9,
    /// Untyped bytes (compressed streams).
    Byte = 10,
    /// Booleans stored as one byte each.
    Bool = 11,
}

impl DType {
    /// Every dtype in LibPressio order.
    pub const ALL: [DType; 12] = [
        DType::Double,
        DType::Float,
        DType::Uint8,
        DType::Uint16,
        DType::Uint32,
        DType::Uint64,
        DType::Int8,
        DType::Int16,
        DType::Int32,
        DType::Int64,
        DType::Byte,
        DType::Bool,
    ];

    /// The float types, as the plugins that take only those list them.
    pub const FLOATS: [DType; 2] = [DType::Float, DType::Double];

    /// The float and integer types, as the plugins that take all of them list them.
    pub const NUMERIC: [DType; 10] = [
        DType::Float,
        DType::Double,
        DType::Int8,
        DType::Int16,
        DType::Int32,
        DType::Int64,
        DType::Uint8,
        DType::Uint16,
        DType::Uint32,
        DType::Uint64,
    ];

    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            DType::Double | DType::Uint64 | DType::Int64 => 8,
            DType::Float | DType::Uint32 | DType::Int32 => 4,
            DType::Uint16 | DType::Int16 => 2,
            DType::Uint8 | DType::Int8 | DType::Byte | DType::Bool => 1,
        }
    }

    /// True for `Double` and `Float`.
    pub fn is_floating(self) -> bool {
        matches!(self, DType::Double | DType::Float)
    }

    /// True for the eight integer types (`Bool` and `Byte` are not integers here).
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            DType::Int8
                | DType::Int16
                | DType::Int32
                | DType::Int64
                | DType::Uint8
                | DType::Uint16
                | DType::Uint32
                | DType::Uint64
        )
    }

    /// True for the dtypes a field compressor takes: floats and integers.
    pub fn is_field(self) -> bool {
        self.is_floating() || self.is_integer()
    }

    /// False only for `Byte`, as in LibPressio.
    pub fn is_numeric(self) -> bool {
        self != DType::Byte
    }

    /// True for signed integers and floats.
    pub fn is_signed(self) -> bool {
        matches!(
            self,
            DType::Double | DType::Float | DType::Int8 | DType::Int16 | DType::Int32 | DType::Int64
        )
    }

    /// The LibPressio CLI spelling (`float`, `double`, `int32`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::Double => "double",
            DType::Float => "float",
            DType::Uint8 => "uint8",
            DType::Uint16 => "uint16",
            DType::Uint32 => "uint32",
            DType::Uint64 => "uint64",
            DType::Int8 => "int8",
            DType::Int16 => "int16",
            DType::Int32 => "int32",
            DType::Int64 => "int64",
            DType::Byte => "byte",
            DType::Bool => "bool",
        }
    }

    /// Parse a CLI spelling (also accepts `f32`, `f64`, `char`).
    pub fn parse(s: &str) -> Result<DType> {
        let d = match s {
            "double" | "f64" => DType::Double,
            "float" | "f32" => DType::Float,
            "uint8" | "u8" => DType::Uint8,
            "uint16" | "u16" => DType::Uint16,
            "uint32" | "u32" => DType::Uint32,
            "uint64" | "u64" => DType::Uint64,
            "int8" | "i8" => DType::Int8,
            "int16" | "i16" => DType::Int16,
            "int32" | "i32" => DType::Int32,
            "int64" | "i64" => DType::Int64,
            "byte" | "char" => DType::Byte,
            "bool" => DType::Bool,
            other => {
                return Err(PressioError::InvalidArgument(format!(
                    "unknown dtype `{other}`"
                )))
            }
        };
        Ok(d)
    }

    /// The dtype with LibPressio value `v`, if any.
    pub fn from_i32(v: i32) -> Option<DType> {
        DType::ALL.get(usize::try_from(v).ok()?).copied()
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_libpressio() {
        assert_eq!(DType::Double as i32, 0);
        assert_eq!(DType::Float as i32, 1);
        assert_eq!(DType::Int64 as i32, 9);
        assert_eq!(DType::Byte as i32, 10);
        assert_eq!(DType::Bool as i32, 11);
        for d in DType::ALL {
            assert_eq!(DType::from_i32(d as i32), Some(d));
            assert_eq!(DType::parse(d.name()).unwrap(), d);
        }
        assert_eq!(DType::from_i32(12), None);
        assert_eq!(DType::from_i32(-1), None);
    }
}
