//! Training fields on disk: raw little-endian `float` files whose names end in their C-order
//! shape (`name_AxBxC.f32`, the last extent fastest), as in `../shared/data`. Every trainer
//! finds, names and reads its fields through these helpers.

use std::path::{Path, PathBuf};

/// Dims (fastest first, LibPressio order) from a file stem ending in its C-order shape,
/// `name_AxBxC`.
pub fn dims_of(path: &Path) -> Option<Vec<usize>> {
    let stem = path.file_stem()?.to_str()?;
    let shape = stem.rsplit('_').next()?;
    let mut d: Vec<usize> = shape
        .split('x')
        .map(|s| s.parse().ok())
        .collect::<Option<_>>()?;
    if d.is_empty() || d.contains(&0) {
        return None;
    }
    d.reverse();
    Some(d)
}

/// The file stem of `p` (the field's name), or an empty string.
pub fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Every `.f32` directly under `dir` or one of its subfolders, sorted.
pub fn data_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let list = |d: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect()
    };
    for p in list(dir) {
        if p.is_dir() {
            out.extend(
                list(&p)
                    .into_iter()
                    .filter(|f| f.extension().is_some_and(|e| e == "f32")),
            );
        } else if p.extension().is_some_and(|e| e == "f32") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The default data folder: `$PRESSIO_ML_DATA`, else `../shared/data` (relative to the working
/// directory).
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("PRESSIO_ML_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data"))
}

/// Read a raw `float` field named after its shape: values as `f64` and dims fastest first.
/// Errors name the file (unreadable, no shape in the name, or a size that does not match it).
pub fn read_f32_field(path: &Path) -> Result<(Vec<f64>, Vec<usize>), String> {
    let dims = dims_of(path)
        .ok_or_else(|| format!("{}: the name does not end in a shape AxBxC", path.display()))?;
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let n: usize = dims.iter().product();
    if bytes.len() != 4 * n {
        return Err(format!(
            "{}: {} bytes, the shape {dims:?} needs {}",
            path.display(),
            bytes.len(),
            4 * n
        ));
    }
    let v = bytes
        .chunks_exact(4)
        .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect();
    Ok((v, dims))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_from_names() {
        assert_eq!(
            dims_of(Path::new("a/ncep06_T_17x64x128.f32")),
            Some(vec![128, 64, 17])
        );
        assert_eq!(dims_of(Path::new("x_0x4.f32")), None);
        assert_eq!(dims_of(Path::new("plain.f32")), None);
        assert_eq!(stem(Path::new("d/f_2x3.f32")), "f_2x3");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t_2x3.f32");
        std::fs::write(&p, [0u8; 20]).unwrap();
        assert!(read_f32_field(&p).unwrap_err().contains("needs 24"));
        std::fs::write(&p, [0u8; 24]).unwrap();
        let (v, d) = read_f32_field(&p).unwrap();
        assert_eq!((v.len(), d), (6, vec![3, 2]));
        assert_eq!(data_files(dir.path()), vec![p]);
    }
}
