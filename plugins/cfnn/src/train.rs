//! Training a CFNN model on libtorch (CPU or CUDA): random windows of the training slices,
//! masked MSE on the target's normalised backward differences, Adam; the validation MSE is
//! measured on the held-out (later) slices, tile by tile, against the zero predictor (which is
//! what plain Lorenzo assumes of the differences' innovations).

use crate::model::{
    backward_differences, network_inputs, CfnnConfig, CfnnNet, Windows, ARCHITECTURE,
};
use indicatif::{ProgressBar, ProgressStyle};
use pressio_ml_core::{PressioError, Result};
use pressio_ml_nn::inference::{init_runtime, libtorch_version, tensor_from_f32};
use pressio_ml_nn::model::{write_model, DataRef, Manifest, TrainingRecord};
use pressio_ml_nn::{device::device_name, tch_error};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::PathBuf;
use tch::nn::{OptimizerConfig, VarStore};
use tch::{Device, Kind, Tensor};

/// One multi-field training set: a target and its anchors on one grid.
#[derive(Debug, Clone)]
pub struct TrainField {
    /// Target values.
    pub target: Vec<f64>,
    /// Anchor values, in the model's anchor order.
    pub anchors: Vec<Vec<f64>>,
    /// Dims, fastest first; the slowest dims index slices (e.g. time).
    pub dims: Vec<usize>,
    /// Where the fields came from (for the manifest).
    pub sources: Vec<DataRef>,
}

/// How to train.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// 2 or 3: the network's spatial dims (the fastest dims of the data).
    pub dims: usize,
    /// Tile extent.
    pub tile: usize,
    /// Epochs.
    pub epochs: u32,
    /// Random windows per epoch.
    pub windows: usize,
    /// Windows per optimizer step.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Seed of the weights and window choice.
    pub seed: u64,
    /// Fraction of the slices (the last ones) held out for validation.
    pub validation: f64,
    /// Model name.
    pub name: String,
    /// Output directory.
    pub out_dir: PathBuf,
    /// Manifest description.
    pub description: String,
    /// Anchor names (documentation).
    pub anchor_names: Vec<String>,
    /// Target name (documentation).
    pub target_name: String,
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
    /// Validation MSE of the normalised differences.
    pub validation_mse: f64,
    /// Validation MSE of the zero predictor.
    pub zero_mse: f64,
}

fn rms(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x * x, n + 1));
    let r = (s / n.max(1) as f64).sqrt();
    if r.is_finite() && r > 0.0 {
        r
    } else {
        1.0
    }
}

/// Train on `field` and write `<out>/<name>.safetensors` and `<out>/<name>.json`.
pub fn train(field: &TrainField, o: &TrainOptions) -> Result<TrainReport> {
    init_runtime();
    let started = std::time::Instant::now();
    let m = o.dims;
    let n = field.target.len();
    if field.dims.iter().product::<usize>() != n || field.anchors.iter().any(|a| a.len() != n) {
        return Err(PressioError::InvalidArgument(
            "target and anchors must all have product(dims) values".into(),
        ));
    }
    if field.anchors.is_empty() || o.batch == 0 || o.windows == 0 {
        return Err(PressioError::InvalidArgument(
            "training needs anchors, a batch size and windows".into(),
        ));
    }
    let slice: usize = field.dims.iter().take(m).product();
    let nslices = n / slice.max(1);
    let n_train = (((nslices as f64) * (1.0 - o.validation)).floor() as usize).clamp(1, nslices);
    let val: Vec<usize> = if n_train < nslices {
        (n_train..nslices).collect()
    } else {
        (0..nslices).collect()
    };
    let train_part = |v: &[f64]| v[..n_train * slice].to_vec();
    let tdiff = backward_differences(&field.target, &field.dims, m);
    let cfg = CfnnConfig {
        dims: m,
        anchors: field.anchors.len(),
        tile: o.tile,
        anchor_scale: field
            .anchors
            .iter()
            .map(|a| {
                let d = backward_differences(&train_part(a), &field.dims_train(n_train, m), m);
                rms(d.iter().flatten().copied())
            })
            .collect(),
        target_scale: tdiff
            .iter()
            .map(|d| rms(d[..n_train * slice].iter().copied()))
            .collect(),
        anchor_names: o.anchor_names.clone(),
        target_name: o.target_name.clone(),
    };
    cfg.validate("training")?;
    let inputs = network_inputs(&field.anchors, &field.dims, &cfg);
    let mut targets: Vec<Vec<f32>> = tdiff
        .iter()
        .zip(&cfg.target_scale)
        .map(|(d, s)| d.iter().map(|v| (v / s) as f32).collect())
        .collect();
    targets.push(vec![1.0; n]); // validity mask
    let xin = Windows::new(&inputs, &field.dims, &cfg)?;
    let yin = Windows::new(&targets, &field.dims, &cfg)?;
    let win = cfg.window_shape();
    let wshape: Vec<i64> = win.iter().skip(3 - m).map(|&w| w as i64).collect();
    let halo = xin.halo;

    let mut vs = VarStore::new(o.device);
    vs.set_kind(Kind::Float);
    tch::manual_seed(o.seed as i64);
    let net = CfnnNet::new(&vs.root(), &cfg)?;
    let mut opt = tch::nn::Adam::default()
        .build(&vs, o.lr)
        .map_err(|e| tch_error("optimizer", e))?;
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed);
    let ext = xin.ext;
    let pick = |rng: &mut ChaCha8Rng, a: usize| {
        if a == 0 && halo[0] == 0 {
            0
        } else {
            rng.gen_range(0..=ext[a].saturating_sub(o.tile))
        }
    };
    // the tile interiors of windows `[n, c, window...]`
    let crop = |t: Tensor| -> Result<Tensor> {
        let mut t = t;
        for (k, a) in (3 - m..3).enumerate() {
            t = t
                .f_narrow(2 + k as i64, halo[a] as i64, o.tile as i64)
                .map_err(|e| tch_error("crop", e))?;
        }
        Ok(t)
    };
    let batch_tensors = |jobs: &[(usize, [usize; 3])]| -> Result<(Tensor, Tensor, Tensor)> {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for &(s, origin) in jobs {
            x.extend(xin.window(s, origin));
            y.extend(yin.window(s, origin));
        }
        let b = jobs.len() as i64;
        let mut xs = vec![b, (m * cfg.anchors) as i64];
        xs.extend(&wshape);
        let mut ys = vec![b, (m + 1) as i64];
        ys.extend(&wshape);
        let x = tensor_from_f32(&x, &xs, o.device)?;
        let y = tensor_from_f32(&y, &ys, o.device)?;
        let y = crop(y)?;
        let split = |t: Result<Tensor, tch::TchError>| t.map_err(|e| tch_error("mask", e));
        let mask = split(y.f_narrow(1, m as i64, 1))?;
        let t = split(y.f_narrow(1, 0, m as i64))?;
        Ok((x, t, mask))
    };
    let masked_mse = |pred: &Tensor, t: &Tensor, mask: &Tensor| -> Tensor {
        let e = (pred - t).square() * mask;
        e.sum(Kind::Float) / (mask.sum(Kind::Float) * m as f64 + 1e-12)
    };

    let steps = o.windows.div_ceil(o.batch);
    let pb = if o.progress {
        ProgressBar::new((steps * o.epochs as usize) as u64)
    } else {
        ProgressBar::hidden()
    };
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} steps, eta {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut last = f64::NAN;
    for epoch in 0..o.epochs {
        let mut total = 0.0;
        for _ in 0..steps {
            let jobs: Vec<(usize, [usize; 3])> = (0..o.batch)
                .map(|_| {
                    let s = rng.gen_range(0..n_train);
                    (s, [pick(&mut rng, 0), pick(&mut rng, 1), pick(&mut rng, 2)])
                })
                .collect();
            let (x, t, mask) = batch_tensors(&jobs)?;
            let pred = crop(net.forward(&x)?)?;
            let loss = masked_mse(&pred, &t, &mask);
            opt.backward_step(&loss);
            total += loss.double_value(&[]);
            pb.inc(1);
        }
        last = total / steps as f64;
        pb.set_message(format!("epoch {}: train mse {last:.4}", epoch + 1));
    }
    pb.finish_and_clear();

    // validation: every tile of the held-out slices
    let tiles = xin.tiles();
    let mut jobs = Vec::new();
    for &s in &val {
        for tz in 0..tiles[0] {
            for ty in 0..tiles[1] {
                for tx in 0..tiles[2] {
                    jobs.push((s, [tz * o.tile, ty * o.tile, tx * o.tile]));
                }
            }
        }
    }
    let (mut se, mut zero, mut count) = (0.0, 0.0, 0.0);
    tch::no_grad(|| -> Result<()> {
        for chunk in jobs.chunks(o.batch.max(1)) {
            let (x, t, mask) = batch_tensors(chunk)?;
            let pred = crop(net.forward(&x)?)?;
            se += ((&pred - &t).square() * &mask)
                .sum(Kind::Float)
                .double_value(&[]);
            zero += (t.square() * &mask).sum(Kind::Float).double_value(&[]);
            count += mask.sum(Kind::Float).double_value(&[]) * m as f64;
        }
        Ok(())
    })?;
    let validation_mse = se / count.max(1.0);
    let zero_mse = zero / count.max(1.0);

    let losses: BTreeMap<String, f64> = [
        ("train_mse", last),
        ("validation_mse", validation_mse),
        ("validation_zero_predictor_mse", zero_mse),
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
            data: field.sources.clone(),
            sample: format!(
                "{m}-D slices over the {m} fastest dims; random windows of {:?} ({} tile + {} \
                 halo)",
                win,
                o.tile,
                crate::model::HALO
            ),
            train: format!("slices 0..{n_train} of {nslices}"),
            validation: format!("slices {}..{} (every tile)", val[0], val[val.len() - 1] + 1),
            test: "none (held-out timesteps are measured by the benchmark)".into(),
            epochs: o.epochs,
            batch_size: o.batch as u32,
            learning_rate: o.lr,
            lr_decay: 1.0,
            seed: o.seed,
            final_losses: losses,
            device: device_name(o.device),
            libtorch: libtorch_version(),
            threads: tch::get_num_threads().max(1) as u32,
            seconds: started.elapsed().as_secs_f64(),
            notes: format!(
                "masked MSE on backward differences divided by their training RMS; Adam; \
                 {} windows per epoch",
                o.windows
            ),
        },
    )?;
    let manifest_path = write_model(&o.out_dir, &vs, manifest)?.manifest_path;
    Ok(TrainReport {
        manifest_path,
        validation_mse,
        zero_mse,
    })
}

impl TrainField {
    /// A field from `f32` target and anchors of `dims` (no sources recorded).
    pub fn from_f32(target: &[f32], anchors: &[Vec<f32>], dims: &[usize]) -> TrainField {
        let f64s = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
        TrainField {
            target: f64s(target),
            anchors: anchors.iter().map(|a| f64s(a)).collect(),
            dims: dims.to_vec(),
            sources: Vec::new(),
        }
    }

    /// Dims of the first `n_train` slices.
    fn dims_train(&self, n_train: usize, m: usize) -> Vec<usize> {
        let slice: usize = self.dims.iter().take(m).product();
        let mut d = self.dims[..m].to_vec();
        d.push(n_train);
        debug_assert_eq!(d.iter().product::<usize>(), n_train * slice);
        d
    }
}
