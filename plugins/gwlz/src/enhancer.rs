//! The per-group enhancer: a two-layer convolutional network that predicts the residual
//! `R = X - X'` of a point from the 5x5 neighbourhood of `X'` around it.
//!
//! Architecture (the paper's "9 channels, 2 convolutional layers, ~200 parameters"):
//! `Conv2d(1 -> c, 3x3) + BatchNorm(c) + ReLU -> Conv2d(c -> 1, 3x3)`, 21c + 1 learnable
//! parameters (190 at c = 9). Training uses batch statistics; afterwards the BatchNorm is folded
//! into the first convolution with the population statistics of the training samples, so the
//! stream stores 19c + 1 fp32 values (172 at c = 9) and inference is two convolutions.
//!
//! Training (the paper leaves the optimizer and schedule open): Adam, masked MSE on the
//! residual divided by the group's largest residual, the learning rate halved at each third of
//! the epochs, minibatches in a seeded order, weights initialised from a seeded ChaCha stream.
//! It depends on no global random state, so groups can train concurrently and the result does
//! not depend on how many threads do so.

use pressio_ml_core::{PressioError, Result};
use pressio_ml_nn::inference::{tensor_from_f32, tensor_to_f32};
use pressio_ml_nn::portable::{self, Act, Layer};
use pressio_ml_nn::tch_error;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;
use tch::nn::{OptimizerConfig, VarStore};
use tch::{Device, Kind, Reduction, Tensor};

use crate::features::{PATCH, PATCH_LEN};

/// BatchNorm epsilon.
const BN_EPS: f64 = 1e-5;

/// fp32 values a folded model of `channels` channels stores.
pub const fn stored_params(channels: usize) -> usize {
    19 * channels + 1
}

/// Learnable parameters while training (before BatchNorm folding).
pub const fn trained_params(channels: usize) -> usize {
    21 * channels + 1
}

/// How one group's network is trained.
#[derive(Debug, Clone)]
pub struct TrainSettings {
    /// Passes over the training samples.
    pub epochs: u32,
    /// Samples per optimizer step.
    pub batch: usize,
    /// Initial Adam learning rate.
    pub lr: f64,
    /// Seed of the initial weights and the sample order.
    pub seed: u64,
    /// Stop after the epoch that ends past this instant (at least one epoch always runs).
    pub deadline: Option<Instant>,
    /// Where to train.
    pub device: Device,
}

/// What training did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TrainInfo {
    /// Epochs that ran.
    pub epochs: u32,
    /// Mean training loss of the last epoch (normalised units).
    pub loss: f64,
}

/// A trained, BatchNorm-folded network: `w1 [c,1,3,3] | b1 [c] | w2 [1,c,3,3] | b2 [1]`.
///
/// Its predictions decide which points the decoder enhances (and, in strict mode, which
/// points the encoder stores exactly), so they run on `pressio_ml_nn::portable`: the same
/// bits in every process and at every thread count, whatever BLAS the host has loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct Folded {
    /// Hidden channels.
    pub channels: usize,
    /// The parameters in the order above.
    pub weights: Vec<f32>,
    net: portable::Network,
}

fn err(what: &str) -> impl Fn(tch::TchError) -> PressioError + '_ {
    move |e| tch_error(what, e)
}

impl Folded {
    /// Wrap stored weights, checking their count.
    pub fn new(channels: usize, weights: Vec<f32>) -> Result<Folded> {
        if channels == 0 || weights.len() != stored_params(channels) {
            return Err(PressioError::corrupt(format!(
                "{} weights for a {channels}-channel enhancer",
                weights.len()
            )));
        }
        if weights.iter().any(|w| !w.is_finite()) {
            return Err(PressioError::corrupt("non-finite enhancer weight"));
        }
        let c = channels;
        let conv = |c_in, c_out, w: &[f32], b: &[f32]| {
            portable::Conv::new(
                portable::ConvSpec {
                    dims: 2,
                    c_in,
                    c_out,
                    kernel: 3,
                    stride: 1,
                    padding: 0,
                    output_padding: 0,
                    groups: 1,
                    transposed: false,
                },
                w.to_vec(),
                Some(b.to_vec()),
            )
        };
        let net = portable::Network {
            in_channels: 1,
            in_shape: [1, PATCH, PATCH],
            layers: vec![
                Layer::Conv(conv(1, c, &weights[..9 * c], &weights[9 * c..10 * c])?),
                Layer::Act(Act::Relu),
                Layer::Conv(conv(c, 1, &weights[10 * c..19 * c], &weights[19 * c..])?),
            ],
        };
        Ok(Folded {
            channels,
            weights,
            net,
        })
    }

    /// Predict the normalised residual of every neighbourhood in `inputs` (25 values each),
    /// spread over the current rayon pool when `parallel`; the same bits either way.
    pub fn predict(&self, inputs: &[f32], parallel: bool) -> Result<Vec<f32>> {
        self.net.forward(inputs, parallel)
    }
}

fn uniform(rng: &mut ChaCha8Rng, n: usize, bound: f64) -> Vec<f32> {
    (0..n)
        .map(|_| rng.gen_range(-bound..bound) as f32)
        .collect()
}

/// Train one group's network on `inputs` (25 values per sample) and normalised `targets` (one
/// per sample), and return it folded; `None` when training diverged to non-finite weights (the
/// group then keeps the inner compressor's values).
pub fn train(
    inputs: &[f32],
    targets: &[f32],
    channels: usize,
    s: &TrainSettings,
) -> Result<(Option<Folded>, TrainInfo)> {
    let n = targets.len();
    if n == 0 || inputs.len() != n * PATCH_LEN || channels == 0 || s.batch == 0 {
        return Err(PressioError::InvalidArgument(format!(
            "enhancer training on {n} samples of {} values with {channels} channels",
            inputs.len()
        )));
    }
    let dev = s.device;
    let c = channels as i64;
    let p = PATCH as i64;
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    let x_all = tensor_from_f32(inputs, &[n as i64, 1, p, p], dev)?;
    let y_all = tensor_from_f32(targets, &[n as i64, 1], dev)?;

    let vs = VarStore::new(dev);
    let root = vs.root();
    let init = |rng: &mut ChaCha8Rng, len: usize, bound: f64, shape: &[i64]| {
        tensor_from_f32(&uniform(rng, len, bound), shape, dev)
    };
    let w1 = root.var_copy(
        "w1",
        &init(&mut rng, 9 * channels, 1.0 / 3.0, &[c, 1, 3, 3])?,
    );
    let b1 = root.var_copy("b1", &Tensor::zeros([c], (Kind::Float, dev)));
    let gamma = root.var_copy("gamma", &Tensor::ones([c], (Kind::Float, dev)));
    let beta = root.var_copy("beta", &Tensor::zeros([c], (Kind::Float, dev)));
    let w2_bound = 0.1 / (9.0 * channels as f64).sqrt();
    let w2 = root.var_copy(
        "w2",
        &init(&mut rng, 9 * channels, w2_bound, &[1, c, 3, 3])?,
    );
    let b2 = root.var_copy("b2", &Tensor::zeros([1], (Kind::Float, dev)));
    let mut opt = tch::nn::Adam::default()
        .build(&vs, s.lr)
        .map_err(err("enhancer optimizer"))?;

    let forward = |x: &Tensor| -> Result<Tensor> {
        let b = x.size()[0];
        x.f_conv2d(&w1, Some(&b1), [1, 1], [0, 0], [1, 1], 1)
            .and_then(|h| {
                h.f_batch_norm(
                    Some(&gamma),
                    Some(&beta),
                    None::<&Tensor>,
                    None::<&Tensor>,
                    true,
                    0.1,
                    BN_EPS,
                    false,
                )
            })
            .and_then(|h| h.f_relu())
            .and_then(|h| h.f_conv2d(&w2, Some(&b2), [1, 1], [0, 0], [1, 1], 1))
            .and_then(|y| y.f_reshape([b, 1]))
            .map_err(err("enhancer forward"))
    };

    let mut order: Vec<i64> = (0..n as i64).collect();
    let mut info = TrainInfo::default();
    let epochs = s.epochs.max(1);
    for epoch in 0..epochs {
        let lr = s.lr * 0.5f64.powi((3 * epoch / epochs) as i32);
        opt.set_lr(lr);
        order.shuffle(&mut rng);
        let mut total = 0.0;
        for chunk in order.chunks(s.batch) {
            // BatchNorm needs more than one value per channel; a trailing single sample is
            // skipped (it is seen in the next epoch's order).
            if chunk.len() < 2 && n >= 2 {
                continue;
            }
            let idx = Tensor::f_from_slice(chunk)
                .and_then(|t| t.f_to(dev))
                .map_err(err("enhancer batch"))?;
            let x = x_all
                .f_index_select(0, &idx)
                .map_err(err("enhancer batch"))?;
            let y = y_all
                .f_index_select(0, &idx)
                .map_err(err("enhancer batch"))?;
            let loss = forward(&x)?
                .f_mse_loss(&y, Reduction::Mean)
                .map_err(err("enhancer loss"))?;
            opt.backward_step(&loss);
            total += loss.double_value(&[]) * chunk.len() as f64;
        }
        info.epochs = epoch + 1;
        info.loss = total / n as f64;
        if s.deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
    }

    // Fold BatchNorm with the population statistics of the first layer's outputs.
    let folded = tch::no_grad(|| -> Result<Option<Folded>> {
        let h = x_all
            .f_conv2d(&w1, Some(&b1), [1, 1], [0, 0], [1, 1], 1)
            .map_err(err("enhancer statistics"))?;
        let (var, mean) = h
            .f_var_mean_dim([0i64, 2, 3].as_slice(), false, false)
            .map_err(err("enhancer statistics"))?;
        let scale = (&gamma / (var + BN_EPS).sqrt()).detach();
        let w1f = (&w1 * scale.view([c, 1, 1, 1])).detach();
        let b1f = ((&b1 - mean) * &scale + &beta).detach();
        let mut weights = tensor_to_f32(&w1f)?;
        weights.extend(tensor_to_f32(&b1f)?);
        weights.extend(tensor_to_f32(&w2.detach())?);
        weights.extend(tensor_to_f32(&b2.detach())?);
        if weights.iter().any(|w| !w.is_finite()) {
            // training diverged (e.g. on targets near the f64 range): no model for this group
            return Ok(None);
        }
        Folded::new(channels, weights).map(Some)
    })?;
    Ok((folded, info))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy(n: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
        // Target: a smooth function of the neighbourhood (centre minus mean of the cross).
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut x = Vec::with_capacity(n * PATCH_LEN);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let p: Vec<f32> = (0..PATCH_LEN).map(|_| rng.gen_range(0.0..1.0)).collect();
            let cross = (p[7] + p[11] + p[13] + p[17]) / 4.0;
            y.push(p[12] - cross);
            x.extend(p);
        }
        (x, y)
    }

    fn settings(epochs: u32) -> TrainSettings {
        TrainSettings {
            epochs,
            batch: 64,
            lr: 1e-2,
            seed: 7,
            deadline: None,
            device: Device::Cpu,
        }
    }

    #[test]
    fn learns_a_local_function_and_folding_matches_the_network() {
        pressio_ml_nn::inference::init_runtime();
        let (x, y) = toy(2000, 1);
        let mean_sq: f64 = y.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / y.len() as f64;
        let (model, info) = train(&x, &y, 9, &settings(30)).unwrap();
        let model = model.expect("finite weights");
        assert_eq!(model.weights.len(), 172);
        assert_eq!(trained_params(9), 190);
        assert!(info.loss < 0.2 * mean_sq, "loss {} vs {mean_sq}", info.loss);
        let pred = model.predict(&x, false).unwrap();
        // the libtorch network it was folded from agrees to float rounding
        let c = 9i64;
        let w = &model.weights;
        let t = |v: &[f32], shape: &[i64]| {
            pressio_ml_nn::inference::tensor_from_f32(v, shape, Device::Cpu).unwrap()
        };
        let torch = t(
            &x,
            &[(x.len() / PATCH_LEN) as i64, 1, PATCH as i64, PATCH as i64],
        )
        .conv2d(
            &t(&w[..81], &[c, 1, 3, 3]),
            Some(&t(&w[81..90], &[c])),
            [1, 1],
            [0, 0],
            [1, 1],
            1,
        )
        .relu()
        .conv2d(
            &t(&w[90..171], &[1, c, 3, 3]),
            Some(&t(&w[171..], &[1])),
            [1, 1],
            [0, 0],
            [1, 1],
            1,
        );
        let torch = tensor_to_f32(&torch).unwrap();
        let worst = pred
            .iter()
            .zip(&torch)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-4, "portable vs libtorch {worst}");
        let par = model.predict(&x, true).unwrap();
        assert!(par
            .iter()
            .zip(&pred)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        let mse: f64 = pred
            .iter()
            .zip(&y)
            .map(|(p, t)| ((p - t) as f64).powi(2))
            .sum::<f64>()
            / y.len() as f64;
        assert!(mse < 0.3 * mean_sq, "folded mse {mse} vs {mean_sq}");
    }

    #[test]
    fn training_is_reproducible_and_rejects_bad_input() {
        let (x, y) = toy(300, 2);
        let a = train(&x, &y, 4, &settings(2)).unwrap().0;
        let b = train(&x, &y, 4, &settings(2)).unwrap().0;
        assert_eq!(a, b);
        assert!(train(&x, &y[..10], 4, &settings(1)).is_err());
        assert!(train(&[], &[], 4, &settings(1)).is_err());
        assert!(Folded::new(4, vec![0.0; 10]).is_err());
        assert!(Folded::new(1, vec![f32::NAN; 20]).is_err());
    }
}
