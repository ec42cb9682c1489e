//! The AE-SZ bodies. This module holds what both pipelines share (geometry, header, the
//! autoencoder's candidates, latents and their decoding) and the SZ2 pipeline: blockwise
//! prediction (Lorenzo, block mean or autoencoder, the best per block), the substrate's linear
//! quantizer, Huffman and zstd. The interpolation pipeline (body version 3, the default) is in
//! `interp_body`; a stream without an `AEHD` section is its plain `classic` body.
//!
//! # Geometry
//!
//! The normalised input dims (fastest first) are cut into `k`-D slices over the `k` fastest
//! dims (`k` = min(dims, 3)); every slower dim just counts slices, which are coded one after the
//! other. Each slice is tiled by blocks (the model's block size, with extent 1 along slice axes
//! the model does not have: a 2-D model on 3-D data predicts 32x32x1 blocks), partial at the
//! upper edges, visited in C order (slowest block axis outermost), and the points of a block in
//! C order. Lorenzo is `k`-D and reads reconstructed neighbours across block borders (SZ2.1
//! style); out-of-slice neighbours are 0.
//!
//! # Stream sections
//!
//! * `AEHD`: body version, geometry, quantization radius, and when any block uses the
//!   autoencoder: normalisation range, latent bound, latent size, the id of the portable
//!   engine that computed the predictions (version 1 streams: inference batch size, device kind
//!   and libtorch version), and a checksum of all AE predictions; then element counts and
//!   payload lengths.
//! * `AEPL`: zstd of Huffman(quantization codes) | unpredictable values | one predictor byte per
//!   block | block means (exact, for mean blocks).
//! * `AELT` (AE blocks only): zstd of Huffman(latent codes) | unpredictable latents (f32).

use crate::model::LoadedModel;
use pressio_ml_codec::bytes::{ByteReader, ByteWriter};
use pressio_ml_codec::container::{ParsedStream, Section, Tag};
use pressio_ml_codec::lorenzo::{predict_at, LorenzoValue};
use pressio_ml_codec::quantizer::{
    values_from_le_bytes, values_to_le_bytes, Dequantizer, Float, LinearQuantizer, DEFAULT_RADIUS,
};
use pressio_ml_codec::{huffman, lossless};
use pressio_ml_core::{PressioError, Result};
use pressio_ml_nn::inference::{inference, libtorch_version, prediction_checksum, run_batched};
use pressio_ml_nn::portable;
use pressio_ml_nn::DeviceKind;
use rayon::prelude::*;

/// Header section.
pub const TAG_HEAD: Tag = Tag(*b"AEHD");
/// Codes, unpredictables, predictor choices and means.
pub const TAG_PAYLOAD: Tag = Tag(*b"AEPL");
/// Latent codes of AE blocks.
pub const TAG_LATENT: Tag = Tag(*b"AELT");

/// Body layout version of the SZ2.1-style pipeline ([`Pipeline::Sz2`]): 2 since predictions
/// come from the portable engine. Version 1 streams (predictions by libtorch) are still read.
pub const BODY_VERSION_SZ2: u8 = 2;
/// Body layout version of the interpolation pipeline ([`Pipeline::Interp`]): classic's
/// interpolation body (`CLHD`/`CLPL`) whose AE blocks' points are predicted by the autoencoder.
pub const BODY_VERSION_INTERP: u8 = 3;
/// Newest body layout version.
pub const BODY_VERSION: u8 = BODY_VERSION_INTERP;
/// Oldest body layout version read.
pub const MIN_BODY_VERSION: u8 = 1;
/// Quantization radius (codes in `[0, 65536)`, SZ2.1's default bin count).
pub const RADIUS: u32 = DEFAULT_RADIUS;
/// Block length used for 1-D data (Lorenzo / mean only).
pub const BLOCK_1D: usize = 256;

/// What predicts the blocks the autoencoder does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipeline {
    /// `classic`'s multilevel interpolation over the whole field; the points of AE blocks take
    /// the autoencoder's prediction instead (body version 3).
    Interp,
    /// The paper's SZ2.1-style blocks: Lorenzo, the block mean or the autoencoder per block
    /// (body version 2).
    Sz2,
}

impl Pipeline {
    /// Option spelling.
    pub fn name(self) -> &'static str {
        match self {
            Pipeline::Interp => "interp",
            Pipeline::Sz2 => "sz2",
        }
    }
}

/// Predictor of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Choice {
    /// Lorenzo from reconstructed neighbours.
    Lorenzo = 0,
    /// The block's mean.
    Mean = 1,
    /// The autoencoder's prediction.
    Ae = 2,
    /// `classic`'s interpolation (interpolation pipeline only).
    Interp = 3,
}

impl Choice {
    pub(crate) fn from_u8(v: u8) -> Result<Choice> {
        match v {
            0 => Ok(Choice::Lorenzo),
            1 => Ok(Choice::Mean),
            2 => Ok(Choice::Ae),
            3 => Ok(Choice::Interp),
            _ => Err(PressioError::corrupt(format!(
                "unknown block predictor {v}"
            ))),
        }
    }
}

/// Noise of Lorenzo's prediction, in units of the bound, that its selection loss accounts for
/// because the loss is measured on original rather than reconstructed neighbours (SZ2.1 adds a
/// noise term too): the reconstruction errors of the `2^k - 1` neighbours are modelled as
/// independent uniform errors in `[-e, e]`, whose sum has a mean absolute value of about
/// `nu = 0.8 * e * sqrt((2^k - 1) / 3)`; a residual `r` on original neighbours then counts as
/// `sqrt(r^2 + nu^2)` (`|r|` when large, `nu` when small).
pub fn lorenzo_noise(k: usize) -> f64 {
    0.8 * (((1usize << k) - 1) as f64 / 3.0).sqrt()
}

/// Slices and blocks of a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    /// Dimensionality of slices and of the Lorenzo stencil (1, 2 or 3).
    pub k: usize,
    /// Dimensionality of blocks (`<= k`; extra block axes have extent 1).
    pub kb: usize,
    /// Slice extents, fastest first, padded with 1 to three entries.
    pub slice: [usize; 3],
    /// Number of slices.
    pub nslices: usize,
    /// Block extents, fastest first, padded with 1.
    pub block: [usize; 3],
}

impl Geometry {
    /// Geometry of normalised `dims` cut into `k`-D slices and blocks of extents `block`
    /// (fastest first, at most `k` entries; missing slower axes have extent 1).
    pub fn new(dims: &[usize], k: usize, block: &[usize]) -> Result<Geometry> {
        let kb = block.len();
        if !(1..=3).contains(&k) || kb == 0 || kb > k || block.contains(&0) {
            return Err(PressioError::InvalidArgument(format!(
                "bad block {block:?} for {k}-D slices"
            )));
        }
        if dims.len() < k {
            return Err(PressioError::InvalidDims(format!(
                "{}-D data cannot be cut into {k}-D slices",
                dims.len()
            )));
        }
        let mut slice = [1usize; 3];
        slice[..k].copy_from_slice(&dims[..k]);
        let mut b = [1usize; 3];
        b[..kb].copy_from_slice(block);
        let nslices = dims[k..].iter().product();
        Ok(Geometry {
            k,
            kb,
            slice,
            nslices,
            block: b,
        })
    }

    /// Blocks along each axis of a slice.
    pub fn grid(&self) -> [usize; 3] {
        [0, 1, 2].map(|i| self.slice[i].div_ceil(self.block[i]))
    }

    /// Blocks per slice.
    pub fn blocks_per_slice(&self) -> usize {
        self.grid().iter().product()
    }

    /// Blocks in the whole field.
    pub fn total_blocks(&self) -> usize {
        self.blocks_per_slice() * self.nslices
    }

    /// Values per slice.
    pub fn slice_len(&self) -> usize {
        self.slice.iter().product()
    }

    /// Values per (full) block.
    pub fn block_volume(&self) -> usize {
        self.block.iter().product()
    }

    /// Origin and extents (fastest first) of block `b` of a slice (C order over the grid).
    pub fn block_at(&self, b: usize) -> ([usize; 3], [usize; 3]) {
        let g = self.grid();
        let idx = [b % g[0], (b / g[0]) % g[1], b / (g[0] * g[1])];
        let o = [0, 1, 2].map(|i| idx[i] * self.block[i]);
        let e = [0, 1, 2].map(|i| self.block[i].min(self.slice[i] - o[i]));
        (o, e)
    }

    fn slice_dims(&self) -> &[usize] {
        &self.slice[..self.k]
    }

    fn index(&self, p: [usize; 3]) -> usize {
        (p[2] * self.slice[1] + p[1]) * self.slice[0] + p[0]
    }
}

/// Call `f(slice index, coords)` for every point of a block in C order.
#[inline]
pub(crate) fn for_points(
    g: &Geometry,
    o: [usize; 3],
    e: [usize; 3],
    mut f: impl FnMut(usize, [usize; 3]) -> Result<()>,
) -> Result<()> {
    for z in o[2]..o[2] + e[2] {
        for y in o[1]..o[1] + e[1] {
            let row = (z * g.slice[1] + y) * g.slice[0];
            for x in o[0]..o[0] + e[0] {
                f(row + x, [x, y, z])?;
            }
        }
    }
    Ok(())
}

#[inline]
fn lorenzo<T: LorenzoValue>(g: &Geometry, buf: &[T], c: [usize; 3]) -> Result<T> {
    predict_at(buf, g.slice_dims(), &c[..g.k])
}

/// Settings of one compression.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Slice and Lorenzo dimensionality (1 to 3).
    pub k: usize,
    /// Block extents, fastest first (at most `k` entries).
    pub block: Vec<usize>,
    /// Latent bound as a fraction of the bound in the normalised domain.
    pub latent_factor: f64,
    /// Inference batch size.
    pub batch: usize,
    /// How blocks choose their predictor.
    pub selection: SelectionRule,
    /// What predicts the blocks the autoencoder does not.
    pub pipeline: Pipeline,
    /// Run Huffman and the selection on the current rayon pool.
    pub parallel: bool,
}

/// Facts about the last compression.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BodyStats {
    /// Blocks predicted by Lorenzo.
    pub lorenzo_blocks: u64,
    /// Blocks predicted by their mean.
    pub mean_blocks: u64,
    /// Blocks predicted by the autoencoder.
    pub ae_blocks: u64,
    /// Blocks predicted by interpolation (interpolation pipeline).
    pub interp_blocks: u64,
    /// Compressed size of the latents.
    pub latent_bytes: u64,
    /// Compressed size of codes, unpredictables, choices and means.
    pub payload_bytes: u64,
    /// Unpredictable values.
    pub unpredictable: u64,
}

/// The AE-SZ field codec. `model` is needed to encode with the autoencoder and to decode
/// streams that hold AE blocks.
pub struct AeszCodec<'a> {
    /// Settings (encoding only; decoding reads everything from the stream).
    pub settings: Settings,
    /// The model, if any.
    pub model: Option<&'a LoadedModel>,
    /// Filled by `encode`.
    pub stats: BodyStats,
}

/// How AE blocks are normalised: `x_n = (x - c) / h`, prediction `c + y h`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AeNorm {
    /// One `(c, h)` for every block (`field` or `model` normalisation: the centre and half
    /// width of the field's or the training data's range).
    Global {
        /// Centre.
        c: f64,
        /// Half width (> 0).
        h: f64,
    },
    /// Per block: `c` the block mean, `h` the largest deviation from it, both rounded to f32
    /// and stored for every AE block.
    Block,
}

/// One block's normalisation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    /// Centre.
    pub c: f64,
    /// Half width (> 0).
    pub h: f64,
}

/// The autoencoder part of a stream header.
#[derive(Debug, Clone, PartialEq)]
pub struct AeHead {
    /// Normalisation.
    pub norm: AeNorm,
    /// Latent bound factor: block `b`'s latents are quantized with bound `factor * e / h_b`
    /// (the data bound in the block's normalised units).
    pub latent_factor: f64,
    /// Latent size.
    pub latent: usize,
    /// What computed the predictions.
    pub engine: Engine,
    /// Checksum of all AE predictions.
    pub checksum: u64,
    /// Number of AE blocks.
    pub blocks: usize,
}

/// What computed a stream's autoencoder predictions.
#[derive(Debug, Clone, PartialEq)]
pub enum Engine {
    /// pressio-ml-nn's portable forward pass with this [`portable::ENGINE_ID`] (body version
    /// 2): the same bits on every host, so any machine decodes the stream.
    Portable(u8),
    /// libtorch (body version 1 streams): only the same device kind and libtorch build
    /// reproduce the predictions.
    Libtorch {
        /// Inference batch size.
        batch: usize,
        /// Device kind that computed the predictions.
        device: DeviceKind,
        /// libtorch version that computed them.
        version: String,
    },
}

/// The parsed `AEHD` section.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    /// Body version.
    pub version: u8,
    /// Slice and Lorenzo dimensionality.
    pub k: usize,
    /// Block extents, fastest first (at most `k` entries).
    pub block: Vec<usize>,
    /// Quantization radius.
    pub radius: u32,
    /// Present when blocks use the autoencoder.
    pub ae: Option<AeHead>,
    /// Mean blocks.
    pub n_mean: usize,
    /// Unpredictable values.
    pub n_unpred: usize,
    /// Uncompressed payload length.
    pub payload_len: usize,
    /// Unpredictable latents.
    pub n_lat_unpred: usize,
    /// Uncompressed latent payload length.
    pub latent_len: usize,
}

impl Head {
    /// Serialize (the inverse of [`Head::read`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new();
        w.put_u8(self.version);
        w.put_u8(self.k as u8);
        w.put_u8(self.block.len() as u8);
        for &b in &self.block {
            w.put_u32(b as u32);
        }
        w.put_u32(self.radius);
        match &self.ae {
            None => w.put_u8(0),
            Some(a) => {
                w.put_u8(1);
                match a.norm {
                    AeNorm::Global { c, h } => {
                        w.put_u8(0);
                        w.put_f64(c);
                        w.put_f64(h);
                    }
                    AeNorm::Block => w.put_u8(1),
                }
                w.put_f64(a.latent_factor);
                w.put_u32(a.latent as u32);
                match &a.engine {
                    Engine::Portable(id) => w.put_u8(*id),
                    Engine::Libtorch {
                        batch,
                        device,
                        version,
                    } => {
                        w.put_u32(*batch as u32);
                        w.put_u8(device.code());
                        w.put_str(version);
                    }
                }
                w.put_u64(a.checksum);
                w.put_varint(a.blocks as u64);
            }
        }
        w.put_varint(self.n_mean as u64);
        w.put_varint(self.n_unpred as u64);
        w.put_varint(self.payload_len as u64);
        w.put_varint(self.n_lat_unpred as u64);
        w.put_varint(self.latent_len as u64);
        w.into_inner()
    }

    /// Parse the `AEHD` section of `stream`, for a field of `n` values.
    pub fn read(stream: &ParsedStream<'_>, n: usize) -> Result<Head> {
        let mut r = ByteReader::new(stream.section(TAG_HEAD)?, "aesz header");
        let version = r.u8()?;
        if !(MIN_BODY_VERSION..=BODY_VERSION).contains(&version) {
            return Err(PressioError::StreamMismatch(format!(
                "aesz body version {version}, this build reads {MIN_BODY_VERSION} to \
                 {BODY_VERSION}"
            )));
        }
        let k = r.u8()? as usize;
        if !(1..=3).contains(&k) {
            return Err(PressioError::corrupt(format!("aesz: {k}-D blocks")));
        }
        let kb = r.u8()? as usize;
        if kb == 0 || kb > k {
            return Err(PressioError::corrupt(format!(
                "aesz: {kb}-D blocks in {k}-D slices"
            )));
        }
        let mut block = Vec::with_capacity(kb);
        for _ in 0..kb {
            let b = r.u32()? as usize;
            if b == 0 || b > 1 << 16 {
                return Err(PressioError::corrupt(format!("aesz: block extent {b}")));
            }
            block.push(b);
        }
        let radius = r.u32()?;
        if radius == 0 || radius > pressio_ml_codec::quantizer::MAX_RADIUS {
            return Err(PressioError::corrupt(format!("aesz: radius {radius}")));
        }
        let ae = match r.u8()? {
            0 => None,
            1 => {
                let norm = match r.u8()? {
                    0 => {
                        let c = r.f64()?;
                        let h = r.f64()?;
                        if !(c.is_finite() && h.is_finite() && h > 0.0) {
                            return Err(PressioError::corrupt("aesz: bad normalisation"));
                        }
                        AeNorm::Global { c, h }
                    }
                    1 => AeNorm::Block,
                    m => return Err(PressioError::corrupt(format!("aesz: normalisation {m}"))),
                };
                let latent_factor = r.f64()?;
                let latent = r.u32()? as usize;
                let engine = if version == 1 {
                    let batch = r.u32()? as usize;
                    let dk = r.u8()?;
                    let device = DeviceKind::from_code(dk)
                        .ok_or_else(|| PressioError::corrupt(format!("aesz: device kind {dk}")))?;
                    let version = r.str()?.to_string();
                    if batch == 0 {
                        return Err(PressioError::corrupt("aesz: inference batch 0"));
                    }
                    Engine::Libtorch {
                        batch,
                        device,
                        version,
                    }
                } else {
                    Engine::Portable(r.u8()?)
                };
                let checksum = r.u64()?;
                let blocks = r.varint_usize(n)?;
                if !(latent_factor.is_finite() && latent_factor > 0.0)
                    || latent == 0
                    || latent > 4096
                    || blocks == 0
                {
                    return Err(PressioError::corrupt("aesz: bad autoencoder header"));
                }
                Some(AeHead {
                    norm,
                    latent_factor,
                    latent,
                    engine,
                    checksum,
                    blocks,
                })
            }
            f => return Err(PressioError::corrupt(format!("aesz: AE flag {f}"))),
        };
        let n_mean = r.varint_usize(n)?;
        let n_unpred = r.varint_usize(n)?;
        let payload_len = r.varint_usize(n.saturating_mul(24).saturating_add(1 << 20))?;
        let lat_max = ae.as_ref().map_or(0, |a| a.blocks.saturating_mul(a.latent));
        let n_lat_unpred = r.varint_usize(lat_max)?;
        let latent_len = r.varint_usize(lat_max.saturating_mul(12).saturating_add(1 << 16))?;
        r.finish()?;
        Ok(Head {
            version,
            k,
            block,
            radius,
            ae,
            n_mean,
            n_unpred,
            payload_len,
            n_lat_unpred,
            latent_len,
        })
    }
}

/// Normalise (into [-1, 1] for values inside the normalisation range).
#[inline]
fn normalize(x: f64, a: Affine) -> f32 {
    ((x - a.c) / a.h) as f32
}

/// Back from the normalised domain.
#[inline]
pub(crate) fn denormalize(y: f32, a: Affine) -> f64 {
    a.c + y as f64 * a.h
}

/// The latent bound of a block with normalisation `a`: `factor * e / h`, or `None` when it is
/// not a usable positive number.
fn latent_eb(factor: f64, abs: f64, a: Affine) -> Option<f64> {
    let eb = factor * abs / a.h;
    (eb.is_finite() && eb > 0.0 && eb < 1e6).then_some(eb)
}

/// Per-block normalisation of block `gb` from its in-field values (mean and largest deviation,
/// rounded to f32); `None` for a constant block.
fn block_affine<T: Float>(g: &Geometry, values: &[T], gb: usize) -> Option<Affine> {
    let bps = g.blocks_per_slice();
    let sl = g.slice_len();
    let slice = &values[(gb / bps) * sl..(gb / bps + 1) * sl];
    let (o, e) = g.block_at(gb % bps);
    let (mut sum, mut n) = (0f64, 0usize);
    let _ = for_points(g, o, e, |i, _| {
        sum += slice[i].as_f64();
        n += 1;
        Ok(())
    });
    let c = (sum / n as f64) as f32 as f64;
    let mut m = 0f64;
    let _ = for_points(g, o, e, |i, _| {
        m = m.max((slice[i].as_f64() - c).abs());
        Ok(())
    });
    let h = m as f32 as f64;
    (c.is_finite() && h.is_finite() && h > 0.0).then_some(Affine { c, h })
}

fn check_model_matches(model: &LoadedModel, g: &Geometry, latent: usize) -> Result<()> {
    let c = model.config();
    if c.dims != g.kb || c.block[..] != g.block[..g.kb] || c.latent != latent {
        return Err(PressioError::StreamMismatch(format!(
            "the stream's autoencoder blocks ({}-D, block {:?}, latent {latent}) do not match \
             model `{}` ({}-D, block {:?}, latent {})",
            g.kb,
            &g.block[..g.kb],
            model.name,
            c.dims,
            c.block,
            c.latent
        )));
    }
    Ok(())
}

/// Normalised, edge-padded full blocks of every listed block (`aff[j]` normalises `list[j]`).
fn gather_blocks<T: Float>(g: &Geometry, values: &[T], list: &[usize], aff: &[Affine]) -> Vec<f32> {
    let bpv = g.block_volume();
    let bps = g.blocks_per_slice();
    let sl = g.slice_len();
    let mut out = vec![0f32; list.len() * bpv];
    for (j, &gb) in list.iter().enumerate() {
        let slice = &values[(gb / bps) * sl..(gb / bps + 1) * sl];
        let (o, e) = g.block_at(gb % bps);
        let dst = &mut out[j * bpv..(j + 1) * bpv];
        let mut t = 0;
        for z in 0..g.block[2] {
            for y in 0..g.block[1] {
                for x in 0..g.block[0] {
                    let p = [
                        o[0] + x.min(e[0] - 1),
                        o[1] + y.min(e[1] - 1),
                        o[2] + z.min(e[2] - 1),
                    ];
                    dst[t] = normalize(slice[g.index(p)].as_f64(), aff[j]);
                    t += 1;
                }
            }
        }
    }
    out
}

/// Run the decoder on latents (back to back) with the portable engine: the predictions every
/// decoder reproduces bit for bit, on any host and at any thread count.
fn predict(model: &LoadedModel, latents: &[f32], parallel: bool) -> Result<Vec<f32>> {
    model.decoder.forward(latents, parallel)
}

/// Run the decoder with libtorch, in fixed batches, in order: how body version 1 streams
/// computed their predictions.
fn predict_libtorch(
    model: &LoadedModel,
    latents: &[f32],
    latent: usize,
    batch: usize,
) -> Result<Vec<f32>> {
    inference(|| {
        run_batched(latents, &[latent as i64], batch, model.device, |z| {
            model.net.decode(z)
        })
    })
}

struct Selection<T> {
    choices: Vec<Choice>,
    /// The best choice other than the autoencoder.
    fallback: Vec<Choice>,
    means: Vec<T>,
}

/// How blocks choose their predictor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectionRule {
    /// The paper's rule: the smallest L1 prediction error wins (the cost of a block's latents
    /// and mean is ignored).
    L1,
    /// The smallest estimated size wins: `n * log2(1 + e_nat * L1 / (n e))` bits for the
    /// quantization codes of `n` values (the entropy of Laplacian residuals quantized in bins of
    /// `2e`, exact for large errors, vanishing for small ones) plus the stored side information
    /// (the latents' estimated entropy for AE blocks, the exact mean for mean blocks).
    Bits,
}

impl SelectionRule {
    /// `l1` or `bits`.
    pub fn name(self) -> &'static str {
        match self {
            SelectionRule::L1 => "l1",
            SelectionRule::Bits => "bits",
        }
    }
}

/// Estimated bits of the codes of `n` values whose predictions miss by `l1` in total.
fn code_bits(l1: f64, n: usize, abs: f64) -> f64 {
    let m = l1 / (n as f64 * abs);
    n as f64 * (1.0 + std::f64::consts::E * m).log2()
}

/// Estimated bits of one block's latent vector: per latent dimension, the entropy of a Gaussian
/// with that dimension's spread (over all blocks) quantized in bins of `2 e_l`,
/// `log2(1 + sigma sqrt(2 pi e) / (2 e_l))` (exact for fine bins, vanishing for coarse ones).
/// Unlike a histogram of the codes, this does not underestimate the cost when there are few
/// blocks.
fn latent_bits(sigma: &[f64], latent_eb: f64) -> f64 {
    let c = (2.0 * std::f64::consts::PI * std::f64::consts::E).sqrt() / (2.0 * latent_eb);
    sigma.iter().map(|s| (1.0 + s * c).log2()).sum()
}

/// Standard deviation of every latent dimension over the blocks (`z` back to back).
fn latent_sigma(z: &[f32], latent: usize) -> Vec<f64> {
    let n = z.len() / latent.max(1);
    (0..latent)
        .map(|d| {
            if n == 0 {
                return 0.0;
            }
            let (mut s, mut s2) = (0f64, 0f64);
            for b in 0..n {
                let v = z[b * latent + d] as f64;
                s += v;
                s2 += v * v;
            }
            let mean = s / n as f64;
            (s2 / n as f64 - mean * mean).max(0.0).sqrt()
        })
        .collect()
}

/// Per-block AE inputs of the selection: first-pass predictions (normalised), the
/// normalisation, and the estimated bits of one block's latents.
struct AeCandidate<'a> {
    /// Predictions of the candidate blocks, back to back (candidate `j` at `j * volume`).
    pred: &'a [f32],
    /// Per block: its candidate index, normalisation and estimated latent bits.
    blocks: &'a [Option<(usize, Affine, f64)>],
}

fn select<T: Float + LorenzoValue>(
    g: &Geometry,
    values: &[T],
    abs: f64,
    ae: Option<AeCandidate<'_>>,
    rule: SelectionRule,
    parallel: bool,
) -> Result<Selection<T>> {
    let bps = g.blocks_per_slice();
    let sl = g.slice_len();
    let bpv = g.block_volume();
    let noise = lorenzo_noise(g.k) * abs;
    let one = |gb: usize| -> Result<(Choice, Choice, T)> {
        let slice = &values[(gb / bps) * sl..(gb / bps + 1) * sl];
        let (o, e) = g.block_at(gb % bps);
        let mut sum = 0f64;
        let mut count = 0usize;
        for_points(g, o, e, |i, _| {
            sum += slice[i].as_f64();
            count += 1;
            Ok(())
        })?;
        let mean = T::from_f64_round(sum / count as f64);
        let (mut l_lor, mut l_mean) = (0f64, 0f64);
        for_points(g, o, e, |i, c| {
            let x = slice[i].as_f64();
            let r = x - lorenzo(g, slice, c)?.as_f64();
            l_lor += (r * r + noise * noise).sqrt();
            l_mean += (x - mean.as_f64()).abs();
            Ok(())
        })?;
        let score = |l1: f64, side_bits: f64| match rule {
            SelectionRule::L1 => l1,
            SelectionRule::Bits => code_bits(l1, count, abs) + side_bits,
        };
        let mut best = (Choice::Lorenzo, score(l_lor, 0.0));
        let s_mean = score(l_mean, (T::BYTES * 8) as f64);
        if s_mean < best.1 {
            best = (Choice::Mean, s_mean);
        }
        let fallback = best.0;
        if let Some((j, aff, bits)) = ae.as_ref().and_then(|a| a.blocks[gb]) {
            let p = &ae.as_ref().map_or(&[][..], |a| a.pred)[j * bpv..(j + 1) * bpv];
            let mut l_ae = 0f64;
            for_points(g, o, e, |i, c| {
                let t = ((c[2] - o[2]) * g.block[1] + (c[1] - o[1])) * g.block[0] + (c[0] - o[0]);
                let pv = T::from_f64_round(denormalize(p[t], aff)).as_f64();
                l_ae += (slice[i].as_f64() - pv).abs();
                Ok(())
            })?;
            let s_ae = score(l_ae, bits);
            if s_ae < best.1 {
                best = (Choice::Ae, s_ae);
            }
        }
        Ok((best.0, fallback, mean))
    };
    let n = g.total_blocks();
    let res: Result<Vec<(Choice, Choice, T)>> = if parallel {
        (0..n).into_par_iter().map(one).collect()
    } else {
        (0..n).map(one).collect()
    };
    let mut sel = Selection {
        choices: Vec::with_capacity(n),
        fallback: Vec::with_capacity(n),
        means: Vec::with_capacity(n),
    };
    for (c, f, m) in res? {
        sel.choices.push(c);
        sel.fallback.push(f);
        sel.means.push(m);
    }
    Ok(sel)
}

/// The coded payload of a field for given block choices.
struct Body {
    zipped: Vec<u8>,
    payload_len: usize,
    n_unpred: usize,
    n_mean: usize,
}

/// Quantize every point against its block's prediction in traversal order (Lorenzo from
/// reconstructed values) and code codes, unpredictables, choices and means. `ae_pred` holds
/// the AE blocks' predictions (normalised, in block order), `aff` their normalisations.
#[allow(clippy::too_many_arguments)]
fn code_body<T: Float + LorenzoValue>(
    g: &Geometry,
    values: &[T],
    abs: f64,
    choices: &[Choice],
    block_means: &[T],
    ae_pred: &[f32],
    aff: &[Affine],
    parallel: bool,
) -> Result<Body> {
    let nblocks = g.total_blocks();
    let bpv = g.block_volume();
    let bps = g.blocks_per_slice();
    let sl = g.slice_len();
    let mut quant = LinearQuantizer::<T>::new(abs, RADIUS)?;
    let mut codes = Vec::with_capacity(values.len());
    let mut k_ae = 0usize;
    for s_i in 0..g.nslices {
        let mut buf = values[s_i * sl..(s_i + 1) * sl].to_vec();
        for b in 0..bps {
            let gb = s_i * bps + b;
            let (o, e) = g.block_at(b);
            let choice = choices[gb];
            let mean = block_means[gb];
            let (pred_block, a) = if choice == Choice::Ae {
                let p = ae_pred
                    .get(k_ae * bpv..(k_ae + 1) * bpv)
                    .zip(aff.get(k_ae))
                    .ok_or_else(|| PressioError::Internal("missing AE predictions".into()))?;
                k_ae += 1;
                (p.0, *p.1)
            } else {
                (&[][..], Affine { c: 0.0, h: 1.0 })
            };
            for_points(g, o, e, |i, c| {
                let pred = match choice {
                    Choice::Lorenzo => lorenzo(g, &buf, c)?,
                    Choice::Interp => {
                        return Err(PressioError::Internal(
                            "interpolation block in the SZ2 pipeline".into(),
                        ))
                    }
                    Choice::Mean => mean,
                    Choice::Ae => {
                        let t = ((c[2] - o[2]) * g.block[1] + (c[1] - o[1])) * g.block[0]
                            + (c[0] - o[0]);
                        T::from_f64_round(denormalize(pred_block[t], a))
                    }
                };
                codes.push(quant.quantize_and_overwrite(&mut buf[i], pred));
                Ok(())
            })?;
        }
    }
    let unpred = quant.take_unpredictables();
    let means: Vec<T> = (0..nblocks)
        .filter(|&b| choices[b] == Choice::Mean)
        .map(|b| block_means[b])
        .collect();
    let mut payload = Vec::with_capacity(codes.len() / 2 + unpred.len() * T::BYTES + nblocks);
    huffman::encode(&codes, parallel, &mut payload)?;
    payload.extend_from_slice(&values_to_le_bytes(&unpred));
    payload.extend(choices.iter().map(|&c| c as u8));
    payload.extend_from_slice(&values_to_le_bytes(&means));
    let payload_len = payload.len();
    Ok(Body {
        zipped: lossless::compress(&payload, lossless::DEFAULT_LEVEL)?,
        payload_len,
        n_unpred: unpred.len(),
        n_mean: means.len(),
    })
}

/// The autoencoder's offer for a field: every candidate block encoded, its latents quantized
/// and decoded again by the portable engine (exactly the predictions a decoder computes).
pub(crate) struct AeCandidates<'m> {
    /// The model.
    pub model: &'m LoadedModel,
    /// How blocks are normalised.
    pub norm: AeNorm,
    /// Per block of the field: its candidate index, normalisation and estimated latent bits.
    pub blocks: Vec<Option<(usize, Affine, f64)>>,
    /// Quantized latent codes of the candidates, back to back.
    pub codes: Vec<u32>,
    /// Reconstructed (quantized) latents, back to back.
    pub recon: Vec<f32>,
    /// Predictions (normalised) of the candidates, back to back (`volume` per candidate).
    pub pred: Vec<f32>,
}

/// The autoencoder part of a stream for the chosen blocks.
pub(crate) struct LatentPart {
    /// The `AELT` section.
    pub section: Section,
    /// Its uncompressed length.
    pub latent_len: usize,
    /// Unpredictable latents.
    pub n_unpred: usize,
    /// The header's autoencoder part.
    pub head: AeHead,
    /// Normalised predictions of the chosen blocks, back to back.
    pub pred: Vec<f32>,
    /// Normalisations of the chosen blocks.
    pub aff: Vec<Affine>,
}

/// Run the encoder network on every block that can use the autoencoder (a model of this
/// geometry is loaded, the block has a usable normalisation and latent bound); `None` when no
/// block can.
pub(crate) fn ae_candidates<'m, T: Float>(
    model: Option<&'m LoadedModel>,
    s: &Settings,
    g: &Geometry,
    values: &[T],
    abs: f64,
) -> Result<Option<AeCandidates<'m>>> {
    let Some(model) = model.filter(|_| g.kb >= 2) else {
        return Ok(None);
    };
    check_model_matches(model, g, model.config().latent).map_err(|_| {
        PressioError::InvalidArgument(format!(
            "model `{}` does not match the block geometry",
            model.name
        ))
    })?;
    let norm = match model.normalization.mode.as_str() {
        "block" => AeNorm::Block,
        mode => {
            let (lo, hi) = if mode == "model" {
                (model.normalization.min, model.normalization.max)
            } else {
                values
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                        (lo.min(v.as_f64()), hi.max(v.as_f64()))
                    })
            };
            let (c, h) = ((lo + hi) / 2.0, (hi - lo) / 2.0);
            if !(c.is_finite() && h.is_finite() && h > 0.0) {
                return Ok(None);
            }
            AeNorm::Global { c, h }
        }
    };
    let nblocks = g.total_blocks();
    let bpv = g.block_volume();
    let mut blocks: Vec<Option<(usize, Affine, f64)>> = vec![None; nblocks];
    let mut list = Vec::new();
    let mut affs = Vec::new();
    for (gb, slot) in blocks.iter_mut().enumerate() {
        let aff = match norm {
            AeNorm::Global { c, h } => Some(Affine { c, h }),
            AeNorm::Block => block_affine(g, values, gb),
        };
        if let Some(a) = aff {
            if latent_eb(s.latent_factor, abs, a).is_some() {
                *slot = Some((list.len(), a, 0.0));
                list.push(gb);
                affs.push(a);
            }
        }
    }
    if list.is_empty() {
        return Ok(None);
    }
    let latent = model.config().latent;
    let gathered = gather_blocks(g, values, &list, &affs);
    let shape = model.config().sample_shape();
    let z = inference(|| {
        run_batched(&gathered, &shape, s.batch, model.device, |x| {
            model.net.encode(x)
        })
    })?;
    drop(gathered);
    let mut q = LinearQuantizer::<f32>::new(1.0, RADIUS)?;
    let mut codes = Vec::with_capacity(z.len());
    let mut recon = Vec::with_capacity(z.len());
    for (j, a) in affs.iter().enumerate() {
        q.set_eb(latent_eb(s.latent_factor, abs, *a).unwrap_or(1.0))?;
        for &v in &z[j * latent..(j + 1) * latent] {
            let (c, r) = q.quantize(v, 0.0);
            codes.push(c);
            recon.push(r);
        }
    }
    let pred = predict(model, &recon, s.parallel)?;
    if pred.len() != list.len() * bpv {
        return Err(PressioError::Internal("decoder output size".into()));
    }
    // Estimated latent cost per block: Gaussian entropy at the block's bound plus the exact
    // storage of unpredictable latents (and of the block normalisation).
    let sigma = latent_sigma(&z, latent);
    let unpred = codes.iter().filter(|&&c| c == 0).count() as f64;
    let extra = unpred * 32.0 / list.len() as f64 + if norm == AeNorm::Block { 64.0 } else { 0.0 };
    for (j, &gb) in list.iter().enumerate() {
        if let Some(slot) = blocks[gb].as_mut() {
            let eb = latent_eb(s.latent_factor, abs, affs[j]).unwrap_or(1.0);
            slot.2 = latent_bits(&sigma, eb) + extra;
        }
    }
    Ok(Some(AeCandidates {
        model,
        norm,
        blocks,
        codes,
        recon,
        pred,
    }))
}

impl AeCandidates<'_> {
    /// The `AELT` section, header part and predictions of the blocks `chosen` (in block order,
    /// every one a candidate).
    pub(crate) fn latent_part(
        &self,
        chosen: &[usize],
        s: &Settings,
        bpv: usize,
    ) -> Result<LatentPart> {
        let latent = self.model.config().latent;
        let mut codes = Vec::with_capacity(chosen.len() * latent);
        let mut pred = Vec::with_capacity(chosen.len() * bpv);
        let mut unpred = Vec::new();
        let mut aff = Vec::with_capacity(chosen.len());
        let mut stored_aff = Vec::new();
        for &b in chosen {
            let (j, a, _) =
                self.blocks[b].ok_or_else(|| PressioError::Internal("AE block".into()))?;
            let r = &self.recon[j * latent..(j + 1) * latent];
            let c = &self.codes[j * latent..(j + 1) * latent];
            codes.extend_from_slice(c);
            pred.extend_from_slice(&self.pred[j * bpv..(j + 1) * bpv]);
            unpred.extend(c.iter().zip(r).filter(|(c, _)| **c == 0).map(|(_, r)| *r));
            aff.push(a);
            if self.norm == AeNorm::Block {
                stored_aff.push(a.c as f32);
                stored_aff.push(a.h as f32);
            }
        }
        let mut lp = Vec::new();
        huffman::encode(&codes, s.parallel, &mut lp)?;
        lp.extend_from_slice(&values_to_le_bytes(&unpred));
        lp.extend_from_slice(&values_to_le_bytes(&stored_aff));
        let latent_len = lp.len();
        let zl = lossless::compress(&lp, lossless::DEFAULT_LEVEL)?;
        Ok(LatentPart {
            section: Section::new(TAG_LATENT, zl),
            latent_len,
            n_unpred: unpred.len(),
            head: AeHead {
                norm: self.norm,
                latent_factor: s.latent_factor,
                latent,
                engine: Engine::Portable(portable::ENGINE_ID),
                checksum: prediction_checksum(&pred),
                blocks: chosen.len(),
            },
            pred,
            aff,
        })
    }
}

/// Encode a field of finite values with the settings' pipeline.
fn encode_typed<T: Float + LorenzoValue>(
    codec: &mut AeszCodec<'_>,
    values: &[T],
    dims: &[usize],
    abs: f64,
) -> Result<Vec<Section>> {
    match codec.settings.pipeline {
        Pipeline::Sz2 => encode_sz2(codec, values, dims, abs),
        Pipeline::Interp => crate::interp_body::encode(codec, values, dims, abs),
    }
}

/// Encode a field of finite values with the paper's SZ2.1-style blockwise pipeline.
fn encode_sz2<T: Float + LorenzoValue>(
    codec: &mut AeszCodec<'_>,
    values: &[T],
    dims: &[usize],
    abs: f64,
) -> Result<Vec<Section>> {
    let s = codec.settings.clone();
    let g = Geometry::new(dims, s.k, &s.block)?;
    let nblocks = g.total_blocks();
    let bpv = g.block_volume();
    let cands = ae_candidates(codec.model, &s, &g, values, abs)?;

    let sel = select(
        &g,
        values,
        abs,
        cands.as_ref().map(|c| AeCandidate {
            pred: c.pred.as_slice(),
            blocks: &c.blocks,
        }),
        s.selection,
        s.parallel,
    )?;

    // The AE blocks' latents and predictions, in block order. The portable engine computes
    // every block independently, so the candidates' predictions are exactly the ones the
    // decoder will compute from the stored latents.
    let mut ae_list: Vec<usize> = (0..nblocks)
        .filter(|&b| sel.choices[b] == Choice::Ae)
        .collect();
    let mut latent_part = match (&cands, ae_list.is_empty()) {
        (Some(c), false) => Some(c.latent_part(&ae_list, &s, bpv)?),
        _ => None,
    };
    let (ae_pred, ae_aff) = latent_part.as_ref().map_or((&[][..], &[][..]), |l| {
        (l.pred.as_slice(), l.aff.as_slice())
    });
    let mut body = code_body(
        &g,
        values,
        abs,
        &sel.choices,
        &sel.means,
        ae_pred,
        ae_aff,
        s.parallel,
    )?;
    // Also code the field without the autoencoder and keep the smaller stream, so that small
    // fields or fields the model does not suit never pay for latents.
    if let Some(lp) = &latent_part {
        let plain = code_body(
            &g,
            values,
            abs,
            &sel.fallback,
            &sel.means,
            &[],
            &[],
            s.parallel,
        )?;
        // whole streams: payloads, the latent section and its 12-byte frame, and the header
        // (whose autoencoder part only the AE stream has)
        let head_len = |ae: Option<&LatentPart>, b: &Body| sz2_head(&g, ae, b).to_bytes().len();
        let with_ae = head_len(Some(lp), &body) + body.zipped.len() + lp.section.data.len() + 12;
        let without = head_len(None, &plain) + plain.zipped.len();
        if without <= with_ae {
            body = plain;
            latent_part = None;
            ae_list.clear();
        }
    }

    let st = &mut codec.stats;
    st.ae_blocks = ae_list.len() as u64;
    st.mean_blocks = body.n_mean as u64;
    st.lorenzo_blocks = (nblocks - ae_list.len() - body.n_mean) as u64;
    st.interp_blocks = 0;
    st.payload_bytes = body.zipped.len() as u64;
    st.unpredictable = body.n_unpred as u64;
    st.latent_bytes = latent_part
        .as_ref()
        .map_or(0, |l| l.section.data.len() as u64);

    let head = sz2_head(&g, latent_part.as_ref(), &body);
    let mut sections = vec![
        Section::new(TAG_HEAD, head.to_bytes()),
        Section::new(TAG_PAYLOAD, body.zipped),
    ];
    if let Some(lp) = latent_part {
        sections.push(lp.section);
    }
    Ok(sections)
}

/// The header of an SZ2-pipeline stream with payload `b` and, when AE blocks are used, `ae`.
fn sz2_head(g: &Geometry, ae: Option<&LatentPart>, b: &Body) -> Head {
    Head {
        version: BODY_VERSION_SZ2,
        k: g.k,
        block: g.block[..g.kb].to_vec(),
        radius: RADIUS,
        ae: ae.map(|l| l.head.clone()),
        n_mean: b.n_mean,
        n_unpred: b.n_unpred,
        payload_len: b.payload_len,
        n_lat_unpred: ae.map_or(0, |l| l.n_unpred),
        latent_len: ae.map_or(0, |l| l.latent_len),
    }
}

/// Compute a stream's AE predictions the way it was made, refusing where this build or host
/// cannot reproduce them bit for bit.
fn stream_predictions(
    a: &AeHead,
    model: &LoadedModel,
    z: &[f32],
    parallel: bool,
) -> Result<Vec<f32>> {
    let (pred, made_by, here) = match &a.engine {
        Engine::Portable(id) => {
            if *id != portable::ENGINE_ID {
                return Err(PressioError::StreamMismatch(format!(
                    "the autoencoder predictions of this stream were computed by portable \
                     engine {id}, this build has engine {}; decompress with the pressio-ml \
                     release that wrote it",
                    portable::ENGINE_ID
                )));
            }
            (
                predict(model, z, parallel)?,
                format!("portable engine {id}"),
                format!("portable engine {}", portable::ENGINE_ID),
            )
        }
        Engine::Libtorch {
            batch,
            device,
            version,
        } => {
            let ours = model.device_kind();
            if *device != ours {
                return Err(PressioError::StreamMismatch(format!(
                    "the autoencoder predictions of this (body version 1) stream were computed \
                     by libtorch {version} on {}, but this decoder runs model `{}` on {}; such \
                     predictions are only bit-reproducible on the same kind of device: \
                     decompress with aesz:device={}",
                    device.name(),
                    model.name,
                    ours.name(),
                    device.name()
                )));
            }
            (
                predict_libtorch(model, z, a.latent, *batch)?,
                format!("libtorch {version} on {}", device.name()),
                format!("libtorch {} on {}", libtorch_version(), ours.name()),
            )
        }
    };
    let sum = prediction_checksum(&pred);
    if sum != a.checksum {
        return Err(PressioError::StreamMismatch(format!(
            "the autoencoder predictions of model `{}` by {here} differ from the ones this \
             stream was compressed with by {made_by}: checksum {sum:016x}, stream {:016x}; \
             the stream is corrupt, or (for a version 1 stream) was made where libtorch \
             computes other bits (another libtorch build, CPU kernels or BLAS)",
            model.name, a.checksum
        )));
    }
    Ok(pred)
}

/// The normalised AE predictions and normalisations of a stream's AE blocks (in block order),
/// recomputed from its latents; empty when the stream uses no autoencoder.
pub(crate) fn decode_latents(
    codec: &AeszCodec<'_>,
    stream: &ParsedStream<'_>,
    h: &Head,
    g: &Geometry,
    abs: f64,
) -> Result<(Vec<f32>, Vec<Affine>)> {
    let nblocks = g.total_blocks();
    let bpv = g.block_volume();
    let mut ae_pred = Vec::new();
    let mut ae_aff = Vec::new();
    if let Some(a) = &h.ae {
        let model = codec.model.ok_or_else(|| {
            PressioError::Model("this stream uses the autoencoder but no model is loaded".into())
        })?;
        check_model_matches(model, g, a.latent)?;
        if a.blocks > nblocks {
            return Err(PressioError::corrupt("aesz: more AE blocks than blocks"));
        }
        let lp = lossless::decompress(stream.section(TAG_LATENT)?, h.latent_len)?;
        if lp.len() != h.latent_len {
            return Err(PressioError::corrupt(
                "aesz: latent payload has the wrong size",
            ));
        }
        let n_lat = a.blocks * a.latent;
        let (codes, used) = huffman::decode(&lp, n_lat, codec.settings.parallel)?;
        let n_aff = if a.norm == AeNorm::Block {
            2 * a.blocks
        } else {
            0
        };
        if codes.len() != n_lat || lp.len() - used != (h.n_lat_unpred + n_aff) * 4 {
            return Err(PressioError::corrupt(
                "aesz: latent payload sizes do not add up",
            ));
        }
        let ub = used + h.n_lat_unpred * 4;
        let unpred: Vec<f32> = values_from_le_bytes(&lp[used..ub])?;
        ae_aff = match a.norm {
            AeNorm::Global { c, h } => vec![Affine { c, h }; a.blocks],
            AeNorm::Block => values_from_le_bytes::<f32>(&lp[ub..])?
                .chunks_exact(2)
                .map(|p| Affine {
                    c: p[0] as f64,
                    h: p[1] as f64,
                })
                .collect(),
        };
        if ae_aff
            .iter()
            .any(|x| !(x.c.is_finite() && x.h.is_finite() && x.h > 0.0))
        {
            return Err(PressioError::corrupt("aesz: bad block normalisation"));
        }
        let mut deq = Dequantizer::<f32>::new(1.0, h.radius, &unpred)?;
        let mut z = Vec::with_capacity(n_lat);
        for (j, aff) in ae_aff.iter().enumerate() {
            let eb = latent_eb(a.latent_factor, abs, *aff)
                .ok_or_else(|| PressioError::corrupt("aesz: unusable latent bound"))?;
            deq.set_eb(eb)?;
            for &c in &codes[j * a.latent..(j + 1) * a.latent] {
                z.push(deq.recover(0.0, c)?);
            }
        }
        deq.finish()?;
        ae_pred = stream_predictions(a, model, &z, codec.settings.parallel)?;
        if ae_pred.len() != a.blocks * bpv {
            return Err(PressioError::Internal("decoder output size".into()));
        }
    }

    Ok((ae_pred, ae_aff))
}

fn decode_typed<T: Float + LorenzoValue>(
    codec: &mut AeszCodec<'_>,
    stream: &ParsedStream<'_>,
    dims: &[usize],
    abs: f64,
    out: &mut [T],
) -> Result<()> {
    let n = out.len();
    if stream.optional_section(TAG_HEAD).is_none() {
        return crate::interp_body::decode_plain(codec, stream, dims, abs, out);
    }
    let h = Head::read(stream, n)?;
    let g = Geometry::new(dims, h.k, &h.block)?;
    if g.slice_len() * g.nslices != n {
        return Err(PressioError::corrupt(
            "aesz: geometry does not match the dims",
        ));
    }
    let nblocks = g.total_blocks();
    let bpv = g.block_volume();

    if h.version == BODY_VERSION_INTERP {
        return crate::interp_body::decode(codec, stream, &h, &g, dims, abs, out);
    }
    // Autoencoder predictions first (they only depend on the latents).
    let (ae_pred, ae_aff) = decode_latents(codec, stream, &h, &g, abs)?;

    let payload = lossless::decompress(stream.section(TAG_PAYLOAD)?, h.payload_len)?;
    if payload.len() != h.payload_len {
        return Err(PressioError::corrupt("aesz: payload has the wrong size"));
    }
    let (codes, used) = huffman::decode(&payload, n, codec.settings.parallel)?;
    if codes.len() != n {
        return Err(PressioError::corrupt(
            "aesz: wrong number of quantization codes",
        ));
    }
    let rest = &payload[used..];
    let ub = h.n_unpred * T::BYTES;
    if rest.len() != ub + nblocks + h.n_mean * T::BYTES {
        return Err(PressioError::corrupt("aesz: payload sizes do not add up"));
    }
    let unpred: Vec<T> = values_from_le_bytes(&rest[..ub])?;
    let choices = rest[ub..ub + nblocks]
        .iter()
        .map(|&c| Choice::from_u8(c))
        .collect::<Result<Vec<Choice>>>()?;
    let means: Vec<T> = values_from_le_bytes(&rest[ub + nblocks..])?;
    let n_ae = choices.iter().filter(|&&c| c == Choice::Ae).count();
    let n_mean = choices.iter().filter(|&&c| c == Choice::Mean).count();
    if n_ae != h.ae.as_ref().map_or(0, |a| a.blocks)
        || n_mean != h.n_mean
        || choices.contains(&Choice::Interp)
    {
        return Err(PressioError::corrupt(
            "aesz: predictor counts do not match the header",
        ));
    }

    let mut deq = Dequantizer::<T>::new(abs, h.radius, &unpred)?;
    let bps = g.blocks_per_slice();
    let sl = g.slice_len();
    let (mut k_ae, mut k_mean, mut k_code) = (0usize, 0usize, 0usize);
    for s_i in 0..g.nslices {
        let buf = &mut out[s_i * sl..(s_i + 1) * sl];
        for b in 0..bps {
            let gb = s_i * bps + b;
            let (o, e) = g.block_at(b);
            let choice = choices[gb];
            let mut mean = T::ZERO;
            let mut pred_block = &[][..];
            let mut aff = Affine { c: 0.0, h: 1.0 };
            match choice {
                Choice::Mean => {
                    mean = means[k_mean];
                    k_mean += 1;
                }
                Choice::Ae => {
                    pred_block = &ae_pred[k_ae * bpv..(k_ae + 1) * bpv];
                    aff = ae_aff[k_ae];
                    k_ae += 1;
                }
                Choice::Lorenzo | Choice::Interp => {}
            }
            for_points(&g, o, e, |i, c| {
                let pred = match choice {
                    Choice::Lorenzo | Choice::Interp => lorenzo(&g, buf, c)?,
                    Choice::Mean => mean,
                    Choice::Ae => {
                        let t = ((c[2] - o[2]) * g.block[1] + (c[1] - o[1])) * g.block[0]
                            + (c[0] - o[0]);
                        T::from_f64_round(denormalize(pred_block[t], aff))
                    }
                };
                buf[i] = deq.recover(pred, codes[k_code])?;
                k_code += 1;
                Ok(())
            })?;
        }
    }
    deq.finish()?;
    Ok(())
}

/// Whether the last encoding used the autoencoder (a stream without AE blocks needs no model
/// and names none).
fn uses_model(codec: &AeszCodec<'_>) -> bool {
    codec.stats.ae_blocks > 0
}

pressio_ml_codec::field_codec_by_width!(AeszCodec<'_>, encode_typed, decode_typed, uses_model: uses_model);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry() {
        let g = Geometry::new(&[70, 40, 3], 2, &[32, 32]).unwrap();
        assert_eq!(g.nslices, 3);
        assert_eq!(g.grid(), [3, 2, 1]);
        assert_eq!(g.blocks_per_slice(), 6);
        assert_eq!(g.block_at(2), ([64, 0, 0], [6, 32, 1]));
        assert_eq!(g.block_at(5), ([64, 32, 0], [6, 8, 1]));
        let g3 = Geometry::new(&[10, 9, 17], 3, &[8, 8, 8]).unwrap();
        assert_eq!(g3.grid(), [2, 2, 3]);
        assert_eq!(g3.block_at(11), ([8, 8, 16], [2, 1, 1]));
        assert!(Geometry::new(&[10], 2, &[32, 32]).is_err());
        assert!(Geometry::new(&[10, 10], 2, &[32, 32, 32]).is_err());
        let g2 = Geometry::new(&[40, 40, 5], 3, &[32, 32]).unwrap();
        assert_eq!((g2.kb, g2.nslices, g2.grid()), (2, 1, [2, 2, 5]));
        assert_eq!(g2.block_at(4), ([0, 0, 1], [32, 32, 1]));
        let mut seen = vec![0u8; 70 * 40];
        for b in 0..6 {
            let (o, e) = g.block_at(b);
            for_points(&g, o, e, |i, _| {
                seen[i] += 1;
                Ok(())
            })
            .unwrap();
        }
        assert!(seen.iter().all(|&s| s == 1));
    }

    #[test]
    fn noise_grows_with_dims() {
        assert!(lorenzo_noise(1) < lorenzo_noise(2));
        assert!((lorenzo_noise(2) - 0.8).abs() < 1e-12);
        assert!(lorenzo_noise(3) < 1.3);
    }
}
