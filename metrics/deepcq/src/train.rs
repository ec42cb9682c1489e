//! Training DeepCQ on a [`LabelSet`], in two stages (CPU or CUDA):
//!
//! 1. **Backbone.** Backbone, bound embedding and the MLP heads are trained together on every
//!    (compressor, metric) target at every bound, with fresh random blocks per step (the blocks
//!    are the augmentation). Loss: MSE of standardised targets (log ratio, PSNR, and
//!    `-ln(1 - SSIM)`), labels that failed masked out.
//! 2. **Heads.** The backbone and the embedding are frozen; features are computed once per
//!    sample (the prediction's fixed blocks plus a few random draws for training samples), and
//!    the MLP heads are fine-tuned while the mixture-of-experts heads are trained from scratch.
//!
//! The variant with the lower validation MAPE becomes the model's default head.

use crate::blocks::{sample_blocks, statistics, STATS};
use crate::labels::{read_field, LabelSet, Split};
use crate::model::{Hyper, FEATURE_SEED};
use crate::net::{DeepCqNet, HeadKind, NetConfig, ARCHITECTURE};
use crate::targets::{mape, HeadId};
use pressio_ml_core::{FillSpec, PressioError, Result};
use pressio_ml_nn::inference::{libtorch_version, tensor_from_f32, tensor_to_f32};
use pressio_ml_nn::model::{write_model, DataRef, Manifest, TrainingRecord};
use pressio_ml_nn::progress::{bar, RecentMean};
use pressio_ml_nn::{device::device_name, tch_error};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use tch::nn::{OptimizerConfig, VarStore};
use tch::{Device, Kind, Tensor};

/// One labelled sample, ready to train on.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Field name.
    pub field: String,
    /// Tile description.
    pub tile: String,
    /// Split.
    pub split: Split,
    /// Values (tile), fastest first.
    pub values: Vec<f64>,
    /// Tile dims.
    pub dims: Vec<usize>,
    /// Validity (None: every point valid).
    pub valid: Option<Vec<bool>>,
    /// Raw targets `[bound][head]` (NaN where the label is missing).
    pub targets: Vec<f64>,
}

/// Turn labels into samples: tile values (read once per file), validity under the default
/// fill rule, and targets per bound and head.
pub fn samples(labels: &LabelSet, heads: &[HeadId]) -> Result<Vec<Sample>> {
    let mut out = Vec::with_capacity(labels.tiles.len());
    let mut cache: Option<(PathBuf, Vec<f64>)> = None;
    let nb = labels.bounds.len();
    for l in &labels.tiles {
        if cache.as_ref().is_none_or(|(p, _)| *p != l.tile.path) {
            cache = Some((l.tile.path.clone(), read_field(&l.tile.path)?.0));
        }
        let field: &[f64] = cache.as_ref().map_or(&[], |c| c.1.as_slice());
        let values = l.tile.extract(field)?;
        let f32s: Vec<f32> = values.iter().map(|&v| v as f32).collect();
        let valid = FillSpec::default()
            .detect(&f32s)
            .map(|f| f.iter().map(|x| !x).collect::<Vec<bool>>());
        let mut targets = vec![f64::NAN; nb * heads.len()];
        for (h, head) in heads.iter().enumerate() {
            let Some(c) = labels
                .compressors
                .iter()
                .position(|c| *c == head.compressor)
            else {
                continue;
            };
            let q = head.quality as usize;
            for b in 0..nb {
                if let Some(m) = l.measured.get(c).and_then(|v| v.get(b)).copied().flatten() {
                    if let Some(t) = head.quality.to_target(m[q]) {
                        targets[b * heads.len() + h] = t;
                    }
                }
            }
        }
        out.push(Sample {
            field: l.tile.field.clone(),
            tile: l.tile.describe(),
            split: l.tile.split,
            values,
            dims: l.tile.dims(),
            valid,
            targets,
        });
    }
    Ok(out)
}

/// Training settings.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Network sizes.
    pub net: NetConfig,
    /// Block sampling.
    pub blocks: crate::blocks::BlockConfig,
    /// Stage-1 steps.
    pub backbone_steps: usize,
    /// Samples per stage-1 step.
    pub batch: usize,
    /// Stage-2 epochs.
    pub head_epochs: usize,
    /// Extra random block draws per training sample in stage 2.
    pub head_draws: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Seed.
    pub seed: u64,
    /// Device.
    pub device: Device,
    /// libtorch threads.
    pub threads: usize,
    /// Show progress bars.
    pub progress: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            net: NetConfig::default(),
            blocks: crate::blocks::BlockConfig::default(),
            backbone_steps: 1500,
            batch: 8,
            head_epochs: 150,
            head_draws: 3,
            lr: 2e-3,
            seed: 11,
            device: Device::Cpu,
            threads: 2,
            progress: true,
        }
    }
}

/// One evaluated prediction.
#[derive(Debug, Clone, Serialize)]
pub struct EvalRow {
    /// Field name.
    pub field: String,
    /// Tile description.
    pub tile: String,
    /// Split.
    pub split: Split,
    /// Head.
    pub head: HeadId,
    /// Relative bound.
    pub bound: f64,
    /// Measured value.
    pub actual: f64,
    /// Predicted value.
    pub predicted: f64,
}

/// What training produced.
pub struct Trained {
    /// The manifest (name, description and data filled in by [`write`]).
    pub manifest: Manifest,
    /// The hyper-parameters, with the evaluation record.
    pub hyper: Hyper,
    /// Predictions of both variants on every sample (`(kind, rows)`).
    pub evaluation: Vec<(HeadKind, Vec<EvalRow>)>,
    /// The variable store (for writing).
    pub vs: VarStore,
}

fn class_of(dims: &[usize]) -> usize {
    dims.iter().filter(|&&d| d > 1).count().clamp(1, 3)
}

/// Blocks of `samples` (same class) stacked, `[s * k, C, d, h, w]`, and their residual
/// statistics, `[s, STATS]`.
fn block_tensor(
    samples: &[&Sample],
    o: &TrainOptions,
    seeds: &[u64],
    device: Device,
) -> Result<(Tensor, Tensor)> {
    let mut data = Vec::new();
    let mut stats = Vec::new();
    let mut shape = [0i64; 5];
    for (s, seed) in samples.iter().zip(seeds) {
        let b = sample_blocks(&s.values, &s.dims, s.valid.as_deref(), &o.blocks, *seed)?;
        shape = b.tensor_shape();
        data.extend_from_slice(&b.data);
        stats.extend_from_slice(&statistics(&b));
    }
    shape[0] *= samples.len() as i64;
    Ok((
        tensor_from_f32(&data, &shape, device)?,
        tensor_from_f32(&stats, &[samples.len() as i64, STATS as i64], device)?,
    ))
}

/// Standardised targets and mask of `samples` as `[s * nb, heads]` tensors.
fn target_tensors(
    samples: &[&Sample],
    scales: &[[f64; 2]],
    device: Device,
) -> Result<(Tensor, Tensor)> {
    let h = scales.len();
    let mut t = Vec::new();
    let mut m = Vec::new();
    for s in samples {
        for (i, v) in s.targets.iter().enumerate() {
            let [mean, std] = scales[i % h];
            if v.is_finite() {
                t.push(((v - mean) / std) as f32);
                m.push(1.0f32);
            } else {
                t.push(0.0);
                m.push(0.0);
            }
        }
    }
    let rows = (t.len() / h) as i64;
    Ok((
        tensor_from_f32(&t, &[rows, h as i64], device)?,
        tensor_from_f32(&m, &[rows, h as i64], device)?,
    ))
}

fn masked_mse(pred: &Tensor, target: &Tensor, mask: &Tensor) -> Tensor {
    ((pred - target).square() * mask).sum(Kind::Float) / (mask.sum(Kind::Float) + 1e-9)
}

/// Train on `samples` (their splits decide what trains and what validates).
pub fn train(
    samples: &[Sample],
    heads: &[HeadId],
    bounds: &[f64],
    o: &TrainOptions,
) -> Result<Trained> {
    let train: Vec<&Sample> = samples.iter().filter(|s| s.split == Split::Train).collect();
    if train.is_empty() || bounds.is_empty() || heads.is_empty() || o.batch == 0 {
        return Err(PressioError::InvalidArgument(
            "deepcq training needs training samples, bounds, heads and a batch size".into(),
        ));
    }
    let h = heads.len();
    let nb = bounds.len();
    // target scales over the training labels
    let mut scales = Vec::with_capacity(h);
    for j in 0..h {
        let v: Vec<f64> = train
            .iter()
            .flat_map(|s| (0..nb).map(move |b| s.targets[b * h + j]))
            .filter(|v| v.is_finite())
            .collect();
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        scales.push([mean, var.sqrt().max(1e-3)]);
    }
    let hyper = Hyper {
        net: o.net.clone(),
        blocks: o.blocks.clone(),
        heads: heads.to_vec(),
        scales: scales.clone(),
        bound_range: [bounds[0], bounds[nb - 1]],
        default_head: HeadKind::Moe,
        evaluation: serde_json::Value::Null,
    };
    hyper.validate()?;
    let device = o.device;
    let mut vs = VarStore::new(device);
    vs.set_kind(Kind::Float);
    tch::manual_seed(o.seed as i64);
    let net = DeepCqNet::new(&vs.root(), &o.net, h)?;
    let xs: Vec<f32> = bounds.iter().map(|&b| hyper.bound_input(b)).collect();
    let bound_t = tensor_from_f32(&xs, &[nb as i64, 1], device)?;
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed);

    // stage 1: backbone, embedding and MLP heads
    let mut by_class: BTreeMap<usize, Vec<&Sample>> = BTreeMap::new();
    for s in &train {
        by_class.entry(class_of(&s.dims)).or_default().push(s);
    }
    let classes: Vec<(usize, Vec<&Sample>)> = by_class.into_iter().collect();
    let total: usize = classes.iter().map(|c| c.1.len()).sum();
    let mut opt = tch::nn::Adam::default()
        .build(&vs, o.lr)
        .map_err(|e| tch_error("optimizer", e))?;
    let pb = bar(o.backbone_steps, o.progress, "backbone steps");
    let mut recent = RecentMean::new(50);
    for step in 0..o.backbone_steps {
        if step == o.backbone_steps * 2 / 3 {
            opt.set_lr(o.lr * 0.2);
        }
        let mut pick = rng.gen_range(0..total);
        let mut group = &classes[0].1;
        for (_, g) in &classes {
            if pick < g.len() {
                group = g;
                break;
            }
            pick -= g.len();
        }
        let batch: Vec<&Sample> = (0..o.batch.min(group.len()))
            .map(|_| group[rng.gen_range(0..group.len())])
            .collect();
        let seeds: Vec<u64> = batch.iter().map(|_| rng.gen()).collect();
        let (x, st) = block_tensor(&batch, o, &seeds, device)?;
        let f = net.features(&x, batch.len() as i64, &st)?;
        let z = DeepCqNet::join(&f, &net.embed(&bound_t)?)?;
        let pred = net.predict(&z, HeadKind::Mlp)?;
        let (t, m) = target_tensors(&batch, &scales, device)?;
        let loss = masked_mse(&pred, &t, &m);
        opt.backward_step(&loss);
        recent.push(loss.double_value(&[]));
        pb.inc(1);
        if step % 10 == 0 {
            pb.set_message(format!("loss {:.4}", recent.mean()));
        }
    }
    pb.finish_and_clear();
    let stage1_loss = recent.mean();

    // stage 2: frozen features, heads
    let feature_of = |s: &Sample, seed: u64| -> Result<Vec<f32>> {
        let _g = tch::no_grad_guard();
        let (x, st) = block_tensor(&[s], o, &[seed], device)?;
        tensor_to_f32(&net.features(&x, 1, &st)?)
    };
    let fdim = o.net.features() as usize;
    let pb = bar(samples.len(), o.progress, "samples featurised");
    let mut fixed: Vec<Vec<f32>> = Vec::with_capacity(samples.len());
    let mut rows_f: Vec<f32> = Vec::new();
    let mut rows_s: Vec<usize> = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        let f = feature_of(s, FEATURE_SEED)?;
        if s.split == Split::Train {
            rows_f.extend_from_slice(&f);
            rows_s.push(i);
            for _ in 0..o.head_draws {
                rows_f.extend(feature_of(s, rng.gen())?);
                rows_s.push(i);
            }
        }
        fixed.push(f);
        pb.inc(1);
    }
    pb.finish_and_clear();
    let emb = {
        let _g = tch::no_grad_guard();
        net.embed(&bound_t)?
    };
    let mut opt = tch::nn::Adam::default()
        .build(&vs, o.lr)
        .map_err(|e| tch_error("optimizer", e))?;
    let n_rows = rows_s.len();
    let hb = 32usize;
    let pb = bar(o.head_epochs, o.progress, "head epochs");
    let mut order: Vec<usize> = (0..n_rows).collect();
    let mut last = 0.0;
    for epoch in 0..o.head_epochs {
        if epoch == o.head_epochs * 2 / 3 {
            opt.set_lr(o.lr * 0.2);
        }
        order.shuffle(&mut rng);
        let mut sum = 0.0;
        let mut count = 0usize;
        for chunk in order.chunks(hb) {
            let f: Vec<f32> = chunk
                .iter()
                .flat_map(|&r| rows_f[r * fdim..(r + 1) * fdim].iter().copied())
                .collect();
            let f = tensor_from_f32(&f, &[chunk.len() as i64, fdim as i64], device)?;
            let z = DeepCqNet::join(&f, &emb)?;
            let batch: Vec<&Sample> = chunk.iter().map(|&r| &samples[rows_s[r]]).collect();
            let (t, m) = target_tensors(&batch, &scales, device)?;
            let loss = masked_mse(&net.predict(&z, HeadKind::Mlp)?, &t, &m)
                + masked_mse(&net.predict(&z, HeadKind::Moe)?, &t, &m);
            opt.backward_step(&loss);
            sum += loss.double_value(&[]);
            count += 1;
        }
        last = sum / count.max(1) as f64;
        pb.inc(1);
        pb.set_message(format!("loss (mlp + moe) {last:.4}"));
    }
    pb.finish_and_clear();

    // evaluation of both variants on every sample, from the fixed (prediction) blocks
    let mut evaluation = Vec::new();
    for kind in [HeadKind::Mlp, HeadKind::Moe] {
        let mut rows = Vec::new();
        let _g = tch::no_grad_guard();
        for (s, f) in samples.iter().zip(&fixed) {
            let ft = tensor_from_f32(f, &[1, fdim as i64], device)?;
            let p = tensor_to_f32(&net.predict(&DeepCqNet::join(&ft, &emb)?, kind)?)?;
            for b in 0..nb {
                for (j, head) in heads.iter().enumerate() {
                    let raw = s.targets[b * h + j];
                    if !raw.is_finite() {
                        continue;
                    }
                    let [mean, std] = scales[j];
                    rows.push(EvalRow {
                        field: s.field.clone(),
                        tile: s.tile.clone(),
                        split: s.split,
                        head: head.clone(),
                        bound: bounds[b],
                        actual: head.quality.from_target(raw),
                        predicted: head
                            .quality
                            .from_target(f64::from(p[b * h + j]) * std + mean),
                    });
                }
            }
        }
        evaluation.push((kind, rows));
    }
    let split_mape = |rows: &[EvalRow], split: Split| {
        mape(
            rows.iter()
                .filter(|r| r.split == split)
                .map(|r| (r.predicted, r.actual)),
        )
    };
    let val_split = if samples.iter().any(|s| s.split == Split::Validation) {
        Split::Validation
    } else {
        Split::Train
    };
    let (mlp_val, moe_val) = (
        split_mape(&evaluation[0].1, val_split),
        split_mape(&evaluation[1].1, val_split),
    );
    let default_head = if moe_val <= mlp_val || mlp_val.is_nan() {
        HeadKind::Moe
    } else {
        HeadKind::Mlp
    };
    let mut per_head = serde_json::Map::new();
    for (kind, rows) in &evaluation {
        let mut m = serde_json::Map::new();
        for head in heads {
            let key = format!("{}:{}", head.compressor, head.quality.name());
            let mut e = serde_json::Map::new();
            for split in [Split::Train, Split::Validation, Split::Test] {
                let v = mape(
                    rows.iter()
                        .filter(|r| r.split == split && r.head == *head)
                        .map(|r| (r.predicted, r.actual)),
                );
                e.insert(split.name().into(), serde_json::json!(round2(v)));
            }
            m.insert(key, serde_json::Value::Object(e));
        }
        per_head.insert(kind.name().into(), serde_json::Value::Object(m));
    }
    let mut hyper = hyper;
    hyper.default_head = default_head;
    hyper.evaluation = serde_json::json!({
        "mape_percent_by_head_and_split": per_head,
        "validation_mape_percent": {"mlp": round2(mlp_val), "moe": round2(moe_val)},
        "test_mape_percent": {
            "mlp": round2(split_mape(&evaluation[0].1, Split::Test)),
            "moe": round2(split_mape(&evaluation[1].1, Split::Test)),
        },
        "stage1_loss": stage1_loss,
        "stage2_loss": last,
    });
    let manifest = Manifest::trained(
        "",
        ARCHITECTURE,
        "",
        &hyper,
        None,
        TrainingRecord {
            device: device_name(device),
            libtorch: libtorch_version(),
            threads: o.threads as u32,
            batch_size: o.batch as u32,
            learning_rate: o.lr,
            seed: o.seed,
            epochs: o.head_epochs as u32,
            ..TrainingRecord::default()
        },
    )?;
    Ok(Trained {
        manifest,
        hyper,
        evaluation,
        vs,
    })
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Write a trained model as `<dir>/<name>.safetensors` and `.json`, recording the data and
/// the split; returns the manifest's path.
pub fn write(
    trained: &Trained,
    dir: &std::path::Path,
    name: &str,
    labels: &LabelSet,
    seconds: f64,
    description: &str,
) -> Result<PathBuf> {
    let mut manifest = trained.manifest.clone();
    manifest.name = name.to_string();
    manifest.description = description.to_string();
    let mut files: Vec<(String, Vec<usize>)> = labels
        .tiles
        .iter()
        .map(|t| (t.tile.path.display().to_string(), t.tile.field_dims.clone()))
        .collect();
    files.sort();
    files.dedup();
    manifest.training.data = files
        .into_iter()
        .map(|(path, dims)| DataRef {
            path,
            dims,
            dtype: "float".into(),
        })
        .collect();
    let count = |s: Split| labels.tiles.iter().filter(|t| t.tile.split == s).count();
    manifest.training.sample = format!(
        "tiles of the fields (volumes of about 2^16 values and single 2-D planes), each labelled \
         with {} at {} log-spaced relative bounds {:e}..{:e}",
        labels.compressors.join(", "),
        labels.bounds.len(),
        labels.bounds.first().copied().unwrap_or(f64::NAN),
        labels.bounds.last().copied().unwrap_or(f64::NAN),
    );
    manifest.training.train = format!(
        "{} tiles: every field not held out, positions below 60% of the slowest axis",
        count(Split::Train)
    );
    manifest.training.validation = format!(
        "{} tiles: positions 60-75% of the slowest axis",
        count(Split::Validation)
    );
    manifest.training.test = format!(
        "{} tiles: the fields {} whole, and positions from 75% of every other field's slowest \
         axis (CESM members 6-7, the last years / hours / levels, WRF's last timestep)",
        count(Split::Test),
        crate::labels::TEST_FIELDS.join(", ")
    );
    manifest.training.seconds = seconds;
    let written = write_model(dir, &trained.vs, manifest)?;
    Ok(written.manifest_path)
}
