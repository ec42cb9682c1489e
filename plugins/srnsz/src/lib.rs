//! `srnsz`: SRN-SZ (Liu et al., "SRN-SZ: deep leaning-based scientific error-bounded lossy
//! compression with super-resolution neural networks") for pressio-ml.
//!
//! The field goes through `classic`'s multilevel interpolation (the anchor grid of stride
//! `srnsz:anchor_stride` stored exactly, then levels of 2x expansion, each predicted from
//! reconstructed values only and quantized with the linear quantizer, so the bound holds whatever
//! any predictor says). Levels whose 2-D slices are at least `srnsz:min_sr_size` points per side
//! are offered to a 2x super-resolution network ([`net`], [`predictor`]); per level, the encoder
//! keeps the network only where its codes are smaller than the level's tuned interpolation, and
//! the whole stream falls back to the plain interpolation path when that is smaller. 3-D (and
//! 4-D) fields use the 2-D network on slices along every large axis pair, averaging the
//! orientations that share a point; cube centres are interpolated from the reconstructed faces.
//!
//! Three networks are trained with Gaussian noise of 1%, 0.1% and 0 of the value range on their
//! coarse inputs (the decompressed coarse levels are noisy at loose bounds); the bound picks one
//! (`srnsz:noise_level`). Models are a family `<name>-n2`, `<name>-n3`, `<name>-n0`
//! (`srnsz:model` names the family, or one model for every bound).
//!
//! # Determinism
//!
//! The network runs on `pressio_ml_nn::portable` in fixed windows; predictions are formed in
//! f64 and the stream records the engine id and a checksum of every network level's
//! predictions, so a decoder that would compute other values refuses instead of decoding wrong
//! ones. Results do not depend on `pressio:nthreads`, the host or the device the model was
//! trained on.

#![warn(missing_docs)]

pub mod codec;
pub mod net;
pub mod predictor;
pub mod train;
pub mod train_cli;
pub mod upsample;

use codec::{BodyStats, SrnszCodec};
use net::LoadedModel;
use pressio_ml_classic::body::{Predictor, Settings};
use pressio_ml_codec::container::ParsedStream;
use pressio_ml_codec::field::{self, DecodeParams, EncodeParams, FieldStats};
use pressio_ml_core::{
    keys, BoundOptions, BoundSpec, Choices, CompressorPlugin, DType, Data, FillOptions, Group, Key,
    OptionSchema, OptionType, Options, PressioError, RegistryBuilder, Result, ThreadOptions,
    Version,
};
use pressio_ml_nn::model::hex;
use std::sync::LazyLock;

/// Registry id and option prefix.
pub const ID: &str = "srnsz";
/// Plugin (and stream) version.
pub const VERSION: Version = Version::new(0, 1, 0);
/// The default bound when the user sets none.
pub const DEFAULT_BOUND: BoundSpec = BoundSpec::Rel(1e-3);
/// The shipped model family.
pub const DEFAULT_MODEL: &str = "srnsz-general";
/// Default anchor stride (SRN-SZ's sparsification grid).
pub const DEFAULT_ANCHOR_STRIDE: u32 = 32;
/// Default smallest slice extent for the network.
pub const DEFAULT_MIN_SR_SIZE: u32 = 64;

/// `srnsz:model`.
pub const KEY_MODEL: &str = "srnsz:model";
/// `srnsz:use_network`.
pub const KEY_USE_NETWORK: &str = "srnsz:use_network";
/// `srnsz:noise_level`.
pub const KEY_NOISE: &str = "srnsz:noise_level";
/// `srnsz:min_sr_size`.
pub const KEY_MIN_SR: &str = "srnsz:min_sr_size";
/// `srnsz:anchor_stride`.
pub const KEY_ANCHOR: &str = "srnsz:anchor_stride";
/// `srnsz:force_network`.
pub const KEY_FORCE: &str = "srnsz:force_network";

/// Metrics result: levels the network predicts in the last stream.
pub const RESULT_NETWORK_LEVELS: &str = "srnsz:network_levels";
/// Metrics result: levels large enough to be offered to the network.
pub const RESULT_CANDIDATES: &str = "srnsz:candidate_levels";
/// Metrics result: body bytes of the plain interpolation path.
pub const RESULT_PLAIN: &str = "srnsz:plain_bytes";
/// Metrics result: body bytes with the network (0 when it did not run).
pub const RESULT_NETWORK_BYTES: &str = "srnsz:network_bytes";
/// Metrics result: seconds of network inference.
pub const RESULT_SECONDS: &str = "srnsz:inference_seconds";
/// Metrics result: the model the last compression offered its levels to.
pub const RESULT_MODEL: &str = "srnsz:model_used";

/// Which of a family's three networks to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoiseLevel {
    /// Chosen from the relative bound (>= 5e-3: 1%, >= 5e-4: 0.1%, else none).
    Auto,
    /// Trained without noise (`-n0`).
    None,
    /// Trained with 0.1% noise (`-n3`).
    Low,
    /// Trained with 1% noise (`-n2`).
    High,
}

impl NoiseLevel {
    /// The family member's suffix for a relative bound `rel`.
    pub fn suffix(self, rel: f64) -> &'static str {
        match self {
            NoiseLevel::High => "n2",
            NoiseLevel::Low => "n3",
            NoiseLevel::None => "n0",
            NoiseLevel::Auto if rel >= 5e-3 => "n2",
            NoiseLevel::Auto if rel >= 5e-4 => "n3",
            NoiseLevel::Auto => "n0",
        }
    }
}

const NOISE_LEVELS: &[(&str, NoiseLevel)] = &[
    ("auto", NoiseLevel::Auto),
    ("0", NoiseLevel::None),
    ("0.001", NoiseLevel::Low),
    ("0.01", NoiseLevel::High),
];

#[derive(Debug, Clone)]
struct Config {
    bound: BoundOptions,
    threads: ThreadOptions,
    fill: FillOptions,
    model: String,
    use_network: bool,
    noise: NoiseLevel,
    min_sr_size: u32,
    force: bool,
    settings: Settings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bound: BoundOptions::new(Some(DEFAULT_BOUND)),
            threads: ThreadOptions::default(),
            fill: FillOptions::default(),
            model: DEFAULT_MODEL.into(),
            use_network: true,
            noise: NoiseLevel::Auto,
            min_sr_size: DEFAULT_MIN_SR_SIZE,
            force: false,
            settings: Settings {
                predictor: Predictor::Interp,
                anchor_stride: DEFAULT_ANCHOR_STRIDE,
                ..Settings::default()
            },
        }
    }
}

/// The `srnsz` compressor plugin.
#[derive(Debug, Default)]
pub struct Srnsz {
    config: Config,
    /// The last model loaded, under the name it was resolved from.
    cache: Option<(String, LoadedModel)>,
    last: Option<(FieldStats, BodyStats, String)>,
}

/// Register `srnsz`.
pub fn register(builder: &mut RegistryBuilder) -> Result<()> {
    builder.compressor(ID, |_| Box::<Srnsz>::default())?;
    Ok(())
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
                "the super-resolution model: a family name whose members `<name>-n2`, \
                 `<name>-n3`, `<name>-n0` (trained with 1%, 0.1% and no noise) are looked up in \
                 $PRESSIO_ML_MODELS, the workspace's models/ and ./models, or the name or path \
                 of one model used at every bound. Decompression loads the model the stream \
                 names (then this one, if the stream's is not found) and checks its hash",
                |c| c.model.clone(),
                |c, m: String| c.model = m.trim().to_string(),
            )
            .check(|m| !m.trim().is_empty(), "must name a model")
            .error_agnostic()
            .highlevel(),
        )
        .key(
            K::field(
                KEY_USE_NETWORK,
                "false: the plain interpolation path (classic's tuned interpolation with \
                 srnsz:anchor_stride; no model needed)",
                |c| c.use_network,
                |c, u| c.use_network = u,
            )
            .error_agnostic(),
        )
        .key(
            K::choice(
                KEY_NOISE,
                "which network of the family: auto (relative bound >= 5e-3: the 1%-noise \
                 network, >= 5e-4: the 0.1% one, else the noiseless one), 0, 0.001 or 0.01",
                Choices::exact(NOISE_LEVELS),
                |c| c.noise,
                |c, v| c.noise = v,
            )
            .error_dependent(),
        )
        .key(
            K::field(
                KEY_MIN_SR,
                "smallest extent (points per side, at the level's resolution) of a 2-D slice \
                 the network predicts; smaller levels and slices use interpolation",
                |c| c.min_sr_size,
                |c, v| c.min_sr_size = v,
            )
            .check(|v| (4..=1 << 20).contains(v), "must be in [4, 2^20]")
            .error_dependent(),
        )
        .key(
            K::field(
                KEY_ANCHOR,
                "stride of the losslessly stored anchor grid, a power of two (SRN-SZ's \
                 sparsification); 0 uses classic's 4096, 128, 32, 16 for 1 to 4 dimensions",
                |c| c.settings.anchor_stride,
                |c, v| c.settings.anchor_stride = v,
            )
            .check(
                |a| *a == 0 || (a.is_power_of_two() && *a >= 2),
                "must be 0 or a power of two >= 2",
            )
            .error_dependent(),
        )
        .key(
            K::field(
                KEY_FORCE,
                "keep the network on every level large enough for it, even where the level's \
                 interpolation codes smaller (to study the network alone; the bound holds \
                 either way)",
                |c| c.force,
                |c, v| c.force = v,
            )
            .error_agnostic(),
        )
        .dtypes("srnsz:dtypes", &DType::NUMERIC)
        .doc(
            RESULT_NETWORK_LEVELS,
            "result: levels the network predicts in the last stream (0: plain interpolation)",
        )
        .doc(
            RESULT_CANDIDATES,
            "result: levels large enough to be offered to the network",
        )
        .doc(
            RESULT_PLAIN,
            "result: body bytes of the plain interpolation path",
        )
        .doc(
            RESULT_NETWORK_BYTES,
            "result: body bytes with the network, kept or not (0 when it did not run)",
        )
        .doc(RESULT_SECONDS, "result: seconds of network inference")
        .doc(
            RESULT_MODEL,
            "result: the model the last compression offered its levels to (empty: none)",
        )
});

/// The relative bound `bound` amounts to on `input` (its range over finite, non-fill values;
/// only used to pick the family member).
fn relative_bound(bound: &BoundSpec, input: &Data, fill: &FillOptions) -> Result<f64> {
    let a = match *bound {
        BoundSpec::Rel(r) => return Ok(r),
        BoundSpec::Abs(a) => a,
    };
    let range = match input.dtype() {
        DType::Float => field::valid_range(input.as_slice::<f32>()?, fill.spec()),
        DType::Double => field::valid_range(input.as_slice::<f64>()?, fill.spec()),
        _ => field::valid_range(&input.to_f64_vec(), fill.spec()),
    };
    Ok(match range {
        Some((lo, hi)) if hi > lo => a / (hi - lo),
        _ => f64::INFINITY,
    })
}

impl Srnsz {
    /// The model named `spec` (cached).
    fn load(&mut self, spec: &str) -> Result<&LoadedModel> {
        if !matches!(&self.cache, Some((s, _)) if s == spec) {
            self.cache = None;
            let files = pressio_ml_nn::model::resolve(spec)?;
            self.cache = Some((spec.to_string(), LoadedModel::load(&files)?));
        }
        self.cache
            .as_ref()
            .map(|c| &c.1)
            .ok_or_else(|| PressioError::Internal("srnsz model cache".into()))
    }

    /// The spec of family `family`'s member with `suffix` (`n0`, `n2`, `n3`): a name, or a
    /// manifest path when the family is given as a path prefix.
    fn member(family: &str, suffix: &str) -> String {
        if family.contains('/') {
            format!("{family}-{suffix}.json")
        } else {
            format!("{family}-{suffix}")
        }
    }

    /// The model for a compression at relative bound `rel`: the family member, or the model
    /// `srnsz:model` names when it is one.
    fn model_for(&mut self, rel: f64) -> Result<&LoadedModel> {
        let spec = self.config.model.clone();
        let member = Self::member(&spec, self.config.noise.suffix(rel));
        let direct = pressio_ml_nn::model::find_manifest(&spec).is_ok();
        self.load(if direct { &spec } else { &member })
    }

    /// The model a stream naming `name` (sha256 `hash`) decodes with: the model of that name, or
    /// `srnsz:model` (a model, or the family member with the name's suffix). A model found
    /// with another hash is refused.
    fn model_of_stream(&mut self, name: &str, hash: &[u8]) -> Result<&LoadedModel> {
        let family = self.config.model.clone();
        let mut specs = vec![name.to_string(), family.clone()];
        if let Some((_, suffix)) = name.rsplit_once('-') {
            specs.push(Self::member(&family, suffix));
        }
        let mut first_error = None;
        for spec in &specs {
            if pressio_ml_nn::model::find_manifest(spec).is_err() {
                continue;
            }
            match self.load(spec) {
                Ok(m) if m.hash[..] == *hash => return self.load(spec),
                Ok(m) => {
                    first_error.get_or_insert(PressioError::StreamMismatch(format!(
                        "the stream was compressed with model `{name}` (sha256 {}), but the \
                         model `{spec}` found has sha256 {}; decompress with the stream's model",
                        hex(hash),
                        hex(&m.hash)
                    )));
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| {
            PressioError::Model(format!(
                "the stream needs model `{name}` (sha256 {}), which was not found (looked for \
                 {}; set srnsz:model or $PRESSIO_ML_MODELS)",
                hex(hash),
                specs.join(", ")
            ))
        }))
    }
}

impl CompressorPlugin for Srnsz {
    pressio_ml_core::schema_plugin_basics!(ID, VERSION, SCHEMA, Multiple, Experimental, state: config);

    fn documentation(&self) -> Options {
        let mut d = SCHEMA.documentation(
            "SRN-SZ: classic's multilevel interpolation (anchor grid of stride \
             srnsz:anchor_stride kept exactly) whose large levels are predicted by a 2x \
             super-resolution CNN on 2-D slices (every large axis pair in 3-D and 4-D, \
             orientations averaged), kept per level only where it codes smaller than \
             interpolation; every residual goes through the linear quantizer, so the bound \
             holds. Three networks by training noise, chosen from the bound. Predictions run \
             on the portable engine and are checksummed in the stream. float, double and \
             integers (as exact doubles under the integer bound floor(abs)); 1-D and small \
             fields use interpolation only. Default bound: pressio:rel = 1e-3.",
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
        let model = if cfg.use_network {
            let rel = relative_bound(&bound, input, &cfg.fill)?;
            Some(self.model_for(rel)?)
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
            verify: false,
            fill: cfg.fill.spec(),
        };
        let r = pressio_ml_codec::threads::with_threads(ID, cfg.threads.nthreads(), |parallel| {
            let mut codec = SrnszCodec {
                model,
                settings: &cfg.settings,
                min_size: cfg.min_sr_size as usize,
                force: cfg.force,
                parallel,
                stats: BodyStats::default(),
            };
            let (out, st) = field::compress_field(&mut codec, input, &params)?;
            Ok((out, st, codec.stats))
        });
        let (out, st, body) = r?;
        self.last = Some((st, body, name));
        Ok(out)
    }

    fn decompress(&mut self, input: &Data, _template: &Data) -> Result<Data> {
        let cfg = self.config.clone();
        let stream = ParsedStream::parse(input.bytes())?;
        stream.expect_plugin(ID, VERSION)?;
        let header = stream.header.clone();
        let network = codec::network_levels(&stream)?.is_some();
        drop(stream);
        let model = if network {
            self.model_of_stream(&header.model_name, &header.model_hash)?;
            self.cache.as_ref().map(|c| &c.1)
        } else {
            None
        };
        let hash = model.map(|m| m.hash.to_vec());
        let params = DecodeParams {
            plugin_id: ID,
            version: VERSION,
            model_hash: hash.as_deref(),
        };
        pressio_ml_codec::threads::with_threads(ID, cfg.threads.nthreads(), |parallel| {
            let mut codec = SrnszCodec {
                model,
                settings: &cfg.settings,
                min_size: cfg.min_sr_size as usize,
                force: cfg.force,
                parallel,
                stats: BodyStats::default(),
            };
            field::decompress_field(&mut codec, input, &params)
        })
    }

    fn metrics_results(&self) -> Options {
        let mut o = FieldStats::results(self.last.as_ref().map(|l| &l.0), ID);
        match &self.last {
            Some((_, b, name)) => {
                o.set(RESULT_NETWORK_LEVELS, b.network_levels);
                o.set(RESULT_CANDIDATES, b.candidate_levels);
                o.set(RESULT_PLAIN, b.plain_bytes);
                o.set(RESULT_NETWORK_BYTES, b.network_bytes);
                o.set(RESULT_SECONDS, b.inference_seconds);
                o.set(RESULT_MODEL, name.clone());
            }
            None => {
                o.set_type(RESULT_NETWORK_LEVELS, OptionType::U32);
                o.set_type(RESULT_CANDIDATES, OptionType::U32);
                o.set_type(RESULT_PLAIN, OptionType::U64);
                o.set_type(RESULT_NETWORK_BYTES, OptionType::U64);
                o.set_type(RESULT_SECONDS, OptionType::F64);
                o.set_type(RESULT_MODEL, OptionType::Str);
            }
        }
        o
    }

    fn clone_plugin(&self) -> Box<dyn CompressorPlugin> {
        Box::new(Srnsz {
            config: self.config.clone(),
            cache: None,
            last: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_levels_follow_the_bound() {
        assert_eq!(NoiseLevel::Auto.suffix(1e-2), "n2");
        assert_eq!(NoiseLevel::Auto.suffix(1e-3), "n3");
        assert_eq!(NoiseLevel::Auto.suffix(1e-4), "n0");
        assert_eq!(NoiseLevel::High.suffix(1e-6), "n2");
    }
}
