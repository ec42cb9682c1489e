//! The super-resolution network and its tiled, host-independent inference.
//!
//! # Architecture
//!
//! SRN-SZ uses HAT (9-20 M parameters), far too heavy for a 2-core CPU. This implementation
//! uses a small ESPCN-style residual CNN that works at the *coarse* resolution: `layers` 3x3
//! convolutions (`1 -> channels -> ... -> channels -> 2`, ReLU between them, zero padding) map
//! the normalised coarse image to two planes, the corrections of the sub-pixel phases (odd x,
//! even y) and (even x, odd y) (a pixel shuffle) over the cubic interpolation of the same coarse
//! image ([`crate::upsample`]). Known points are never predicted, and (odd, odd) points are left
//! to the hierarchy ([`crate::predictor`]). With the defaults (24 channels, 5 layers, about
//! 16.3 k parameters) the network costs about 8 k multiply-adds per predicted point, so a
//! field is predicted at megabytes per second on one core, and an untrained network (outputs
//! near 0) degrades to cubic interpolation rather than to noise.
//!
//! # Tiles
//!
//! Images are cut into tiles of `tile x tile` coarse pixels, each run in a window with a halo of
//! `layers` pixels (the receptive radius), zeros outside the image. Every output pixel is a
//! function of the zero-extended image alone, so the tile size never changes a bit, and training
//! draws windows of the same shape. Windows run on `pressio_ml_nn::portable`: the same bits on
//! every host, thread count and device the model was trained on.

use pressio_ml_core::{PressioError, Result};
use pressio_ml_nn::layers::Conv;
use pressio_ml_nn::model::ModelFiles;
use pressio_ml_nn::portable::{self, Act, Layer};
use pressio_ml_nn::tch_error;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tch::nn::{Path, VarStore};
use tch::{Device, Tensor};

/// Architecture id written into (and required from) manifests.
pub const ARCHITECTURE: &str = "srnsz-espcn";
/// Kernel extent of every convolution.
pub const KERNEL: usize = 3;
/// Output planes: the corrections of the phases (odd x, even y) and (even x, odd y).
pub const PHASES: usize = 2;

/// Hyper-parameters of a super-resolution model (the manifest's `hyperparameters`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SrConfig {
    /// Channels of the hidden layers.
    pub channels: usize,
    /// Convolutions (at least 2).
    pub layers: usize,
    /// Tile extent in coarse pixels.
    pub tile: usize,
    /// Standard deviation of the Gaussian noise added to the coarse inputs in training, as a
    /// fraction of the value range (SRN-SZ's noise levels: 0.01, 0.001, 0).
    pub noise: f64,
    /// The network's outputs times `scale` are corrections in units of the value range (the
    /// training residuals' RMS, so the network learns values of order 1).
    pub scale: f64,
}

impl Default for SrConfig {
    fn default() -> Self {
        SrConfig {
            channels: 24,
            layers: 5,
            tile: 48,
            noise: 0.0,
            scale: 1.0,
        }
    }
}

impl SrConfig {
    /// Check the configuration; `what` names it in errors.
    pub fn validate(&self, what: &str) -> Result<()> {
        let bad = |m: String| Err(PressioError::Model(format!("{what}: {m}")));
        if !(1..=256).contains(&self.channels) {
            return bad(format!("{} channels (1 to 256)", self.channels));
        }
        if !(2..=16).contains(&self.layers) {
            return bad(format!("{} layers (2 to 16)", self.layers));
        }
        if !(1..=512).contains(&self.tile) {
            return bad(format!("tile {} (1 to 512)", self.tile));
        }
        if !(self.noise.is_finite() && (0.0..1.0).contains(&self.noise)) {
            return bad(format!("noise {}", self.noise));
        }
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return bad(format!("scale {}", self.scale));
        }
        Ok(())
    }

    /// Receptive radius of the network in coarse pixels (one per 3x3 convolution).
    pub fn halo(&self) -> usize {
        self.layers
    }

    /// Window extent: the tile plus a halo on each side.
    pub fn window(&self) -> usize {
        self.tile + 2 * self.halo()
    }

    /// Learnable parameters.
    pub fn parameters(&self) -> usize {
        let (c, k) = (self.channels, KERNEL * KERNEL);
        (k * c + c) + (self.layers - 2) * (k * c * c + c) + (k * c * PHASES + PHASES)
    }

    /// Channels in and out of convolution `i`.
    fn conv_channels(&self, i: usize) -> (usize, usize) {
        let cin = if i == 0 { 1 } else { self.channels };
        let cout = if i + 1 == self.layers {
            PHASES
        } else {
            self.channels
        };
        (cin, cout)
    }
}

/// The network's layers (libtorch, for training).
#[derive(Debug)]
pub struct SrNet {
    convs: Vec<Conv>,
}

impl SrNet {
    /// Build the variables under `root`.
    pub fn new(root: &Path, c: &SrConfig) -> Result<SrNet> {
        let convs = (0..c.layers)
            .map(|i| {
                let (cin, cout) = c.conv_channels(i);
                Conv::new(
                    &(root / format!("conv{i}")),
                    2,
                    cin as i64,
                    cout as i64,
                    KERNEL as i64,
                    1,
                    false,
                )
            })
            .collect::<Result<_>>()?;
        Ok(SrNet { convs })
    }

    /// Windows `[n, 1, w, w]` to phase corrections `[n, 2, w, w]` (network units).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = self.convs[0].forward(x)?;
        for conv in &self.convs[1..] {
            h = conv.forward(&h.f_relu().map_err(|e| tch_error("relu", e))?)?;
        }
        Ok(h)
    }

    /// The same network for portable inference on windows of `c`.
    pub fn portable(&self, c: &SrConfig) -> Result<portable::Network> {
        let mut layers = Vec::with_capacity(2 * self.convs.len());
        for (i, conv) in self.convs.iter().enumerate() {
            if i > 0 {
                layers.push(Layer::Act(Act::Relu));
            }
            layers.push(Layer::Conv(conv.to_portable()?));
        }
        let w = c.window();
        Ok(portable::Network {
            in_channels: 1,
            in_shape: [1, w, w],
            layers,
        })
    }
}

/// A coarse image: `nx * ny` values, x fastest.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Extent along x (fastest).
    pub nx: usize,
    /// Extent along y.
    pub ny: usize,
    /// The values.
    pub data: Vec<f32>,
}

impl Image {
    /// Tiles along (y, x) for tiles of `tile` pixels.
    pub fn tiles(&self, tile: usize) -> (usize, usize) {
        (self.ny.div_ceil(tile), self.nx.div_ceil(tile))
    }

    /// The window of `w x w` pixels whose top-left corner is `(y0 - halo, x0 - halo)`, zeros
    /// outside the image. Shared by inference and training.
    pub fn window(&self, y0: usize, x0: usize, halo: usize, w: usize) -> Vec<f32> {
        let mut out = vec![0f32; w * w];
        for wy in 0..w {
            let y = (y0 + wy) as isize - halo as isize;
            if y < 0 || y as usize >= self.ny {
                continue;
            }
            let row = y as usize * self.nx;
            for wx in 0..w {
                let x = (x0 + wx) as isize - halo as isize;
                if x >= 0 && (x as usize) < self.nx {
                    out[wy * w + wx] = self.data[row + x as usize];
                }
            }
        }
        out
    }
}

/// A model ready for inference.
#[derive(Debug)]
pub struct LoadedModel {
    /// The model's name.
    pub name: String,
    /// SHA-256 of the weights file.
    pub hash: [u8; 32],
    /// Configuration.
    pub config: SrConfig,
    /// The network for portable inference.
    pub net: portable::Network,
}

impl LoadedModel {
    /// Load `files` (weights checked against the configuration).
    pub fn load(files: &ModelFiles) -> Result<LoadedModel> {
        let m = &files.manifest;
        let what = format!("model `{}` ({})", m.name, files.manifest_path.display());
        if m.architecture != ARCHITECTURE {
            return Err(PressioError::Model(format!(
                "{what} has architecture `{}`, srnsz needs `{ARCHITECTURE}`",
                m.architecture
            )));
        }
        let config: SrConfig = serde_json::from_value(m.hyperparameters.clone())
            .map_err(|e| PressioError::Model(format!("{what}: hyper-parameters: {e}")))?;
        config.validate(&what)?;
        let vs = VarStore::new(Device::Cpu);
        let net = SrNet::new(&vs.root(), &config)?;
        pressio_ml_nn::model::load_weights(&vs, &files.weights, &what)?;
        Ok(LoadedModel {
            name: m.name.clone(),
            hash: files.hash,
            net: net.portable(&config)?,
            config,
        })
    }

    /// The phase corrections (network units: times [`SrConfig::scale`], fractions of the value
    /// range) of every image: per image, two planes of `nx * ny` values (pixel `(i, j)`
    /// corrects the fine points `(2i + 1, 2j)` and `(2i, 2j + 1)`). Tiles of all images are spread
    /// over the current rayon pool with `parallel`; the result is the same bits either way.
    pub fn predict(&self, images: &[Image], parallel: bool) -> Result<Vec<[Vec<f32>; PHASES]>> {
        let c = &self.config;
        let (t, h, w) = (c.tile, c.halo(), c.window());
        let mut jobs = Vec::new();
        for (k, img) in images.iter().enumerate() {
            let (ty, tx) = img.tiles(t);
            for j in 0..ty {
                for i in 0..tx {
                    jobs.push((k, j * t, i * t));
                }
            }
        }
        let run = |&(k, y0, x0): &(usize, usize, usize)| -> Result<Vec<f32>> {
            self.net.forward_batch(&images[k].window(y0, x0, h, w))
        };
        let outs: Vec<Vec<f32>> = if parallel {
            jobs.par_iter().map(run).collect::<Result<_>>()?
        } else {
            jobs.iter().map(run).collect::<Result<_>>()?
        };
        let mut res: Vec<[Vec<f32>; PHASES]> = images
            .iter()
            .map(|img| std::array::from_fn(|_| vec![0f32; img.nx * img.ny]))
            .collect();
        for (&(k, y0, x0), y) in jobs.iter().zip(&outs) {
            let img = &images[k];
            for (p, plane) in res[k].iter_mut().enumerate() {
                let src = &y[p * w * w..(p + 1) * w * w];
                for ty in 0..t.min(img.ny - y0) {
                    let row = (ty + h) * w + h;
                    let dst = (y0 + ty) * img.nx + x0;
                    let n = t.min(img.nx - x0);
                    plane[dst..dst + n].copy_from_slice(&src[row..row + n]);
                }
            }
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn parameters_and_portable_match_libtorch() {
        let c = SrConfig::default();
        let vs = VarStore::new(Device::Cpu);
        let net = SrNet::new(&vs.root(), &c).unwrap();
        let total: i64 = vs
            .trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum();
        assert_eq!(total as usize, c.parameters());
        let w = c.window() as i64;
        let x = Tensor::rand([2, 1, w, w], (Kind::Float, Device::Cpu));
        let torch = pressio_ml_nn::inference::tensor_to_f32(&net.forward(&x).unwrap()).unwrap();
        let ours = net
            .portable(&c)
            .unwrap()
            .forward(&pressio_ml_nn::inference::tensor_to_f32(&x).unwrap(), false)
            .unwrap();
        let worst = ours
            .iter()
            .zip(&torch)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-4, "{worst}");
    }

    #[test]
    fn predictions_do_not_depend_on_the_tile_size_or_threads() {
        let vs = VarStore::new(Device::Cpu);
        let base = SrConfig {
            channels: 5,
            layers: 4,
            ..SrConfig::default()
        };
        let net = SrNet::new(&vs.root(), &base).unwrap();
        let model = |tile: usize| {
            let config = SrConfig {
                tile,
                ..base.clone()
            };
            LoadedModel {
                name: "t".into(),
                hash: [0; 32],
                net: net.portable(&config).unwrap(),
                config,
            }
        };
        let images: Vec<Image> = [(50usize, 41usize), (7, 3), (64, 64)]
            .iter()
            .map(|&(nx, ny)| Image {
                nx,
                ny,
                data: (0..nx * ny)
                    .map(|i| ((i * 37 % 101) as f32) / 101.0)
                    .collect(),
            })
            .collect();
        let reference = model(16).predict(&images, false).unwrap();
        for tile in [5, 23, 64] {
            let other = model(tile).predict(&images, true).unwrap();
            for (a, b) in reference.iter().zip(&other) {
                for (pa, pb) in a.iter().zip(b) {
                    let same = pa.iter().zip(pb).all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(same, "tile {tile} changes the predictions");
                }
            }
        }
    }

    #[test]
    fn windows_are_zero_outside_the_image() {
        let img = Image {
            nx: 3,
            ny: 2,
            data: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        };
        let w = img.window(0, 0, 1, 4);
        assert_eq!(
            w,
            vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 0.0, 4.0, 5.0, 6.0, 0.0, 0.0, 0.0, 0.0]
        );
    }
}
