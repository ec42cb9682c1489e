//! The CFNN network and its tiled, host-independent inference.
//!
//! Architecture (the digest's reconstruction of the paper's Table III, which it matches
//! exactly: 4,470 / 5,270 / 6,070 parameters in 2-D for 2 / 3 / 4 anchors, 32,871 in 3-D for 3):
//! `conv 5^d (d*k -> 16)`, ReLU, depthwise `conv 5^d (16 groups)`, ReLU, pointwise `conv 1
//! (16 -> 32)`, ReLU, CBAM channel attention (MLP 32 -> 4 -> 32), `conv 5^d (32 -> d)`. The
//! paper does not state activations or padding: ReLU after the first three convolutions and
//! "same" zero padding are this implementation's choices.
//!
//! Input channels are the anchors' backward differences, anchor-major then axis (fastest axis
//! first), each divided by its anchor's scale; outputs are the target's backward differences
//! along each axis divided by that axis's scale.
//!
//! # Tiles
//!
//! The network runs on fixed windows: a tile of `tile^d` points plus a halo of [`HALO`] points
//! on every side (the receptive radius of the three 5-wide convolutions), zeros outside the
//! field; only the tile's own points are used. Training draws windows of the same size, so
//! channel attention (which pools over the window) sees the same statistics. Every window is
//! computed by `pressio_ml_nn::portable`, so predictions are the same bits on every host and
//! thread count.

use pressio_ml_codec::bytes::{ByteReader, ByteWriter};
use pressio_ml_codec::lossless;
use pressio_ml_core::{PressioError, Result};
use pressio_ml_nn::layers::{ChannelAttention, Conv};
use pressio_ml_nn::model::ModelFiles;
use pressio_ml_nn::portable::{self, Act, Layer};
use pressio_ml_nn::tch_error;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tch::nn::{Path, VarStore};
use tch::{Device, Tensor};

/// Architecture id written into (and required from) manifests.
pub const ARCHITECTURE: &str = "cfnn";
/// Receptive radius of the network: three 5-wide convolutions.
pub const HALO: usize = 6;
/// Kernel extent.
pub const KERNEL: usize = 5;
/// Channels after the first convolution.
pub const WIDTH: usize = 16;
/// Channels after the pointwise convolution.
pub const CHANNELS: usize = 32;
/// Hidden units of the channel-attention MLP (reduction ratio 8).
pub const HIDDEN: usize = 4;

/// Hyper-parameters and normalisation of a CFNN model (the manifest's `hyperparameters`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CfnnConfig {
    /// 2 or 3: the network's spatial dimensions (the fastest dims of the data).
    pub dims: usize,
    /// Number of anchor fields.
    pub anchors: usize,
    /// Tile extent (the window is `tile + 2 * HALO` per axis).
    pub tile: usize,
    /// Scale of each anchor's backward differences (divides them).
    pub anchor_scale: Vec<f64>,
    /// Scale of the target's backward differences per axis, fastest first (multiplies the
    /// network's outputs).
    pub target_scale: Vec<f64>,
    /// Names of the anchor fields, in input order (documentation).
    #[serde(default)]
    pub anchor_names: Vec<String>,
    /// Name of the target field (documentation).
    #[serde(default)]
    pub target_name: String,
}

impl CfnnConfig {
    /// Check the configuration; `what` names it in errors.
    pub fn validate(&self, what: &str) -> Result<()> {
        let bad = |m: String| Err(PressioError::Model(format!("{what}: {m}")));
        if self.dims != 2 && self.dims != 3 {
            return bad(format!("dims {} (2 or 3 expected)", self.dims));
        }
        if self.anchors == 0 || self.anchors > 16 {
            return bad(format!("{} anchors (1 to 16)", self.anchors));
        }
        if self.tile == 0 || self.tile > 256 {
            return bad(format!("tile {}", self.tile));
        }
        let ok = |v: &[f64]| v.iter().all(|s| s.is_finite() && *s > 0.0);
        if self.anchor_scale.len() != self.anchors || !ok(&self.anchor_scale) {
            return bad(format!("anchor scales {:?}", self.anchor_scale));
        }
        if self.target_scale.len() != self.dims || !ok(&self.target_scale) {
            return bad(format!("target scales {:?}", self.target_scale));
        }
        Ok(())
    }

    /// Window extent per axis.
    pub fn window(&self) -> usize {
        self.tile + 2 * HALO
    }

    /// The window's spatial shape, slowest first, padded to 3 entries.
    pub fn window_shape(&self) -> [usize; 3] {
        let w = self.window();
        if self.dims == 2 {
            [1, w, w]
        } else {
            [w, w, w]
        }
    }

    /// Learnable parameters of the network.
    pub fn parameters(&self) -> usize {
        let kv = KERNEL.pow(self.dims as u32);
        let c_in = self.dims * self.anchors;
        (c_in * WIDTH * kv + WIDTH)
            + (WIDTH * kv + WIDTH)
            + (WIDTH * CHANNELS + CHANNELS)
            + (CHANNELS * HIDDEN + HIDDEN + HIDDEN * CHANNELS + CHANNELS)
            + (CHANNELS * self.dims * kv + self.dims)
    }
}

/// The network's layers (libtorch, for training).
#[derive(Debug)]
pub struct CfnnNet {
    conv1: Conv,
    depthwise: Conv,
    pointwise: Conv,
    attention: ChannelAttention,
    conv2: Conv,
}

impl CfnnNet {
    /// Build the variables under `root`.
    pub fn new(root: &Path, c: &CfnnConfig) -> Result<CfnnNet> {
        let (d, k) = (c.dims, KERNEL as i64);
        let (w, ch) = (WIDTH as i64, CHANNELS as i64);
        Ok(CfnnNet {
            conv1: Conv::grouped(&(root / "conv1"), d, (d * c.anchors) as i64, w, k, 1)?,
            depthwise: Conv::grouped(&(root / "depthwise"), d, w, w, k, w)?,
            pointwise: Conv::grouped(&(root / "pointwise"), d, w, ch, 1, 1)?,
            attention: ChannelAttention::new(&(root / "attention"), ch, HIDDEN as i64)?,
            conv2: Conv::grouped(&(root / "conv2"), d, ch, d as i64, k, 1)?,
        })
    }

    /// Windows `[n, d * anchors, window...]` to normalised differences `[n, d, window...]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let relu = |t: Tensor| t.f_relu().map_err(|e| tch_error("relu", e));
        let h = relu(self.conv1.forward(x)?)?;
        let h = relu(self.depthwise.forward(&h)?)?;
        let h = relu(self.pointwise.forward(&h)?)?;
        let h = self.attention.forward(&h)?;
        self.conv2.forward(&h)
    }

    /// The same network for portable inference on windows of `c`.
    pub fn portable(&self, c: &CfnnConfig) -> Result<portable::Network> {
        Ok(portable::Network {
            in_channels: c.dims * c.anchors,
            in_shape: c.window_shape(),
            layers: vec![
                Layer::Conv(self.conv1.to_portable()?),
                Layer::Act(Act::Relu),
                Layer::Conv(self.depthwise.to_portable()?),
                Layer::Act(Act::Relu),
                Layer::Conv(self.pointwise.to_portable()?),
                Layer::Act(Act::Relu),
                Layer::ChannelAttention(self.attention.to_portable()?),
                Layer::Conv(self.conv2.to_portable()?),
            ],
        })
    }
}

/// Backward differences of a field along each of its first `axes` axes (fastest first), in
/// f64, 0 where there is no backward neighbour. `dims` fastest first.
pub fn backward_differences(values: &[f64], dims: &[usize], axes: usize) -> Vec<Vec<f64>> {
    let mut stride = 1usize;
    let mut out = Vec::with_capacity(axes);
    for &extent in dims.iter().take(axes) {
        let period = stride * extent;
        let d = values
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                if (i % period) / stride == 0 {
                    0.0
                } else {
                    v - values[i - stride]
                }
            })
            .collect();
        out.push(d);
        stride = period;
    }
    out
}

/// Per-channel planes of a field cut into windows: `tile^d` interiors with their halo, zeros
/// outside the field. Shared by inference and training, so both see the same windows.
#[derive(Debug)]
pub struct Windows<'a> {
    channels: &'a [Vec<f32>],
    /// Slice extents, slowest first (a 2-D slice has `ext[0] == 1`).
    pub ext: [usize; 3],
    /// Values per slice.
    pub slice: usize,
    /// Halo per axis, slowest first (0 along the absent axis of 2-D windows).
    pub halo: [usize; 3],
    win: [usize; 3],
    tile: usize,
}

impl<'a> Windows<'a> {
    /// Windows over `channels` (each the whole field, `dims` fastest first) for config `c`.
    pub fn new(channels: &'a [Vec<f32>], dims: &[usize], c: &CfnnConfig) -> Result<Windows<'a>> {
        let m = c.dims;
        if dims.len() < m {
            return Err(PressioError::InvalidDims(format!(
                "a {m}-D model needs at least {m} dims, got {dims:?}"
            )));
        }
        let mut ext = [1usize; 3];
        for (i, &d) in dims[..m].iter().enumerate() {
            ext[2 - i] = d;
        }
        let halo = if m == 2 { [0, HALO, HALO] } else { [HALO; 3] };
        Ok(Windows {
            channels,
            ext,
            slice: dims[..m].iter().product(),
            halo,
            win: c.window_shape(),
            tile: c.tile,
        })
    }

    /// Tiles per slice along each axis, slowest first.
    pub fn tiles(&self) -> [usize; 3] {
        let t = self.tile;
        [
            if self.halo[0] == 0 {
                1
            } else {
                self.ext[0].div_ceil(t)
            },
            self.ext[1].div_ceil(t),
            self.ext[2].div_ceil(t),
        ]
    }

    /// The window (every channel, `[channels, window...]`) whose tile starts at `origin` of
    /// slice `s`.
    pub fn window(&self, s: usize, origin: [usize; 3]) -> Vec<f32> {
        let (win, ext) = (self.win, self.ext);
        let wvol: usize = win.iter().product();
        let mut x = vec![0f32; self.channels.len() * wvol];
        let inside = |o: usize, w: usize, h: usize, e: usize| {
            let v = (o + w) as isize - h as isize;
            (v >= 0 && (v as usize) < e).then_some(v as usize)
        };
        for (ch, plane) in self.channels.iter().enumerate() {
            let plane = &plane[s * self.slice..(s + 1) * self.slice];
            for wz in 0..win[0] {
                let Some(z) = inside(origin[0], wz, self.halo[0], ext[0]) else {
                    continue;
                };
                for wy in 0..win[1] {
                    let Some(y) = inside(origin[1], wy, self.halo[1], ext[1]) else {
                        continue;
                    };
                    let row = (z * ext[1] + y) * ext[2];
                    let dst = ch * wvol + (wz * win[1] + wy) * win[2];
                    for wx in 0..win[2] {
                        if let Some(xx) = inside(origin[2], wx, self.halo[2], ext[2]) {
                            x[dst + wx] = plane[row + xx];
                        }
                    }
                }
            }
        }
        x
    }
}

/// The network's normalised inputs for a field: each anchor's backward differences along the
/// model's axes divided by the anchor's scale, anchor-major.
pub fn network_inputs(anchors: &[Vec<f64>], dims: &[usize], c: &CfnnConfig) -> Vec<Vec<f32>> {
    let mut inputs = Vec::with_capacity(c.dims * anchors.len());
    for (a, values) in anchors.iter().enumerate() {
        for d in backward_differences(values, dims, c.dims) {
            inputs.push(d.iter().map(|v| (v / c.anchor_scale[a]) as f32).collect());
        }
    }
    inputs
}

/// A model ready for inference.
#[derive(Debug)]
pub struct LoadedModel {
    /// The model's (resolved) name.
    pub name: String,
    /// SHA-256 of the weights file.
    pub hash: [u8; 32],
    /// Configuration and normalisation.
    pub config: CfnnConfig,
    /// The network for portable inference.
    pub net: portable::Network,
    /// The safetensors weights (what [`LoadedModel::embedded`] puts into a stream).
    pub weights: Vec<u8>,
}

/// Version of the embedded-model layout ([`LoadedModel::embedded`]).
const EMBED_VERSION: u8 = 1;
/// Largest embedded weights file accepted (the paper's models are under 200 kB).
const MAX_EMBEDDED_WEIGHTS: usize = 64 << 20;

impl LoadedModel {
    /// Load `files` (weights checked against the configuration).
    pub fn load(files: &ModelFiles) -> Result<LoadedModel> {
        let m = &files.manifest;
        let what = format!("model `{}` ({})", m.name, files.manifest_path.display());
        if m.architecture != ARCHITECTURE {
            return Err(PressioError::Model(format!(
                "{what} has architecture `{}`, cfnn needs `{ARCHITECTURE}`",
                m.architecture
            )));
        }
        let config: CfnnConfig = serde_json::from_value(m.hyperparameters.clone())
            .map_err(|e| PressioError::Model(format!("{what}: hyper-parameters: {e}")))?;
        Self::from_parts(&m.name, config, files.weights.clone(), files.hash, &what)
    }

    fn from_parts(
        name: &str,
        config: CfnnConfig,
        weights: Vec<u8>,
        hash: [u8; 32],
        what: &str,
    ) -> Result<LoadedModel> {
        config.validate(what)?;
        let vs = VarStore::new(Device::Cpu);
        let net = CfnnNet::new(&vs.root(), &config)?;
        pressio_ml_nn::model::load_weights(&vs, &weights, what)?;
        let net = net.portable(&config)?;
        Ok(LoadedModel {
            name: name.to_string(),
            hash,
            config,
            net,
            weights,
        })
    }

    /// The model as a stream section holds it (`cfnn:embed_model`): layout version, name,
    /// configuration (JSON) and the safetensors weights, zstd-compressed.
    pub fn embedded(&self) -> Result<Vec<u8>> {
        let config = serde_json::to_string(&self.config)
            .map_err(|e| PressioError::Internal(format!("cfnn config to JSON: {e}")))?;
        let mut w = ByteWriter::new();
        w.put_u8(EMBED_VERSION);
        w.put_str(&self.name);
        w.put_str(&config);
        w.put_varint(self.weights.len() as u64);
        w.put_bytes(&lossless::compress(&self.weights, lossless::DEFAULT_LEVEL)?);
        Ok(w.into_inner())
    }

    /// Load a model [`LoadedModel::embedded`] wrote; the weights must hash to `expect` (the
    /// stream header's model hash).
    pub fn from_embedded(bytes: &[u8], expect: &[u8]) -> Result<LoadedModel> {
        let mut r = ByteReader::new(bytes, "cfnn embedded model");
        let v = r.u8()?;
        if v != EMBED_VERSION {
            return Err(PressioError::StreamMismatch(format!(
                "cfnn embedded model layout {v}, this build reads {EMBED_VERSION}"
            )));
        }
        let name = r.str()?.to_string();
        let config = r.str()?.to_string();
        let len = r.varint_usize(MAX_EMBEDDED_WEIGHTS)?;
        let weights = lossless::decompress(&bytes[r.position()..], len)?;
        if weights.len() != len {
            return Err(PressioError::corrupt(
                "cfnn embedded model: weights have the wrong size",
            ));
        }
        let hash = pressio_ml_nn::model::sha256(&weights);
        if hash[..] != *expect {
            return Err(PressioError::corrupt(format!(
                "cfnn embedded model `{name}`: weights hash {} but the stream records {}",
                pressio_ml_nn::model::hex(&hash),
                pressio_ml_nn::model::hex(expect)
            )));
        }
        let what = format!("embedded model `{name}`");
        let config: CfnnConfig = serde_json::from_str(&config)
            .map_err(|e| PressioError::corrupt(format!("{what}: configuration: {e}")))?;
        Self::from_parts(&name, config, weights, hash, &what)
    }

    /// Predict the target's backward differences (data units, one array per model axis,
    /// fastest first) of a field of `dims` (fastest first; the model's `dims` fastest axes form
    /// slices, slower axes index slices) from its anchors (each `product(dims)` values).
    pub fn predict(
        &self,
        anchors: &[Vec<f64>],
        dims: &[usize],
        parallel: bool,
    ) -> Result<Vec<Vec<f32>>> {
        let c = &self.config;
        let m = c.dims;
        if anchors.len() != c.anchors {
            return Err(PressioError::InvalidArgument(format!(
                "model `{}` takes {} anchors, got {}",
                self.name,
                c.anchors,
                anchors.len()
            )));
        }
        if dims.len() < m {
            return Err(PressioError::InvalidArgument(format!(
                "model `{}` is {m}-D but the field has dims {dims:?}",
                self.name
            )));
        }
        let n: usize = dims.iter().product();
        if anchors.iter().any(|a| a.len() != n) {
            return Err(PressioError::InvalidArgument(
                "every anchor must have as many values as the target".into(),
            ));
        }
        let inputs = network_inputs(anchors, dims, c);
        let grid = Windows::new(&inputs, dims, c)?;
        let (ext, slice) = (grid.ext, grid.slice);
        let t = c.tile;
        let tiles = grid.tiles();
        let per_slice: usize = tiles.iter().product();
        let n_tiles = per_slice * (n / slice);
        let wvol: usize = c.window_shape().iter().product();
        let halo = grid.halo;
        let win = c.window_shape();
        // one window per (slice, tile): gather, run, scatter
        let run = |job: usize| -> Result<(usize, [usize; 3], Vec<f32>)> {
            let (s, r) = (job / per_slice, job % per_slice);
            let origin = [
                (r / (tiles[1] * tiles[2])) * t,
                (r / tiles[2] % tiles[1]) * t,
                (r % tiles[2]) * t,
            ];
            Ok((s, origin, self.net.forward_batch(&grid.window(s, origin))?))
        };
        let outs: Vec<(usize, [usize; 3], Vec<f32>)> = if parallel {
            (0..n_tiles)
                .into_par_iter()
                .map(run)
                .collect::<Result<_>>()?
        } else {
            (0..n_tiles).map(run).collect::<Result<_>>()?
        };
        let mut pred = vec![vec![0f32; n]; m];
        for (s, origin, y) in outs {
            for (ax, p) in pred.iter_mut().enumerate() {
                let scale = c.target_scale[ax];
                let plane = &y[ax * wvol..(ax + 1) * wvol];
                let out = &mut p[s * slice..(s + 1) * slice];
                for tz in 0..if m == 2 { 1 } else { t } {
                    let z = origin[0] + tz;
                    if z >= ext[0] {
                        break;
                    }
                    for ty in 0..t {
                        let y = origin[1] + ty;
                        if y >= ext[1] {
                            break;
                        }
                        for tx in 0..t {
                            let xx = origin[2] + tx;
                            if xx >= ext[2] {
                                break;
                            }
                            let w =
                                ((tz + halo[0]) * win[1] + ty + halo[1]) * win[2] + tx + halo[2];
                            out[(z * ext[1] + y) * ext[2] + xx] = (plane[w] as f64 * scale) as f32;
                        }
                    }
                }
            }
        }
        Ok(pred)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    fn cfg(dims: usize, anchors: usize) -> CfnnConfig {
        CfnnConfig {
            dims,
            anchors,
            tile: 4,
            anchor_scale: vec![1.0; anchors],
            target_scale: vec![1.0; dims],
            anchor_names: vec![],
            target_name: String::new(),
        }
    }

    #[test]
    fn parameter_counts_match_the_paper() {
        for (dims, k, want) in [(2, 2, 4470), (2, 3, 5270), (2, 4, 6070), (3, 3, 32871)] {
            let c = cfg(dims, k);
            assert_eq!(c.parameters(), want);
            let vs = VarStore::new(Device::Cpu);
            let _net = CfnnNet::new(&vs.root(), &c).unwrap();
            let total: i64 = vs
                .trainable_variables()
                .iter()
                .map(|t| t.numel() as i64)
                .sum();
            assert_eq!(total as usize, want, "{dims}-D, {k} anchors");
        }
    }

    #[test]
    fn portable_windows_follow_libtorch_and_differences_are_backward() {
        let c = cfg(2, 2);
        let vs = VarStore::new(Device::Cpu);
        let net = CfnnNet::new(&vs.root(), &c).unwrap();
        let w = c.window() as i64;
        let x = Tensor::randn([2, 4, w, w], (Kind::Float, Device::Cpu));
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

        let v: Vec<f64> = (0..12).map(|i| (i * i) as f64).collect();
        let d = backward_differences(&v, &[4, 3], 2);
        assert_eq!(d[0][..4], [0.0, 1.0, 3.0, 5.0]);
        assert_eq!(d[1][..4], [0.0; 4]);
        assert_eq!(d[1][4], 16.0);
    }
}
