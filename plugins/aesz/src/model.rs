//! The AE-SZ network: a convolutional sliced-Wasserstein autoencoder (SWAE) with GDN / iGDN,
//! for 2-D or 3-D blocks, and its loading from model files.
//!
//! Encoder: one stage per entry of `channels`, each a stride-1 convolution (`c_prev -> c`), a
//! stride-2 convolution (`c -> c`) and a GDN; then a dense layer from the flattened feature
//! map to the latent vector. Decoder (mirror): a dense layer back to the smallest feature map,
//! then per stage (deepest first) a stride-1 transposed convolution (`c -> c`), a stride-2
//! transposed convolution (`c -> c_prev`, the first stage keeping `channels[0]`) and an iGDN,
//! and a final 3x3(x3) convolution to one channel with tanh (outputs in [-1, 1], the normalised
//! data range). Kernels are 3 wide. Every block extent must be divisible by `2^stages`.

use pressio_ml_core::{PressioError, Result};
use pressio_ml_nn::layers::{Conv, Dense, Gdn};
use pressio_ml_nn::model::{ModelFiles, Normalization};
use pressio_ml_nn::portable::{self, Act, Layer};
use pressio_ml_nn::{tch_error, DeviceKind};
use serde::{Deserialize, Serialize};
use tch::nn::{Path, VarStore};
use tch::{Device, Tensor};

/// Architecture id written into (and required from) manifests.
pub const ARCHITECTURE: &str = "aesz-swae";

/// Largest number of stages accepted.
pub const MAX_STAGES: usize = 6;

/// Hyper-parameters of the network (the manifest's `hyperparameters`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwaeConfig {
    /// 2 or 3.
    pub dims: usize,
    /// Block extents, fastest first (`dims` entries).
    pub block: Vec<usize>,
    /// Latent vector length.
    pub latent: usize,
    /// Channels per stage.
    pub channels: Vec<usize>,
}

impl SwaeConfig {
    /// Check the configuration; `what` names it in errors.
    pub fn validate(&self, what: &str) -> Result<()> {
        let bad = |m: String| Err(PressioError::Model(format!("{what}: {m}")));
        if self.dims != 2 && self.dims != 3 {
            return bad(format!("dims {} (2 or 3 expected)", self.dims));
        }
        if self.block.len() != self.dims {
            return bad(format!(
                "block {:?} does not have {} extents",
                self.block, self.dims
            ));
        }
        if self.channels.is_empty() || self.channels.len() > MAX_STAGES {
            return bad(format!(
                "{} stages (1 to {MAX_STAGES})",
                self.channels.len()
            ));
        }
        if self.channels.iter().any(|&c| c == 0 || c > 1024) {
            return bad(format!("channels {:?}", self.channels));
        }
        if self.latent == 0 || self.latent > 4096 {
            return bad(format!("latent size {}", self.latent));
        }
        let f = 1usize << self.channels.len();
        if self.block.iter().any(|&b| b == 0 || b % f != 0 || b > 256) {
            return bad(format!(
                "block {:?}: every extent must be a multiple of 2^stages = {f} (and <= 256)",
                self.block
            ));
        }
        Ok(())
    }

    /// Values per block.
    pub fn block_volume(&self) -> usize {
        self.block.iter().product()
    }

    /// Tensor shape of one block sample: `[1, slowest, ..., fastest]`.
    pub fn sample_shape(&self) -> Vec<i64> {
        let mut s = vec![1i64];
        s.extend(self.block.iter().rev().map(|&b| b as i64));
        s
    }

    /// Extents of the smallest feature map, slowest first.
    fn bottleneck(&self) -> Vec<i64> {
        let f = 1usize << self.channels.len();
        self.block.iter().rev().map(|&b| (b / f) as i64).collect()
    }
}

/// The autoencoder's layers.
#[derive(Debug)]
pub struct Swae {
    config: SwaeConfig,
    enc: Vec<(Conv, Conv, Gdn)>,
    enc_fc: Dense,
    dec_fc: Dense,
    dec: Vec<(Conv, Conv, Gdn)>,
    out: Conv,
}

impl Swae {
    /// Build the network's variables under `root`.
    pub fn new(root: &Path, config: &SwaeConfig) -> Result<Swae> {
        config.validate("network")?;
        let d = config.dims;
        let ch: Vec<i64> = config.channels.iter().map(|&c| c as i64).collect();
        let n = ch.len();
        let mut enc = Vec::with_capacity(n);
        for i in 0..n {
            let c_in = if i == 0 { 1 } else { ch[i - 1] };
            let p = root / "enc" / i;
            enc.push((
                Conv::new(&(&p / "a"), d, c_in, ch[i], 3, 1, false)?,
                Conv::new(&(&p / "b"), d, ch[i], ch[i], 3, 2, false)?,
                Gdn::new(&(&p / "gdn"), d, ch[i], false)?,
            ));
        }
        let flat = ch[n - 1] * config.bottleneck().iter().product::<i64>();
        let latent = config.latent as i64;
        let enc_fc = Dense::new(&(root / "enc" / "fc"), flat, latent)?;
        let dec_fc = Dense::new(&(root / "dec" / "fc"), latent, flat)?;
        let mut dec = Vec::with_capacity(n);
        for i in (0..n).rev() {
            let c_out = if i == 0 { ch[0] } else { ch[i - 1] };
            let p = root / "dec" / i;
            dec.push((
                Conv::new(&(&p / "a"), d, ch[i], ch[i], 3, 1, true)?,
                Conv::new(&(&p / "b"), d, ch[i], c_out, 3, 2, true)?,
                Gdn::new(&(&p / "igdn"), d, c_out, true)?,
            ));
        }
        let out = Conv::new(&(root / "dec" / "out"), d, ch[0], 1, 3, 1, false)?;
        Ok(Swae {
            config: config.clone(),
            enc,
            enc_fc,
            dec_fc,
            dec,
            out,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SwaeConfig {
        &self.config
    }

    /// Blocks `[n, 1, spatial...]` (normalised to [-1, 1]) to latents `[n, latent]`.
    pub fn encode(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.shallow_clone();
        for (a, b, g) in &self.enc {
            h = g.forward(&b.forward(&a.forward(&h)?)?)?;
        }
        let h = h
            .f_flatten(1, -1)
            .map_err(|e| tch_error("encoder flatten", e))?;
        self.enc_fc.forward(&h)
    }

    /// The decoder as a [`portable::Network`]: latents (`latent` values per sample) to blocks
    /// (`block_volume` values per sample, C order), the same bits on every host.
    pub fn portable_decoder(&self) -> Result<portable::Network> {
        let c = &self.config;
        let spatial = |ext: &[i64]| -> [usize; 3] {
            let mut s = [1usize; 3];
            for (d, e) in s.iter_mut().skip(3 - ext.len()).zip(ext) {
                *d = *e as usize;
            }
            s
        };
        let mut layers = vec![
            Layer::Dense(self.dec_fc.to_portable()?),
            Layer::Reshape {
                channels: *c.channels.last().unwrap_or(&1),
                shape: spatial(&c.bottleneck()),
            },
        ];
        for (a, b, g) in &self.dec {
            layers.push(Layer::Conv(a.to_portable()?));
            layers.push(Layer::Conv(b.to_portable()?));
            layers.push(Layer::Gdn(g.to_portable()?));
        }
        layers.push(Layer::Conv(self.out.to_portable()?));
        layers.push(Layer::Act(Act::Tanh));
        Ok(portable::Network {
            in_channels: c.latent,
            in_shape: [1, 1, 1],
            layers,
        })
    }

    /// Latents `[n, latent]` to blocks `[n, 1, spatial...]` in [-1, 1].
    pub fn decode(&self, z: &Tensor) -> Result<Tensor> {
        let n = z.size().first().copied().unwrap_or(0);
        let mut shape = vec![n, *self.config.channels.last().unwrap_or(&1) as i64];
        shape.extend(self.config.bottleneck());
        let mut h = self
            .dec_fc
            .forward(z)?
            .f_reshape(shape.as_slice())
            .map_err(|e| tch_error("decoder reshape", e))?;
        for (a, b, g) in &self.dec {
            h = g.forward(&b.forward(&a.forward(&h)?)?)?;
        }
        self.out
            .forward(&h)?
            .f_tanh()
            .map_err(|e| tch_error("decoder output", e))
    }
}

/// A model ready for inference: files, configuration, weights on a device.
#[derive(Debug)]
pub struct LoadedModel {
    /// The model's (resolved) name.
    pub name: String,
    /// SHA-256 of the weights file.
    pub hash: [u8; 32],
    /// Normalisation constants and mode.
    pub normalization: Normalization,
    /// The network.
    pub net: Swae,
    /// Its decoder for [`portable`] inference: every prediction a stream depends on.
    pub decoder: portable::Network,
    /// Where it runs.
    pub device: Device,
    /// What `aesz:model` held when it was loaded (for caching).
    pub spec: String,
    _vs: VarStore,
}

// SAFETY: a loaded model is only ever read (forward passes, no parameter updates), and every
// forward pass runs under pressio-ml-nn's global inference lock, so no two threads touch its
// tensors at the same time. libtorch tensors themselves are reference-counted handles whose
// read-only use from several threads is supported.
unsafe impl Sync for LoadedModel {}

impl LoadedModel {
    /// Load `files` onto `device`.
    pub fn load(files: &ModelFiles, spec: &str, device: Device) -> Result<LoadedModel> {
        let m = &files.manifest;
        let what = format!("model `{}` ({})", m.name, files.manifest_path.display());
        if m.architecture != ARCHITECTURE {
            return Err(PressioError::Model(format!(
                "{what} has architecture `{}`, aesz needs `{ARCHITECTURE}`",
                m.architecture
            )));
        }
        let config: SwaeConfig = serde_json::from_value(m.hyperparameters.clone())
            .map_err(|e| PressioError::Model(format!("{what}: hyper-parameters: {e}")))?;
        config.validate(&what)?;
        let normalization = m.normalization.clone().ok_or_else(|| {
            PressioError::Model(format!(
                "{what}: no normalisation constants in the manifest"
            ))
        })?;
        if !["field", "model", "block"].contains(&normalization.mode.as_str()) {
            return Err(PressioError::Model(format!(
                "{what}: normalisation mode `{}` (field, model or block expected)",
                normalization.mode
            )));
        }
        if normalization.mode == "model"
            && !(normalization.min.is_finite()
                && normalization.max.is_finite()
                && normalization.max > normalization.min)
        {
            return Err(PressioError::Model(format!(
                "{what}: normalisation range [{}, {}] is not usable",
                normalization.min, normalization.max
            )));
        }
        let vs = VarStore::new(device);
        let net = Swae::new(&vs.root(), &config)?;
        pressio_ml_nn::model::load_weights(&vs, &files.weights, &what)?;
        let decoder = net.portable_decoder()?;
        Ok(LoadedModel {
            name: m.name.clone(),
            hash: files.hash,
            normalization,
            net,
            decoder,
            device,
            spec: spec.to_string(),
            _vs: vs,
        })
    }

    /// The network configuration.
    pub fn config(&self) -> &SwaeConfig {
        self.net.config()
    }

    /// The kind of device the model runs on.
    pub fn device_kind(&self) -> DeviceKind {
        DeviceKind::of(self.device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn shapes() {
        for cfg in [
            SwaeConfig {
                dims: 2,
                block: vec![32, 32],
                latent: 16,
                channels: vec![4, 4, 8, 8],
            },
            SwaeConfig {
                dims: 3,
                block: vec![8, 8, 8],
                latent: 8,
                channels: vec![4, 8, 8],
            },
        ] {
            let vs = VarStore::new(Device::Cpu);
            let net = Swae::new(&vs.root(), &cfg).unwrap();
            let mut shape = vec![5i64];
            shape.extend(cfg.sample_shape());
            let x = Tensor::zeros(shape.as_slice(), (Kind::Float, Device::Cpu));
            let z = net.encode(&x).unwrap();
            assert_eq!(z.size(), vec![5, cfg.latent as i64]);
            let y = net.decode(&z).unwrap();
            assert_eq!(y.size(), shape);
        }
    }

    #[test]
    fn portable_decoder_follows_the_libtorch_decoder() {
        for cfg in [
            SwaeConfig {
                dims: 2,
                block: vec![16, 16],
                latent: 6,
                channels: vec![4, 8],
            },
            SwaeConfig {
                dims: 3,
                block: vec![8, 8, 8],
                latent: 5,
                channels: vec![3, 4, 6],
            },
        ] {
            let vs = VarStore::new(Device::Cpu);
            let net = Swae::new(&vs.root(), &cfg).unwrap();
            let z = Tensor::randn([3, cfg.latent as i64], (Kind::Float, Device::Cpu));
            let torch = pressio_ml_nn::inference::tensor_to_f32(&net.decode(&z).unwrap()).unwrap();
            let zv = pressio_ml_nn::inference::tensor_to_f32(&z).unwrap();
            let ours = net.portable_decoder().unwrap().forward(&zv, false).unwrap();
            assert_eq!(ours.len(), torch.len());
            let worst = ours
                .iter()
                .zip(&torch)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(worst < 1e-5, "{cfg:?}: {worst}");
        }
    }

    #[test]
    fn bad_configs() {
        let ok = SwaeConfig {
            dims: 2,
            block: vec![32, 32],
            latent: 16,
            channels: vec![4, 4, 8, 8],
        };
        ok.validate("t").unwrap();
        let mut c = ok.clone();
        c.block = vec![24, 24];
        assert!(c.validate("t").is_err());
        let mut c = ok.clone();
        c.dims = 4;
        assert!(c.validate("t").is_err());
        let mut c = ok.clone();
        c.channels.clear();
        assert!(c.validate("t").is_err());
        let mut c = ok;
        c.latent = 0;
        assert!(c.validate("t").is_err());
    }
}
