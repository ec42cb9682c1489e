//! The trainer command line (`pressio-ml train aesz`, `aesz-train`): train an AE-SZ model and write it as `<out>/<name>.safetensors` plus
//! `<out>/<name>.json`.
//!
//! ```text
//! aesz-train -i geocat/cesm_trefht_ens_8x110x64x128.f32 --block 32x32 --latent 16 \
//!     --channels 8,16,32,32 --epochs 4 --train-samples 0..660 --test-samples 660..880 \
//!     --name aesz-cesm-trefht-2d --out models
//! ```
//!
//! Dims are LibPressio's (fastest first, `-d 128 -d 64 -d 110 -d 8`); without `-d` they are read
//! from the file name (`NAME_AxBxC.f32` holds C-order `A x B x C`, i.e. dims `C, B, A`).

use crate::model::SwaeConfig;
use crate::train::{train, write_alias, NormMode, TrainInput, TrainOptions};
use pressio_ml_core::DType;
use pressio_ml_nn::DeviceSpec;
use std::ops::Range;
use std::path::PathBuf;

/// Arguments of `pressio-ml train aesz` and `aesz-train`.
#[derive(clap::Args, Debug, Clone)]
pub struct TrainArgs {
    /// Raw input file (repeat for several fields of the same kind).
    #[arg(short = 'i', long = "input", required = true)]
    inputs: Vec<PathBuf>,
    /// Dims, fastest first (repeat per dimension); default: from each file name.
    #[arg(short = 'd', long = "dim")]
    dims: Vec<usize>,
    /// Element type: float or double.
    #[arg(short = 't', long = "type", default_value = "float")]
    dtype: String,
    /// Block extents, e.g. 32x32 or 8x8x8 (fastest first); its length sets 2-D or 3-D.
    #[arg(long, default_value = "32x32")]
    block: String,
    /// Latent vector length.
    #[arg(long, default_value_t = 16)]
    latent: usize,
    /// Channels per stage, e.g. 8,16,32,32 (the paper uses 32,64,128,256).
    #[arg(long, default_value = "8,16,32,32")]
    channels: String,
    /// Epochs.
    #[arg(long, default_value_t = 4)]
    epochs: u32,
    /// Mini-batch size (the authors: 64 for 2-D, 144 for 3-D).
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Initial learning rate (the authors: 0.01 for 2-D, 0.005 for 3-D).
    #[arg(long, default_value_t = 0.005)]
    lr: f64,
    /// Learning-rate decay per epoch.
    #[arg(long, default_value_t = 0.95)]
    lr_decay: f64,
    /// Sliced-Wasserstein weight.
    #[arg(long, default_value_t = 100.0)]
    lambda: f64,
    /// Sliced-Wasserstein projections.
    #[arg(long, default_value_t = 200)]
    projections: usize,
    /// Fraction of the training samples held out for validation.
    #[arg(long, default_value_t = 0.1)]
    val_split: f64,
    /// Training samples, `a..b` (indices over the slow dims of each input); default: all.
    #[arg(long)]
    train_samples: Option<String>,
    /// Held-out test samples, `a..b`.
    #[arg(long)]
    test_samples: Option<String>,
    /// Crop stride (one value for every axis); default: half a block.
    #[arg(long)]
    stride: Option<usize>,
    /// At most this many training blocks (seeded random subset).
    #[arg(long)]
    max_blocks: Option<usize>,
    /// Normalisation: field (each field by its own min/max), model (training min/max) or block
    /// (each block by its mean and largest deviation, stored per AE block).
    #[arg(long, default_value = "field")]
    norm: String,
    /// Device: auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    device: String,
    /// libtorch threads (1 is fastest on a busy machine: OpenMP spin-waits when oversubscribed).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Model name.
    #[arg(long)]
    name: String,
    /// Output directory.
    #[arg(long, default_value = "models")]
    out: PathBuf,
    /// Description for the manifest.
    #[arg(long, default_value = "")]
    description: String,
    /// Notes for the manifest.
    #[arg(long, default_value = "")]
    notes: String,
    /// Also write alias manifests with these names (e.g. aesz-2d).
    #[arg(long)]
    alias: Vec<String>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn parse_range(s: &str) -> Result<Range<usize>, String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("`{s}` is not a range a..b"))?;
    let a: usize = a
        .trim()
        .parse()
        .map_err(|_| format!("bad range start in `{s}`"))?;
    let b: usize = b
        .trim()
        .parse()
        .map_err(|_| format!("bad range end in `{s}`"))?;
    if a >= b {
        return Err(format!("empty range `{s}`"));
    }
    Ok(a..b)
}

fn parse_list(s: &str, sep: char, what: &str) -> Result<Vec<usize>, String> {
    s.split(sep)
        .map(|x| {
            x.trim()
                .parse::<usize>()
                .map_err(|_| format!("bad {what} `{s}`"))
        })
        .collect()
}

fn dims_from_name(p: &std::path::Path) -> Option<Vec<usize>> {
    let stem = p.file_stem()?.to_str()?;
    let shape = stem.rsplit('_').next()?;
    let mut d: Vec<usize> = shape
        .split('x')
        .map(|s| s.parse().ok())
        .collect::<Option<Vec<usize>>>()?;
    d.reverse();
    Some(d)
}

/// Train a model as `args` describe, showing progress, and write it with its manifest.
pub fn run(a: TrainArgs) -> Result<(), String> {
    let dtype = match a.dtype.as_str() {
        "float" | "f32" => DType::Float,
        "double" | "f64" => DType::Double,
        t => return Err(format!("type `{t}` is not float or double")),
    };
    let block = parse_list(&a.block, 'x', "block")?;
    let config = SwaeConfig {
        dims: block.len(),
        block,
        latent: a.latent,
        channels: parse_list(&a.channels, ',', "channel list")?,
    };
    let mut inputs = Vec::new();
    for p in &a.inputs {
        let dims = if a.dims.is_empty() {
            dims_from_name(p)
                .ok_or_else(|| format!("{}: no dims in the file name; give -d", p.display()))?
        } else {
            a.dims.clone()
        };
        inputs.push(TrainInput {
            path: p.clone(),
            dims,
            dtype,
        });
    }
    let opts = TrainOptions {
        name: a.name.clone(),
        out_dir: a.out.clone(),
        description: a.description.clone(),
        config,
        epochs: a.epochs,
        batch: a.batch,
        lr: a.lr,
        lr_decay: a.lr_decay,
        lambda: a.lambda,
        projections: a.projections,
        val_split: a.val_split,
        train_samples: a.train_samples.as_deref().map(parse_range).transpose()?,
        test_samples: a.test_samples.as_deref().map(parse_range).transpose()?,
        stride: a.stride.map(|s| vec![s]),
        max_blocks: a.max_blocks,
        norm: match a.norm.as_str() {
            "field" => NormMode::Field,
            "model" => NormMode::Model,
            "block" => NormMode::Block,
            n => return Err(format!("normalisation `{n}` is not field, model or block")),
        },
        device: DeviceSpec::parse("--device", &a.device).map_err(|e| e.to_string())?,
        threads: a.threads.max(1),
        seed: a.seed,
        progress: !a.quiet,
        notes: a.notes.clone(),
    };
    let rep = train(&inputs, &opts).map_err(|e| e.to_string())?;
    println!(
        "wrote {} and {}",
        rep.weights_path.display(),
        rep.manifest_path.display()
    );
    for (k, v) in &rep.manifest.training.final_losses {
        println!("  {k}: {v:.6}");
    }
    println!("  seconds: {:.1}", rep.manifest.training.seconds);
    for alias in &a.alias {
        let p = write_alias(&a.out, alias, &a.name).map_err(|e| e.to_string())?;
        println!("wrote alias {}", p.display());
    }
    Ok(())
}
