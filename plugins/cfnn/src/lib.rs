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
//! The decoder must see the same anchors as the encoder. Two ways:
//!
//! * `compress_many([target, anchor1, ...])`: the anchors are compressed by
//!   `cfnn:anchor_compressor` (default `sz3`, same bound) into anchor streams (see [`anchors`])
//!   and the target is predicted from their decompressed values; `decompress_many` restores
//!   all of them, anchors first.
//! * Single-field mode: the caller gives the already-decompressed anchors, as one stacked
//!   buffer (`cfnn:anchors`, for library users) or as raw files (`cfnn:anchor_files`). The
//!   stream records a checksum of them and decompression with other anchors is refused.
//!
//! # Determinism
//!
//! The network runs on `pressio_ml_nn::portable` in fixed windows (see [`model`]); its outputs
//! are snapped to a grid of `2^-12` quantization bins before the blend, and the stream records a
//! checksum of the snapped differences: a decoder that would compute other predictions refuses
//! instead of decoding wrong values. Results do not depend on `pressio:nthreads` or the host.

#![warn(missing_docs)]

pub mod anchors;
pub mod codec;
pub mod model;
pub mod train;
pub mod train_cli;

use codec::{BodyStats, CfnnCodec};
use model::LoadedModel;
use pressio_ml_codec::container::ParsedStream;
use pressio_ml_codec::field::{self, DecodeParams, EncodeParams, FieldStats};
use pressio_ml_core::{
    keys, BoundOptions, BoundSpec, CompressorPlugin, DType, Data, FillOptions, Group, Key,
    OptionSchema, OptionType, Options, PressioError, Registry, RegistryBuilder, Result,
    ThreadOptions, Value, Version,
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
/// `cfnn:anchors`.
pub const KEY_ANCHORS: &str = "cfnn:anchors";
/// `cfnn:anchor_compressor`.
pub const KEY_ANCHOR_COMPRESSOR: &str = "cfnn:anchor_compressor";
/// `cfnn:embed_model`.
pub const KEY_EMBED_MODEL: &str = "cfnn:embed_model";
/// The default anchor compressor.
pub const DEFAULT_ANCHOR_COMPRESSOR: &str = "sz3";

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
/// Metrics result: bytes of the embedded model in the stream.
pub const RESULT_MODEL_BYTES: &str = "cfnn:model_bytes";
/// Metrics result: bytes of the anchor streams of the last `compress_many` (0 otherwise).
pub const RESULT_ANCHOR_BYTES: &str = "cfnn:anchor_bytes";

#[derive(Debug, Clone)]
struct Config {
    bound: BoundOptions,
    threads: ThreadOptions,
    fill: FillOptions,
    model: String,
    use_network: bool,
    anchor_files: Vec<String>,
    anchors: Option<Data>,
    anchor_compressor: String,
    embed_model: bool,
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
            anchors: None,
            anchor_compressor: DEFAULT_ANCHOR_COMPRESSOR.into(),
            embed_model: false,
        }
    }
}

/// The `cfnn` compressor plugin.
pub struct Cfnn {
    registry: Registry,
    config: Config,
    /// The last model loaded, under its spec (or `embedded:<sha256>`).
    cache: Option<(String, LoadedModel)>,
    last: Option<(FieldStats, BodyStats)>,
    anchor_bytes: u64,
}

/// Register `cfnn`. Its anchor compressors come from the registry it is built into.
pub fn register(builder: &mut RegistryBuilder) -> Result<()> {
    builder.compressor(ID, |r| Box::new(Cfnn::new(r.clone())))?;
    Ok(())
}

/// Where a run's anchors come from.
enum AnchorSource {
    /// The configured ones (`cfnn:anchors` or `cfnn:anchor_files`).
    Configured,
    /// Given by `compress_many` / `decompress_many`.
    Given(Vec<Vec<f64>>),
}

type K<T> = Key<Config, T>;
type G = Group<Config>;

static SCHEMA: LazyLock<OptionSchema<Config>> = LazyLock::new(|| {
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
        .key(
            K::new(
                KEY_ANCHORS,
                "the decompressed anchor fields in one buffer (for library users): the \
                 target's dtype and dims plus one slowest dim counting the anchors, in the \
                 model's anchor order. Used like cfnn:anchor_files (set one of the two)",
                |c| c.anchors.clone(),
                |c, d: Data| {
                    c.anchors = d.has_data().then_some(d);
                    Ok(())
                },
            )
            .error_agnostic(),
        )
        .key(
            K::field(
                KEY_ANCHOR_COMPRESSOR,
                "compress_many: the compressor of the anchor fields (any registered compressor \
                 but cfnn; it runs under cfnn's bound, same mode and value, and \
                 pressio:nthreads). The anchor streams record it, and decompress_many uses \
                 the one each stream names",
                |c| c.anchor_compressor.clone(),
                |c, v: String| c.anchor_compressor = v.trim().to_string(),
            )
            .check(
                |v| !v.trim().is_empty() && v.trim() != ID,
                "must name a compressor other than cfnn",
            )
            .error_agnostic(),
        )
        .key(
            K::field(
                KEY_EMBED_MODEL,
                "put the model (configuration and fp32 weights, zstd) into streams that use \
                 the network, so they decode without the model file (the paper counts the \
                 model in the compressed size); the network is kept only when it pays for \
                 its weights too",
                |c| c.embed_model,
                |c, e| c.embed_model = e,
            )
            .error_agnostic(),
        )
        .dtypes("cfnn:dtypes", &DType::NUMERIC)
        .fact(
            "cfnn:quant_radius",
            "residual code radius: codes in [0, 2R)",
            || Value::from(codec::RADIUS),
        )
        .doc(
            RESULT_NETWORK_USED,
            "result: 1 when the stream blends the network's predictors in",
        )
        .doc(
            RESULT_BLEND,
            "result: the fitted blend, one weight per axis then the bias",
        )
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
        .doc(
            RESULT_MODEL_BYTES,
            "result: bytes of the model embedded in the stream (cfnn:embed_model; 0 otherwise)",
        )
        .doc(
            RESULT_ANCHOR_BYTES,
            "result: bytes of the anchor streams written by the last compress_many (0 after a \
             single-field compress)",
        )
});

impl Cfnn {
    /// A `cfnn` with default options whose anchor compressors come from `registry`.
    pub fn new(registry: Registry) -> Cfnn {
        Cfnn {
            registry,
            config: Config::default(),
            cache: None,
            last: None,
            anchor_bytes: 0,
        }
    }

    /// The model named by `spec` (cached).
    fn model(&mut self, spec: &str) -> Result<&LoadedModel> {
        if !matches!(&self.cache, Some((s, _)) if s == spec) {
            self.cache = None;
            let files = pressio_ml_nn::model::resolve(spec)?;
            self.cache = Some((spec.to_string(), LoadedModel::load(&files)?));
        }
        self.cached()
    }

    /// The model embedded in a stream whose header records `hash` (cached by hash).
    fn embedded_model(&mut self, bytes: &[u8], hash: &[u8]) -> Result<&LoadedModel> {
        let key = format!("embedded:{}", hex(hash));
        if !matches!(&self.cache, Some((s, _)) if *s == key) {
            self.cache = None;
            self.cache = Some((key, LoadedModel::from_embedded(bytes, hash)?));
        }
        self.cached()
    }

    fn cached(&self) -> Result<&LoadedModel> {
        self.cache
            .as_ref()
            .map(|c| &c.1)
            .ok_or_else(|| PressioError::Internal("model cache".into()))
    }

    /// The configured anchors (`cfnn:anchors` or `cfnn:anchor_files`) for a target of `dtype`
    /// and `dims`.
    fn configured_anchors(&self, dtype: DType, dims: &[usize]) -> Result<Vec<Vec<f64>>> {
        let c = &self.config;
        match (&c.anchors, c.anchor_files.is_empty()) {
            (Some(_), false) => Err(PressioError::InvalidArgument(format!(
                "set {KEY_ANCHORS} or {KEY_ANCHOR_FILES}, not both"
            ))),
            (Some(d), true) => anchors::split_stacked(d, dtype, dims),
            (None, _) => self.anchor_files(dtype, dims),
        }
    }

    /// The anchors of `cfnn:anchor_files`, read with `dtype` and `dims` each.
    fn anchor_files(&self, dtype: DType, dims: &[usize]) -> Result<Vec<Vec<f64>>> {
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

    /// The anchors of a run: `source`'s, checked against the model's anchor count.
    fn run_anchors(
        &self,
        source: AnchorSource,
        model: &LoadedModel,
        dtype: DType,
        dims: &[usize],
    ) -> Result<Vec<Vec<f64>>> {
        let anchors = match source {
            AnchorSource::Given(a) => a,
            AnchorSource::Configured => self.configured_anchors(dtype, dims)?,
        };
        if anchors.len() != model.config.anchors {
            return Err(PressioError::InvalidArgument(format!(
                "model `{}` takes {} anchors ({}), {} were given ({KEY_ANCHORS}, \
                 {KEY_ANCHOR_FILES} or compress_many's extra inputs)",
                model.name,
                model.config.anchors,
                model.config.anchor_names.join(", "),
                anchors.len()
            )));
        }
        Ok(anchors)
    }

    /// Compress the target `input` with anchors from `source`.
    fn compress_target(&mut self, input: &Data, source: AnchorSource) -> Result<Data> {
        if !input.dtype().is_field() {
            return Err(PressioError::UnsupportedDType {
                plugin: ID.into(),
                dtype: input.dtype().name().into(),
            });
        }
        let cfg = self.config.clone();
        let bound = cfg.bound.require(ID)?;
        let dims = field::normalized_dims(input.dims());
        let network = cfg.use_network && !cfg.model.is_empty();
        let (anchors, model) = if network {
            self.model(&cfg.model)?;
            let m = self.cached()?;
            (self.run_anchors(source, m, input.dtype(), &dims)?, Some(m))
        } else {
            (Vec::new(), None)
        };
        let embed = match (model, cfg.embed_model) {
            (Some(m), true) => Some(m.embedded()?),
            _ => None,
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
                    embed: embed.as_deref(),
                    stats: BodyStats::default(),
                };
                let (out, st) = field::compress_field(&mut codec, input, &params)?;
                Ok((out, st, codec.stats))
            })?;
        self.last = Some((st, body));
        Ok(out)
    }

    /// Decompress a target stream with anchors from `source` (needed only when the stream uses
    /// the network).
    fn decompress_target(&mut self, input: &Data, source: AnchorSource) -> Result<Data> {
        let cfg = self.config.clone();
        let stream = ParsedStream::parse(input.bytes())?;
        stream.expect_plugin(ID, VERSION)?;
        let header = stream.header.clone();
        let network = codec::uses_network(&stream)?;
        let embedded = stream
            .optional_section(codec::TAG_MODEL)
            .map(<[u8]>::to_vec);
        drop(stream);
        let (anchors, model) = if network {
            let m = match &embedded {
                Some(bytes) => self.embedded_model(bytes, &header.model_hash)?,
                None => {
                    let spec = if cfg.model.is_empty() {
                        header.model_name.clone()
                    } else {
                        cfg.model.clone()
                    };
                    if spec.is_empty() {
                        return Err(PressioError::corrupt(
                            "cfnn: the stream uses the network but names no model",
                        ));
                    }
                    self.model(&spec)?
                }
            };
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
            let m = self.cached()?;
            let dims = field::normalized_dims(&header.dims);
            (self.run_anchors(source, m, header.dtype, &dims)?, Some(m))
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
                embed: None,
                stats: BodyStats::default(),
            };
            field::decompress_field(&mut codec, input, &params)
        })
    }
}

impl CompressorPlugin for Cfnn {
    pressio_ml_core::schema_plugin_basics!(ID, VERSION, SCHEMA, Multiple, Experimental, state: config);

    fn documentation(&self) -> Options {
        let mut d = SCHEMA.documentation(
            "CFNN hybrid (Liu et al.): dual quantization, then each integer predicted by a \
             least-squares blend (fitted per stream) of Lorenzo and one cross-field predictor \
             per axis, the previous value plus the backward difference a small CNN predicts \
             from the decompressed anchor fields' differences; residuals through Huffman and \
             zstd; the plain dual-quantized Lorenzo baseline is kept when it is smaller. \
             compress_many([target, anchors...]) compresses the anchors with \
             cfnn:anchor_compressor and the target from their decompressed values; \
             decompress_many restores them all. Single-field mode takes the decompressed \
             anchors from cfnn:anchors or cfnn:anchor_files. The network runs on the portable \
             engine in fixed windows and its outputs are snapped before use, so streams decode \
             on any host. Without cfnn:model the stream is the baseline. float, double and \
             integers (as exact doubles under the integer bound floor(abs)), 1-D and more (the \
             network needs 2-D or more; a 2-D model on 3-D data works slice by slice). Default \
             bound: pressio:rel = 1e-3.",
        );
        field::FieldStats::document_missing(&mut d, ID);
        d
    }

    fn compress(&mut self, input: &Data) -> Result<Data> {
        self.anchor_bytes = 0;
        self.compress_target(input, AnchorSource::Configured)
    }

    fn decompress(&mut self, input: &Data, _template: &Data) -> Result<Data> {
        let stream = ParsedStream::parse(input.bytes())?;
        if anchors::is_anchor_stream(&stream) {
            stream.expect_plugin(ID, VERSION)?;
            let (_, data, _) = anchors::decompress_anchor(
                &self.registry,
                &stream,
                self.config.threads.nthreads(),
            )?;
            return Ok(data);
        }
        drop(stream);
        self.decompress_target(input, AnchorSource::Configured)
    }

    fn compress_many(&mut self, inputs: &[&Data]) -> Result<Vec<Data>> {
        let Some((target, rest)) = inputs.split_first() else {
            return Ok(Vec::new());
        };
        if rest.is_empty() {
            return Ok(vec![self.compress(target)?]);
        }
        if rest.len() > anchors::MAX_ANCHORS {
            return Err(PressioError::InvalidArgument(format!(
                "{} anchors; cfnn takes at most {}",
                rest.len(),
                anchors::MAX_ANCHORS
            )));
        }
        for (k, a) in rest.iter().enumerate() {
            anchors::check_anchor(k, a, target)?;
        }
        let cfg = &self.config;
        let bound = cfg.bound.require(ID)?;
        let nthreads = cfg.threads.nthreads();
        let mut streams = Vec::with_capacity(inputs.len());
        let mut decoded = Vec::with_capacity(rest.len());
        for (k, a) in rest.iter().enumerate() {
            let (s, v) = anchors::compress_anchor(
                &self.registry,
                &cfg.anchor_compressor,
                bound,
                nthreads,
                a,
                (k, rest.len()),
            )?;
            streams.push(s);
            decoded.push(v);
        }
        let t = self.compress_target(target, AnchorSource::Given(decoded))?;
        self.anchor_bytes = streams.iter().map(|s| s.num_bytes() as u64).sum();
        streams.insert(0, t);
        Ok(streams)
    }

    fn decompress_many(&mut self, inputs: &[&Data], templates: &[&Data]) -> Result<Vec<Data>> {
        pressio_ml_core::check_many_counts(inputs.len(), templates.len())?;
        // anchors first, in any order, then every target stream from them
        let nthreads = self.config.threads.nthreads();
        let mut slots: Vec<Option<Data>> = vec![None; inputs.len()];
        let mut found: Vec<Option<Vec<f64>>> = Vec::new();
        let mut targets = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.iter().enumerate() {
            let stream = ParsedStream::parse(input.bytes())?;
            stream.expect_plugin(ID, VERSION)?;
            if !anchors::is_anchor_stream(&stream) {
                targets.push(Some(*input));
                continue;
            }
            let (info, data, values) =
                anchors::decompress_anchor(&self.registry, &stream, nthreads)?;
            if found.is_empty() {
                found = vec![None; info.count];
            }
            if info.count != found.len() || found[info.index].is_some() {
                return Err(PressioError::InvalidInput(format!(
                    "decompress_many: anchor stream {} of {} does not fit the other anchor \
                     streams (counts differ or the anchor is given twice)",
                    info.index, info.count
                )));
            }
            found[info.index] = Some(values);
            slots[i] = Some(data);
            targets.push(None);
        }
        let given: Option<Vec<Vec<f64>>> = if found.is_empty() {
            None
        } else {
            Some(
                found
                    .into_iter()
                    .enumerate()
                    .map(|(k, v)| {
                        v.ok_or_else(|| {
                            PressioError::InvalidInput(format!(
                                "decompress_many: anchor stream {k} is missing"
                            ))
                        })
                    })
                    .collect::<Result<_>>()?,
            )
        };
        for (i, target) in targets.into_iter().enumerate() {
            if let Some(input) = target {
                let source = given
                    .clone()
                    .map_or(AnchorSource::Configured, AnchorSource::Given);
                slots[i] = Some(self.decompress_target(input, source)?);
            }
        }
        slots
            .into_iter()
            .map(|s| s.ok_or_else(|| PressioError::Internal("decompress_many slot".into())))
            .collect()
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
                o.set(RESULT_MODEL_BYTES, b.model_bytes);
                o.set(RESULT_ANCHOR_BYTES, self.anchor_bytes);
            }
            None => {
                o.set_type(RESULT_NETWORK_USED, OptionType::U32);
                o.set_type(RESULT_BLEND, OptionType::Strings);
                for k in [
                    RESULT_PAYLOAD,
                    RESULT_BASELINE,
                    RESULT_HYBRID,
                    RESULT_OUTLIERS,
                    RESULT_MODEL_BYTES,
                    RESULT_ANCHOR_BYTES,
                ] {
                    o.set_type(k, OptionType::U64);
                }
            }
        }
        o
    }

    fn clone_plugin(&self) -> Box<dyn CompressorPlugin> {
        Box::new(Cfnn {
            registry: self.registry.clone(),
            config: self.config.clone(),
            cache: None,
            last: None,
            anchor_bytes: 0,
        })
    }
}
