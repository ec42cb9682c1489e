//! The non-convolutional layers: dense, GDN / inverse GDN, and element-wise activations, each
//! with a fixed order of operations.

use super::{math, Activation};
use pressio_ml_core::{PressioError, Result};

/// A fully connected layer `y = W x + b` over a flattened sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    n_in: usize,
    n_out: usize,
    /// Weights transposed to `[n_in, n_out]`, so the inner loop runs over outputs.
    weight_t: Vec<f32>,
    bias: Vec<f32>,
}

impl Dense {
    /// From PyTorch's `[n_out, n_in]` weight and `[n_out]` bias.
    pub fn new(n_in: usize, n_out: usize, weight: &[f32], bias: Vec<f32>) -> Result<Dense> {
        if n_in == 0 || n_out == 0 || weight.len() != n_in * n_out || bias.len() != n_out {
            return Err(PressioError::Model(format!(
                "dense layer {n_in}->{n_out}: {} weights, {} biases",
                weight.len(),
                bias.len()
            )));
        }
        let mut weight_t = vec![0f32; n_in * n_out];
        for o in 0..n_out {
            for i in 0..n_in {
                weight_t[i * n_out + o] = weight[o * n_in + i];
            }
        }
        Ok(Dense {
            n_in,
            n_out,
            weight_t,
            bias,
        })
    }

    /// Apply to samples of `n_in` values each (any shape); the output is `[n_out]` channels
    /// of one point per sample.
    pub fn forward(&self, x: &Activation) -> Result<Activation> {
        x.check("dense layer")?;
        if x.sample_len() != self.n_in {
            return Err(PressioError::InvalidArgument(format!(
                "dense layer expects {} values per sample, got {}",
                self.n_in,
                x.sample_len()
            )));
        }
        // Each output: sum over inputs in index order, then + bias.
        let mut out = vec![0f32; x.batch * self.n_out];
        for (acc, xs) in out
            .chunks_exact_mut(self.n_out)
            .zip(x.data.chunks_exact(self.n_in))
        {
            for (v, row) in xs.iter().zip(self.weight_t.chunks_exact(self.n_out)) {
                for (a, w) in acc.iter_mut().zip(row) {
                    *a += w * v;
                }
            }
            for (a, b) in acc.iter_mut().zip(&self.bias) {
                *a += b;
            }
        }
        Ok(Activation {
            batch: x.batch,
            channels: self.n_out,
            shape: [1, 1, 1],
            data: out,
        })
    }
}

/// Generalized divisive normalization per point: `y_i = x_i / sqrt(beta_i + sum_j gamma_ij
/// x_j^2)` (GDN) or `x_i * sqrt(...)` (inverse GDN), with the effective (already
/// reparameterised) `beta` and `gamma`.
#[derive(Debug, Clone, PartialEq)]
pub struct Gdn {
    channels: usize,
    inverse: bool,
    beta: Vec<f32>,
    gamma: Vec<f32>,
}

impl Gdn {
    /// From effective `beta` (`[c]`, > 0) and `gamma` (`[c, c]`, row `i` weighs channel `j`).
    pub fn new(channels: usize, inverse: bool, beta: Vec<f32>, gamma: Vec<f32>) -> Result<Gdn> {
        if channels == 0
            || beta.len() != channels
            || gamma.len() != channels * channels
            || beta.iter().any(|b| !(b.is_finite() && *b > 0.0))
            || gamma.iter().any(|g| !g.is_finite())
        {
            return Err(PressioError::Model(format!(
                "GDN over {channels} channels: {} betas, {} gammas (betas must be > 0)",
                beta.len(),
                gamma.len()
            )));
        }
        Ok(Gdn {
            channels,
            inverse,
            beta,
            gamma,
        })
    }

    /// Apply to one sample.
    pub fn forward(&self, x: &Activation) -> Result<Activation> {
        x.check("GDN")?;
        if x.channels != self.channels {
            return Err(PressioError::InvalidArgument(format!(
                "GDN expects {} channels, got {}",
                self.channels, x.channels
            )));
        }
        let vol = x.volume();
        let per = x.sample_len();
        let mut out = vec![0f32; x.data.len()];
        let mut acc = vec![0f32; vol];
        let mut sq = vec![0f32; per];
        for (xs, os) in x.data.chunks_exact(per).zip(out.chunks_exact_mut(per)) {
            for (s, v) in sq.iter_mut().zip(xs) {
                *s = v * v;
            }
            for i in 0..self.channels {
                acc.iter_mut().for_each(|a| *a = 0.0);
                for (j, s) in sq.chunks_exact(vol).enumerate() {
                    let g = self.gamma[i * self.channels + j];
                    for (a, v) in acc.iter_mut().zip(s) {
                        *a += g * v;
                    }
                }
                let b = self.beta[i];
                let xi = &xs[i * vol..(i + 1) * vol];
                for ((o, a), v) in os[i * vol..(i + 1) * vol].iter_mut().zip(&acc).zip(xi) {
                    let norm = (a + b).sqrt();
                    *o = if self.inverse { v * norm } else { v / norm };
                }
            }
        }
        Ok(Activation {
            batch: x.batch,
            channels: x.channels,
            shape: x.shape,
            data: out,
        })
    }
}

/// CBAM-style channel attention (Woo et al. 2018): per sample, the spatial mean and maximum of
/// every channel each go through the same two-layer MLP (`fc1`, ReLU, `fc2`), their sum through
/// a sigmoid, and every channel is scaled by its weight. Means are sums in index order divided
/// by the point count.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelAttention {
    channels: usize,
    fc1: Dense,
    fc2: Dense,
}

impl ChannelAttention {
    /// From the MLP's layers: `fc1` `channels -> hidden`, `fc2` `hidden -> channels`.
    pub fn new(channels: usize, fc1: Dense, fc2: Dense) -> Result<ChannelAttention> {
        if fc1.n_in != channels || fc2.n_out != channels || fc1.n_out != fc2.n_in {
            return Err(PressioError::Model(format!(
                "channel attention over {channels} channels with an MLP {}->{} / {}->{}",
                fc1.n_in, fc1.n_out, fc2.n_in, fc2.n_out
            )));
        }
        Ok(ChannelAttention { channels, fc1, fc2 })
    }

    /// Apply to a batch.
    pub fn forward(&self, x: &Activation) -> Result<Activation> {
        x.check("channel attention")?;
        if x.channels != self.channels {
            return Err(PressioError::InvalidArgument(format!(
                "channel attention expects {} channels, got {}",
                self.channels, x.channels
            )));
        }
        let vol = x.volume();
        let per = x.sample_len();
        let mut out = x.data.clone();
        let mlp = |v: Vec<f32>| -> Result<Vec<f32>> {
            let h = self.fc1.forward(&Activation {
                batch: 1,
                channels: self.channels,
                shape: [1, 1, 1],
                data: v,
            })?;
            let h = Activation {
                data: h.data.iter().map(|&t| Act::Relu.apply(t)).collect(),
                ..h
            };
            Ok(self.fc2.forward(&h)?.data)
        };
        for sample in out.chunks_exact_mut(per) {
            let mut avg = Vec::with_capacity(self.channels);
            let mut max = Vec::with_capacity(self.channels);
            for plane in sample.chunks_exact(vol) {
                let mut sum = 0f32;
                let mut m = f32::NEG_INFINITY;
                for &v in plane {
                    sum += v;
                    if v > m {
                        m = v;
                    }
                }
                avg.push(sum / vol as f32);
                max.push(m);
            }
            let (a, m) = (mlp(avg)?, mlp(max)?);
            for ((plane, a), m) in sample.chunks_exact_mut(vol).zip(a).zip(m) {
                let w = Act::Sigmoid.apply(a + m);
                plane.iter_mut().for_each(|v| *v *= w);
            }
        }
        Ok(Activation {
            data: out,
            ..x.clone()
        })
    }
}

/// Element-wise activations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Act {
    /// `max(x, 0)` (NaN stays NaN).
    Relu,
    /// `x` for `x >= 0`, `slope * x` otherwise.
    LeakyRelu(f32),
    /// Hyperbolic tangent ([`math::tanh`]).
    Tanh,
    /// Logistic sigmoid ([`math::sigmoid`]).
    Sigmoid,
}

impl Act {
    /// Apply to one value.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Act::Relu => {
                if x < 0.0 {
                    0.0
                } else {
                    x
                }
            }
            Act::LeakyRelu(s) => {
                if x < 0.0 {
                    s * x
                } else {
                    x
                }
            }
            Act::Tanh => math::tanh(x),
            Act::Sigmoid => math::sigmoid(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_gdn_match_their_definitions() {
        let w = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]; // [2 out, 3 in]
        let d = Dense::new(3, 2, &w, vec![0.5, -0.5]).unwrap();
        let x = Activation {
            batch: 1,
            channels: 3,
            shape: [1, 1, 1],
            data: vec![1.0, -1.0, 2.0],
        };
        assert_eq!(d.forward(&x).unwrap().data, vec![5.5, 10.5]);
        assert!(Dense::new(3, 2, &w[..5], vec![0.0; 2]).is_err());

        let g = Gdn::new(2, false, vec![1.0, 2.0], vec![0.1, 0.0, 0.2, 0.3]).unwrap();
        let ig = Gdn::new(2, true, vec![1.0, 2.0], vec![0.1, 0.0, 0.2, 0.3]).unwrap();
        let x = Activation {
            batch: 1,
            channels: 2,
            shape: [1, 1, 2],
            data: vec![1.0, 2.0, -3.0, 0.5],
        };
        let y = g.forward(&x).unwrap();
        let iy = ig.forward(&x).unwrap();
        for p in 0..2 {
            let (a, b) = (x.data[p] as f64, x.data[2 + p] as f64);
            let n0 = (1.0 + 0.1 * a * a).sqrt();
            let n1 = (2.0 + 0.2 * a * a + 0.3 * b * b).sqrt();
            assert!((y.data[p] as f64 - a / n0).abs() < 1e-6);
            assert!((y.data[2 + p] as f64 - b / n1).abs() < 1e-6);
            assert!((iy.data[p] as f64 - a * n0).abs() < 1e-5);
            assert!((iy.data[2 + p] as f64 - b * n1).abs() < 1e-5);
        }
        assert!(Gdn::new(2, false, vec![0.0, 1.0], vec![0.0; 4]).is_err());
    }

    #[test]
    fn activations() {
        assert_eq!(Act::Relu.apply(-2.0), 0.0);
        assert_eq!(Act::Relu.apply(3.0), 3.0);
        assert!(Act::Relu.apply(f32::NAN).is_nan());
        assert_eq!(Act::LeakyRelu(0.1).apply(-2.0), -0.2);
        assert_eq!(Act::Tanh.apply(0.0), 0.0);
        assert_eq!(Act::Sigmoid.apply(0.0), 0.5);
    }
}
