//! The multi-field data sets of `../shared/data`: a target field and its "anchor" fields on one
//! grid, as the `cfnn` compressor (cross-field prediction) uses them. Tests, the benchmark and
//! the training of the shipped models all take their sets from here, so that they agree on the
//! fields, their order, the grid and the train / test split.
//!
//! Every set splits along its slowest dim (time steps, pressure levels, months or grid planes):
//! the first [`MultiField::split`] slices are for training, the remaining ones are held out for
//! testing.
//!
//! | set | target | anchors | dims (fastest first) | train slices |
//! |---|---|---|---|---|
//! | `wrf` | W | U, V, P | 48, 48, 14, 4 | time steps 0-2 |
//! | `ncep` | T | Z3, U, V | 128, 64, 17 | levels 0-12 |
//! | `cam` | T | U, V | 128, 64, 14 | levels 0-9 |
//! | `mpi` | tas | uas, vas | 192, 96, 12 | months 0-8 |
//! | `rect3d` | t | rhumidity | 192, 96, 17 | levels 0-12 |
//! | `bluntfin` | energy | density, momentum_x, momentum_y, momentum_z | 40, 32, 32 | planes 0-23 |
//! | `comb` | density | momentum_x, momentum_y, momentum_z | 57, 33, 25 | planes 0-18 |
//! | `post` | energy | momentum_x, momentum_y, momentum_z | 38, 76, 38 | planes 0-28 |
//!
//! WRF (Hurricane Katrina, the paper's Hurricane Wf case) stores its winds on a staggered
//! (Arakawa C) grid; the `wrf` set moves them to the 48x48x14 mass grid of P by averaging the
//! two neighbours along the staggered axis: W (15 levels) levels k and k+1, U (49 points in x)
//! points i and i+1, V (49 points in y) points j and j+1.

use std::ops::Range;
use std::path::Path;

/// Names of every set, in the order [`sets`] returns them.
pub const SET_NAMES: [&str; 8] = [
    "wrf", "ncep", "cam", "mpi", "rect3d", "bluntfin", "comb", "post",
];

/// A target field and its anchor fields on one grid, split along the slowest dim into training
/// and test slices.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiField {
    /// Set name, e.g. `wrf`.
    pub name: &'static str,
    /// Name of the target field, e.g. `W`.
    pub target_name: &'static str,
    /// Names of the anchor fields, in the order of [`MultiField::anchors`].
    pub anchor_names: Vec<&'static str>,
    /// Target values, C order (`dims[0]` fastest).
    pub target: Vec<f32>,
    /// Anchor values, each with as many values as the target, same layout.
    pub anchors: Vec<Vec<f32>>,
    /// LibPressio dims, fastest first; the last (slowest) dim indexes slices.
    pub dims: Vec<usize>,
    /// Number of slowest-dim slices used for training (the first ones); the rest are the
    /// held-out test slices.
    pub split: usize,
}

impl MultiField {
    /// Values per field (the product of the dims).
    pub fn len(&self) -> usize {
        self.target.len()
    }

    /// True when the fields hold no value.
    pub fn is_empty(&self) -> bool {
        self.target.is_empty()
    }

    /// Number of slowest-dim slices.
    pub fn slices(&self) -> usize {
        self.dims.last().copied().unwrap_or(0)
    }

    /// Values per slowest-dim slice (the product of every dim but the last).
    pub fn slice_len(&self) -> usize {
        self.dims[..self.dims.len().saturating_sub(1)]
            .iter()
            .product()
    }

    /// Slices `range` of the slowest dim as a new set with the same names. A slice keeps its
    /// role: the new `split` counts the training slices inside `range`.
    ///
    /// # Panics
    /// When `range` is not within `0..self.slices()`.
    pub fn slices_part(&self, range: Range<usize>) -> MultiField {
        assert!(
            range.start <= range.end && range.end <= self.slices(),
            "slices {range:?} of a set with {} slices",
            self.slices()
        );
        let s = self.slice_len();
        let cut = |v: &[f32]| v[range.start * s..range.end * s].to_vec();
        let mut dims = self.dims.clone();
        if let Some(last) = dims.last_mut() {
            *last = range.len();
        }
        MultiField {
            name: self.name,
            target_name: self.target_name,
            anchor_names: self.anchor_names.clone(),
            target: cut(&self.target),
            anchors: self.anchors.iter().map(|a| cut(a)).collect(),
            dims,
            split: self.split.clamp(range.start, range.end) - range.start,
        }
    }

    /// The training slices `0..split` (its own `split` covers all of them).
    pub fn train_part(&self) -> MultiField {
        self.slices_part(0..self.split.min(self.slices()))
    }

    /// The held-out test slices `split..` (its own `split` is 0).
    pub fn test_part(&self) -> MultiField {
        self.slices_part(self.split.min(self.slices())..self.slices())
    }

    /// The first `n` slowest slices (all of them when `n` is larger), for quick tests; `split`
    /// becomes `min(split, n)` (slices keep their roles).
    pub fn leading(&self, n: usize) -> MultiField {
        self.slices_part(0..n.min(self.slices()))
    }
}

/// Every set whose files exist in `dir` (the shared data directory, e.g. [`crate::data_dir`]),
/// in the order of [`SET_NAMES`].
pub fn sets(dir: &Path) -> Vec<MultiField> {
    SET_NAMES.iter().filter_map(|n| set(dir, n)).collect()
}

/// The set `name` (one of [`SET_NAMES`]) read from `dir`; `None` for an unknown name or when
/// one of its files is missing or has the wrong size.
pub fn set(dir: &Path, name: &str) -> Option<MultiField> {
    match name {
        "wrf" => wrf(dir),
        "ncep" => same_grid(
            dir,
            "ncep",
            "geocat/ncep06_{}_17x64x128.f32",
            ("T", &["Z3", "U", "V"]),
            &[128, 64, 17],
            13,
        ),
        "cam" => same_grid(
            dir,
            "cam",
            "geocat/cam_uvt_{}_14x64x128.f32",
            ("T", &["U", "V"]),
            &[128, 64, 14],
            10,
        ),
        "mpi" => same_grid(
            dir,
            "mpi",
            "geocat/mpi_{}_12x96x192.f32",
            ("tas", &["uas", "vas"]),
            &[192, 96, 12],
            9,
        ),
        "rect3d" => same_grid(
            dir,
            "rect3d",
            "geocat/rect3d_{}_17x96x192.f32",
            ("t", &["rhumidity"]),
            &[192, 96, 17],
            13,
        ),
        "bluntfin" => same_grid(
            dir,
            "bluntfin",
            "vtk_data/bluntfin_{}_32x32x40.f32",
            (
                "energy",
                &["density", "momentum_x", "momentum_y", "momentum_z"],
            ),
            &[40, 32, 32],
            24,
        ),
        "comb" => same_grid(
            dir,
            "comb",
            "vtk_data/comb_{}_25x33x57.f32",
            ("density", &["momentum_x", "momentum_y", "momentum_z"]),
            &[57, 33, 25],
            19,
        ),
        "post" => same_grid(
            dir,
            "post",
            "vtk_data/post_{}_38x76x38.f32",
            ("energy", &["momentum_x", "momentum_y", "momentum_z"]),
            &[38, 76, 38],
            29,
        ),
        _ => None,
    }
}

/// Write `values` as a headerless little-endian f32 file (the shared data's format).
pub fn write_raw(path: &Path, values: &[f32]) -> std::io::Result<()> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes)
}

/// Read a headerless little-endian f32 file of exactly `len` values.
fn read_raw(path: &Path, len: usize) -> Option<Vec<f32>> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.len() != len * 4 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

/// A set whose fields already share one grid: `pattern` with `{}` replaced by each field's name.
fn same_grid(
    dir: &Path,
    name: &'static str,
    pattern: &str,
    (target_name, anchor_names): (&'static str, &[&'static str]),
    dims: &[usize],
    split: usize,
) -> Option<MultiField> {
    let len = dims.iter().product();
    let load = |field: &str| read_raw(&dir.join(pattern.replace("{}", field)), len);
    Some(MultiField {
        name,
        target_name,
        anchor_names: anchor_names.to_vec(),
        target: load(target_name)?,
        anchors: anchor_names
            .iter()
            .map(|a| load(a))
            .collect::<Option<_>>()?,
        dims: dims.to_vec(),
        split,
    })
}

/// Average neighbours along a staggered axis: `v` has C-order shape `[outer, n + 1, inner]`,
/// the result `[outer, n, inner]` with `out[o, k, i] = 0.5 * (v[o, k, i] + v[o, k + 1, i])`.
fn destagger(v: &[f32], outer: usize, n: usize, inner: usize) -> Vec<f32> {
    debug_assert_eq!(v.len(), outer * (n + 1) * inner);
    let mut out = Vec::with_capacity(outer * n * inner);
    for o in 0..outer {
        for k in 0..n {
            let row = (o * (n + 1) + k) * inner;
            out.extend((0..inner).map(|i| 0.5 * (v[row + i] + v[row + inner + i])));
        }
    }
    out
}

/// WRF Katrina: W from U, V and P on the mass grid (x 48, y 48, 14 levels, 4 time steps).
fn wrf(dir: &Path) -> Option<MultiField> {
    let (t, z, y, x) = (4usize, 14usize, 48usize, 48usize);
    let load = |file: &str, len: usize| read_raw(&dir.join("wrf_python").join(file), len);
    let w = load("W_4x15x48x48.f32", t * (z + 1) * y * x)?;
    let u = load("U_4x14x48x49.f32", t * z * y * (x + 1))?;
    let v = load("V_4x14x49x48.f32", t * z * (y + 1) * x)?;
    let p = load("P_4x14x48x48.f32", t * z * y * x)?;
    Some(MultiField {
        name: "wrf",
        target_name: "W",
        anchor_names: vec!["U", "V", "P"],
        target: destagger(&w, t, z, y * x),
        anchors: vec![
            destagger(&u, t * z * y, x, 1),
            destagger(&v, t * z, y, x),
            p,
        ],
        dims: vec![x, y, z, t],
        split: 3,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Option<std::path::PathBuf> {
        let d = crate::data_dir();
        if d.is_none() {
            eprintln!("skipped: ../shared/data not found (set PRESSIO_ML_DATA)");
        }
        d
    }

    fn toy() -> MultiField {
        let dims = vec![3, 2, 5];
        let n: usize = dims.iter().product();
        MultiField {
            name: "toy",
            target_name: "a",
            anchor_names: vec!["b", "c"],
            target: (0..n).map(|i| i as f32).collect(),
            anchors: vec![
                (0..n).map(|i| -(i as f32)).collect(),
                (0..n).map(|i| 2.0 * i as f32).collect(),
            ],
            dims,
            split: 3,
        }
    }

    fn assert_partition(f: &MultiField) {
        let (tr, te) = (f.train_part(), f.test_part());
        assert_eq!(tr.slices(), f.split, "{}", f.name);
        assert_eq!(tr.split, tr.slices());
        assert_eq!(te.slices(), f.slices() - f.split);
        assert_eq!(te.split, 0);
        assert_eq!(tr.len() + te.len(), f.len());
        for p in [&tr, &te] {
            assert_eq!(p.dims[..p.dims.len() - 1], f.dims[..f.dims.len() - 1]);
            assert_eq!(p.dims.iter().product::<usize>(), p.len());
            assert_eq!(p.anchors.len(), f.anchors.len());
            assert!(p.anchors.iter().all(|a| a.len() == p.len()));
        }
        assert_eq!([tr.target.clone(), te.target.clone()].concat(), f.target);
        for (k, a) in f.anchors.iter().enumerate() {
            assert_eq!(&[tr.anchors[k].clone(), te.anchors[k].clone()].concat(), a);
        }
    }

    #[test]
    fn parts_partition_a_toy_set() {
        let f = toy();
        assert_eq!(f.slice_len(), 6);
        assert_partition(&f);
        assert_eq!(f.test_part().target[0], 18.0);
        let l = f.leading(2);
        assert_eq!((l.dims.clone(), l.split, l.len()), (vec![3, 2, 2], 2, 12));
        assert_eq!(f.leading(4).split, 3);
        assert_eq!(f.leading(99), f);
        assert_eq!(f.slices_part(2..4).split, 1);
    }

    #[test]
    fn destagger_averages_neighbours() {
        // shape [2, 3, 2] -> [2, 2, 2] along the middle axis
        let v: Vec<f32> = (0..12).map(|i| (i * i) as f32).collect();
        let d = destagger(&v, 2, 2, 2);
        assert_eq!(d.len(), 8);
        assert_eq!(d[0], 0.5 * (0.0 + 4.0)); // (0,0,0): v[0] and v[2]
        assert_eq!(d[7], 0.5 * (81.0 + 121.0)); // (1,1,1): v[9] and v[11]
    }

    #[test]
    fn every_set_has_consistent_dims_and_names() {
        let Some(dir) = data() else { return };
        let all = sets(&dir);
        let names: Vec<&str> = all.iter().map(|f| f.name).collect();
        assert_eq!(names, SET_NAMES, "every set's files are in the shared data");
        for f in &all {
            assert_eq!(f.dims.iter().product::<usize>(), f.len(), "{}", f.name);
            assert_eq!(f.anchors.len(), f.anchor_names.len(), "{}", f.name);
            assert!(!f.anchors.is_empty(), "{}", f.name);
            assert!(f.anchors.iter().all(|a| a.len() == f.len()), "{}", f.name);
            assert!(0 < f.split && f.split < f.slices(), "{}", f.name);
            assert_eq!(f.slice_len() * f.slices(), f.len(), "{}", f.name);
            assert!(
                f.target
                    .iter()
                    .chain(f.anchors.iter().flatten())
                    .all(|v| v.is_finite()),
                "{}",
                f.name
            );
            assert_eq!(set(&dir, f.name).as_ref(), Some(f));
        }
        assert!(set(&dir, "nope").is_none());
        let wrf = &all[0];
        assert_eq!((wrf.dims.clone(), wrf.split), (vec![48, 48, 14, 4], 3));
    }

    #[test]
    fn train_and_test_parts_partition_every_set() {
        let Some(dir) = data() else { return };
        for f in sets(&dir) {
            assert_partition(&f);
            let l = f.leading(2);
            assert_eq!(l.len(), 2 * f.slice_len());
            assert_eq!(l.target[..], f.target[..2 * f.slice_len()]);
        }
    }

    #[test]
    fn wrf_winds_are_averaged_to_the_mass_grid() {
        let Some(dir) = data() else { return };
        let Some(f) = set(&dir, "wrf") else {
            eprintln!("skipped: wrf_python is incomplete");
            return;
        };
        let raw = |file: &str| {
            let b = std::fs::read(dir.join("wrf_python").join(file)).unwrap();
            move |i: usize| f32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
        };
        let (w, u, v, p) = (
            raw("W_4x15x48x48.f32"),
            raw("U_4x14x48x49.f32"),
            raw("V_4x14x49x48.f32"),
            raw("P_4x14x48x48.f32"),
        );
        // time 2, level 5, y (south_north) 10, x (west_east) 20
        let (t, k, j, i) = (2usize, 5usize, 10usize, 20usize);
        let at = ((t * 14 + k) * 48 + j) * 48 + i;
        // W: [4, 15, 48, 48], levels k and k+1
        let w0 = w(((t * 15 + k) * 48 + j) * 48 + i);
        let w1 = w(((t * 15 + k + 1) * 48 + j) * 48 + i);
        assert_eq!(f.target[at], 0.5 * (w0 + w1));
        // U: [4, 14, 48, 49], x points i and i+1
        let u0 = u(((t * 14 + k) * 48 + j) * 49 + i);
        assert_eq!(
            f.anchors[0][at],
            0.5 * (u0 + u(((t * 14 + k) * 48 + j) * 49 + i + 1))
        );
        // V: [4, 14, 49, 48], y points j and j+1
        let v0 = v(((t * 14 + k) * 49 + j) * 48 + i);
        assert_eq!(
            f.anchors[1][at],
            0.5 * (v0 + v(((t * 14 + k) * 49 + j + 1) * 48 + i))
        );
        // P is on the mass grid already
        assert_eq!(f.anchors[2][at], p(at));
        assert_ne!(
            f.target[at], w0,
            "the check must see an average, not a copy"
        );
    }
}
