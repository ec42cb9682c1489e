//! Layers for 2-D and 3-D convolutional networks, written on libtorch's functional API with
//! fallible calls (a shape error is an error, never a panic): convolutions (plain and
//! transposed), a dense layer, and GDN / inverse GDN (Ballé et al.).
//!
//! Parameters live in a [`tch::nn::VarStore`] under stable names, so a model saved with
//! [`crate::model::save_weights`] loads back into a freshly built network of the same
//! configuration.

use crate::inference::tensor_to_f32;
use crate::portable;
use crate::tch_error;
use pressio_ml_core::{PressioError, Result};
use tch::nn::{Init, Path};
use tch::Tensor;

fn check_dims(dims: usize) -> Result<()> {
    if dims == 2 || dims == 3 {
        Ok(())
    } else {
        Err(PressioError::InvalidArgument(format!(
            "convolutions are 2-D or 3-D, not {dims}-D"
        )))
    }
}

fn var(p: &Path, name: &str, shape: &[i64], init: Init) -> Result<Tensor> {
    p.f_var(name, shape, init)
        .map_err(|e| tch_error("creating a parameter", e))
}

/// A 2-D or 3-D convolution with a square kernel, "same"-style padding `k / 2`, and an optional
/// transposition (for decoders: a stride-2 transposed convolution with `output_padding` 1
/// exactly doubles every extent).
#[derive(Debug)]
pub struct Conv {
    weight: Tensor,
    bias: Tensor,
    dims: usize,
    kernel: i64,
    stride: i64,
    padding: i64,
    transposed: bool,
    groups: i64,
}

impl Conv {
    /// A convolution `c_in -> c_out` with kernel `k`, stride `stride` (1 or 2), in `dims`
    /// dimensions; `transposed` makes it a transposed convolution. PyTorch's default
    /// initialisation (uniform in +-1/sqrt(fan_in)).
    pub fn new(
        p: &Path,
        dims: usize,
        c_in: i64,
        c_out: i64,
        k: i64,
        stride: i64,
        transposed: bool,
    ) -> Result<Conv> {
        Conv::build(p, dims, c_in, c_out, k, stride, transposed, 1)
    }

    /// A stride-1 grouped convolution `c_in -> c_out` in `groups` channel groups (`groups ==
    /// c_in` is a depthwise convolution; `k == 1` a pointwise one).
    pub fn grouped(
        p: &Path,
        dims: usize,
        c_in: i64,
        c_out: i64,
        k: i64,
        groups: i64,
    ) -> Result<Conv> {
        Conv::build(p, dims, c_in, c_out, k, 1, false, groups)
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        p: &Path,
        dims: usize,
        c_in: i64,
        c_out: i64,
        k: i64,
        stride: i64,
        transposed: bool,
        groups: i64,
    ) -> Result<Conv> {
        check_dims(dims)?;
        if c_in < 1
            || c_out < 1
            || k < 1
            || k % 2 == 0
            || !(1..=2).contains(&stride)
            || groups < 1
            || c_in % groups != 0
            || c_out % groups != 0
        {
            return Err(PressioError::InvalidArgument(format!(
                "bad convolution {c_in}->{c_out}, kernel {k}, stride {stride}, {groups} groups"
            )));
        }
        let kvol = k.pow(dims as u32);
        let mut shape = if transposed {
            vec![c_in, c_out / groups]
        } else {
            vec![c_out, c_in / groups]
        };
        shape.extend(std::iter::repeat_n(k, dims));
        // PyTorch computes fan_in from weight.size(1) for both kinds of convolution.
        let fan_in = (shape[1] * kvol) as f64;
        let bound = 1.0 / fan_in.sqrt();
        let weight = var(
            p,
            "weight",
            &shape,
            Init::Uniform {
                lo: -bound,
                up: bound,
            },
        )?;
        let bias = var(
            p,
            "bias",
            &[c_out],
            Init::Uniform {
                lo: -bound,
                up: bound,
            },
        )?;
        Ok(Conv {
            weight,
            bias,
            dims,
            kernel: k,
            stride,
            padding: k / 2,
            transposed,
            groups,
        })
    }

    /// Apply to `x` of shape `[n, c_in, spatial...]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let d = self.dims;
        let stride = vec![self.stride; d];
        let padding = vec![self.padding; d];
        let dilation = vec![1i64; d];
        let out_pad = vec![
            if self.transposed && self.stride == 2 {
                1
            } else {
                0
            };
            d
        ];
        x.f_convolution(
            &self.weight,
            Some(&self.bias),
            stride.as_slice(),
            padding.as_slice(),
            dilation.as_slice(),
            self.transposed,
            out_pad.as_slice(),
            self.groups,
        )
        .map_err(|e| tch_error("convolution", e))
    }

    /// The same layer for [`portable`] inference (weights copied to host memory).
    pub fn to_portable(&self) -> Result<portable::Conv> {
        let size = self.weight.size();
        let (c_in, c_out) = if self.transposed {
            (size[0], size[1] * self.groups)
        } else {
            (size[1] * self.groups, size[0])
        };
        let spec = portable::ConvSpec {
            dims: self.dims,
            c_in: c_in as usize,
            c_out: c_out as usize,
            kernel: self.kernel as usize,
            stride: self.stride as usize,
            padding: self.padding as usize,
            output_padding: usize::from(self.transposed && self.stride == 2),
            groups: self.groups as usize,
            transposed: self.transposed,
        };
        portable::Conv::new(
            spec,
            tensor_to_f32(&self.weight)?,
            Some(tensor_to_f32(&self.bias)?),
        )
    }
}

/// A fully connected layer `y = x W^T + b`.
#[derive(Debug)]
pub struct Dense {
    weight: Tensor,
    bias: Tensor,
}

impl Dense {
    /// A dense layer `n_in -> n_out` with PyTorch's default initialisation.
    pub fn new(p: &Path, n_in: i64, n_out: i64) -> Result<Dense> {
        if n_in < 1 || n_out < 1 {
            return Err(PressioError::InvalidArgument(format!(
                "bad dense layer {n_in}->{n_out}"
            )));
        }
        let bound = 1.0 / (n_in as f64).sqrt();
        Ok(Dense {
            weight: var(
                p,
                "weight",
                &[n_out, n_in],
                Init::Uniform {
                    lo: -bound,
                    up: bound,
                },
            )?,
            bias: var(
                p,
                "bias",
                &[n_out],
                Init::Uniform {
                    lo: -bound,
                    up: bound,
                },
            )?,
        })
    }

    /// Apply to `x` of shape `[n, n_in]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.f_linear(&self.weight, Some(&self.bias))
            .map_err(|e| tch_error("dense layer", e))
    }

    /// The same layer for [`portable`] inference.
    pub fn to_portable(&self) -> Result<portable::Dense> {
        let size = self.weight.size();
        portable::Dense::new(
            size[1] as usize,
            size[0] as usize,
            &tensor_to_f32(&self.weight)?,
            tensor_to_f32(&self.bias)?,
        )
    }
}

/// CBAM-style channel attention: `x * sigmoid(mlp(mean(x)) + mlp(max(x)))` per channel, the
/// mean and max over space, `mlp` = `fc1`, ReLU, `fc2` (`channels -> hidden -> channels`).
#[derive(Debug)]
pub struct ChannelAttention {
    fc1: Dense,
    fc2: Dense,
    channels: i64,
}

impl ChannelAttention {
    /// Attention over `channels` channels with an MLP of `hidden` units.
    pub fn new(p: &Path, channels: i64, hidden: i64) -> Result<ChannelAttention> {
        Ok(ChannelAttention {
            fc1: Dense::new(&(p / "fc1"), channels, hidden)?,
            fc2: Dense::new(&(p / "fc2"), hidden, channels)?,
            channels,
        })
    }

    /// Apply to `x` of shape `[n, channels, spatial...]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let e = |e| tch_error("channel attention", e);
        let size = x.size();
        if size.len() < 3 || size[1] != self.channels {
            return Err(PressioError::InvalidArgument(format!(
                "channel attention over {} channels got shape {size:?}",
                self.channels
            )));
        }
        let flat = x.f_flatten(2, -1).map_err(e)?;
        let avg = flat.f_mean_dim(-1, false, tch::Kind::Float).map_err(e)?;
        let (max, _) = flat.f_max_dim(-1, false).map_err(e)?;
        let mlp = |v: &Tensor| -> Result<Tensor> {
            let h = self.fc1.forward(v)?.f_relu().map_err(e)?;
            self.fc2.forward(&h)
        };
        let w = (mlp(&avg)? + mlp(&max)?).f_sigmoid().map_err(e)?;
        let mut shape = vec![size[0], size[1]];
        shape.extend(std::iter::repeat_n(1i64, size.len() - 2));
        x.f_mul(&w.f_reshape(shape.as_slice()).map_err(e)?)
            .map_err(e)
    }

    /// The same layer for [`portable`] inference.
    pub fn to_portable(&self) -> Result<portable::ChannelAttention> {
        portable::ChannelAttention::new(
            self.channels as usize,
            self.fc1.to_portable()?,
            self.fc2.to_portable()?,
        )
    }
}

/// Generalized divisive normalization (GDN) or its inverse (iGDN), per position:
/// `y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)` (GDN) or `x_i * sqrt(...)` (iGDN).
///
/// `beta` and `gamma` are kept non-negative by a squared reparameterisation with a small
/// pedestal, and `beta` is bounded below by `BETA_MIN` so the root never vanishes. Initialised
/// to `beta = 1`, `gamma = 0.1 I`.
#[derive(Debug)]
pub struct Gdn {
    beta: Tensor,
    gamma: Tensor,
    channels: i64,
    dims: usize,
    inverse: bool,
}

const PEDESTAL: f64 = 1.0 / (1u64 << 36) as f64;
const BETA_MIN: f64 = 1e-6;

impl Gdn {
    /// A GDN (or iGDN when `inverse`) over `channels` channels in `dims` dimensions.
    pub fn new(p: &Path, dims: usize, channels: i64, inverse: bool) -> Result<Gdn> {
        check_dims(dims)?;
        if channels < 1 {
            return Err(PressioError::InvalidArgument("GDN over 0 channels".into()));
        }
        let beta = var(p, "beta", &[channels], Init::Const((1.0 + PEDESTAL).sqrt()))?;
        let gamma = var(
            p,
            "gamma",
            &[channels, channels],
            Init::Const(PEDESTAL.sqrt()),
        )?;
        // 0.1 on the diagonal (reparameterised).
        tch::no_grad(|| -> Result<()> {
            let eye = Tensor::f_eye(channels, (tch::Kind::Float, gamma.device()))
                .map_err(|e| tch_error("GDN init", e))?;
            let init = eye
                .f_mul_scalar(0.1)
                .and_then(|t| t.f_add_scalar(PEDESTAL))
                .and_then(|t| t.f_sqrt())
                .map_err(|e| tch_error("GDN init", e))?;
            let mut g = gamma.shallow_clone();
            g.f_copy_(&init).map_err(|e| tch_error("GDN init", e))?;
            Ok(())
        })?;
        Ok(Gdn {
            beta,
            gamma,
            channels,
            dims,
            inverse,
        })
    }

    /// Apply to `x` of shape `[n, channels, spatial...]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let e = |e| tch_error("GDN", e);
        let beta = self
            .beta
            .f_clamp_min((BETA_MIN + PEDESTAL).sqrt())
            .and_then(|b| b.f_square())
            .and_then(|b| b.f_sub_scalar(PEDESTAL))
            .map_err(e)?;
        let mut kshape = vec![self.channels, self.channels];
        kshape.extend(std::iter::repeat_n(1i64, self.dims));
        let gamma = self
            .gamma
            .f_clamp_min(PEDESTAL.sqrt())
            .and_then(|g| g.f_square())
            .and_then(|g| g.f_sub_scalar(PEDESTAL))
            .and_then(|g| g.f_reshape(kshape.as_slice()))
            .map_err(e)?;
        let ones = vec![1i64; self.dims];
        let zeros = vec![0i64; self.dims];
        let norm = x
            .f_square()
            .and_then(|x2| {
                x2.f_convolution(
                    &gamma,
                    Some(&beta),
                    ones.as_slice(),
                    zeros.as_slice(),
                    ones.as_slice(),
                    false,
                    zeros.as_slice(),
                    1,
                )
            })
            .and_then(|n| n.f_sqrt())
            .map_err(e)?;
        if self.inverse {
            x.f_mul(&norm).map_err(e)
        } else {
            x.f_div(&norm).map_err(e)
        }
    }

    /// The same layer for [`portable`] inference. The reparameterisation (clamp, square,
    /// pedestal) is applied here in f32 host arithmetic, so the effective parameters are the
    /// same bits on every host.
    pub fn to_portable(&self) -> Result<portable::Gdn> {
        let effective = |t: &Tensor, floor: f64| -> Result<Vec<f32>> {
            let (floor, pedestal) = (floor.sqrt() as f32, PEDESTAL as f32);
            Ok(tensor_to_f32(t)?
                .into_iter()
                .map(|v| {
                    let v = if v < floor { floor } else { v };
                    v * v - pedestal
                })
                .collect())
        };
        portable::Gdn::new(
            self.channels as usize,
            self.inverse,
            effective(&self.beta, BETA_MIN + PEDESTAL)?,
            effective(&self.gamma, PEDESTAL)?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::VarStore;
    use tch::{Device, Kind};

    #[test]
    fn shapes_2d_and_3d() {
        let vs = VarStore::new(Device::Cpu);
        let root = vs.root();
        let c = Conv::new(&(&root / "c"), 2, 1, 4, 3, 2, false).unwrap();
        let t = Conv::new(&(&root / "t"), 2, 4, 2, 3, 2, true).unwrap();
        let x = Tensor::zeros([3, 1, 32, 32], (Kind::Float, Device::Cpu));
        let y = c.forward(&x).unwrap();
        assert_eq!(y.size(), vec![3, 4, 16, 16]);
        assert_eq!(t.forward(&y).unwrap().size(), vec![3, 2, 32, 32]);
        let c3 = Conv::new(&(&root / "c3"), 3, 1, 2, 3, 2, false).unwrap();
        let x3 = Tensor::zeros([2, 1, 8, 8, 8], (Kind::Float, Device::Cpu));
        assert_eq!(c3.forward(&x3).unwrap().size(), vec![2, 2, 4, 4, 4]);
        let d = Dense::new(&(&root / "d"), 12, 5).unwrap();
        let z = Tensor::zeros([4, 12], (Kind::Float, Device::Cpu));
        assert_eq!(d.forward(&z).unwrap().size(), vec![4, 5]);
        // a shape error is an error, not a panic
        assert!(c.forward(&x3).is_err());
        assert!(Conv::new(&(&root / "bad"), 4, 1, 1, 3, 1, false).is_err());
        assert!(Conv::new(&(&root / "bad2"), 2, 1, 1, 2, 1, false).is_err());
    }

    #[test]
    fn grouped_convolutions_and_attention_match_their_portable_twins() {
        let vs = VarStore::new(Device::Cpu);
        let root = vs.root();
        for dims in [2usize, 3] {
            let dw = Conv::grouped(&(&root / format!("dw{dims}")), dims, 4, 4, 5, 4).unwrap();
            let pw = Conv::grouped(&(&root / format!("pw{dims}")), dims, 4, 6, 1, 1).unwrap();
            let ca = ChannelAttention::new(&(&root / format!("ca{dims}")), 6, 2).unwrap();
            let mut shape = vec![2i64, 4];
            shape.extend(std::iter::repeat_n(7i64, dims));
            let x = Tensor::randn(shape.as_slice(), (Kind::Float, Device::Cpu));
            let y = ca
                .forward(&pw.forward(&dw.forward(&x).unwrap()).unwrap())
                .unwrap();
            assert_eq!(y.size()[1], 6);
            let mut sp = [1usize; 3];
            for a in sp.iter_mut().skip(3 - dims) {
                *a = 7;
            }
            let net = portable::Network {
                in_channels: 4,
                in_shape: sp,
                layers: vec![
                    portable::Layer::Conv(dw.to_portable().unwrap()),
                    portable::Layer::Conv(pw.to_portable().unwrap()),
                    portable::Layer::ChannelAttention(ca.to_portable().unwrap()),
                ],
            };
            let ours = net.forward(&tensor_to_f32(&x).unwrap(), false).unwrap();
            let torch = tensor_to_f32(&y).unwrap();
            let worst = ours
                .iter()
                .zip(&torch)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(worst < 1e-4, "{dims}-D: {worst}");
        }
    }

    #[test]
    fn gdn_inverts() {
        let vs = VarStore::new(Device::Cpu);
        let root = vs.root();
        let g = Gdn::new(&(&root / "g"), 2, 3, false).unwrap();
        let ig = Gdn::new(&(&root / "ig"), 2, 3, true).unwrap();
        let x = Tensor::randn([2, 3, 5, 5], (Kind::Float, Device::Cpu));
        let y = g.forward(&x).unwrap();
        // with beta = 1 and a diagonal gamma, GDN is x / sqrt(1 + 0.1 x^2)
        let expect = &x / (x.square() * 0.1 + 1.0).sqrt();
        let diff = f64::try_from((&y - &expect).abs().max()).unwrap();
        assert!(diff < 1e-5, "{diff}");
        let back = ig.forward(&x).unwrap();
        let expect = &x * (x.square() * 0.1 + 1.0).sqrt();
        let diff = f64::try_from((&back - &expect).abs().max()).unwrap();
        assert!(diff < 1e-5, "{diff}");
    }
}
