//! Training super-resolution models on libtorch (CPU or CUDA).
//!
//! Samples are 2-D slices of the training fields, each field normalised to [0, 1] by its own
//! range. A sample is a random fine crop of `2 * tile` points per side; its coarse image is the
//! crop's even points (`HR[::2, ::2]`, no flips or rotations) plus Gaussian noise of
//! `noise` (a fraction of the range, as the decompressed coarse levels carry quantization
//! error); the targets are the crop's odd points minus the cubic baseline of the noisy coarse
//! image ([`crate::upsample`]), divided by the training residuals' RMS. The network sees the
//! coarse image in the inference window (tile plus halo, zeros outside) and is trained with
//! masked MSE and Adam. Validation measures the held-out slices' MSE against the cubic baseline
//! alone (a ratio below 1 is what the network adds).

use crate::net::{Image, SrConfig, SrNet, ARCHITECTURE, PHASES};
use crate::upsample::{cubic_upsample, phase};
use pressio_ml_core::{PressioError, Result};
use pressio_ml_nn::inference::{init_runtime, libtorch_version, tensor_from_f32};
use pressio_ml_nn::model::{write_model, DataRef, Manifest, TrainingRecord};
use pressio_ml_nn::progress::{bar, RecentMean};
use pressio_ml_nn::{device::device_name, tch_error};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::PathBuf;
use tch::nn::{OptimizerConfig, VarStore};
use tch::{Device, Kind};

/// A 2-D training slice, normalised to [0, 1] by its field's range, x fastest.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    /// Extent along x.
    pub nx: usize,
    /// Extent along y.
    pub ny: usize,
    /// Values.
    pub data: Vec<f32>,
}

/// Every 2-D slice of a field (`dims` fastest first, values finite) along every axis pair whose
/// extents are both at least `min_side`, normalised by the field's range. Only the positions
/// of the slowest axis in the fraction `part` (`0.0..0.8`: the first 80%) are used.
pub fn field_slices(
    values: &[f64],
    dims: &[usize],
    min_side: usize,
    part: std::ops::Range<f64>,
) -> Vec<Slice> {
    let dims: Vec<usize> = dims.iter().copied().filter(|&d| d > 1).collect();
    let nd = dims.len();
    if nd < 2 {
        return Vec::new();
    }
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return Vec::new();
    }
    let mut ext = dims.clone();
    let last = dims[nd - 1];
    let from = ((last as f64 * part.start).floor() as usize).min(last);
    let to = ((last as f64 * part.end).floor() as usize).clamp(from, last);
    ext[nd - 1] = to - from;
    let mut st = vec![1usize; nd];
    for k in 1..nd {
        st[k] = st[k - 1] * dims[k - 1];
    }
    let start = from * st[nd - 1];
    let mut out = Vec::new();
    for a in 0..nd {
        for b in a + 1..nd {
            if ext[a] < min_side || ext[b] < min_side {
                continue;
            }
            let others: Vec<usize> = (0..nd).filter(|&k| k != a && k != b).collect();
            let count: usize = others.iter().map(|&k| ext[k]).product();
            for mut r in 0..count {
                let mut base = start;
                for &k in &others {
                    base += (r % ext[k]) * st[k];
                    r /= ext[k];
                }
                let mut data = Vec::with_capacity(ext[a] * ext[b]);
                for y in 0..ext[b] {
                    for x in 0..ext[a] {
                        let v = values[base + x * st[a] + y * st[b]];
                        data.push(((v - lo) / (hi - lo)) as f32);
                    }
                }
                out.push(Slice {
                    nx: ext[a],
                    ny: ext[b],
                    data,
                });
            }
        }
    }
    out
}

/// How to train one model.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Architecture (its `noise` is the training noise).
    pub config: SrConfig,
    /// Optimizer steps.
    pub steps: usize,
    /// Crops per step.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Seed of the weights, crops and noise.
    pub seed: u64,
    /// Model name.
    pub name: String,
    /// Output directory.
    pub out_dir: PathBuf,
    /// Manifest description.
    pub description: String,
    /// Where the training slices came from (manifest).
    pub sources: Vec<DataRef>,
    /// The split, in words (manifest).
    pub split: String,
    /// Start from these weights (safetensors bytes of a model of the same configuration).
    pub init: Option<Vec<u8>>,
    /// Where to train.
    pub device: Device,
    /// Show a progress bar.
    pub progress: bool,
}

/// What training wrote and measured.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// The manifest written.
    pub manifest_path: PathBuf,
    /// Validation MSE of the network's corrected prediction (range units squared).
    pub validation_mse: f64,
    /// Validation MSE of the cubic baseline alone.
    pub cubic_mse: f64,
}

/// One training sample: the network's input window and the masked targets of the tile.
struct Sample {
    window: Vec<f32>,
    /// `PHASES` planes of `tile * tile` targets (residual / scale), then the mask planes.
    target: Vec<f32>,
}

/// Cut the crop at `(x0, y0)` of `fx * fy` fine points out of `s`, add `noise` to its coarse
/// points and build the sample (targets unscaled: residuals in range units).
fn sample(
    s: &Slice,
    x0: usize,
    y0: usize,
    fx: usize,
    fy: usize,
    c: &SrConfig,
    rng: &mut ChaCha8Rng,
) -> Sample {
    let (cx, cy) = (fx.div_ceil(2), fy.div_ceil(2));
    let mut coarse = Vec::with_capacity(cx * cy);
    for j in 0..cy {
        for i in 0..cx {
            let v = f64::from(s.data[(y0 + 2 * j) * s.nx + x0 + 2 * i]);
            let n = if c.noise > 0.0 {
                // Box-Muller
                let (u1, u2): (f64, f64) = (rng.gen_range(1e-12..1.0), rng.gen());
                c.noise * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
            } else {
                0.0
            };
            coarse.push(v + n);
        }
    }
    let base = cubic_upsample(&coarse, cx, cy, fx, fy);
    let t = c.tile;
    let mut target = vec![0f32; 2 * PHASES * t * t];
    for y in 0..fy.min(2 * t) {
        for x in 0..fx.min(2 * t) {
            if let Some(p) = phase(x, y) {
                let truth = f64::from(s.data[(y0 + y) * s.nx + x0 + x]);
                let k = (y / 2) * t + x / 2;
                target[p * t * t + k] = (truth - base[y * fx + x]) as f32;
                target[(PHASES + p) * t * t + k] = 1.0;
            }
        }
    }
    let img = Image {
        nx: cx,
        ny: cy,
        data: coarse.iter().map(|&v| v as f32).collect(),
    };
    Sample {
        window: img.window(0, 0, c.halo(), c.window()),
        target,
    }
}

/// A random sample from `slices`.
fn draw(slices: &[Slice], c: &SrConfig, rng: &mut ChaCha8Rng) -> Sample {
    let s = &slices[rng.gen_range(0..slices.len())];
    let side = 2 * c.tile;
    let (fx, fy) = (s.nx.min(side), s.ny.min(side));
    let x0 = rng.gen_range(0..=s.nx - fx);
    let y0 = rng.gen_range(0..=s.ny - fy);
    sample(s, x0, y0, fx, fy, c, rng)
}

/// Train a model on `train` slices, validate on `validation` slices, and write
/// `<out>/<name>.safetensors` and `<out>/<name>.json`.
pub fn train(train: &[Slice], validation: &[Slice], o: &TrainOptions) -> Result<TrainReport> {
    init_runtime();
    let started = std::time::Instant::now();
    let mut cfg = o.config.clone();
    cfg.validate("training")?;
    let usable = |v: &[Slice]| -> Vec<Slice> {
        v.iter()
            .filter(|s| s.nx >= 8 && s.ny >= 8)
            .cloned()
            .collect()
    };
    let (train, validation) = (usable(train), usable(validation));
    if train.is_empty() || o.batch == 0 || o.steps == 0 {
        return Err(PressioError::InvalidArgument(
            "training needs slices of at least 8 x 8 points, a batch size and steps".into(),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed);
    let t = cfg.tile;
    // the residual scale, from a fixed draw of training samples (kept when fine-tuning)
    if o.init.is_none() {
        let (mut ss, mut n) = (0f64, 0f64);
        for _ in 0..256 {
            let s = draw(&train, &cfg, &mut rng);
            let (res, mask) = s.target.split_at(PHASES * t * t);
            for (r, m) in res.iter().zip(mask) {
                ss += f64::from(r * r * m);
                n += f64::from(*m);
            }
        }
        let rms = (ss / n.max(1.0)).sqrt();
        cfg.scale = if rms.is_finite() && rms > 0.0 {
            rms
        } else {
            1.0
        };
    }
    let scale = cfg.scale;

    let mut vs = VarStore::new(o.device);
    vs.set_kind(Kind::Float);
    tch::manual_seed(o.seed as i64);
    let net = SrNet::new(&vs.root(), &cfg)?;
    if let Some(w) = &o.init {
        pressio_ml_nn::model::load_weights(&vs, w, "the model fine-tuned")?;
    }
    let mut opt = tch::nn::Adam::default()
        .build(&vs, o.lr)
        .map_err(|e| tch_error("optimizer", e))?;
    let w = cfg.window() as i64;
    let (h, ti) = (cfg.halo() as i64, t as i64);
    let batch = |samples: &[Sample]| -> Result<(tch::Tensor, tch::Tensor, tch::Tensor)> {
        let b = samples.len() as i64;
        let x: Vec<f32> = samples
            .iter()
            .flat_map(|s| s.window.iter().copied())
            .collect();
        let y: Vec<f32> = samples
            .iter()
            .flat_map(|s| {
                let (r, m) = s.target.split_at(PHASES * t * t);
                r.iter()
                    .map(|v| (f64::from(*v) / scale) as f32)
                    .chain(m.iter().copied())
                    .collect::<Vec<_>>()
            })
            .collect();
        let x = tensor_from_f32(&x, &[b, 1, w, w], o.device)?;
        let y = tensor_from_f32(&y, &[b, 2 * PHASES as i64, ti, ti], o.device)?;
        let split = |r: std::result::Result<tch::Tensor, tch::TchError>| {
            r.map_err(|e| tch_error("targets", e))
        };
        let target = split(y.f_narrow(1, 0, PHASES as i64))?;
        let mask = split(y.f_narrow(1, PHASES as i64, PHASES as i64))?;
        Ok((x, target, mask))
    };
    let crop = |p: tch::Tensor| -> Result<tch::Tensor> {
        p.f_narrow(2, h, ti)
            .and_then(|p| p.f_narrow(3, h, ti))
            .map_err(|e| tch_error("crop", e))
    };

    let pb = bar(o.steps, o.progress, "steps");
    let mut recent = RecentMean::new(50);
    for step in 0..o.steps {
        if step == o.steps * 2 / 3 {
            opt.set_lr(o.lr * 0.2);
        }
        let samples: Vec<Sample> = (0..o.batch).map(|_| draw(&train, &cfg, &mut rng)).collect();
        let (x, target, mask) = batch(&samples)?;
        let pred = crop(net.forward(&x)?)?;
        let loss =
            ((pred - &target).square() * &mask).sum(Kind::Float) / (mask.sum(Kind::Float) + 1e-9);
        opt.backward_step(&loss);
        recent.push(loss.double_value(&[]));
        pb.inc(1);
        if step % 10 == 0 {
            pb.set_message(format!("mse/cubic {:.3}", recent.mean()));
        }
    }
    pb.finish_and_clear();
    let train_ratio = recent.mean();

    // validation: fixed crops of the held-out slices, noise as in training
    let mut vrng = ChaCha8Rng::seed_from_u64(o.seed ^ 0x5eed);
    let val_samples: Vec<Sample> = if validation.is_empty() {
        Vec::new()
    } else {
        (0..256)
            .map(|_| draw(&validation, &cfg, &mut vrng))
            .collect()
    };
    let (mut se, mut base, mut count) = (0.0, 0.0, 0.0);
    tch::no_grad(|| -> Result<()> {
        for chunk in val_samples.chunks(32) {
            let (x, target, mask) = batch(chunk)?;
            let pred = crop(net.forward(&x)?)?;
            se += ((&pred - &target).square() * &mask)
                .sum(Kind::Float)
                .double_value(&[]);
            base += (target.square() * &mask).sum(Kind::Float).double_value(&[]);
            count += mask.sum(Kind::Float).double_value(&[]);
        }
        Ok(())
    })?;
    let validation_mse = se / count.max(1.0) * scale * scale;
    let cubic_mse = base / count.max(1.0) * scale * scale;

    let losses: BTreeMap<String, f64> = [
        ("train_mse_over_scale2", train_ratio),
        ("validation_mse", validation_mse),
        ("validation_cubic_mse", cubic_mse),
    ]
    .into_iter()
    .filter(|(_, v)| v.is_finite())
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let manifest = Manifest::trained(
        &o.name,
        ARCHITECTURE,
        &o.description,
        &cfg,
        None,
        TrainingRecord {
            data: o.sources.clone(),
            sample: format!(
                "2-D slices along every axis pair (sides >= 8), each field normalised to [0, 1]; \
                 random {0}x{0} fine crops, coarse = crop[::2, ::2] + N(0, {1}) noise, targets \
                 = odd points minus the cubic baseline of the noisy coarse image",
                2 * t,
                cfg.noise
            ),
            train: format!("{} slices; {}", train.len(), o.split),
            validation: format!(
                "256 fixed crops of {} held-out slices (MSE in range units squared)",
                validation.len()
            ),
            test: "held-out fields and timesteps, measured by examples/srnsz_bench.rs".into(),
            epochs: 1,
            batch_size: o.batch as u32,
            learning_rate: o.lr,
            lr_decay: 0.2,
            seed: o.seed,
            final_losses: losses,
            device: device_name(o.device),
            libtorch: libtorch_version(),
            threads: tch::get_num_threads().max(1) as u32,
            seconds: started.elapsed().as_secs_f64(),
            notes: format!(
                "{} steps of {} crops (one pass of random draws, counted as 1 epoch), Adam, \
                 learning rate x0.2 after 2/3 of the steps{}",
                o.steps,
                o.batch,
                if o.init.is_some() {
                    "; fine-tuned from a general model"
                } else {
                    ""
                }
            ),
        },
    )?;
    let manifest_path = write_model(&o.out_dir, &vs, manifest)?.manifest_path;
    Ok(TrainReport {
        manifest_path,
        validation_mse,
        cubic_mse,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_cover_every_large_axis_pair_and_hold_out_the_tail() {
        let dims = [10usize, 9, 4];
        let v: Vec<f64> = (0..360).map(|i| i as f64).collect();
        let s = field_slices(&v, &dims, 4, 0.0..1.0);
        // (0,1): 4 slices of 10x9; (0,2): 9 of 10x4; (1,2): 10 of 9x4
        assert_eq!(s.len(), 4 + 9 + 10);
        assert_eq!((s[0].nx, s[0].ny), (10, 9));
        assert_eq!(s[0].data[0], 0.0);
        assert!((s[3].data[89] - 1.0).abs() < 1e-6);
        let held = field_slices(&v, &dims, 4, 0.5..1.0);
        // the slowest axis keeps 2 of 4: (0,1) 2 slices; (0,2) and (1,2) too short
        assert_eq!(held.len(), 2);
        assert_eq!(held[0].data, s[2].data);
    }
}
