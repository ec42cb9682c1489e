//! `aesz`: AE-SZ (Liu et al., CLUSTER 2021) for pressio-ml, an error-bounded compressor in
//! which a pre-trained convolutional sliced-Wasserstein autoencoder (SWAE, GDN/iGDN) predicts
//! the blocks of a field where it pays, and a classic predictor the rest; residuals go through
//! the substrate's linear quantizer, Huffman and zstd.
//!
//! # Pipelines
//!
//! `aesz:pipeline` says what predicts the blocks the autoencoder does not:
//!
//! * `interp` (default): `classic`'s multilevel interpolation over the whole field; the points
//!   of autoencoder blocks take the autoencoder's prediction instead. The blocks are chosen on
//!   the field's rate-distortion curve (interpolation coded at the bound and at the bound over
//!   sqrt(2)): at loose bounds the autoencoder cuts the error far below the bound for a few
//!   bits of latents per block, a trade a size-only rule never takes. The stream is kept only
//!   when it beats plain interpolation on that curve; otherwise it is `classic`'s body alone,
//!   with no model named. So `aesz` is never worse than `classic` at equal PSNR, and on the
//!   held-out CESM fields at `pressio:rel` 1e-1 and 3e-2 its ratio at equal PSNR is 1.4 to 3x
//!   `classic`'s (see `crate::interp_body` and `rd_bench`).
//! * `sz2`: the paper's SZ2.1-style blocks, each predicted by the best of Lorenzo, its mean and
//!   the autoencoder (steps below).
//!
//! # The SZ2 pipeline
//!
//! 1. The field envelope resolves `pressio:abs` / `pressio:rel` to an absolute bound `e`,
//!    passes NaN/Inf through exactly, and stores constant fields losslessly.
//! 2. The data is cut into slices of min(dims, 3) dimensions (more dims: a stack of 3-D
//!    volumes) and each slice into blocks of the model's size (32x32 or 8x8x8 for the shipped
//!    models; a 2-D model on 3-D data uses 32x32x1 blocks while Lorenzo stays 3-D). Partial
//!    blocks at the upper edges are padded by edge replication for the autoencoder; only their
//!    in-field part is predicted and coded.
//! 3. Every block is normalised (see *Normalisation*), encoded to a latent vector, and the
//!    latents are quantized with the bound `e_l = f * e / h` (the paper's "0.1 e" with
//!    `f = aesz:latent_eb_factor = 0.1` and `e` expressed in the normalised domain). The decoder
//!    network runs on the *quantized* latents, so the compressor sees exactly the prediction
//!    the decompressor will compute. (The interpolation pipeline's candidates are made the
//!    same way.)
//! 4. Per block, the best predictor wins among Lorenzo (L1 error measured on original
//!    neighbours plus an expected-noise term for reconstructed ones, as SZ2.1), the block mean
//!    (stored exactly) and the autoencoder. `aesz:selection=l1` is the paper's rule (smallest
//!    L1 error); the default `bits` compares estimated sizes instead: the entropy of the block's
//!    quantization codes (Laplacian residuals with the block's L1 error) plus the side
//!    information (latents for AE blocks, the mean for mean blocks), so that an autoencoder
//!    prediction only a little better than Lorenzo does not pay for its latents. Ties go to
//!    Lorenzo, then to the mean.
//! 5. The AE predictions of the chosen blocks (computed from their quantized latents by the
//!    portable decoder, exactly what the decompressor computes), then every point is
//!    quantized against its prediction in traversal order; Lorenzo reads reconstructed
//!    neighbours, across block borders. Codes go through Huffman and zstd; latents of AE blocks
//!    only through their own Huffman and zstd. The field is also coded with every AE block
//!    replaced by its best other predictor, and the smaller stream is kept, so that small
//!    fields or fields the model does not suit never pay for latents.
//!
//! # Determinism
//!
//! The encoder network runs on libtorch (CPU or CUDA, `aesz:device`): its output, the quantized
//! latents, is stored in the stream, so it need not be reproducible. Every prediction the
//! decoder recomputes comes from `pressio_ml_nn::portable`, a pure-Rust forward pass with a
//! fixed order of operations, no BLAS, no FMA and no platform libm: the same bits in any
//! process (the CLI, a C program, LibPressio with its own BLAS and OpenMP loaded), at any
//! `pressio:nthreads`, on any x86-64 or aarch64, so a stream compressed with the encoder on a
//! GPU decodes on a CPU-only laptop. The stream records the engine id and a checksum of all AE
//! predictions; a decoder refuses a stream it would not reproduce. Body version 1 streams
//! (libtorch predictions, earlier releases) still decode where they were made: on the device
//! kind they record, with the same libtorch build and libraries.
//!
//! # Normalisation
//!
//! A model's manifest says how blocks are normalised, as the trainer did it:
//!
//! * `field`: by the field's own min/max to [-1, 1] (the centre and half-width are recorded in
//!   the stream), so fields whose range differs from the training data work unchanged;
//! * `model`: by the training data's min/max, as the AE-SZ authors did;
//! * `block`: every block by its own mean and largest deviation from it (two f32 per AE block
//!   in the stream), an extension that lets a small network spend its capacity on shapes
//!   rather than offsets. The shipped models use it: with 4-8x fewer channels than the paper's
//!   networks, it predicts held-out CESM blocks far better than `field` (at `pressio:rel`
//!   1e-2 on 20 held-out CESM years, ratio 39 against 32 with a `field` model trained alike).
//!
//! The latents of a block are quantized with bound `f * e / h`, the data bound `e` expressed in
//! the block's normalised units (`h` the half-width), `f = aesz:latent_eb_factor` (0.1, the
//! paper's "0.1 e"). The bound never depends on the model: the AE output is only a prediction,
//! quantized against `e`.
//!
//! # Models
//!
//! `aesz:model` is a model name (looked up in `$PRESSIO_ML_MODELS`, the workspace's `models/`
//! and `./models`) or a path to a manifest. When empty, `aesz-2d` is used for 2-D data and
//! `aesz-3d` for data of 3 or more dims (aliases of the shipped CESM TREFHT and WRF models). The
//! model's name and SHA-256 are written into the stream header; a decompressor holding another
//! model refuses with an error naming both. 1-D data uses blockwise Lorenzo / mean only
//! (blocks of 256) and needs no model; `aesz:use_ae=false` does the same for any data.

#![warn(missing_docs)]

pub mod codec;
mod interp_body;
pub mod model;
pub mod train;
pub mod train_cli;

use codec::{
    AeszCodec, BodyStats, Engine, Head, Pipeline, SelectionRule, Settings, BLOCK_1D, TAG_HEAD,
};
use model::LoadedModel;
use pressio_ml_codec::container::ParsedStream;
use pressio_ml_codec::field::{self, DecodeParams, EncodeParams, FieldStats};
use pressio_ml_core::{
    keys, BoundOptions, BoundSpec, Choices, CompressorPlugin, DType, Data, FillOptions, Group, Key,
    OptionSchema, OptionType, Options, PressioError, RegistryBuilder, Result, ThreadOptions, Value,
    Version,
};
use pressio_ml_nn::model::hex;
use pressio_ml_nn::{DeviceKind, DeviceSpec};
use std::sync::LazyLock;

/// Registry id and option prefix.
pub const ID: &str = "aesz";
/// Plugin (and stream) version.
pub const VERSION: Version = Version::new(0, 1, 0);
/// The default bound when the user sets none.
pub const DEFAULT_BOUND: BoundSpec = BoundSpec::Rel(1e-3);
/// Model used for 2-D data when `aesz:model` is empty.
pub const DEFAULT_MODEL_2D: &str = "aesz-2d";
/// Model used for data of 3 or more dims when `aesz:model` is empty.
pub const DEFAULT_MODEL_3D: &str = "aesz-3d";
/// Default inference batch size.
pub const DEFAULT_BATCH: u32 = 256;
/// Default latent bound factor.
pub const DEFAULT_LATENT_FACTOR: f64 = 0.1;

/// `aesz:model`.
pub const KEY_MODEL: &str = "aesz:model";
/// `aesz:device`.
pub const KEY_DEVICE: &str = "aesz:device";
/// `aesz:latent_eb_factor`.
pub const KEY_LATENT_FACTOR: &str = "aesz:latent_eb_factor";
/// `aesz:use_ae`.
pub const KEY_USE_AE: &str = "aesz:use_ae";
/// `aesz:batch_size`.
pub const KEY_BATCH: &str = "aesz:batch_size";
/// `aesz:verify`.
pub const KEY_VERIFY: &str = "aesz:verify";
/// `aesz:selection`.
pub const KEY_SELECTION: &str = "aesz:selection";
/// `aesz:pipeline`.
pub const KEY_PIPELINE: &str = "aesz:pipeline";

/// Metrics result: blocks predicted by the autoencoder in the last compression.
pub const RESULT_AE_BLOCKS: &str = "aesz:ae_blocks";
/// Metrics result: blocks predicted by interpolation (interpolation pipeline).
pub const RESULT_INTERP_BLOCKS: &str = "aesz:interp_blocks";
/// Metrics result: blocks predicted by Lorenzo.
pub const RESULT_LORENZO_BLOCKS: &str = "aesz:lorenzo_blocks";
/// Metrics result: blocks predicted by their mean.
pub const RESULT_MEAN_BLOCKS: &str = "aesz:mean_blocks";
/// Metrics result: compressed bytes of the latents.
pub const RESULT_LATENT_BYTES: &str = "aesz:latent_bytes";
/// Metrics result: unpredictable values.
pub const RESULT_UNPREDICTABLE: &str = "aesz:unpredictable";
/// Metrics result: the model used (empty when none).
pub const RESULT_MODEL: &str = "aesz:model_used";
/// Metrics result: the device the model ran on.
pub const RESULT_DEVICE: &str = "aesz:device_used";
/// Metrics result: values stored exactly because they were NaN or infinite.
pub const RESULT_NONFINITE: &str = "aesz:nonfinite";
/// Metrics result: 1 when the lossless fallback was used.
pub const RESULT_LOSSLESS: &str = "aesz:lossless";
/// Metrics result: the resolved absolute bound.
pub const RESULT_ABS: &str = "aesz:abs_bound";

/// The user-settable state of the plugin.
#[derive(Debug, Clone)]
struct Config {
    bound: BoundOptions,
    threads: ThreadOptions,
    fill: FillOptions,
    model: String,
    device: DeviceSpec,
    latent_factor: f64,
    use_ae: bool,
    batch: u32,
    verify: bool,
    selection: SelectionRule,
    pipeline: Pipeline,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bound: BoundOptions::new(Some(DEFAULT_BOUND)),
            threads: ThreadOptions::default(),
            fill: FillOptions::default(),
            model: String::new(),
            device: DeviceSpec::Auto,
            latent_factor: DEFAULT_LATENT_FACTOR,
            use_ae: true,
            batch: DEFAULT_BATCH,
            verify: false,
            selection: SelectionRule::Bits,
            pipeline: Pipeline::Interp,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct LastRun {
    field: FieldStats,
    body: BodyStats,
    model: String,
    device: String,
}

/// The `aesz` compressor plugin.
#[derive(Debug, Default)]
pub struct Aesz {
    config: Config,
    cache: Option<LoadedModel>,
    last: Option<LastRun>,
}

/// Register `aesz`.
pub fn register(builder: &mut RegistryBuilder) -> Result<()> {
    builder.compressor(ID, |_| Box::new(Aesz::default()))?;
    Ok(())
}

type K<T> = Key<Config, T>;
type G = Group<Config>;

const SELECTIONS: &[(&str, SelectionRule)] =
    &[("bits", SelectionRule::Bits), ("l1", SelectionRule::L1)];

const PIPELINES: &[(&str, Pipeline)] = &[("interp", Pipeline::Interp), ("sz2", Pipeline::Sz2)];

/// The options of `aesz`, declared once.
static SCHEMA: LazyLock<OptionSchema<Config>> = LazyLock::new(|| {
    OptionSchema::new()
        .group(G::bound(|c| c.bound.spec(), |c, b| c.bound.set(Some(b))))
        .group(G::threads(|c| &c.threads, |c| &mut c.threads).highlevel(keys::NTHREADS))
        .group(G::fill(|c| &c.fill, |c| &mut c.fill))
        .key(
            K::field(
                KEY_MODEL,
                "model name (searched in $PRESSIO_ML_MODELS, the workspace models/ and ./models) or \
                 path to a model manifest (.json); empty: aesz-2d for 2-D data, aesz-3d for 3-D and \
                 more when compressing, the stream's model when decompressing. The block size comes \
                 from the model.",
                |c| c.model.clone(),
                |c, m| c.model = m.trim().to_string(),
            )
            .error_agnostic()
            .highlevel(),
        )
        .key(
            K::new(
                KEY_DEVICE,
                "where the encoder network runs: auto (the first CUDA device if any, else the \
                 CPU), cpu, cuda or cuda:N. The decoder's predictions always run on the CPU's \
                 portable engine, so a stream compressed on any device decompresses anywhere \
                 (body version 1 streams of earlier releases: auto decompresses on the device \
                 kind they record). Asking for CUDA where it is unavailable is an error.",
                |c| Some(c.device.name()),
                |c, d: String| {
                    c.device = DeviceSpec::parse(KEY_DEVICE, &d)?;
                    Ok(())
                },
            )
            .runtime()
            .highlevel(),
        )
        .key(
            K::field(
                KEY_LATENT_FACTOR,
                "latent quantization bound as a fraction of the error bound expressed in the \
                 normalised [-1,1] domain (the paper's 0.1)",
                |c| c.latent_factor,
                |c, f| c.latent_factor = f,
            )
            .check(|f| f.is_finite() && *f > 0.0 && *f <= 100.0, "must be in (0, 100]")
            .error_dependent(),
        )
        .key(
            K::field(
                KEY_USE_AE,
                "false: Lorenzo / mean blocks only (no model needed; 32x32 or 8x8x8 blocks)",
                |c| c.use_ae,
                |c, u| c.use_ae = u,
            )
            .error_agnostic(),
        )
        .key(
            K::field(
                KEY_BATCH,
                "encoder inference batch size on libtorch (does not change the stream: the latents \
                 of every block are quantized the same whatever the batch size; body version 1 \
                 streams record their decoder batch size and are decoded with it)",
                |c| c.batch,
                |c, b| c.batch = b,
            )
            .check(|b| (1..=65536).contains(b), "must be in [1, 65536]")
            .runtime(),
        )
        .key(
            K::field(
                KEY_VERIFY,
                "decode right after encoding and store exactly any value outside the bound (never \
                 needed: the quantizer checks every value; a belt-and-braces guard)",
                |c| c.verify,
                |c, v| c.verify = v,
            )
            .error_agnostic(),
        )
        .key(
            K::choice(
                KEY_SELECTION,
                "per-block predictor choice of the sz2 pipeline (the interp pipeline chooses on \
                 the rate-distortion curve): bits (default: the smallest estimated size, i.e. the \
                 entropy of Laplacian residuals of the block's L1 error plus the latents' or mean's \
                 storage) or l1 (the paper: the smallest L1 error, side information ignored)",
                Choices::exact(SELECTIONS),
                |c| c.selection,
                |c, s| c.selection = s,
            )
            .error_dependent(),
        )
        .key(
            K::choice(
                KEY_PIPELINE,
                "what predicts the blocks the autoencoder does not: interp (default: classic's \
                 multilevel interpolation over the whole field, whose points in AE blocks take \
                 the autoencoder's prediction; the blocks the autoencoder gets are those where \
                 its codes plus its latents are estimated cheaper, and the plain classic stream \
                 is kept when smaller) or sz2 (the paper's SZ2.1-style blocks: Lorenzo, block \
                 mean or autoencoder per block, chosen by aesz:selection)",
                Choices::exact(PIPELINES),
                |c| c.pipeline,
                |c, p| c.pipeline = p,
            )
            .error_dependent(),
        )
        .dtypes("aesz:dtypes", &DType::FLOATS)
        .fact(
            "aesz:default_models",
            "models used when aesz:model is empty (2-D, then 3-D and more)",
            || Value::strings([DEFAULT_MODEL_2D, DEFAULT_MODEL_3D]),
        )
        .fact(
            "aesz:model_dirs",
            "directories searched for model names, in order",
            || {
                Value::strings(
                    pressio_ml_nn::model::model_dirs()
                        .iter()
                        .map(|p| p.display().to_string()),
                )
            },
        )
        .fact(
            "aesz:inference_threads",
            "libtorch intra-op threads used for every inference (fixed for reproducibility)",
            || Value::U32(pressio_ml_nn::INFERENCE_THREADS as u32),
        )
        .fact(
            "aesz:quant_radius",
            "quantization radius: codes in [0, 2R)",
            || Value::from(codec::RADIUS),
        )
        .doc(RESULT_AE_BLOCKS, "result: blocks predicted by the autoencoder")
        .doc(
            RESULT_INTERP_BLOCKS,
            "result: blocks predicted by interpolation (interp pipeline)",
        )
        .doc(RESULT_LORENZO_BLOCKS, "result: blocks predicted by Lorenzo")
        .doc(RESULT_MEAN_BLOCKS, "result: blocks predicted by their mean")
        .doc(
            RESULT_LATENT_BYTES,
            "result: compressed bytes of the latent vectors",
        )
        .doc(
            RESULT_UNPREDICTABLE,
            "result: values stored exactly as unpredictable",
        )
        .doc(RESULT_MODEL, "result: the model used (empty when none)")
        .doc(RESULT_DEVICE, "result: the device the model ran on")
        .doc(RESULT_NONFINITE, "result: NaN/Inf values (stored exactly)")
        .doc(RESULT_ABS, "result: the resolved absolute bound")
});

impl Aesz {
    /// Load (or reuse) the model `spec` on `device`.
    fn model(&mut self, spec: &str, device: DeviceSpec) -> Result<&LoadedModel> {
        let dev = device.resolve()?;
        let reuse = matches!(&self.cache, Some(m) if m.spec == spec && m.device == dev);
        if !reuse {
            self.cache = None;
            let files = pressio_ml_nn::model::resolve(spec)?;
            self.cache = Some(LoadedModel::load(&files, spec, dev)?);
        }
        self.cache
            .as_ref()
            .ok_or_else(|| PressioError::Internal("model cache".into()))
    }
}

fn default_block(k: usize) -> Vec<usize> {
    match k {
        1 => vec![BLOCK_1D],
        2 => vec![32, 32],
        _ => vec![8, 8, 8],
    }
}

impl CompressorPlugin for Aesz {
    pressio_ml_core::schema_plugin_basics!(ID, VERSION, SCHEMA, Multiple, Experimental, state: config);

    fn documentation(&self) -> Options {
        let mut d = SCHEMA.documentation(
            "AE-SZ (Liu et al., CLUSTER 2021): a pre-trained convolutional sliced-Wasserstein \
             autoencoder with GDN/iGDN predicts the blocks where it pays; the rest is predicted \
             by classic's multilevel interpolation (aesz:pipeline=interp, default: blocks chosen \
             on the field's rate-distortion curve, the plain classic body kept when better) or, \
             as in the paper, by the best (L1) of Lorenzo and the block mean \
             (aesz:pipeline=sz2); then SZ-style linear quantization (65,536 bins), Huffman and \
             zstd. \
             Choices where the paper is silent: latents are quantized with bound \
             aesz:latent_eb_factor x e in the block's normalised units (0.1e), and \
             Huffman+zstd coded for AE blocks only; the default selection compares estimated \
             sizes (aesz:selection), and the field is also coded without AE blocks, keeping \
             the smaller stream; Lorenzo reads reconstructed \
             neighbours across block borders (min(dims,3)-D stencil) and its selection loss adds \
             an expected-noise term; partial edge blocks are edge-padded for the autoencoder; \
             blocks are normalised as the model was trained: by the field's own min/max, the \
             training data's, or per block (mean and largest deviation stored per AE block); a 2-D model on 3-D data predicts 32x32x1 blocks; more than 3 dims \
             are coded as a stack of 3-D volumes; 1-D data uses Lorenzo/mean blocks of 256 only. The AE predictions are recomputed on the decoder from the \
             quantized latents by a portable pure-Rust forward pass (fixed operation order, no \
             BLAS, FMA or libm), identical on every host, thread count and device the encoder \
             ran on; the stream records the engine id and a checksum of the predictions, and a \
             decoder that would not reproduce them bit for bit refuses. float, double and integers (as exact doubles under the integer bound floor(abs)), 1-D to n-D. Default bound: \
             pressio:rel = 1e-3.",
        );
        field::FieldStats::document_missing(&mut d, ID);
        d
    }

    fn compress(&mut self, input: &Data) -> Result<Data> {
        if !input.dtype().is_field() {
            return Err(PressioError::UnsupportedDType {
                plugin: ID.into(),
                dtype: input.dtype().name().into(),
            });
        }
        let cfg = self.config.clone();
        let bound = cfg.bound.require(ID)?;
        let dims = field::normalized_dims(input.dims());
        let nd = if dims == [1] { 1 } else { dims.len() };
        let mut settings = Settings {
            k: nd.min(3),
            block: default_block(nd.min(3)),
            latent_factor: cfg.latent_factor,
            batch: cfg.batch as usize,
            selection: cfg.selection,
            pipeline: cfg.pipeline,
            parallel: false,
        };
        let model = if nd >= 2 && cfg.use_ae {
            let spec = if cfg.model.is_empty() {
                if nd == 2 {
                    DEFAULT_MODEL_2D
                } else {
                    DEFAULT_MODEL_3D
                }
                .to_string()
            } else {
                cfg.model.clone()
            };
            let m = self.model(&spec, cfg.device)?;
            let c = m.config();
            if c.dims > nd {
                return Err(PressioError::InvalidInput(format!(
                    "model `{}` is {}-D but the input has only {nd} non-trivial dims {dims:?}; \
                     use a {nd}-D model",
                    m.name, c.dims
                )));
            }
            settings.block = c.block.clone();
            Some(m)
        } else {
            None
        };
        let (name, hash) = model.map_or((String::new(), Vec::new()), |m| {
            (m.name.clone(), m.hash.to_vec())
        });
        let params = EncodeParams {
            plugin_id: ID,
            version: VERSION,
            bound,
            model_name: &name,
            model_hash: &hash,
            verify: cfg.verify,
            fill: cfg.fill.spec(),
        };
        let device = model.map_or(String::new(), |m| {
            pressio_ml_nn::device::device_name(m.device)
        });
        let (out, field_stats, body) =
            pressio_ml_codec::threads::with_threads(ID, cfg.threads.nthreads(), |parallel| {
                let mut codec = AeszCodec {
                    settings: Settings {
                        parallel,
                        ..settings
                    },
                    model,
                    stats: BodyStats::default(),
                };
                let (out, st) = field::compress_field(&mut codec, input, &params)?;
                Ok((out, st, codec.stats))
            })?;
        self.last = Some(LastRun {
            field: field_stats,
            body,
            model: name,
            device,
        });
        Ok(out)
    }

    fn decompress(&mut self, input: &Data, _template: &Data) -> Result<Data> {
        let cfg = self.config.clone();
        let stream = ParsedStream::parse(input.bytes())?;
        stream.expect_plugin(ID, VERSION)?;
        let n = stream.header.num_elements();
        // The autoencoder part of the body, if any (lossless streams have no body header).
        let ae = match stream.optional_section(TAG_HEAD) {
            Some(_) => Head::read(&stream, n)?.ae,
            None => None,
        };
        let header = stream.header.clone();
        drop(stream);
        let model = match &ae {
            None => None,
            Some(a) => {
                let spec = if cfg.model.is_empty() {
                    if header.model_name.is_empty() {
                        return Err(PressioError::corrupt(
                            "the stream uses the autoencoder but names no model",
                        ));
                    }
                    header.model_name.clone()
                } else {
                    cfg.model.clone()
                };
                // Portable predictions need only the weights (any device holds them); a body
                // version 1 stream must run on the device kind it records.
                let legacy = match &a.engine {
                    Engine::Libtorch {
                        device, version, ..
                    } => Some((*device, version.clone())),
                    Engine::Portable(_) => None,
                };
                let device = match (cfg.device, &legacy) {
                    (DeviceSpec::Auto, Some((DeviceKind::Cpu, _))) => DeviceSpec::Cpu,
                    (DeviceSpec::Auto, Some((DeviceKind::Cuda, _))) => DeviceSpec::Cuda(None),
                    (d, _) => d,
                };
                let m = match (self.model(&spec, device), legacy) {
                    (Ok(m), _) => m,
                    (Err(PressioError::Unsupported(why)), Some((DeviceKind::Cuda, version)))
                        if cfg.device == DeviceSpec::Auto =>
                    {
                        return Err(PressioError::StreamMismatch(format!(
                            "the autoencoder predictions of this (body version 1) stream were \
                             computed on cuda (libtorch {version}) and are only \
                             bit-reproducible there, but CUDA is not usable here: {why}"
                        )))
                    }
                    (Err(e), _) => return Err(e),
                };
                if m.hash[..] != header.model_hash[..] {
                    return Err(PressioError::StreamMismatch(format!(
                        "the stream was compressed with model `{}` (sha256 {}), but the decoder \
                         has model `{}` (sha256 {}, from aesz:model = `{spec}`); decompress with \
                         the stream's model",
                        header.model_name,
                        hex(&header.model_hash),
                        m.name,
                        hex(&m.hash)
                    )));
                }
                Some(m)
            }
        };
        let hash = model.map(|m| m.hash.to_vec());
        let params = DecodeParams {
            plugin_id: ID,
            version: VERSION,
            model_hash: hash.as_deref(),
        };
        pressio_ml_codec::threads::with_threads(ID, cfg.threads.nthreads(), |parallel| {
            let mut codec = AeszCodec {
                settings: Settings {
                    k: 1,
                    block: vec![BLOCK_1D],
                    latent_factor: cfg.latent_factor,
                    batch: cfg.batch as usize,
                    selection: cfg.selection,
                    pipeline: cfg.pipeline,
                    parallel,
                },
                model,
                stats: BodyStats::default(),
            };
            field::decompress_field(&mut codec, input, &params)
        })
    }

    fn metrics_results(&self) -> Options {
        let mut o = FieldStats::results(self.last.as_ref().map(|l| &l.field), ID);
        match &self.last {
            Some(l) => {
                o.set(RESULT_AE_BLOCKS, l.body.ae_blocks);
                o.set(RESULT_INTERP_BLOCKS, l.body.interp_blocks);
                o.set(RESULT_LORENZO_BLOCKS, l.body.lorenzo_blocks);
                o.set(RESULT_MEAN_BLOCKS, l.body.mean_blocks);
                o.set(RESULT_LATENT_BYTES, l.body.latent_bytes);
                o.set(RESULT_UNPREDICTABLE, l.body.unpredictable);
                o.set(RESULT_MODEL, l.model.as_str());
                o.set(RESULT_DEVICE, l.device.as_str());
            }
            None => {
                for k in [
                    RESULT_AE_BLOCKS,
                    RESULT_INTERP_BLOCKS,
                    RESULT_LORENZO_BLOCKS,
                    RESULT_MEAN_BLOCKS,
                    RESULT_LATENT_BYTES,
                    RESULT_UNPREDICTABLE,
                ] {
                    o.set_type(k, OptionType::U64);
                }
                o.set_type(RESULT_MODEL, OptionType::Str);
                o.set_type(RESULT_DEVICE, OptionType::Str);
            }
        }
        o
    }

    fn clone_plugin(&self) -> Box<dyn CompressorPlugin> {
        Box::new(Aesz {
            config: self.config.clone(),
            cache: None,
            last: None,
        })
    }
}
