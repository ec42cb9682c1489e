//! Reading and writing raw files (LibPressio's "posix" io: headerless native-endian values).

use crate::error::{CliError, CliResult};
use pressio_ml::{DType, Data};
use std::path::Path;

/// Read a whole file, naming it in the error.
pub fn read_file(path: &Path) -> CliResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| CliError::file(path, e))
}

/// Write a whole file, naming it in the error.
pub fn write_file(path: &Path, bytes: &[u8]) -> CliResult<()> {
    std::fs::write(path, bytes).map_err(|e| CliError::file(path, e))
}

/// The dtype suggested by a file extension (`.f32`, `.f64`, `.float`, `.double`, `.i32`, ...).
pub fn dtype_from_extension(path: &Path) -> Option<DType> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "d64" => Some(DType::Double),
        "byte" | "char" | "bin" => None,
        e => DType::parse(e).ok().filter(|d| *d != DType::Byte),
    }
}

/// Dimensions encoded in a file name as `name_AxBxC.ext` (C order, slowest first, as in the
/// shared data sets), returned fastest-first as LibPressio wants them. At least two extents are
/// required so that a trailing number in an ordinary name is not taken for a shape.
pub fn dims_from_name(path: &Path) -> Option<Vec<usize>> {
    let stem = path.file_stem()?.to_str()?;
    let shape = stem.rsplit('_').next()?;
    let parts: Vec<&str> = shape.split('x').collect();
    if parts.len() < 2 {
        return None;
    }
    let mut dims = Vec::with_capacity(parts.len());
    for p in parts {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let d: usize = p.parse().ok()?;
        if d == 0 {
            return None;
        }
        dims.push(d);
    }
    dims.reverse();
    Some(dims)
}

/// `-d 128 -d 64 -d 17` spelled back for messages.
pub fn dims_flags(dims: &[usize]) -> String {
    dims.iter()
        .map(|d| format!("-d {d}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Read a raw array of `dtype` with `dims` (fastest first) from `path`.
///
/// Without a dtype, the extension decides; without dims, a `_AxBxC` name suffix that matches the
/// file size decides, else the file is read as 1-D. The file size must match the description
/// exactly.
pub fn read_raw(path: &Path, dtype: Option<DType>, dims: &[usize]) -> CliResult<Data> {
    let dtype = match dtype.or_else(|| dtype_from_extension(path)) {
        Some(d) => d,
        None => {
            return Err(CliError::input(format!(
                "{}: no -t given and the extension does not name a type; pass -t float, -t \
                 double, -t int32, ...",
                path.display()
            )))
        }
    };
    let bytes = read_file(path)?;
    if bytes.is_empty() {
        return Err(CliError::input(format!(
            "{}: the input file is empty",
            path.display()
        )));
    }
    let size = dtype.size();
    let dims: Vec<usize> = if !dims.is_empty() {
        dims.to_vec()
    } else {
        match dims_from_name(path) {
            Some(d)
                if d.iter().try_fold(size, |acc, &x| acc.checked_mul(x)) == Some(bytes.len()) =>
            {
                d
            }
            _ => {
                if bytes.len() % size != 0 {
                    return Err(CliError::input(format!(
                        "{}: {} bytes is not a whole number of {dtype} values ({size} bytes \
                         each); check -t",
                        path.display(),
                        bytes.len()
                    )));
                }
                vec![bytes.len() / size]
            }
        }
    };
    let expected = dims.iter().try_fold(size, |acc, &x| acc.checked_mul(x));
    if expected != Some(bytes.len()) {
        let described = match expected {
            Some(n) => format!("{n} bytes"),
            None => "more bytes than can be addressed".to_string(),
        };
        return Err(CliError::input(format!(
            "{}: the file has {} bytes, but -t {dtype} {} describes {described}",
            path.display(),
            bytes.len(),
            dims_flags(&dims)
        )));
    }
    Data::from_bytes(dtype, &dims, &bytes)
        .map_err(|e| CliError::step(format!("{}: cannot hold the input", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn name_dims_are_reversed() {
        let p = PathBuf::from("geocat/ncep06_T_17x64x128.f32");
        assert_eq!(dims_from_name(&p), Some(vec![128, 64, 17]));
        assert_eq!(dims_from_name(&PathBuf::from("run_2.f32")), None);
        assert_eq!(dims_from_name(&PathBuf::from("a_0x3.f32")), None);
        assert_eq!(dims_from_name(&PathBuf::from("plain.f32")), None);
        assert_eq!(dtype_from_extension(&p), Some(DType::Float));
        assert_eq!(
            dtype_from_extension(&PathBuf::from("x.f64")),
            Some(DType::Double)
        );
        assert_eq!(dtype_from_extension(&PathBuf::from("x.dat")), None);
    }
}
