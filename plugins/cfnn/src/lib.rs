//! `cfnn`: the cross-field CNN hybrid (Liu et al., "Enhancing lossy compression through
//! cross-field information") for pressio-ml.
//!
//! A target field is dual-quantized (`q = round(x / 2e)`, so the bound holds by construction)
//! and every integer is predicted by a blend of its Lorenzo prediction and one cross-field
//! predictor per axis, `q(one step back) + d`, where `d` is the target's backward difference
//! predicted by a small CNN from the *decompressed* anchor fields' backward differences. The
//! blend's weights are fitted per stream (least squares, a few f64 in the stream), so one
//! network serves every bound; the residuals go through the substrate's Huffman and zstd. The
//! encoder also codes the plain dual-quantized Lorenzo baseline and keeps the smaller stream.
//! The distortion is that of the baseline at the same bound: only the ratio changes.
//!
//! # Anchors
//!
//! The decoder must see the same anchors as the encoder. In single-field mode the caller gives
//! the already-decompressed anchors as files, `cfnn:anchor_files` (raw, the target's dtype and
//! dims, in the model's anchor order); the stream records a checksum of them and decompression
//! with other anchors is refused.
//!
//! # Determinism
//!
//! The network runs on `pressio_ml_nn::portable` in fixed windows (see [`model`]); its outputs
//! are snapped to a grid of `2^-12` quantization bins before the blend, and the stream records a
//! checksum of the snapped differences: a decoder that would compute other predictions refuses
//! instead of decoding wrong values. Results do not depend on `pressio:nthreads` or the host.

#![warn(missing_docs)]

pub mod codec;
pub mod model;
pub mod train;
pub mod train_cli;

use codec::{BodyStats, CfnnCodec};
use model::LoadedModel;
use pressio_ml_codec::container::ParsedStream;
use pressio_ml_codec::field::{self, DecodeParams, EncodeParams, FieldStats};
use pressio_ml_core::{
    keys, BoundOptions, BoundSpec, CompressorPlugin, Data, FillOptions, Group, Key, OptionSchema,
    OptionType, Options, PressioError, RegistryBuilder, Result, Stability, ThreadOptions,
    ThreadSafety, Value, Version,
};
use pressio_ml_nn::model::hex;
use std::sync::LazyLock;

/// Registry id and option prefix.
pub const ID: &str = "cfnn";
/// Plugin (and stream) version.
pub const VERSION: Version = Version::new(0, 1, 0);
/// The default bound when the user sets none.
pub const DEFAULT_BOUND: BoundSpec = BoundSpec::Rel(1e-3);

/// `cfnn:model`.
pub const KEY_MODEL: &str = "cfnn:model";
/// `cfnn:use_network`.
pub const KEY_USE_NETWORK: &str = "cfnn:use_network";
/// `cfnn:anchor_files`.
pub const KEY_ANCHOR_FILES: &str = "cfnn:anchor_files";

/// Metrics result: 1 when the stream blends the network's predictors in.
pub const RESULT_NETWORK_USED: &str = "cfnn:network_used";
/// Metrics result: the blend (weights per axis, then the bias).
pub const RESULT_BLEND: &str = "cfnn:blend";
/// Metrics result: payload bytes.
pub const RESULT_PAYLOAD: &str = "cfnn:payload_bytes";
/// Metrics result: payload bytes of the dual-quantized Lorenzo baseline on the same field.
pub const RESULT_BASELINE: &str = "cfnn:baseline_payload_bytes";
/// Metrics result: payload bytes of the hybrid coding, kept or not (0 without a network).
pub const RESULT_HYBRID: &str = "cfnn:hybrid_payload_bytes";
/// Metrics result: residual outliers.
pub const RESULT_OUTLIERS: &str = "cfnn:outliers";

#[derive(Debug, Clone)]
struct Config {
    bound: BoundOptions,
    threads: ThreadOptions,
    fill: FillOptions,
    model: String,
    use_network: bool,
    anchor_files: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bound: BoundOptions::new(Some(DEFAULT_BOUND)),
            threads: ThreadOptions::default(),
            fill: FillOptions::default(),
            model: String::new(),
            use_network: true,
            anchor_files: Vec::new(),
        }
    }
}

/// The `cfnn` compressor plugin.
#[derive(Debug, Default)]
pub struct Cfnn {
    config: Config,
    cache: Option<(String, LoadedModel)>,
    last: Option<(FieldStats, BodyStats)>,
}

/// Register `cfnn`.
pub fn register(builder: &mut RegistryBuilder) -> Result<()> {
    builder.compressor(ID, |_| Box::new(Cfnn::default()))?;
    Ok(())
}

type K<T> = Key<Config, T>;
type G = Group<Config>;

static SCHEMA: LazyLock<OptionSchema<Config>> =
    LazyLock::new(|| {
        OptionSchema::new()
        .group(G::bound(|c| c.bound.spec(), |c, b| c.bound.set(Some(b))))
        .group(G::threads(|c| &c.threads, |c| &mut c.threads).highlevel(keys::NTHREADS))
        .group(G::fill(|c| &c.fill, |c| &mut c.fill))
        .key(
            K::field(
                KEY_MODEL,
                "the CFNN model: a name (looked up in $PRESSIO_ML_MODELS, the workspace's models/ \
                 and ./models) or a path to a manifest, trained with `pressio-ml train cfnn` for \
                 one target and its anchors. Empty (the default): no network, the stream is the \
                 dual-quantized Lorenzo baseline (cfnn:network_used reports 0)",
                |c| c.model.clone(),
                |c, m| c.model = m,
            )
            .error_agnostic()
            .highlevel(),
        )
        .key(
            K::field(
                KEY_USE_NETWORK,
                "false: the paper's baseline, dual-quantized Lorenzo (the same distortion; no \
                 model or anchors needed)",
                |c| c.use_network,
                |c, u| c.use_network = u,
            )
            .error_agnostic(),
        )
        .key(
            K::field(
                KEY_ANCHOR_FILES,
                "the decompressed anchor fields, one raw file per entry (the target's dtype and \
                 dims, in the model's anchor order); needed to compress and to decompress with \
                 the network. The stream records their checksum and refuses other anchors",
                |c| c.anchor_files.clone(),
                |c, f: Vec<String>| c.anchor_files = f,
            )
            .error_agnostic(),
        )
        .fact("cfnn:dtypes", "element types the plugin accepts", || {
            Value::strings([
                "float", "double", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                "uint64",
            ])
        })
        .fact(
            "cfnn:quant_radius",
            "residual code radius: codes in [0, 2R)",
            || Value::from(codec::RADIUS),
        )
        .doc(RESULT_NETWORK_USED, "result: 1 when the stream blends the network's predictors in")
        .doc(RESULT_BLEND, "result: the fitted blend, one weight per axis then the bias")
        .doc(RESULT_PAYLOAD, "result: compressed payload bytes")
        .doc(
            RESULT_BASELINE,
            "result: payload bytes the dual-quantized Lorenzo baseline takes on the same field",
        )
        .doc(
            RESULT_HYBRID,
            "result: payload bytes the network's hybrid coding takes, kept or not (0 when the \
             network did not run)",
        )
        .doc(RESULT_OUTLIERS, "result: residuals stored as outliers")
    });

impl Cfnn {
    fn model(&mut self, spec: &str) -> Result<&LoadedModel> {
        if !matches!(&self.cache, Some((s, _)) if s == spec) {
            self.cache = None;
            let files = pressio_ml_nn::model::resolve(spec)?;
            self.cache = Some((spec.to_string(), LoadedModel::load(&files)?));
        }
        self.cache
            .as_ref()
            .map(|c| &c.1)
            .ok_or_else(|| PressioError::Internal("model cache".into()))
    }

    /// The anchors of `cfnn:anchor_files`, read with `dtype` and `n` values each.
    fn anchors(&self, dtype: pressio_ml_core::DType, dims: &[usize]) -> Result<Vec<Vec<f64>>> {
        let n: usize = dims.iter().product();
        self.config
            .anchor_files
            .iter()
            .map(|path| {
                let bytes = std::fs::read(path).map_err(|e| {
                    PressioError::InvalidArgument(format!("{KEY_ANCHOR_FILES}: `{path}`: {e}"))
                })?;
                if bytes.len() != n * dtype.size() {
                    return Err(PressioError::InvalidInput(format!(
                        "{KEY_ANCHOR_FILES}: `{path}` has {} bytes, the target ({} values of {}) \
                         needs {}",
                        bytes.len(),
                        n,
                        dtype.name(),
                        n * dtype.size()
                    )));
                }
                let v = Data::from_bytes(dtype, dims, &bytes)?.to_f64_vec();
                if v.iter().any(|x| !x.is_finite()) {
                    return Err(PressioError::InvalidInput(format!(
                        "{KEY_ANCHOR_FILES}: `{path}` holds NaN or infinite values"
                    )));
                }
                Ok(v)
            })
            .collect()
    }

    /// Anchors and model `spec` for a run with the network.
    fn network_inputs(
        &mut self,
        spec: &str,
        dtype: pressio_ml_core::DType,
        dims: &[usize],
    ) -> Result<(Vec<Vec<f64>>, &LoadedModel)> {
        if spec.is_empty() {
            return Err(PressioError::InvalidArgument(format!(
                "cfnn needs a model ({KEY_MODEL}) and its anchors ({KEY_ANCHOR_FILES}), or \
                 {KEY_USE_NETWORK}=false for the dual-quantized Lorenzo baseline"
            )));
        }
        let anchors = self.anchors(dtype, dims)?;
        let m = self.model(spec)?;
        if anchors.len() != m.config.anchors {
            return Err(PressioError::InvalidArgument(format!(
                "model `{}` takes {} anchors, {KEY_ANCHOR_FILES} names {}",
                m.name,
                m.config.anchors,
                anchors.len()
            )));
        }
        Ok((anchors, m))
    }
}

impl CompressorPlugin for Cfnn {
    fn id(&self) -> &str {
        ID
    }

    fn prefix(&self) -> &str {
        ID
    }

    fn version(&self) -> Version {
        VERSION
    }

    fn options(&self) -> Options {
        SCHEMA.options(&self.config)
    }

    fn set_options(&mut self, options: &Options) -> Result<()> {
        SCHEMA.set(&mut self.config, options)
    }

    fn check_options(&self, options: &Options) -> Result<()> {
        SCHEMA.check(&self.config, options)
    }

    fn configuration(&self) -> Options {
        SCHEMA.configuration(ThreadSafety::Multiple, Stability::Experimental)
    }

    fn documentation(&self) -> Options {
        let mut d = SCHEMA.documentation(
            "CFNN hybrid (Liu et al.): dual quantization, then each integer predicted by a \
             least-squares blend (fitted per stream) of Lorenzo and one cross-field predictor \
             per axis, the previous value plus the backward difference a small CNN predicts \
             from the decompressed anchor fields' differences; residuals through Huffman and \
             zstd; the plain dual-quantized Lorenzo baseline is kept when it is smaller. The \
             network runs on the portable engine in fixed windows and its outputs are snapped \
             before use, so streams decode on any host. Without cfnn:model the stream is the \
             baseline. float, double and integers (as exact doubles under the integer bound \
             floor(abs)), 1-D and more (the network needs 2-D or more; a 2-D model on 3-D data \
             works slice by slice). Default bound: pressio:rel = 1e-3.",
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
        let (anchors, model) = if cfg.use_network && !cfg.model.is_empty() {
            let (a, m) = self.network_inputs(&cfg.model, input.dtype(), &dims)?;
            (a, Some(m))
        } else {
            (Vec::new(), None)
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
            verify: false,
            fill: cfg.fill.spec(),
        };
        let (out, st, body) =
            pressio_ml_codec::threads::with_threads(ID, cfg.threads.nthreads(), |parallel| {
                let mut codec = CfnnCodec {
                    model,
                    anchors: &anchors,
                    parallel,
                    stats: BodyStats::default(),
                };
                let (out, st) = field::compress_field(&mut codec, input, &params)?;
                Ok((out, st, codec.stats))
            })?;
        self.last = Some((st, body));
        Ok(out)
    }

    fn decompress(&mut self, input: &Data, _template: &Data) -> Result<Data> {
        let cfg = self.config.clone();
        let stream = ParsedStream::parse(input.bytes())?;
        stream.expect_plugin(ID, VERSION)?;
        let header = stream.header.clone();
        drop(stream);
        let uses_model = !header.model_name.is_empty();
        let (anchors, model) = if uses_model {
            let spec = if cfg.model.is_empty() {
                header.model_name.clone()
            } else {
                cfg.model.clone()
            };
            let dims = field::normalized_dims(&header.dims);
            let (anchors, m) = self.network_inputs(&spec, header.dtype, &dims)?;
            if m.hash[..] != header.model_hash[..] {
                return Err(PressioError::StreamMismatch(format!(
                    "the stream was compressed with model `{}` (sha256 {}), but the decoder \
                     has model `{}` (sha256 {}); decompress with the stream's model",
                    header.model_name,
                    hex(&header.model_hash),
                    m.name,
                    hex(&m.hash)
                )));
            }
            (anchors, Some(m))
        } else {
            (Vec::new(), None)
        };
        let hash = model.map(|m| m.hash.to_vec());
        let params = DecodeParams {
            plugin_id: ID,
            version: VERSION,
            model_hash: hash.as_deref(),
        };
        pressio_ml_codec::threads::with_threads(ID, cfg.threads.nthreads(), |parallel| {
            let mut codec = CfnnCodec {
                model,
                anchors: &anchors,
                parallel,
                stats: BodyStats::default(),
            };
            field::decompress_field(&mut codec, input, &params)
        })
    }

    fn metrics_results(&self) -> Options {
        let mut o = FieldStats::results(self.last.as_ref().map(|l| &l.0), ID);
        match &self.last {
            Some((_, b)) => {
                o.set(RESULT_NETWORK_USED, u32::from(b.network_used));
                o.set(
                    RESULT_BLEND,
                    Value::strings(b.blend.iter().map(|w| format!("{w}"))),
                );
                o.set(RESULT_PAYLOAD, b.payload_bytes);
                o.set(RESULT_BASELINE, b.baseline_bytes);
                o.set(RESULT_HYBRID, b.hybrid_bytes);
                o.set(RESULT_OUTLIERS, b.outliers);
            }
            None => {
                o.set_type(RESULT_NETWORK_USED, OptionType::U32);
                o.set_type(RESULT_BLEND, OptionType::Strings);
                for k in [
                    RESULT_PAYLOAD,
                    RESULT_BASELINE,
                    RESULT_HYBRID,
                    RESULT_OUTLIERS,
                ] {
                    o.set_type(k, OptionType::U64);
                }
            }
        }
        o
    }

    fn clone_plugin(&self) -> Box<dyn CompressorPlugin> {
        Box::new(Cfnn {
            config: self.config.clone(),
            cache: None,
            last: None,
        })
    }
}
