//! Portable inference: a small, self-contained forward pass whose results are the same bits on
//! every host.
//!
//! When a network's output feeds quantization (AE-SZ's decoder, GWLZ's enhancers, and the
//! CFNN and SRN-SZ networks), compressor and decompressor must compute bit-identical
//! predictions, possibly in different processes, on different machines, with different
//! libraries loaded. libtorch cannot promise that: its CPU GEMM is resolved at run time (a
//! BLAS loaded before libtorch, as LibPressio's tools do, takes it over), its kernels depend
//! on the CPU's vector width and on threading, and CUDA kernels differ from CPU ones.
//!
//! This module computes in plain Rust, in f32, with:
//! * a fixed order of additions for every output element (documented per layer), independent
//!   of vector width: loops vectorise across *output* elements only;
//! * no fused multiply-add (Rust never contracts `a * b + c`; no `mul_add` is used);
//! * no platform libm: `sqrt` is IEEE-754 correctly rounded, and `tanh` / `sigmoid` are built
//!   from `+ - * /` ([`math`]);
//! * samples computed independently, so results do not depend on batch composition or on the
//!   number of threads ([`Network::forward`] spreads samples over the current rayon pool).
//!
//! The same bits therefore come out on any x86-64 (and, by the same rules, aarch64), in any
//! process, whatever BLAS or OpenMP runtime it has loaded, and whether the compressor trained
//! or ran its encoder on a GPU. Training and the parts whose output is stored rather than
//! recomputed (AE-SZ's encoder, whose latents go into the stream) stay on libtorch.

pub mod conv;
pub mod layers;
pub mod math;

pub use conv::{Conv, ConvSpec};
pub use layers::{Act, ChannelAttention, Dense, Gdn};

use pressio_ml_core::{PressioError, Result};
use rayon::prelude::*;

/// Identifier of this implementation's arithmetic, recorded in streams whose predictions it
/// computed. Any change that alters a single output bit must change it.
pub const ENGINE_ID: u8 = 1;

/// Activations of a batch of samples: per sample, `channels` planes of a spatial `shape`
/// (slowest first; a 2-D map has `shape[0] == 1`, a 1-D one `shape[0] == shape[1] == 1`), in C
/// order `[batch, channels, shape...]`. Every layer computes each sample independently: the
/// batch size never changes a result.
#[derive(Debug, Clone, PartialEq)]
pub struct Activation {
    /// Samples.
    pub batch: usize,
    /// Channels.
    pub channels: usize,
    /// Spatial extents, slowest first.
    pub shape: [usize; 3],
    /// `batch * channels * product(shape)` values.
    pub data: Vec<f32>,
}

impl Activation {
    /// Points per channel.
    pub fn volume(&self) -> usize {
        self.shape.iter().product()
    }

    /// Values per sample.
    pub fn sample_len(&self) -> usize {
        self.channels * self.volume()
    }

    /// An error unless the data holds exactly `batch` samples of `channels` x `shape`.
    pub fn check(&self, what: &str) -> Result<()> {
        if self.data.len() == self.batch * self.sample_len() {
            Ok(())
        } else {
            Err(PressioError::InvalidArgument(format!(
                "{what}: {} values for {} samples of {} x {:?}",
                self.data.len(),
                self.batch,
                self.channels,
                self.shape
            )))
        }
    }
}

/// Samples per batch in [`Network::forward`] (a work unit for one thread; any value gives the
/// same bits).
pub const BATCH: usize = 64;

/// A layer of a [`Network`].
#[derive(Debug, Clone, PartialEq)]
pub enum Layer {
    /// A convolution.
    Conv(Conv),
    /// A dense layer over the flattened sample (C order: channel, then space).
    Dense(Dense),
    /// GDN or inverse GDN.
    Gdn(Gdn),
    /// CBAM-style channel attention.
    ChannelAttention(ChannelAttention),
    /// Reinterpret the values as `channels` planes of `shape` (same count).
    Reshape {
        /// Channels after reshaping.
        channels: usize,
        /// Spatial shape after reshaping, slowest first.
        shape: [usize; 3],
    },
    /// An element-wise activation.
    Act(Act),
}

/// A feed-forward network: layers applied in order to each sample independently.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// Input channels.
    pub in_channels: usize,
    /// Input spatial shape, slowest first.
    pub in_shape: [usize; 3],
    /// The layers.
    pub layers: Vec<Layer>,
}

impl Network {
    /// Values per input sample.
    pub fn input_len(&self) -> usize {
        self.in_channels * self.in_shape.iter().product::<usize>()
    }

    /// Run a batch of samples (`input_len` values each, back to back).
    pub fn forward_batch(&self, input: &[f32]) -> Result<Vec<f32>> {
        let per = self.input_len();
        if per == 0 || input.len() % per != 0 {
            return Err(PressioError::InvalidArgument(format!(
                "the network takes {per} values per sample, got {}",
                input.len()
            )));
        }
        let mut x = Activation {
            batch: input.len() / per,
            channels: self.in_channels,
            shape: self.in_shape,
            data: input.to_vec(),
        };
        for layer in &self.layers {
            x = match layer {
                Layer::Conv(c) => c.forward(&x)?,
                Layer::Dense(d) => d.forward(&x)?,
                Layer::Gdn(g) => g.forward(&x)?,
                Layer::ChannelAttention(c) => c.forward(&x)?,
                Layer::Reshape { channels, shape } => {
                    if channels * shape.iter().product::<usize>() != x.sample_len() {
                        return Err(PressioError::Model(format!(
                            "cannot reshape {} values per sample to {channels} x {shape:?}",
                            x.sample_len()
                        )));
                    }
                    Activation {
                        batch: x.batch,
                        channels: *channels,
                        shape: *shape,
                        data: x.data,
                    }
                }
                Layer::Act(a) => {
                    x.data.iter_mut().for_each(|v| *v = a.apply(*v));
                    x
                }
            };
        }
        Ok(x.data)
    }

    /// Run every sample of `inputs` (back to back) and return the outputs back to back, in
    /// order. With `parallel`, samples are spread over the current rayon pool; the result is
    /// the same bits either way.
    pub fn forward(&self, inputs: &[f32], parallel: bool) -> Result<Vec<f32>> {
        let per = self.input_len();
        if per == 0 || inputs.len() % per != 0 {
            return Err(PressioError::InvalidArgument(format!(
                "{} values are not a whole number of {per}-value samples",
                inputs.len()
            )));
        }
        let chunk = per * BATCH;
        let outs: Vec<Vec<f32>> = if parallel {
            inputs
                .par_chunks(chunk)
                .map(|x| self.forward_batch(x))
                .collect::<Result<_>>()?
        } else {
            inputs
                .chunks(chunk)
                .map(|x| self.forward_batch(x))
                .collect::<Result<_>>()?
        };
        Ok(outs.concat())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Network {
        let spec = ConvSpec {
            dims: 2,
            c_in: 1,
            c_out: 2,
            kernel: 3,
            stride: 2,
            padding: 1,
            output_padding: 0,
            groups: 1,
            transposed: false,
        };
        let w: Vec<f32> = (0..18).map(|i| (i as f32 * 0.37).sin()).collect();
        Network {
            in_channels: 1,
            in_shape: [1, 4, 4],
            layers: vec![
                Layer::Conv(Conv::new(spec, w, Some(vec![0.1, -0.1])).unwrap()),
                Layer::Act(Act::Tanh),
                Layer::Dense(Dense::new(8, 3, &[0.25; 24], vec![0.0; 3]).unwrap()),
                Layer::Reshape {
                    channels: 1,
                    shape: [1, 1, 3],
                },
            ],
        }
    }

    #[test]
    fn batches_and_threads_do_not_change_bits() {
        let net = tiny();
        let inputs: Vec<f32> = (0..16 * 137)
            .map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0)
            .collect();
        let serial = net.forward(&inputs, false).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let parallel = pool.install(|| net.forward(&inputs, true)).unwrap();
        assert_eq!(serial.len(), 137 * 3);
        assert!(serial
            .iter()
            .zip(&parallel)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        let one = net.forward_batch(&inputs[16 * 5..16 * 6]).unwrap();
        assert!(one
            .iter()
            .zip(&serial[15..18])
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        let some = net.forward_batch(&inputs[16 * 3..16 * 10]).unwrap();
        assert!(some
            .iter()
            .zip(&serial[9..30])
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(net.forward(&inputs[..15], false).is_err());
    }
}
