//! Training of AE-SZ models.
//!
//! Inputs are raw little-endian `float`/`double` arrays with LibPressio dims (fastest first).
//! A *sample* is one `k`-D slice over the `k` fastest dims (`k` = the model's dimensionality);
//! the slower dims enumerate samples (index 0 first), so `--train-samples 0..660` of
//! `cesm_trefht_ens_8x110x64x128` is runs 0 to 5. The training samples (minus a random
//! validation fraction) are cut into blocks at a stride (overlapping crops, edge-padded where
//! a slice is smaller than a block); validation and test samples into the aligned blocks
//! compression uses. Every sample is normalised to [-1, 1] by its own min/max (`field`, the
//! default, as compression does) or by the training data's (`model`).
//!
//! Loss, as in the AE-SZ authors' setup: MSE + L1 reconstruction plus
//! `lambda / (B (B - 1))` times the sliced-Wasserstein distance (mean squared difference of the
//! sorted projections of the latents and of samples of the N(0, I) prior on `projections`
//! random unit directions). Adam, learning rate decayed by `lr_decay` after every epoch.

use crate::model::{Swae, SwaeConfig, ARCHITECTURE};
use indicatif::{ProgressBar, ProgressStyle};
use pressio_ml_core::{DType, PressioError, Result};
use pressio_ml_nn::inference::{
    init_runtime, libtorch_version, set_deterministic, set_threads, tensor_from_f32,
};
use pressio_ml_nn::model::{
    write_manifest, write_model, DataRef, Manifest, Normalization, TrainingRecord, MANIFEST_FORMAT,
};
use pressio_ml_nn::{device::device_name, tch_error, DeviceSpec};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use tch::nn::{OptimizerConfig, VarStore};
use tch::{Kind, Reduction, Tensor};

/// One training input file.
#[derive(Debug, Clone)]
pub struct TrainInput {
    /// Raw file.
    pub path: PathBuf,
    /// Dims, fastest first.
    pub dims: Vec<usize>,
    /// `Float` or `Double`.
    pub dtype: DType,
}

/// Normalisation used in training (and recorded for compression).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NormMode {
    /// Every sample (and at compression time every field) by its own min/max.
    Field,
    /// Everything by the training data's min/max.
    Model,
    /// Every block by its own mean and largest deviation (stored per AE block at compression).
    Block,
}

/// Training settings.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Model name (file stem).
    pub name: String,
    /// Output directory.
    pub out_dir: PathBuf,
    /// Description written into the manifest.
    pub description: String,
    /// Network configuration.
    pub config: SwaeConfig,
    /// Epochs.
    pub epochs: u32,
    /// Mini-batch size.
    pub batch: usize,
    /// Initial learning rate.
    pub lr: f64,
    /// Learning-rate factor applied after each epoch.
    pub lr_decay: f64,
    /// Sliced-Wasserstein weight (divided by B(B-1)).
    pub lambda: f64,
    /// Random projections of the sliced-Wasserstein term.
    pub projections: usize,
    /// Fraction of the training samples held out for validation.
    pub val_split: f64,
    /// Training samples (per input); `None`: all.
    pub train_samples: Option<Range<usize>>,
    /// Held-out test samples (per input), evaluated after training.
    pub test_samples: Option<Range<usize>>,
    /// Crop stride per axis (fastest first); `None`: half a block.
    pub stride: Option<Vec<usize>>,
    /// At most this many training blocks (a seeded random subset); `None`: all.
    pub max_blocks: Option<usize>,
    /// Normalisation.
    pub norm: NormMode,
    /// Device.
    pub device: DeviceSpec,
    /// libtorch threads for training.
    pub threads: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Show a progress bar.
    pub progress: bool,
    /// Free-form notes for the manifest.
    pub notes: String,
}

/// What training produced.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// The manifest written.
    pub manifest: Manifest,
    /// Where it was written.
    pub manifest_path: PathBuf,
    /// Where the weights were written.
    pub weights_path: PathBuf,
}

fn read_input(inp: &TrainInput) -> Result<Vec<f32>> {
    let bytes = std::fs::read(&inp.path).map_err(|e| {
        PressioError::InvalidInput(format!("cannot read {}: {e}", inp.path.display()))
    })?;
    let n: usize = inp.dims.iter().product();
    let size = match inp.dtype {
        DType::Float => 4,
        DType::Double => 8,
        other => {
            return Err(PressioError::UnsupportedDType {
                plugin: "aesz-train".into(),
                dtype: other.name().into(),
            })
        }
    };
    if n == 0 || bytes.len() != n * size {
        return Err(PressioError::InvalidDims(format!(
            "{} holds {} bytes, dims {:?} of {} need {}",
            inp.path.display(),
            bytes.len(),
            inp.dims,
            inp.dtype,
            n * size
        )));
    }
    Ok(if size == 4 {
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    } else {
        bytes
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                f64::from_le_bytes(b) as f32
            })
            .collect()
    })
}

/// A `k`-D sample: its values and extents (fastest first, padded with 1 to 3).
struct Sample {
    values: Vec<f32>,
    ext: [usize; 3],
}

fn finite_minmax(v: &[f32]) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &x in v {
        if x.is_finite() {
            lo = lo.min(x as f64);
            hi = hi.max(x as f64);
        }
    }
    (lo <= hi).then_some((lo, hi))
}

/// Start positions of crops of width `b` over extent `n` with stride `s` (the last one flush
/// with the end); a single 0 when `n <= b`.
fn crop_starts(n: usize, b: usize, s: usize) -> Vec<usize> {
    if n <= b {
        return vec![0];
    }
    let mut v: Vec<usize> = (0..=n - b).step_by(s.max(1)).collect();
    if *v.last().unwrap_or(&0) != n - b {
        v.push(n - b);
    }
    v
}

/// Edge-padded block at origin `o` of `s`, normalised as `(x - c) / h`, appended to `out`;
/// with `per_block`, `(c, h)` are the block's mean and largest deviation (rounded to f32, as
/// compression stores them) and constant blocks are skipped.
fn push_block(
    s: &Sample,
    o: [usize; 3],
    block: [usize; 3],
    (c, h): (f64, f64),
    per_block: bool,
    out: &mut Vec<f32>,
) {
    let mut raw = Vec::with_capacity(block.iter().product());
    for z in 0..block[2] {
        for y in 0..block[1] {
            for x in 0..block[0] {
                let p = [
                    (o[0] + x).min(s.ext[0] - 1),
                    (o[1] + y).min(s.ext[1] - 1),
                    (o[2] + z).min(s.ext[2] - 1),
                ];
                let v = s.values[(p[2] * s.ext[1] + p[1]) * s.ext[0] + p[0]] as f64;
                raw.push(if v.is_finite() { v } else { c });
            }
        }
    }
    let (c, h) = if per_block {
        let c = (raw.iter().sum::<f64>() / raw.len() as f64) as f32 as f64;
        let h = raw.iter().fold(0f64, |m, v| m.max((v - c).abs())) as f32 as f64;
        if !(h > 0.0 && h.is_finite()) {
            return;
        }
        (c, h)
    } else {
        (c, h)
    };
    out.extend(raw.iter().map(|v| ((v - c) / h) as f32));
}

/// Blocks of `samples`; `norm`: `Some(Some((lo, hi)))` the training range, `Some(None)` each
/// sample's own range, `None` per block.
fn blocks_of(
    samples: &[&Sample],
    block: [usize; 3],
    stride: Option<[usize; 3]>,
    norm: Option<Option<(f64, f64)>>,
) -> Vec<f32> {
    let mut out = Vec::new();
    for s in samples {
        let (lo, hi) = match norm {
            Some(Some(r)) => r,
            _ => match finite_minmax(&s.values) {
                Some(r) => r,
                None => continue,
            },
        };
        let range = hi - lo;
        if !(range > 0.0 && range.is_finite()) {
            continue;
        }
        let affine = ((lo + hi) / 2.0, range / 2.0);
        let starts: Vec<Vec<usize>> = (0..3)
            .map(|i| match stride {
                Some(st) => crop_starts(s.ext[i], block[i], st[i]),
                None => (0..s.ext[i].div_ceil(block[i]))
                    .map(|j| j * block[i])
                    .collect(),
            })
            .collect();
        for &z in &starts[2] {
            for &y in &starts[1] {
                for &x in &starts[0] {
                    push_block(s, [x, y, z], block, affine, norm.is_none(), &mut out);
                }
            }
        }
    }
    out
}

/// A small seeded generator (SplitMix64) for shuffles, so runs are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

fn fmt_range(r: &Option<Range<usize>>, n: usize) -> String {
    match r {
        Some(r) => format!("{}..{}", r.start, r.end),
        None => format!("0..{n}"),
    }
}

/// Sliced-Wasserstein distance between latents `z` `[B, L]` and prior samples.
fn sliced_wasserstein(z: &Tensor, projections: usize) -> Result<Tensor> {
    let e = |e| tch_error("sliced-Wasserstein term", e);
    let size = z.size();
    let (b, l) = (size[0], size[1]);
    let opts = (Kind::Float, z.device());
    let theta = Tensor::f_randn([projections as i64, l], opts).map_err(e)?;
    let norm = theta
        .f_square()
        .and_then(|t| t.f_sum_dim_intlist(1, true, Kind::Float))
        .and_then(|t| t.f_sqrt())
        .map_err(e)?;
    let theta = theta
        .f_div(&norm)
        .and_then(|t| t.f_transpose(0, 1))
        .map_err(e)?;
    let prior = Tensor::f_randn([b, l], opts).map_err(e)?;
    let pz = z.f_matmul(&theta).map_err(e)?;
    let pp = prior.f_matmul(&theta).map_err(e)?;
    let (sz, _) = pz.f_sort(0, false).map_err(e)?;
    let (sp, _) = pp.f_sort(0, false).map_err(e)?;
    sz.f_sub(&sp)
        .and_then(|d| d.f_square())
        .and_then(|d| d.f_mean(Kind::Float))
        .map_err(e)
}

fn eval_mse(net: &Swae, data: &Tensor, batch: i64) -> Result<f64> {
    let n = data.size()[0];
    if n == 0 {
        return Ok(f64::NAN);
    }
    let _g = tch::no_grad_guard();
    let mut total = 0f64;
    let mut start = 0;
    while start < n {
        let b = batch.min(n - start);
        let x = data
            .f_narrow(0, start, b)
            .map_err(|e| tch_error("evaluation", e))?;
        let y = net.decode(&net.encode(&x)?)?;
        let se = y
            .f_mse_loss(&x, Reduction::Sum)
            .map_err(|e| tch_error("evaluation", e))?;
        total += f64::try_from(&se).map_err(|e| tch_error("evaluation", e))?;
        start += b;
    }
    Ok(total / data.numel() as f64)
}

fn psnr_of(mse: f64) -> f64 {
    // normalised data span 2
    10.0 * (4.0 / mse).log10()
}

/// Train a model and write `<out_dir>/<name>.safetensors` and `<out_dir>/<name>.json`.
pub fn train(inputs: &[TrainInput], o: &TrainOptions) -> Result<TrainReport> {
    let cfg = &o.config;
    cfg.validate("training configuration")?;
    if inputs.is_empty() {
        return Err(PressioError::InvalidArgument("no training input".into()));
    }
    if o.epochs == 0 || o.batch < 2 || !(0.0..1.0).contains(&o.val_split) || o.projections == 0 {
        return Err(PressioError::InvalidArgument(
            "epochs >= 1, batch >= 2, 0 <= val_split < 1 and projections >= 1 are required".into(),
        ));
    }
    let started = std::time::Instant::now();
    let k = cfg.dims;
    let mut block = [1usize; 3];
    block[..k].copy_from_slice(&cfg.block);
    let stride = {
        let mut s = [1usize; 3];
        for (i, si) in s.iter_mut().enumerate().take(k) {
            *si = match &o.stride {
                Some(v) => *v.get(i).or(v.last()).unwrap_or(&1),
                None => (cfg.block[i] / 2).max(1),
            };
        }
        s
    };

    // Samples of every input, split into train / validation / test.
    let mut rng = Rng(o.seed ^ 0x5EED);
    let mut train_s = Vec::new();
    let mut val_s = Vec::new();
    let mut test_s = Vec::new();
    let mut refs = Vec::new();
    let mut sample_counts = Vec::new();
    let mut val_record: Vec<Vec<usize>> = Vec::new();
    for inp in inputs {
        let dims: Vec<usize> = inp.dims.iter().copied().filter(|&d| d > 1).collect();
        if dims.len() < k {
            return Err(PressioError::InvalidDims(format!(
                "{}: dims {:?} have fewer than {k} non-trivial extents",
                inp.path.display(),
                inp.dims
            )));
        }
        let values = read_input(inp)?;
        let per: usize = dims[..k].iter().product();
        let count = values.len() / per;
        sample_counts.push(count);
        let mut ext = [1usize; 3];
        ext[..k].copy_from_slice(&dims[..k]);
        let train_r = o.train_samples.clone().unwrap_or(0..count);
        if train_r.end > count || train_r.is_empty() {
            return Err(PressioError::InvalidArgument(format!(
                "training samples {train_r:?} outside the {count} samples of {}",
                inp.path.display()
            )));
        }
        let mut idx: Vec<usize> = train_r.clone().collect();
        rng.shuffle(&mut idx);
        let n_val = ((idx.len() as f64) * o.val_split).round() as usize;
        let n_val = if o.val_split > 0.0 { n_val.max(1) } else { 0 }.min(idx.len() - 1);
        let (val_idx, tr_idx) = idx.split_at(n_val);
        let mut v = val_idx.to_vec();
        v.sort_unstable();
        val_record.push(v);
        let take = |i: usize| Sample {
            values: values[i * per..(i + 1) * per].to_vec(),
            ext,
        };
        train_s.extend(tr_idx.iter().map(|&i| take(i)));
        val_s.extend(val_idx.iter().map(|&i| take(i)));
        if let Some(t) = &o.test_samples {
            if t.end > count {
                return Err(PressioError::InvalidArgument(format!(
                    "test samples {t:?} outside the {count} samples of {}",
                    inp.path.display()
                )));
            }
            test_s.extend(t.clone().map(take));
        }
        refs.push(DataRef {
            path: inp.path.display().to_string(),
            dims: inp.dims.clone(),
            dtype: inp.dtype.name().to_string(),
        });
    }
    let all_train: Vec<&Sample> = train_s.iter().collect();
    let global = all_train
        .iter()
        .filter_map(|s| finite_minmax(&s.values))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (c, d)| {
            (a.min(c), b.max(d))
        });
    if global.0.partial_cmp(&global.1) != Some(std::cmp::Ordering::Less) {
        return Err(PressioError::InvalidInput(
            "the training data is constant or has no finite value".into(),
        ));
    }
    let norm = match o.norm {
        NormMode::Field => Some(None),
        NormMode::Model => Some(Some(global)),
        NormMode::Block => None,
    };
    let mut train_blocks = blocks_of(&all_train, block, Some(stride), norm);
    let bpv = cfg.block_volume();
    let mut n_train = train_blocks.len() / bpv;
    if let Some(maxb) = o.max_blocks {
        if n_train > maxb {
            let mut order: Vec<usize> = (0..n_train).collect();
            rng.shuffle(&mut order);
            order.truncate(maxb);
            order.sort_unstable();
            let mut sub = Vec::with_capacity(maxb * bpv);
            for i in order {
                sub.extend_from_slice(&train_blocks[i * bpv..(i + 1) * bpv]);
            }
            train_blocks = sub;
            n_train = maxb;
        }
    }
    if n_train < o.batch {
        return Err(PressioError::InvalidInput(format!(
            "only {n_train} training blocks for batches of {}",
            o.batch
        )));
    }
    let val_blocks = blocks_of(&val_s.iter().collect::<Vec<_>>(), block, None, norm);
    let test_blocks = blocks_of(&test_s.iter().collect::<Vec<_>>(), block, None, norm);

    // Network and data on the device.
    init_runtime();
    set_deterministic(false);
    let device = o.device.resolve()?;
    set_threads(o.threads);
    tch::manual_seed(o.seed as i64);
    let shape = |n: usize| {
        let mut s = vec![n as i64];
        s.extend(cfg.sample_shape());
        s
    };
    let train_t = tensor_from_f32(&train_blocks, &shape(n_train), device)?;
    drop(train_blocks);
    let val_t = tensor_from_f32(&val_blocks, &shape(val_blocks.len() / bpv), device)?;
    let test_t = tensor_from_f32(&test_blocks, &shape(test_blocks.len() / bpv), device)?;
    let vs = VarStore::new(device);
    let net = Swae::new(&vs.root(), cfg)?;
    let mut opt = tch::nn::Adam::default()
        .build(&vs, o.lr)
        .map_err(|e| tch_error("optimizer", e))?;

    let steps = n_train / o.batch;
    let pb = if o.progress {
        ProgressBar::new(steps as u64 * o.epochs as u64)
    } else {
        ProgressBar::hidden()
    };
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} steps, eta {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let b = o.batch as i64;
    let sw_weight = o.lambda / (b * (b - 1)) as f64;
    let mut lr = o.lr;
    let mut last_epoch_loss = f64::NAN;
    let mut last_epoch_mse = f64::NAN;
    let mut val_mse = f64::NAN;
    let e = |e| tch_error("training", e);
    for epoch in 0..o.epochs {
        let perm = Tensor::f_randperm(n_train as i64, (Kind::Int64, device)).map_err(e)?;
        let (mut sum_loss, mut sum_mse) = (0f64, 0f64);
        for step in 0..steps {
            let idx = perm.f_narrow(0, step as i64 * b, b).map_err(e)?;
            let x = train_t.f_index_select(0, &idx).map_err(e)?;
            let z = net.encode(&x)?;
            let y = net.decode(&z)?;
            let mse = y.f_mse_loss(&x, Reduction::Mean).map_err(e)?;
            let l1 = y.f_l1_loss(&x, Reduction::Mean).map_err(e)?;
            let sw = sliced_wasserstein(&z, o.projections)?;
            let loss = mse
                .f_add(&l1)
                .and_then(|t| t.f_add(&sw.f_mul_scalar(sw_weight)?))
                .map_err(e)?;
            opt.backward_step(&loss);
            let lv = f64::try_from(&loss).map_err(e)?;
            if !lv.is_finite() {
                return Err(PressioError::backend(
                    "aesz-train",
                    format!(
                        "the loss diverged at epoch {epoch}, step {step}; lower the learning rate"
                    ),
                ));
            }
            sum_loss += lv;
            sum_mse += f64::try_from(&mse).map_err(e)?;
            pb.inc(1);
            if step % 10 == 0 {
                pb.set_message(format!(
                    "epoch {}/{} loss {:.5} lr {:.2e}",
                    epoch + 1,
                    o.epochs,
                    lv,
                    lr
                ));
            }
        }
        last_epoch_loss = sum_loss / steps as f64;
        last_epoch_mse = sum_mse / steps as f64;
        val_mse = eval_mse(&net, &val_t, 256)?;
        let line = format!(
            "epoch {:>3}: train loss {:.6} (mse {:.6}), validation mse {:.6} ({:.2} dB), {:.0} s",
            epoch + 1,
            last_epoch_loss,
            last_epoch_mse,
            val_mse,
            psnr_of(val_mse),
            started.elapsed().as_secs_f64()
        );
        if o.progress {
            if pb.is_hidden() {
                eprintln!("{line}");
            } else {
                pb.println(line);
            }
        }
        lr *= o.lr_decay;
        opt.set_lr(lr);
    }
    pb.finish_and_clear();
    let test_mse = eval_mse(&net, &test_t, 256)?;

    // Only finite values (an empty validation or test set has none; JSON has no NaN).
    let losses: BTreeMap<String, f64> = [
        ("train_loss", last_epoch_loss),
        ("train_mse", last_epoch_mse),
        ("validation_mse", val_mse),
        ("validation_psnr_db", psnr_of(val_mse)),
        ("test_mse", test_mse),
        ("test_psnr_db", psnr_of(test_mse)),
    ]
    .into_iter()
    .filter(|(_, v)| v.is_finite())
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let sample =
        format!("{k}-D slices over the {k} fastest dims, indexed over the slower dims (per input)");
    let manifest = Manifest::trained(
        &o.name,
        ARCHITECTURE,
        &o.description,
        &cfg,
        Some(Normalization {
            mode: match o.norm {
                NormMode::Field => "field".into(),
                NormMode::Model => "model".into(),
                NormMode::Block => "block".into(),
            },
            min: global.0,
            max: global.1,
        }),
        TrainingRecord {
            data: refs,
            sample,
            train: format!(
                "samples {} of each input (minus validation), {} samples, {n_train} blocks of \
                 {:?} at stride {:?}",
                fmt_range(&o.train_samples, sample_counts[0]),
                train_s.len(),
                cfg.block,
                &stride[..k]
            ),
            validation: if val_record.len() == 1 {
                format!(
                    "{} samples drawn at random (seed {}, fraction {}) from the training range, \
                     aligned blocks: samples {:?}",
                    val_s.len(),
                    o.seed,
                    o.val_split,
                    val_record[0]
                )
            } else {
                format!(
                    "{} samples drawn at random (seed {}, fraction {}, at least one per input) \
                     from the training range, aligned blocks: per input {:?}",
                    val_s.len(),
                    o.seed,
                    o.val_split,
                    val_record
                )
            },
            test: match &o.test_samples {
                Some(t) => format!(
                    "samples {}..{} of each input ({} samples), aligned blocks",
                    t.start,
                    t.end,
                    test_s.len()
                ),
                None => "none".into(),
            },
            epochs: o.epochs,
            batch_size: o.batch as u32,
            learning_rate: o.lr,
            lr_decay: o.lr_decay,
            seed: o.seed,
            final_losses: losses,
            device: device_name(device),
            libtorch: libtorch_version(),
            threads: o.threads as u32,
            seconds: started.elapsed().as_secs_f64(),
            notes: format!(
                "loss = MSE + L1 + {} / (B (B - 1)) * sliced-Wasserstein ({} projections, N(0, I) \
                 prior); Adam; normalisation {}. {}",
                o.lambda,
                o.projections,
                match o.norm {
                    NormMode::Field => "per sample (field) min/max",
                    NormMode::Model => "training-data min/max",
                    NormMode::Block => "per block mean and largest deviation",
                },
                o.notes
            ),
        },
    )?;
    let written = write_model(&o.out_dir, &vs, manifest)?;
    Ok(TrainReport {
        manifest: written.manifest,
        manifest_path: written.manifest_path,
        weights_path: written.weights_path,
    })
}

/// Write an alias manifest `<dir>/<alias>.json` standing for model `target` of the same
/// directory.
pub fn write_alias(dir: &std::path::Path, alias: &str, target: &str) -> Result<PathBuf> {
    let m = Manifest {
        format: MANIFEST_FORMAT,
        name: alias.to_string(),
        alias_of: Some(target.to_string()),
        architecture: ARCHITECTURE.into(),
        description: format!("alias of {target}"),
        hyperparameters: serde_json::Value::Null,
        normalization: None,
        training: TrainingRecord::default(),
        weights: None,
    };
    write_manifest(dir, &m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crops() {
        assert_eq!(crop_starts(64, 32, 16), vec![0, 16, 32]);
        assert_eq!(crop_starts(70, 32, 16), vec![0, 16, 32, 38]);
        assert_eq!(crop_starts(20, 32, 16), vec![0]);
        assert_eq!(crop_starts(14, 8, 4), vec![0, 4, 6]);
    }

    #[test]
    fn shuffle_is_seeded() {
        let mut a: Vec<u32> = (0..50).collect();
        let mut b = a.clone();
        Rng(7).shuffle(&mut a);
        Rng(7).shuffle(&mut b);
        assert_eq!(a, b);
        assert_ne!(a, (0..50).collect::<Vec<_>>());
    }
}
