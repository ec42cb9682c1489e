//! Test helpers shared by every pressio-ml test suite: locating the real fields of
//! `../shared/data`, loading them with LibPressio dims (fastest first), and measuring errors in
//! `f64`.
//!
//! File names encode the C-order shape (`ncep06_T_17x64x128.f32`: the last extent varies
//! fastest), so dims are the reversed shape (`[128, 64, 17]`).

pub mod foreign_libs;
pub mod fuzz;
pub mod isolate;
pub mod multifield;
pub mod plot;
pub mod plugin_suite;

use pressio_ml_core::{Data, Element};
use std::path::{Path, PathBuf};

/// One real field on disk.
#[derive(Debug, Clone)]
pub struct Field {
    /// File stem, e.g. `ncep06_T_17x64x128`.
    pub name: String,
    /// Folder inside the data directory, e.g. `geocat`.
    pub group: String,
    /// Full path of the file.
    pub path: PathBuf,
    /// Dims, fastest first.
    pub dims: Vec<usize>,
}

impl Field {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.dims.iter().product()
    }
    /// True when the field holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Read the field as a float buffer.
    pub fn load(&self) -> Data {
        let bytes = std::fs::read(&self.path).expect("readable data file");
        Data::from_bytes(pressio_ml_core::DType::Float, &self.dims, &bytes)
            .expect("file size matches the dims in its name")
    }
    /// The first `n` slowest-dimension slices (for big fields in quick tests).
    pub fn load_leading(&self, n: usize) -> Data {
        let mut dims = self.dims.clone();
        let last = dims.len() - 1;
        dims[last] = dims[last].min(n);
        let count: usize = dims.iter().product();
        let bytes = std::fs::read(&self.path).expect("readable data file");
        Data::from_bytes(pressio_ml_core::DType::Float, &dims, &bytes[..count * 4])
            .expect("prefix of the file")
    }
}

/// The shared data directory: `$PRESSIO_ML_DATA`, or `../shared/data` next to the workspace.
pub fn data_dir() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("PRESSIO_ML_DATA") {
        let p = PathBuf::from(p);
        return p.is_dir().then_some(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let p = root.join("../shared/data");
    p.is_dir().then(|| p.canonicalize().unwrap_or(p))
}

/// Parse `name_AxBxC` into dims fastest first.
pub fn dims_from_name(stem: &str) -> Option<Vec<usize>> {
    let shape = stem.rsplit('_').next()?;
    let c_order: Option<Vec<usize>> = shape.split('x').map(|s| s.parse().ok()).collect();
    let mut d = c_order?;
    d.reverse();
    Some(d)
}

/// Every `.f32` field of the shared data, sorted by path; empty (with a visible message on
/// stderr) when the folder is absent.
pub fn fields() -> Vec<Field> {
    let Some(dir) = data_dir() else {
        eprintln!("skipped: ../shared/data not found (set PRESSIO_ML_DATA to run on real fields)");
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut groups: Vec<_> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .collect();
    groups.sort_by_key(|e| e.path());
    for g in groups {
        let gp = g.path();
        if !gp.is_dir() {
            continue;
        }
        let mut files: Vec<_> = std::fs::read_dir(&gp)
            .into_iter()
            .flatten()
            .flatten()
            .collect();
        files.sort_by_key(|e| e.path());
        for f in files {
            let p = f.path();
            if p.extension().and_then(|e| e.to_str()) != Some("f32") {
                continue;
            }
            let stem = p
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            if let Some(dims) = dims_from_name(&stem) {
                out.push(Field {
                    name: stem,
                    group: gp
                        .file_name()
                        .and_then(|s| s.to_str())
                        .unwrap_or_default()
                        .into(),
                    path: p,
                    dims,
                });
            }
        }
    }
    out
}

/// Maximum `|a - b|` over positions where `a` is finite, computed in f64; positions where `a`
/// is not finite must hold bit-identical values in `b`, else the result is infinite.
pub fn max_abs_error<T: Element + PartialEq>(a: &[T], b: &[T]) -> f64 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    let mut worst = 0f64;
    for (x, y) in a.iter().zip(b) {
        let (fx, fy) = (x.to_f64(), y.to_f64());
        if fx.is_finite() {
            let d = (fx - fy).abs();
            if d.is_nan() {
                return f64::INFINITY;
            }
            worst = worst.max(d);
        } else if fx.to_bits() != fy.to_bits() && !(fx.is_nan() && fy.is_nan()) {
            return f64::INFINITY;
        }
    }
    worst
}

/// Value range (max - min) of the finite values, in f64.
pub fn value_range<T: Element>(a: &[T]) -> f64 {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in a {
        let f = v.to_f64();
        if f.is_finite() {
            lo = lo.min(f);
            hi = hi.max(f);
        }
    }
    if lo <= hi {
        hi - lo
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_give_fastest_first_dims() {
        assert_eq!(
            dims_from_name("ncep06_T_17x64x128"),
            Some(vec![128, 64, 17])
        );
        assert_eq!(dims_from_name("field999_999x999"), Some(vec![999, 999]));
        assert_eq!(dims_from_name("nodims"), None);
    }

    #[test]
    fn errors_in_f64() {
        assert_eq!(max_abs_error(&[1.0f32, f32::NAN], &[1.5, f32::NAN]), 0.5);
        assert_eq!(
            max_abs_error(&[1.0f32, f32::NAN], &[1.5, 0.0]),
            f64::INFINITY
        );
        assert_eq!(max_abs_error(&[1.0f32], &[f32::NAN]), f64::INFINITY);
        assert_eq!(value_range(&[1.0f64, -2.0, f64::INFINITY]), 3.0);
    }
}
