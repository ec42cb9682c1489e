//! The trainer command line (`pressio-ml train srnsz`): train a family of super-resolution
//! models, one per noise level, and write `<out>/<name>-n2`, `-n3`, `-n0` (`.safetensors` and
//! `.json`).
//!
//! ```text
//! pressio-ml train srnsz --name srnsz-general --out models            # the shipped family
//! pressio-ml train srnsz --name srnsz-cesm --finetune srnsz-general \
//!     --field ../shared/data/geocat/cesm_trefht_ens_8x110x64x128.f32 --steps 200
//! ```
//!
//! Fields are raw `float` files whose names end in their C-order shape (`_AxBxC`). Without
//! `--field`, every `.f32` under `--data-dir` but the `--holdout` fields is used; the last
//! `1 - keep` of every field's slowest axis is held out too (timesteps the benchmark uses).

use crate::net::SrConfig;
use crate::train::{field_slices, train, Slice, TrainOptions};
use pressio_ml_nn::fields::{data_files, default_data_dir, read_f32_field, stem};
use pressio_ml_nn::model::DataRef;
use pressio_ml_nn::DeviceSpec;
use std::path::{Path, PathBuf};

/// Fields the shipped family never sees (the benchmark's held-out fields).
pub const DEFAULT_HOLDOUT: &[&str] = &[
    "cesm_trefht_ens_8x110x64x128",
    "field999_999x999",
    "vorticity2d_512x512",
    "wmag91_91x91x91",
    "ipsl_tos_24x170x180",
    "W_4x15x48x48",
];

/// Arguments of `pressio-ml train srnsz`.
#[derive(clap::Args, Debug, Clone)]
pub struct TrainArgs {
    /// A training field (raw float file named `..._AxBxC.f32`, C-order shape); repeat. Default:
    /// every `.f32` under --data-dir except the --holdout fields.
    #[arg(long = "field")]
    fields: Vec<PathBuf>,
    /// Folder searched (recursively, one level of subfolders) when no --field is given; default
    /// $PRESSIO_ML_DATA or ../shared/data.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Field stems held out of training (validation and benchmark); repeat. Default: the
    /// benchmark's held-out fields.
    #[arg(long = "holdout")]
    holdout: Vec<String>,
    /// Fraction of every training field's slowest axis used (the rest is held out).
    #[arg(long, default_value_t = 0.8)]
    keep: f64,
    /// Training noise levels (fractions of the range); one model per level.
    #[arg(long = "noise", default_values_t = [0.01, 0.001, 0.0])]
    noise: Vec<f64>,
    /// Optimizer steps per model.
    #[arg(long, default_value_t = 600)]
    steps: usize,
    /// Crops per step.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    /// Seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Hidden channels.
    #[arg(long, default_value_t = 24)]
    channels: usize,
    /// Convolutions.
    #[arg(long, default_value_t = 5)]
    layers: usize,
    /// Tile extent in coarse pixels.
    #[arg(long, default_value_t = 48)]
    tile: usize,
    /// Start from this family's models (same noise levels) and fine-tune on --field.
    #[arg(long)]
    finetune: Option<String>,
    /// Family name: models are `<name>-n2`, `-n3`, `-n0` for noise 0.01, 0.001, 0.
    #[arg(long, required = true)]
    name: String,
    /// Output directory.
    #[arg(long, default_value = "models")]
    out: PathBuf,
    /// Where to train: auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    device: String,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// The family member suffix of a noise level: `n0` for none, else `n<-log10(noise)>`.
pub fn noise_suffix(noise: f64) -> String {
    if noise <= 0.0 {
        "n0".into()
    } else {
        format!("n{}", (-noise.log10()).round() as i64)
    }
}

fn read(path: &Path) -> Result<(Vec<f64>, Vec<usize>), String> {
    let (v, dims) = read_f32_field(path)?;
    if v.iter().any(|x| !x.is_finite() || x.abs() >= 1e19) {
        return Err(format!(
            "{}: NaN, infinite or fill values (>= 1e19); train on fields without them",
            path.display()
        ));
    }
    Ok((v, dims))
}

/// Train the family `args` describe, showing progress, and write it.
pub fn run(a: TrainArgs) -> Result<(), String> {
    if !(a.keep > 0.0 && a.keep <= 1.0) {
        return Err(format!("--keep {} is not in (0, 1]", a.keep));
    }
    let holdout: Vec<String> = if a.holdout.is_empty() {
        DEFAULT_HOLDOUT.iter().map(|s| s.to_string()).collect()
    } else {
        a.holdout.clone()
    };
    let (train_files, val_files): (Vec<PathBuf>, Vec<PathBuf>) = if a.fields.is_empty() {
        let dir = a.data_dir.clone().unwrap_or_else(default_data_dir);
        let all = data_files(&dir);
        if all.is_empty() {
            return Err(format!("no .f32 fields under {}", dir.display()));
        }
        all.into_iter().partition(|p| !holdout.contains(&stem(p)))
    } else {
        (a.fields.clone(), Vec::new())
    };
    let mut train_slices: Vec<Slice> = Vec::new();
    let mut val_slices: Vec<Slice> = Vec::new();
    let mut sources = Vec::new();
    for p in &train_files {
        let (v, dims) = match read(p) {
            Ok(x) => x,
            Err(e) if a.fields.is_empty() => {
                eprintln!("skipped {e}");
                continue;
            }
            Err(e) => return Err(e),
        };
        train_slices.extend(field_slices(&v, &dims, 16, 0.0..a.keep));
        if val_files.is_empty() {
            // no field is held out: the held-out tail of the slowest axis validates
            val_slices.extend(field_slices(&v, &dims, 16, a.keep..1.0));
        }
        sources.push(DataRef {
            path: p.display().to_string(),
            dims,
            dtype: "float".into(),
        });
    }
    for p in &val_files {
        if let Ok((v, dims)) = read(p) {
            val_slices.extend(field_slices(&v, &dims, 16, 0.0..1.0));
        }
    }
    if train_slices.is_empty() {
        return Err("no training slice (fields need two axes of at least 16 points)".into());
    }
    let device = DeviceSpec::parse("--device", &a.device)
        .and_then(|d| d.resolve())
        .map_err(|e| e.to_string())?;
    let split = format!(
        "the first {:.0}% of every training field's slowest axis; held out: {}",
        a.keep * 100.0,
        if val_files.is_empty() {
            "the rest of the slowest axes".to_string()
        } else {
            val_files
                .iter()
                .map(|p| stem(p))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    println!(
        "srnsz training: {} fields, {} training slices, {} validation slices",
        sources.len(),
        train_slices.len(),
        val_slices.len()
    );
    for &noise in &a.noise {
        let suffix = noise_suffix(noise);
        let mut config = SrConfig {
            channels: a.channels,
            layers: a.layers,
            tile: a.tile,
            noise,
            scale: 1.0,
        };
        let init = match &a.finetune {
            Some(family) => {
                let files = pressio_ml_nn::model::resolve(&format!("{family}-{suffix}"))
                    .map_err(|e| e.to_string())?;
                config = serde_json::from_value(files.manifest.hyperparameters.clone())
                    .map_err(|e| format!("{family}-{suffix}: {e}"))?;
                Some(files.weights)
            }
            None => None,
        };
        let name = format!("{}-{suffix}", a.name);
        let opts = TrainOptions {
            config,
            steps: a.steps,
            batch: a.batch,
            lr: if init.is_some() { a.lr * 0.25 } else { a.lr },
            seed: a.seed,
            name: name.clone(),
            out_dir: a.out.clone(),
            description: format!(
                "SRN-SZ 2x super-resolution network trained with {noise} Gaussian noise{}",
                a.finetune
                    .as_ref()
                    .map(|f| format!(", fine-tuned from {f}-{suffix}"))
                    .unwrap_or_default()
            ),
            sources: sources.clone(),
            split: split.clone(),
            init,
            device,
            progress: !a.quiet,
        };
        let rep = train(&train_slices, &val_slices, &opts).map_err(|e| e.to_string())?;
        println!("wrote {}", rep.manifest_path.display());
        println!(
            "  validation mse {:.3e} (cubic alone {:.3e}, ratio {:.3})",
            rep.validation_mse,
            rep.cubic_mse,
            rep.validation_mse / rep.cubic_mse.max(1e-300)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_and_shapes() {
        assert_eq!(noise_suffix(0.01), "n2");
        assert_eq!(noise_suffix(0.001), "n3");
        assert_eq!(noise_suffix(0.0), "n0");
    }
}
