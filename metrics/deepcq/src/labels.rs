//! Training labels: the shared fields cut into tiles, each compressed by the real compressors
//! through a registry at log-spaced bounds, with compression ratio, PSNR and SSIM from the
//! project's own `size`, `error_stat` and `ssim` metrics.
//!
//! # Tiles and split
//!
//! A field is seen through its normalized dims (extents of 1 dropped, fastest first). Two kinds
//! of tiles are cut:
//! * *volumes*: the two fastest axes whole (or in chunks of 256 when a plane alone exceeds the
//!   tile size), the third in chunks that bring the tile near `tile_values`, every slower axis
//!   one index at a time (2-D fields: chunks of the plane; 1-D fields: runs);
//! * *slices* (fields of 3 or more dims): single planes of the two fastest axes, the 2-D
//!   snapshots a user of time series compresses one at a time.
//!
//! The split follows the paper's: by field and by time. Whole fields in [`TEST_FIELDS`] are
//! test data; of every other field, tiles whose position along the slowest axis is at 75% or
//! beyond (the last members, years, hours, WRF timestep, ...) are test data, from 60% to 75%
//! validation, and the rest training. Tiles per field and split are capped, evenly spaced, so
//! that long series do not dominate.

use crate::targets::{PSNR_CAP, QUALITIES};
use pressio_ml_core::{keys, DType, Data, Options, PressioError, Registry, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Fields held out whole (never used in training or validation).
pub const TEST_FIELDS: &[&str] = &[
    "field999_999x999",
    "wmag91_91x91x91",
    "mpi_vas_12x96x192",
    "ncep06_V_17x64x128",
    "post_momentum_z_38x76x38",
    "W_4x15x48x48",
];

/// The default compressors labelled.
pub const DEFAULT_COMPRESSORS: &[&str] = &["sz3", "zfp", "sperr", "classic"];

/// Where a tile belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Training.
    Train,
    /// Validation (model selection).
    Validation,
    /// Held out: fields and timesteps never used in training.
    Test,
}

impl Split {
    /// `train`, `validation` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
        }
    }
}

/// A tile of a field file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tile {
    /// Field name (file stem).
    pub field: String,
    /// The file.
    pub path: PathBuf,
    /// The field's normalized dims, fastest first.
    pub field_dims: Vec<usize>,
    /// Origin in the normalized dims.
    pub origin: Vec<usize>,
    /// Extent in the normalized dims.
    pub extent: Vec<usize>,
    /// `volume` or `slice`.
    pub kind: String,
    /// Split.
    pub split: Split,
}

impl Tile {
    /// The tile's dims (its extents, fastest first).
    pub fn dims(&self) -> Vec<usize> {
        self.extent.clone()
    }

    /// A short description, `field[o0+e0, o1+e1, ...]`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .origin
            .iter()
            .zip(&self.extent)
            .map(|(o, e)| format!("{o}+{e}"))
            .collect();
        format!("{}[{}]", self.field, parts.join(","))
    }

    /// The tile's values out of the whole field's.
    pub fn extract(&self, values: &[f64]) -> Result<Vec<f64>> {
        extract(values, &self.field_dims, &self.origin, &self.extent)
    }
}

/// The box `origin + extent` of a field with `dims` (fastest first).
pub fn extract(
    values: &[f64],
    dims: &[usize],
    origin: &[usize],
    extent: &[usize],
) -> Result<Vec<f64>> {
    let n: usize = dims.iter().product();
    let fits = origin.len() == dims.len()
        && extent.len() == dims.len()
        && dims
            .iter()
            .zip(origin.iter().zip(extent))
            .all(|(d, (o, e))| *e > 0 && o + e <= *d);
    if n != values.len() || !fits {
        return Err(PressioError::InvalidDims(format!(
            "tile {origin:?}+{extent:?} does not fit a field of dims {dims:?}"
        )));
    }
    let mut strides = vec![1usize; dims.len()];
    for a in 1..dims.len() {
        strides[a] = strides[a - 1] * dims[a - 1];
    }
    let count: usize = extent.iter().product();
    let mut out = Vec::with_capacity(count);
    let mut idx = vec![0usize; dims.len()];
    for _ in 0..count / extent[0] {
        let base: usize = (0..dims.len())
            .map(|a| (origin[a] + idx[a]) * strides[a])
            .sum();
        out.extend_from_slice(&values[base..base + extent[0]]);
        for a in 1..dims.len() {
            idx[a] += 1;
            if idx[a] < extent[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    Ok(out)
}

fn chunks(d: usize, c: usize) -> Vec<(usize, usize)> {
    let n = d.div_ceil(c.clamp(1, d.max(1)));
    let size = d.div_ceil(n.max(1));
    (0..n)
        .map(|i| (i * size, size.min(d.saturating_sub(i * size))))
        .filter(|(_, l)| *l > 0)
        .collect()
}

fn split_of(field: &str, position: f64) -> Split {
    if TEST_FIELDS.contains(&field) || position >= 0.75 {
        Split::Test
    } else if position >= 0.6 {
        Split::Validation
    } else {
        Split::Train
    }
}

/// Caps on tiles per field, kind and split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TileCaps {
    /// Training tiles per field and kind.
    pub train: usize,
    /// Validation tiles per field and kind.
    pub validation: usize,
    /// Test tiles per field and kind.
    pub test: usize,
}

impl Default for TileCaps {
    fn default() -> Self {
        TileCaps {
            train: 12,
            validation: 3,
            test: 6,
        }
    }
}

/// Every tile of one field (`dims` fastest first) of about `tile_values` values, split and
/// capped.
pub fn tiles_of(
    field: &str,
    path: &Path,
    dims: &[usize],
    tile_values: usize,
    caps: TileCaps,
) -> Vec<Tile> {
    let norm: Vec<usize> = dims.iter().copied().filter(|&d| d > 1).collect();
    let nd = norm.len();
    if nd == 0 {
        return Vec::new();
    }
    let tv = tile_values.max(1024);
    let plane_chunk = |a: usize| -> usize {
        if nd >= 2 && norm[0] * norm[1] > tv {
            256.min(norm[a])
        } else {
            norm[a]
        }
    };
    let mut per_axis_volume: Vec<Vec<(usize, usize)>> = Vec::new();
    match nd {
        1 => per_axis_volume.push(chunks(norm[0], tv)),
        _ => {
            let (c0, c1) = (plane_chunk(0), plane_chunk(1));
            per_axis_volume.push(chunks(norm[0], c0));
            per_axis_volume.push(chunks(norm[1], c1));
            if nd >= 3 {
                // at least 8 planes, so that SSIM's 7-point windows fit along the third axis
                per_axis_volume.push(chunks(norm[2], (tv / (c0 * c1)).max(8)));
            }
            for &d in &norm[3.min(nd)..] {
                per_axis_volume.push(chunks(d, 1));
            }
        }
    }
    let mut kinds = vec![("volume", per_axis_volume.clone())];
    if nd >= 3 {
        let mut s = per_axis_volume.clone();
        for (a, axis) in s.iter_mut().enumerate().skip(2) {
            *axis = chunks(norm[a], 1);
        }
        kinds.push(("slice", s));
    }
    let mut out = Vec::new();
    for (kind, axes) in kinds {
        let total: usize = axes.iter().map(Vec::len).product();
        let mut all = Vec::with_capacity(total);
        let mut idx = vec![0usize; nd];
        for _ in 0..total {
            let origin: Vec<usize> = (0..nd).map(|a| axes[a][idx[a]].0).collect();
            let extent: Vec<usize> = (0..nd).map(|a| axes[a][idx[a]].1).collect();
            let slow = nd - 1;
            let position = origin[slow] as f64 / norm[slow] as f64;
            all.push(Tile {
                field: field.to_string(),
                path: path.to_path_buf(),
                field_dims: norm.clone(),
                origin,
                extent,
                kind: kind.to_string(),
                split: split_of(field, position),
            });
            for a in 0..nd {
                idx[a] += 1;
                if idx[a] < axes[a].len() {
                    break;
                }
                idx[a] = 0;
            }
        }
        for split in [Split::Train, Split::Validation, Split::Test] {
            let cap = match split {
                Split::Train => caps.train,
                Split::Validation => caps.validation,
                Split::Test => caps.test,
            };
            let of: Vec<&Tile> = all.iter().filter(|t| t.split == split).collect();
            out.extend(evenly(&of, cap).into_iter().cloned());
        }
    }
    out
}

fn evenly<T: Copy>(items: &[T], cap: usize) -> Vec<T> {
    if items.len() <= cap {
        return items.to_vec();
    }
    (0..cap).map(|i| items[i * items.len() / cap]).collect()
}

/// `n` log-spaced bounds from `lo` to `hi` (both included).
pub fn log_bounds(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if n <= 1 {
        return vec![lo];
    }
    let (a, b) = (lo.log10(), hi.log10());
    (0..n)
        .map(|i| 10f64.powf(a + (b - a) * i as f64 / (n - 1) as f64))
        .collect()
}

/// Compression ratio, PSNR and SSIM of `compressor` on `data` at relative bound `rel`,
/// measured by the `size`, `error_stat` and `ssim` metrics of `registry`.
pub fn measure(registry: &Registry, compressor: &str, data: &Data, rel: f64) -> Result<[f64; 3]> {
    let mut c = registry.compressor(compressor)?;
    let metrics = registry.metrics(&["size", "error_stat", "ssim"])?;
    c.set_metrics(&metrics);
    let template = c.get_options();
    let mut o = Options::new();
    if template.contains(keys::NTHREADS) {
        o.set(keys::NTHREADS, 1u32);
    }
    o.set(keys::REL, rel);
    c.set_options(&o)?;
    let mut stream = Data::empty(DType::Byte, &[]);
    c.compress(data, &mut stream)?;
    let mut out = Data::empty(data.dtype(), data.dims());
    c.decompress(&stream, &mut out)?;
    let r = c.get_metrics_results();
    let mut v = [f64::NAN; 3];
    for (slot, q) in v.iter_mut().zip(QUALITIES) {
        *slot = r.get_typed::<f64>(q.key())?.unwrap_or(f64::NAN);
    }
    // an exact reconstruction: the PSNR label is the cap
    if v[1] == f64::INFINITY {
        v[1] = PSNR_CAP;
    }
    Ok(v)
}

/// The labels of one tile: per compressor and bound, `[ratio, psnr, ssim]` or `None` when the
/// compression failed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Labeled {
    /// The tile.
    pub tile: Tile,
    /// `measured[compressor][bound]` (a metric without a value, such as the SSIM of a field
    /// too thin for its windows, is NaN; JSON stores it as null).
    #[serde(deserialize_with = "nan_from_null")]
    pub measured: Measured,
    /// Seconds spent computing them.
    pub seconds: f64,
}

/// Labels of one tile: `[compressor][bound]`, `[ratio, psnr, ssim]` or `None` when the
/// compression failed.
pub type Measured = Vec<Vec<Option<[f64; 3]>>>;

/// Read labels whose NaN values JSON stored as null.
fn nan_from_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Measured, D::Error> {
    let raw: Vec<Vec<Option<[Option<f64>; 3]>>> = Deserialize::deserialize(d)?;
    Ok(raw
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|m| m.map(|t| t.map(|v| v.unwrap_or(f64::NAN))))
                .collect()
        })
        .collect())
}

/// A set of labelled tiles.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabelSet {
    /// Compressor ids, in `measured` order.
    pub compressors: Vec<String>,
    /// Relative bounds, in `measured` order.
    pub bounds: Vec<f64>,
    /// Labelled tiles.
    pub tiles: Vec<Labeled>,
}

/// Read a field file as `float` values widened to `f64`, and its dims.
pub fn read_field(path: &Path) -> Result<(Vec<f64>, Vec<usize>)> {
    pressio_ml_nn::fields::read_f32_field(path).map_err(PressioError::InvalidInput)
}

/// The tile's values as a `float` buffer with the tile's dims.
pub fn tile_data(tile: &Tile, field_values: &[f64]) -> Result<Data> {
    let v: Vec<f32> = tile
        .extract(field_values)?
        .iter()
        .map(|&x| x as f32)
        .collect();
    Data::from_vec(v, &tile.dims())
}

/// Label `tiles` with every compressor at every bound, in parallel over tiles, showing
/// progress when `progress` is set. Tiles of one file are read once.
pub fn label_tiles(
    registry: &Registry,
    tiles: &[Tile],
    compressors: &[String],
    bounds: &[f64],
    progress: bool,
) -> Result<LabelSet> {
    let pb = pressio_ml_nn::progress::bar(tiles.len(), progress, "tiles labelled");
    let mut files: Vec<&Path> = tiles.iter().map(|t| t.path.as_path()).collect();
    files.sort();
    files.dedup();
    let mut out = Vec::with_capacity(tiles.len());
    for f in files {
        let (values, _) = read_field(f)?;
        let mine: Vec<&Tile> = tiles.iter().filter(|t| t.path == f).collect();
        let labeled: Vec<Result<Labeled>> = mine
            .par_iter()
            .map(|t| {
                let started = Instant::now();
                let data = tile_data(t, &values)?;
                let measured = compressors
                    .iter()
                    .map(|c| {
                        bounds
                            .iter()
                            .map(|&b| measure(registry, c, &data, b).ok())
                            .collect()
                    })
                    .collect();
                pb.inc(1);
                pb.set_message(t.field.clone());
                Ok(Labeled {
                    tile: (*t).clone(),
                    measured,
                    seconds: started.elapsed().as_secs_f64(),
                })
            })
            .collect();
        for l in labeled {
            out.push(l?);
        }
    }
    pb.finish_and_clear();
    Ok(LabelSet {
        compressors: compressors.to_vec(),
        bounds: bounds.to_vec(),
        tiles: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extract_boxes() {
        let dims = [4usize, 3, 2];
        let v: Vec<f64> = (0..24).map(f64::from).collect();
        let b = extract(&v, &dims, &[1, 1, 1], &[2, 2, 1]).unwrap();
        assert_eq!(b, vec![17.0, 18.0, 21.0, 22.0]);
        assert!(extract(&v, &dims, &[3, 0, 0], &[2, 1, 1]).is_err());
    }

    #[test]
    fn tiles_cover_split_and_cap() {
        let p = Path::new("x.f32");
        let t = tiles_of(
            "cesm_trefht_ens_8x110x64x128",
            p,
            &[128, 64, 110, 8],
            65536,
            TileCaps::default(),
        );
        let vol: Vec<&Tile> = t.iter().filter(|t| t.kind == "volume").collect();
        assert!(vol
            .iter()
            .all(|t| t.extent[..2] == [128, 64] && t.extent[3] == 1));
        // members 6 and 7 are test data, member 5 validation
        assert!(t
            .iter()
            .all(|t| (t.split == Split::Test) == (t.origin[3] >= 6)));
        assert!(t
            .iter()
            .all(|t| (t.split == Split::Validation) == (t.origin[3] == 5)));
        assert_eq!(vol.iter().filter(|t| t.split == Split::Train).count(), 12);
        let s: Vec<&Tile> = t.iter().filter(|t| t.kind == "slice").collect();
        assert!(s.iter().all(|t| t.extent[2] == 1));
        let w = tiles_of(
            "W_4x15x48x48",
            p,
            &[48, 48, 15, 4],
            65536,
            TileCaps::default(),
        );
        assert!(w.iter().all(|t| t.split == Split::Test));
        let f = tiles_of("f_999x999", p, &[999, 999], 65536, TileCaps::default());
        assert!(f.iter().all(|t| t.extent.iter().all(|&e| e <= 256)));
        assert_eq!(log_bounds(1e-5, 1e-1, 5).len(), 5);
        assert!((log_bounds(1e-5, 1e-1, 5)[2] - 1e-3).abs() < 1e-15);
    }
}
