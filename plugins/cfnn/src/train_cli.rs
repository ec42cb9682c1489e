//! The trainer command line (`pressio-ml train cfnn`, `cfnn-train`): train a CFNN model for one
//! target field and its anchors and write `<out>/<name>.safetensors` plus `<out>/<name>.json`.
//!
//! ```text
//! cfnn-train --target bluntfin_energy_32x32x40.f32 --anchor bluntfin_density_32x32x40.f32 \
//!     --anchor bluntfin_momentum_x_32x32x40.f32 -t float -d 40 -d 32 -d 32 --model-dims 2 \
//!     --epochs 8 --name cfnn-bluntfin-energy --out models
//! ```
//!
//! Dims are LibPressio's (fastest first); the slowest dims index slices (time), and the last
//! `--validation` fraction of the slices is held out.

use crate::train::{train, TrainField, TrainOptions};
use pressio_ml_core::{DType, Data};
use pressio_ml_nn::model::DataRef;
use pressio_ml_nn::DeviceSpec;
use std::path::PathBuf;

/// Arguments of `pressio-ml train cfnn` and `cfnn-train`.
#[derive(clap::Args, Debug, Clone)]
pub struct TrainArgs {
    /// The target field (raw file).
    #[arg(long, required = true)]
    target: PathBuf,
    /// An anchor field (raw file; repeat, in the order compression will give them).
    #[arg(long = "anchor", required = true)]
    anchors: Vec<PathBuf>,
    /// Dims, fastest first (repeat per dimension); the same for every field.
    #[arg(short = 'd', long = "dim", required = true)]
    dims: Vec<usize>,
    /// Element type: float or double.
    #[arg(short = 't', long = "type", default_value = "float")]
    dtype: String,
    /// The network's spatial dims: 2 or 3 (the fastest dims of the data).
    #[arg(long, default_value_t = 2)]
    model_dims: usize,
    /// Tile extent (default 52 in 2-D, 20 in 3-D: windows of 64 and 32 with the halo).
    #[arg(long)]
    tile: Option<usize>,
    /// Epochs.
    #[arg(long, default_value_t = 8)]
    epochs: u32,
    /// Random windows per epoch.
    #[arg(long, default_value_t = 512)]
    windows: usize,
    /// Windows per optimizer step.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    /// Seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Fraction of the slices (the last ones) held out for validation.
    #[arg(long, default_value_t = 0.2)]
    validation: f64,
    /// Model name.
    #[arg(long, required = true)]
    name: String,
    /// Output directory.
    #[arg(long, default_value = "models")]
    out: PathBuf,
    /// Description for the manifest.
    #[arg(long, default_value = "")]
    description: String,
    /// Where to train: auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    device: String,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn read(path: &PathBuf, dtype: DType, dims: &[usize]) -> Result<Vec<f64>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let data =
        Data::from_bytes(dtype, dims, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let v = data.to_f64_vec();
    if v.iter().any(|x| !x.is_finite()) {
        return Err(format!("{}: NaN or infinite values", path.display()));
    }
    Ok(v)
}

fn stem(p: &std::path::Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Train a model as `args` describe, showing progress, and write it with its manifest.
pub fn run(a: TrainArgs) -> Result<(), String> {
    let dtype = match a.dtype.as_str() {
        "float" | "f32" => DType::Float,
        "double" | "f64" => DType::Double,
        t => return Err(format!("type `{t}` is not float or double")),
    };
    let source = |p: &PathBuf| DataRef {
        path: p.display().to_string(),
        dims: a.dims.clone(),
        dtype: dtype.name().into(),
    };
    let field = TrainField {
        target: read(&a.target, dtype, &a.dims)?,
        anchors: a
            .anchors
            .iter()
            .map(|p| read(p, dtype, &a.dims))
            .collect::<Result<_, _>>()?,
        dims: a.dims.clone(),
        sources: std::iter::once(&a.target)
            .chain(&a.anchors)
            .map(source)
            .collect(),
    };
    let device = DeviceSpec::parse("--device", &a.device)
        .and_then(|d| d.resolve())
        .map_err(|e| e.to_string())?;
    let opts = TrainOptions {
        dims: a.model_dims,
        tile: a.tile.unwrap_or(if a.model_dims == 3 { 20 } else { 52 }),
        epochs: a.epochs,
        windows: a.windows,
        batch: a.batch,
        lr: a.lr,
        seed: a.seed,
        validation: a.validation,
        name: a.name.clone(),
        out_dir: a.out.clone(),
        description: a.description.clone(),
        anchor_names: a.anchors.iter().map(|p| stem(p)).collect(),
        target_name: stem(&a.target),
        device,
        progress: !a.quiet,
    };
    let rep = train(&field, &opts).map_err(|e| e.to_string())?;
    println!("wrote {}", rep.manifest_path.display());
    println!(
        "  validation mse {:.5} (zero predictor {:.5}) of normalised differences",
        rep.validation_mse, rep.zero_mse
    );
    Ok(())
}
