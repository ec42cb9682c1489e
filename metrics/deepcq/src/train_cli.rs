//! `pressio-ml train deepcq`: cut the shared fields into tiles, label them with the real
//! compressors (cached), train, and write the model with its manifest.
//!
//! ```text
//! pressio-ml train deepcq --name deepcq-general --out models     # the shipped model
//! pressio-ml train deepcq --labels-only                           # just (re)build the labels
//! ```

use crate::blocks::BlockConfig;
use crate::labels::{label_tiles, log_bounds, tiles_of, LabelSet, Split, Tile, TileCaps};
use crate::net::NetConfig;
use crate::targets::heads_for;
use crate::train::{samples, train, write, TrainOptions};
use pressio_ml_core::Registry;
use pressio_ml_nn::fields::{data_files, default_data_dir, dims_of, stem};
use pressio_ml_nn::DeviceSpec;
use std::path::{Path, PathBuf};

/// Arguments of `pressio-ml train deepcq`.
#[derive(clap::Args, Debug, Clone)]
pub struct TrainArgs {
    /// Folder of training fields (raw float files named `..._AxBxC.f32`, in it or one level of
    /// subfolders); default $PRESSIO_ML_DATA or ../shared/data.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Only these field stems (repeat); default: every field.
    #[arg(long = "field")]
    pub fields: Vec<String>,
    /// Compressors labelled and given heads.
    #[arg(long = "compressor", default_values_t = crate::labels::DEFAULT_COMPRESSORS.iter().map(|s| s.to_string()).collect::<Vec<_>>())]
    pub compressors: Vec<String>,
    /// Lowest relative bound.
    #[arg(long, default_value_t = 1e-5)]
    pub bound_lo: f64,
    /// Highest relative bound.
    #[arg(long, default_value_t = 1e-1)]
    pub bound_hi: f64,
    /// Log-spaced bounds per tile.
    #[arg(long, default_value_t = 20)]
    pub bounds: usize,
    /// Values per volume tile (about).
    #[arg(long, default_value_t = 65536)]
    pub tile_values: usize,
    /// Training tiles per field and kind.
    #[arg(long, default_value_t = 12)]
    pub train_tiles: usize,
    /// Validation tiles per field and kind.
    #[arg(long, default_value_t = 3)]
    pub validation_tiles: usize,
    /// Test tiles per field and kind.
    #[arg(long, default_value_t = 6)]
    pub test_tiles: usize,
    /// Folder of the label cache (labels are reused when tiles, compressors and bounds match).
    #[arg(long, default_value = "target/deepcq-labels")]
    pub cache: PathBuf,
    /// Stop after labelling.
    #[arg(long)]
    pub labels_only: bool,
    /// Stage-1 (backbone) steps.
    #[arg(long, default_value_t = 1500)]
    pub backbone_steps: usize,
    /// Stage-2 (heads) epochs.
    #[arg(long, default_value_t = 150)]
    pub head_epochs: usize,
    /// Samples per backbone step.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f64,
    /// Seed.
    #[arg(long, default_value_t = 11)]
    pub seed: u64,
    /// Channels of the full-resolution stage (the half-resolution stage has twice as many).
    #[arg(long, default_value_t = 8)]
    pub channels: i64,
    /// Model name.
    #[arg(long, default_value = crate::model::DEFAULT_MODEL)]
    pub name: String,
    /// Output directory.
    #[arg(long, default_value = "models")]
    pub out: PathBuf,
    /// Where to train: auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// libtorch threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
}

/// The tiles `a` describes, over the fields of its data folder.
pub fn tiles(a: &TrainArgs) -> Result<Vec<Tile>, String> {
    let dir = a.data_dir.clone().unwrap_or_else(default_data_dir);
    let files = data_files(&dir);
    if files.is_empty() {
        return Err(format!("no .f32 fields under {}", dir.display()));
    }
    let caps = TileCaps {
        train: a.train_tiles,
        validation: a.validation_tiles,
        test: a.test_tiles,
    };
    let mut out = Vec::new();
    for f in files {
        let name = stem(&f);
        if !a.fields.is_empty() && !a.fields.contains(&name) {
            continue;
        }
        let Some(dims) = dims_of(&f) else { continue };
        out.extend(tiles_of(&name, &f, &dims, a.tile_values, caps));
    }
    if out.is_empty() {
        return Err("no tiles: check --field and --data-dir".into());
    }
    Ok(out)
}

/// The cache file for these tiles, compressors and bounds.
fn cache_path(cache: &Path, tiles: &[Tile], compressors: &[String], bounds: &[f64]) -> PathBuf {
    let key = serde_json::to_string(&(tiles, compressors, bounds)).unwrap_or_default();
    cache.join(format!(
        "labels-{:016x}.json",
        xxhash_rust::xxh3::xxh3_64(key.as_bytes())
    ))
}

/// Labels for `tiles`, from the cache or computed (and cached).
pub fn labels(
    registry: &Registry,
    tiles: &[Tile],
    compressors: &[String],
    bounds: &[f64],
    cache: &Path,
    progress: bool,
) -> Result<LabelSet, String> {
    let path = cache_path(cache, tiles, compressors, bounds);
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Ok(set) = serde_json::from_str::<LabelSet>(&text) {
            if progress {
                eprintln!("labels: {} (cached)", path.display());
            }
            return Ok(set);
        }
    }
    if progress {
        eprintln!(
            "labelling {} tiles with {} at {} bounds",
            tiles.len(),
            compressors.join(", "),
            bounds.len()
        );
    }
    let set =
        label_tiles(registry, tiles, compressors, bounds, progress).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    let text = serde_json::to_string(&set).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    if progress {
        eprintln!("labels written to {}", path.display());
    }
    Ok(set)
}

/// Run `pressio-ml train deepcq`.
pub fn run(a: TrainArgs, registry: &Registry) -> Result<(), String> {
    let started = std::time::Instant::now();
    for c in &a.compressors {
        if !registry.has_compressor(c) {
            return Err(format!("unknown compressor `{c}`"));
        }
    }
    if !(a.bound_lo > 0.0 && a.bound_hi > a.bound_lo) || a.bounds < 2 {
        return Err("need 0 < --bound-lo < --bound-hi and --bounds >= 2".into());
    }
    let bounds = log_bounds(a.bound_lo, a.bound_hi, a.bounds);
    let tiles = tiles(&a)?;
    let set = labels(
        registry,
        &tiles,
        &a.compressors,
        &bounds,
        &a.cache,
        !a.quiet,
    )?;
    let count = |s: Split| set.tiles.iter().filter(|t| t.tile.split == s).count();
    eprintln!(
        "{} tiles: {} train, {} validation, {} test; labelling took {:.0} s of CPU",
        set.tiles.len(),
        count(Split::Train),
        count(Split::Validation),
        count(Split::Test),
        set.tiles.iter().map(|t| t.seconds).sum::<f64>()
    );
    if a.labels_only {
        return Ok(());
    }
    let device = DeviceSpec::parse("--device", &a.device)
        .and_then(|d| d.resolve())
        .map_err(|e| e.to_string())?;
    let heads = heads_for(&a.compressors);
    let all = samples(&set, &heads).map_err(|e| e.to_string())?;
    let o = TrainOptions {
        net: NetConfig {
            c1: a.channels,
            c2: 2 * a.channels,
            ..NetConfig::default()
        },
        blocks: BlockConfig::default(),
        backbone_steps: a.backbone_steps,
        batch: a.batch,
        head_epochs: a.head_epochs,
        lr: a.lr,
        seed: a.seed,
        device,
        threads: a.threads,
        progress: !a.quiet,
        ..TrainOptions::default()
    };
    let trained =
        pressio_ml_nn::inference::training(a.threads, || train(&all, &heads, &bounds, &o))
            .map_err(|e| e.to_string())?;
    let path = write(
        &trained,
        &a.out,
        &a.name,
        &set,
        started.elapsed().as_secs_f64(),
        "DeepCQ quality predictor: compression ratio, PSNR and SSIM of each compressor at \
         relative bounds, from sampled blocks of the input",
    )
    .map_err(|e| e.to_string())?;
    println!(
        "wrote {} (default head {}); evaluation: {}",
        path.display(),
        trained.hyper.default_head.name(),
        trained
            .hyper
            .evaluation
            .get("test_mape_percent")
            .cloned()
            .unwrap_or_default()
    );
    Ok(())
}
