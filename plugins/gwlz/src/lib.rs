//! `gwlz`: GWLZ (Jia et al., FlexScience 2024) for pressio-ml, a meta-compressor that raises the
//! quality of any registered compressor's output with tiny per-value-group "enhancers" fitted
//! at compression time and shipped in the stream, while keeping the error bound, and that steps
//! aside when enhancement does not pay.
//!
//! # Pipeline
//!
//! 1. The field envelope resolves `pressio:abs` / `pressio:rel` to an absolute bound `e`,
//!    passes NaN/Inf through exactly and stores constant fields losslessly.
//! 2. The inner compressor (`gwlz:compressor`, default `sz3`, with its own options) compresses
//!    the field with `pressio:abs = e` and decompresses it: `X'`. It also runs at finer bounds,
//!    `e 2^(-j/4)` for j = 1..6 (down to `e / (2 sqrt 2)`): the points of its rate-distortion
//!    envelope ([`pressio_ml_codec::rd::RdEnvelope`], the upper hull in log bytes and log
//!    error). Quarter steps, because SZ3's curve has bumps between half steps at loose bounds.
//! 3. In strict mode, linear enhancers are fitted on the inner streams at `e`, `e / sqrt 2` and
//!    `e / 2` alike, and the stream built on whichever gains most is kept: a point whose inner
//!    error is at most `e / sqrt 2` takes any correction up to `0.29 e` without breaking `e`,
//!    so a finer inner stream needs far fewer rejections, and its bytes are on the envelope
//!    anyway. For each, the finite values of `X'` are split into value-range groups (quantiles by default; the
//!    n+1 boundaries are stored), and each group's enhancer predicts the residual `R = X - X'`
//!    (clamped to the group's largest `|R|`, capped at `e`, stored as f32):
//!    - `gwlz:enhancer = linear` (default, see [`linear`]): a least-squares filter of the
//!      differences between `X'` at the point's 3-D neighbours and at the point, fitted in one
//!      pass; 1, 2, 4, 8 or 16 groups (up to `gwlz:groups`), the count whose estimated gain at
//!      equal size over the envelope is largest;
//!    - `gwlz:enhancer = cnn` (the paper, see [`enhancer`], [`features`]): a two-layer network
//!      per group trained on the 5x5 neighbourhoods of `X'` in the point's 2-D slice, groups
//!      and channels planned (see [`plan`]) so the weights stay below `gwlz:max_overhead` times
//!      the inner stream. The paper sets out-of-group neighbours to a placeholder 0
//!      (`gwlz:mask = true`); the default feeds them instead, which gains several times more.
//! 4. Strict verification (below), then the encoder-side decision (`gwlz:step_aside`, default
//!    on): the enhanced stream is kept only when its PSNR beats the inner compressor's envelope
//!    at the same size by 0.25 dB. Otherwise the output is the inner stream alone, and when the
//!    inner compressor writes pressio-ml containers, that stream byte for byte (see
//!    [`codec::passthrough`]): gwlz then costs nothing over its inner compressor.
//! 5. Decompression runs the inner decompressor, the same grouping and the enhancers, and adds
//!    the predicted residual.
//!
//! # Keeping the bound (`gwlz:strict`, default on)
//!
//! The paper does not keep the bound after enhancement. Here the encoder checks every enhanced
//! point with a slack of `e/64` for decoder-side differences (see [`strict`]); points that fail
//! keep `X'` and are listed (for linear enhancers by rank within their class of `|r| / e`, see
//! [`rejections`]; for networks by index), and points where even `X'` breaks the bound (an
//! inner compressor that overshoots) are stored exactly. A model that does not lower its group's
//! squared error after this is dropped. Linear predictions are also tried shrunk by 0.75 and
//! 0.5 (fewer points cross the bound, so fewer indices are stored), keeping the factor with
//! the largest gain at equal size. `gwlz:strict = false` is the paper's behaviour: every
//! point is enhanced, and the error is at most `e` plus the group's residual scale (<= `2e`).
//!
//! # Determinism
//!
//! Linear enhancers are fitted in f64 in a fixed order, and predict from their stored 16-bit
//! coefficients with plain f64 arithmetic: the same bits on every host. Network training
//! initialises weights and orders samples from seeded ChaCha streams, with one libtorch thread
//! per group; `pressio:nthreads` groups train at once. Streams are therefore byte-identical for
//! every thread count (unless `gwlz:time_budget` cuts training short).
//! Inference runs under `pressio-ml-nn`'s deterministic lock in fixed batches; strict mode
//! does not need bit-identical predictions, only ones within the slack.
//!
//! # Inner compressors are not trusted
//!
//! The inner compressor may be foreign: inside LibPressio it is LibPressio's own `sz3`, `zfp` or
//! `sperr`, reached through the bridge. For every run, compression and decompression alike, the
//! inner compressor gets the same keys: `pressio:abs` (the resolved bound), `pressio:nthreads`
//! and `pressio:fill_mode = none`. Compressors whose streams depend on their options, such as
//! LibPressio's headerless `zfp`, therefore decode what they wrote. Every result is checked
//! before use:
//! - an empty stream is error 13;
//! - a decompressed buffer that is missing or short, or that has another dtype or other dims,
//!   is error 13 naming the compressor (`check_decompressed`);
//! - an `X'` that differs from the encoder's fingerprint is error 10 (see [`codec::Fingerprint`]);
//!   only foreign inner streams carry one: the stream of a compressor that writes pressio-ml
//!   containers is stored without its header (rebuilt from the outer one, its own checksum
//!   verified again) and is only handed to a compressor that reads pressio-ml containers;
//! - a stepped-aside stream that is the inner compressor's own container is only handed to a
//!   compressor that reads pressio-ml containers (inside LibPressio, `sz3` is LibPressio's own:
//!   such a stream is refused with error 10 instead).

#![warn(missing_docs)]

pub mod codec;
pub mod enhancer;
pub mod features;
pub mod grouping;
pub mod linear;
pub mod plan;
pub mod rejections;
pub mod strict;

use codec::{EnhancerKind, GwlzCodec, RunStats, Settings, MAX_CHANNELS, MAX_GROUPS};
use grouping::Grouping;
use pressio_ml_codec::field::{self, DecodeParams, EncodeParams, FieldStats};
use pressio_ml_core::{
    keys, BoundOptions, BoundSpec, Choices, CompressorPlugin, DType, Data, FillOptions, Group, Key,
    OptionSchema, Options, PressioError, Registry, RegistryBuilder, Result, Stability,
    ThreadOptions, ThreadSafety, Value, Version,
};
use pressio_ml_nn::DeviceSpec;
use std::sync::LazyLock;

/// Registry id and option prefix.
pub const ID: &str = "gwlz";
/// Plugin (and stream) version.
pub const VERSION: Version = Version::new(0, 2, 0);
/// The default bound when the user sets none.
pub const DEFAULT_BOUND: BoundSpec = BoundSpec::Rel(1e-3);
/// The default inner compressor.
pub const DEFAULT_INNER: &str = "sz3";

/// `gwlz:compressor`: id of the inner compressor.
pub const KEY_COMPRESSOR: &str = "gwlz:compressor";
/// `gwlz:groups`.
pub const KEY_GROUPS: &str = "gwlz:groups";
/// `gwlz:grouping`.
pub const KEY_GROUPING: &str = "gwlz:grouping";
/// `gwlz:channels`.
pub const KEY_CHANNELS: &str = "gwlz:channels";
/// `gwlz:epochs`.
pub const KEY_EPOCHS: &str = "gwlz:epochs";
/// `gwlz:batch_size`.
pub const KEY_BATCH: &str = "gwlz:batch_size";
/// `gwlz:learning_rate`.
pub const KEY_LR: &str = "gwlz:learning_rate";
/// `gwlz:max_samples`.
pub const KEY_MAX_SAMPLES: &str = "gwlz:max_samples";
/// `gwlz:time_budget`.
pub const KEY_TIME_BUDGET: &str = "gwlz:time_budget";
/// `gwlz:max_overhead`.
pub const KEY_MAX_OVERHEAD: &str = "gwlz:max_overhead";
/// `gwlz:strict`.
pub const KEY_STRICT: &str = "gwlz:strict";
/// `gwlz:mask`.
pub const KEY_MASK: &str = "gwlz:mask";
/// `gwlz:seed`.
pub const KEY_SEED: &str = "gwlz:seed";
/// `gwlz:device`.
pub const KEY_DEVICE: &str = "gwlz:device";
/// `gwlz:enhancer`.
pub const KEY_ENHANCER: &str = "gwlz:enhancer";
/// `gwlz:step_aside`.
pub const KEY_STEP_ASIDE: &str = "gwlz:step_aside";

/// The user-settable state.
#[derive(Debug, Clone)]
struct Config {
    bound: BoundOptions,
    threads: ThreadOptions,
    fill: FillOptions,
    inner: String,
    groups: u32,
    grouping: Grouping,
    channels: u32,
    epochs: u32,
    batch: u32,
    lr: f64,
    max_samples: u32,
    time_budget: f64,
    max_overhead: f64,
    strict: bool,
    mask: bool,
    seed: u64,
    device: DeviceSpec,
    enhancer: EnhancerKind,
    step_aside: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bound: BoundOptions::new(Some(DEFAULT_BOUND)),
            threads: ThreadOptions::default(),
            fill: FillOptions::default(),
            inner: DEFAULT_INNER.into(),
            groups: 20,
            grouping: Grouping::Quantile,
            channels: 9,
            epochs: 8,
            batch: 256,
            lr: 1e-2,
            max_samples: 4096,
            time_budget: 20.0,
            max_overhead: 0.1,
            strict: true,
            mask: false,
            seed: 0,
            device: DeviceSpec::Auto,
            enhancer: EnhancerKind::Linear,
            step_aside: true,
        }
    }
}

type K<T> = Key<Config, T>;
type G = Group<Config>;

const ENHANCERS: &[(&str, EnhancerKind)] =
    &[("linear", EnhancerKind::Linear), ("cnn", EnhancerKind::Cnn)];

const GROUPINGS: &[(&str, Grouping)] = &[
    ("quantile", Grouping::Quantile),
    ("uniform", Grouping::Uniform),
];

/// Metrics results of the last compression, documented.
const RESULT_DOCS: &[(&str, &str)] = &[
    ("gwlz:inner_bytes", "bytes of the inner compressor's stream"),
    (
        "gwlz:inner_bound",
        "the absolute bound the inner compressor ran at: the stream's, or in strict mode with \
         linear enhancers a finer one (the bound over sqrt(2) or 2) when the enhancers pay more \
         there",
    ),
    ("gwlz:weight_bytes", "bytes of the enhancers' weights"),
    (
        "gwlz:strict_bytes",
        "bytes of the strict-mode rejection and exact lists",
    ),
    ("gwlz:groups_used", "groups after size adaptation"),
    (
        "gwlz:channels_used",
        "hidden channels after size adaptation",
    ),
    ("gwlz:models", "groups whose enhancer was kept"),
    (
        "gwlz:rejected",
        "points that kept the inner value in strict mode",
    ),
    ("gwlz:exact", "points stored exactly in strict mode"),
    ("gwlz:epochs_run", "fewest epochs any group trained"),
    (
        "gwlz:inner_ms",
        "inner compression and decompression time in ms",
    ),
    ("gwlz:train_ms", "training time in ms"),
    ("gwlz:enhance_ms", "inference and verification time in ms"),
    (
        "gwlz:psnr_gain",
        "PSNR gain over the inner stream the enhancers sit on (at gwlz:inner_bound) in dB",
    ),
    (
        "gwlz:stepped_aside",
        "1 when the stream is the inner stream alone because enhancement did not beat the inner \
         compressor's rate-distortion curve",
    ),
    (
        "gwlz:rd_gain",
        "the encoder's estimate of the PSNR gain (dB) over the inner compressor at equal stream \
         size (its envelope through the inner streams at the bound and six finer bounds, quarter \
         steps down to the bound over 2 sqrt(2)); 0 when not measured",
    ),
];

/// The options of `gwlz` itself, declared once (the inner compressor's are merged in by the
/// plugin).
static SCHEMA: LazyLock<OptionSchema<Config>> = LazyLock::new(|| {
    let schema = OptionSchema::new()
        .group(G::bound(|c| c.bound.spec(), |c, b| c.bound.set(Some(b))))
        .group(G::threads(|c| &c.threads, |c| &mut c.threads).highlevel(keys::NTHREADS))
        .group(G::fill(|c| &c.fill, |c| &mut c.fill))
        .key(
            K::field(
                KEY_COMPRESSOR,
                "id of the inner compressor (any registered compressor but gwlz; default sz3). Its \
                 options keep their own prefix and are passed through; pressio:abs and pressio:rel \
                 reach it as the resolved absolute bound.",
                |c| c.inner.clone(),
                |c, v| c.inner = v.trim().to_string(),
            )
            .error_dependent()
            .highlevel(),
        )
        .key(
            K::field(
                KEY_GROUPS,
                "requested number of value-range groups, one enhancer each (1 to 1024; default 20, \
                 the paper's GWLZ-20). Fewer are used when a group would average under 256 points \
                 or the weights would exceed gwlz:max_overhead.",
                |c| c.groups,
                |c, v| c.groups = v,
            )
            .range(1, MAX_GROUPS as u32)
            .error_dependent()
            .highlevel(),
        )
        .key(
            K::choice(
                KEY_GROUPING,
                "group boundaries over the decompressed values: quantile (equal counts, default) or \
                 uniform (equal widths); the boundaries are stored in the stream",
                Choices::exact(GROUPINGS),
                |c| c.grouping,
                |c, v| c.grouping = v,
            )
            .error_dependent(),
        )
        .key(
            K::field(
                KEY_CHANNELS,
                "hidden channels of each enhancer (1 to 64; default 9, the paper's); shrunk down to \
                 2 before groups are dropped when the weights would exceed gwlz:max_overhead",
                |c| c.channels,
                |c, v| c.channels = v,
            )
            .range(1, MAX_CHANNELS as u32)
            .error_dependent(),
        )
        .key(
            K::field(
                KEY_EPOCHS,
                "training epochs over each group's samples (default 8); training is part of \
                 compression time",
                |c| c.epochs,
                |c, v| c.epochs = v,
            )
            .range(1, 100_000)
            .error_dependent(),
        )
        .key(
            K::field(
                KEY_BATCH,
                "training minibatch size in samples (default 256)",
                |c| c.batch,
                |c, v| c.batch = v,
            )
            .range(2, 1 << 20)
            .error_agnostic(),
        )
        .key(
            K::field(
                KEY_LR,
                "initial Adam learning rate (default 0.01), halved at each third of the epochs",
                |c| c.lr,
                |c, v| c.lr = v,
            )
            .check(|v| v.is_finite() && *v > 0.0 && *v <= 10.0, "must be in (0, 10]")
            .error_agnostic(),
        )
        .key(
            K::field(
                KEY_MAX_SAMPLES,
                "most training samples per group, drawn with the seed (default 4096); inference \
                 always covers every point",
                |c| c.max_samples,
                |c, v| c.max_samples = v,
            )
            .range(16, 1 << 26)
            .error_agnostic(),
        )
        .key(
            K::field(
                KEY_TIME_BUDGET,
                "training time budget in seconds for the whole field (default 20; 0: none); \
                 every group trains at least one epoch, and a budget that cuts training short makes \
                 the stream depend on timing",
                |c| c.time_budget,
                |c, v| c.time_budget = v,
            )
            .check(
                |v| v.is_finite() && *v >= 0.0,
                "must be a finite number of seconds >= 0",
            )
            .runtime(),
        )
        .key(
            K::field(
                KEY_MAX_OVERHEAD,
                "largest size of the weights and group metadata as a fraction of the inner stream \
                 (default 0.1; the paper reports 0.0003 to 0.09); 0 disables enhancement",
                |c| c.max_overhead,
                |c, v| c.max_overhead = v,
            )
            .check(
                |v| v.is_finite() && (0.0..=10.0).contains(v),
                "must be in [0, 10]",
            )
            .error_dependent(),
        )
        .key(
            K::field(
                KEY_STRICT,
                "keep the error bound at every point (default true). false: the paper's behaviour, \
                 every point enhanced, error up to the bound plus the group's residual scale \
                 (at most twice the bound)",
                |c| c.strict,
                |c, v| c.strict = v,
            )
            .error_dependent()
            .highlevel(),
        )
        .key(
            K::field(
                KEY_MASK,
                "true: set out-of-group neighbours to 0, the paper's placeholder; false (default): \
                 feed them normalised by the group's range, clamped to [-1, 2]. The loss and the \
                 predictions are limited to in-group points either way. On the shared fields the \
                 placeholder costs most of the gain (field999 at rel 1e-2: +0.27 dB against +1.47 dB)",
                |c| c.mask,
                |c, v| c.mask = v,
            )
            .error_dependent(),
        )
        .key(
            K::field(
                KEY_SEED,
                "seed of weight initialisation and sample order (default 0)",
                |c| c.seed,
                |c, v| c.seed = v,
            )
            .error_agnostic(),
        )
        .key(
            K::new(
                KEY_DEVICE,
                "where training and inference run: auto (the first CUDA device if any, else the \
                 CPU), cpu, cuda or cuda:N",
                |c| Some(c.device.name()),
                |c, v: String| {
                    c.device = DeviceSpec::parse(KEY_DEVICE, &v)?;
                    Ok(())
                },
            )
            .runtime()
            .highlevel(),
        )
        .key(
            K::choice(
                KEY_ENHANCER,
                "what enhances a value group: linear (default: a least-squares filter of the \
                 differences between X' at the 3x3x3 neighbours plus the second neighbours along \
                 each axis and X' at the point, 33 16-bit coefficients per group in 3-D, 13 in 2-D, \
                 fitted in one pass; the number of groups, 1 to 16 up to gwlz:groups, is the one \
                 with the largest estimated gain at equal size) or cnn (the paper's two-layer \
                 network on 5x5 neighbourhoods of the 2-D slice, trained for gwlz:epochs, sized \
                 by gwlz:max_overhead)",
                Choices::exact(ENHANCERS),
                |c| c.enhancer,
                |c, v| c.enhancer = v,
            )
            .error_dependent()
            .highlevel(),
        )
        .key(
            K::field(
                KEY_STEP_ASIDE,
                "true (default): compress with the inner compressor once more at the bound over \
                 sqrt(2), which gives its local rate-distortion curve, and emit the inner stream \
                 alone (no gwlz sections) when the enhanced stream would not have a higher PSNR \
                 than the inner compressor at the same size; false: always keep the enhancers \
                 that lower their group's error (the paper)",
                |c| c.step_aside,
                |c, v| c.step_aside = v,
            )
            .error_dependent(),
        )
        .dtypes("gwlz:dtypes", &DType::FLOATS)
        .fact(
            "gwlz:slack_fraction",
            "the decoder-side residual difference strict mode tolerates, as a fraction of the \
             absolute bound",
            || Value::from(strict::SLACK_FRACTION),
        )
        .fact(
            "gwlz:max_groups",
            "largest gwlz:groups",
            || Value::U32(MAX_GROUPS as u32),
        );
    RESULT_DOCS
        .iter()
        .fold(schema, |s, (key, doc)| s.doc(key, *doc))
});

/// The `gwlz` meta-compressor.
pub struct Gwlz {
    registry: Registry,
    config: Config,
    inner: Option<Box<dyn CompressorPlugin>>,
    last: Option<(FieldStats, RunStats)>,
}

/// Register `gwlz`. Its inner compressors come from the registry it is built into.
pub fn register(builder: &mut RegistryBuilder) -> Result<()> {
    builder.compressor(ID, |r| Box::new(Gwlz::new(r.clone())))?;
    Ok(())
}

impl Gwlz {
    /// A `gwlz` over `sz3` (when `registry` has it) with default options.
    pub fn new(registry: Registry) -> Gwlz {
        let config = Config::default();
        let inner = registry.compressor_plugin(DEFAULT_INNER).ok().map(|mut i| {
            // The inner compressor starts from gwlz's bound, not its own default.
            let _ = i.set_options(&Gwlz::inner_view(&Options::new(), config.bound.spec()));
            i
        });
        Gwlz {
            registry,
            inner,
            config,
            last: None,
        }
    }

    fn make_inner(&self, id: &str) -> Result<Box<dyn CompressorPlugin>> {
        if id == ID {
            return Err(PressioError::invalid_option(
                KEY_COMPRESSOR,
                "gwlz cannot wrap itself",
            ));
        }
        if !self.registry.has_compressor(id) {
            return Err(PressioError::invalid_option(
                KEY_COMPRESSOR,
                format!(
                    "`{id}` is not a registered compressor (registered: {})",
                    self.registry.compressor_ids().join(", ")
                ),
            ));
        }
        self.registry.compressor_plugin(id)
    }

    /// `options` as the inner compressor should see them: the generic bound keys replaced by
    /// `gwlz`'s own bound (one key), so the two never disagree about the mode.
    fn inner_view(options: &Options, bound: Option<BoundSpec>) -> Options {
        let mut o = options.clone();
        o.remove(keys::ABS);
        o.remove(keys::REL);
        match bound {
            Some(BoundSpec::Abs(a)) => o.set(keys::ABS, a),
            Some(BoundSpec::Rel(r)) => o.set(keys::REL, r),
            None => {}
        }
        o
    }

    fn settings(&self) -> Result<Settings> {
        let c = &self.config;
        Ok(Settings {
            groups: c.groups as usize,
            grouping: c.grouping,
            channels: c.channels as usize,
            epochs: c.epochs,
            batch: c.batch as usize,
            lr: c.lr,
            max_samples: c.max_samples as usize,
            time_budget: c.time_budget,
            max_overhead: c.max_overhead,
            strict: c.strict,
            mask: c.mask,
            seed: c.seed,
            enhancer: c.enhancer,
            step_aside: c.step_aside,
            nthreads: c.threads.nthreads(),
            device: c.device.resolve()?,
        })
    }
}

/// Keys of an inner plugin's options or documentation that `gwlz` passes through (everything
/// but the generic `pressio:` keys, which `gwlz` declares itself).
fn inner_entries(o: &Options) -> Options {
    let mut out = Options::new();
    for (k, v) in o.iter() {
        if !k.starts_with("pressio:") {
            out.insert_option(k.clone(), v.clone());
        }
    }
    out
}

impl CompressorPlugin for Gwlz {
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
        let mut o = SCHEMA.options(&self.config);
        if let Some(inner) = &self.inner {
            o.merge(&inner_entries(&inner.options()));
        }
        o
    }

    fn set_options(&mut self, options: &Options) -> Result<()> {
        let config = SCHEMA.apply(&self.config, options)?;
        let options = &Gwlz::inner_view(options, config.bound.spec());
        // A plugin's set_options is all-or-nothing, so a refusal leaves both gwlz and its
        // inner compressor as they were.
        if config.inner != self.config.inner || self.inner.is_none() {
            let mut fresh = self.make_inner(&config.inner)?;
            fresh.set_options(options)?;
            self.inner = Some(fresh);
        } else if let Some(current) = &mut self.inner {
            current.set_options(options)?;
        }
        self.config = config;
        Ok(())
    }

    fn check_options(&self, options: &Options) -> Result<()> {
        let config = SCHEMA.apply(&self.config, options)?;
        let options = &Gwlz::inner_view(options, config.bound.spec());
        if config.inner != self.config.inner || self.inner.is_none() {
            self.make_inner(&config.inner)?.check_options(options)
        } else {
            self.inner
                .as_ref()
                .map_or(Ok(()), |i| i.check_options(options))
        }
    }

    fn configuration(&self) -> Options {
        let inner_cfg = self.inner.as_ref().map(|i| i.configuration());
        let inner_safety = inner_cfg
            .as_ref()
            .and_then(|c| match c.value(keys::THREAD_SAFE) {
                Some(Value::ThreadSafety(t)) => Some(*t),
                _ => None,
            })
            .unwrap_or(ThreadSafety::Multiple);
        let mut o = SCHEMA.configuration(
            inner_safety.min(ThreadSafety::Multiple),
            Stability::Experimental,
        );
        if let Some(c) = inner_cfg {
            o.merge(&inner_entries(&c));
        }
        o
    }

    fn documentation(&self) -> Options {
        let mut d = SCHEMA.documentation(
            "GWLZ (Jia et al., FlexScience 2024): a meta-compressor that runs an inner \
             compressor (gwlz:compressor) and then improves its output with tiny enhancers \
             fitted at compression time, one per value-range group of the decompressed data, \
             that predict the residual from each point's neighbourhood; they go into the \
             stream. gwlz:enhancer=linear (default): least-squares filters of the 3-D \
             neighbourhood (33 16-bit coefficients in 3-D), 1 to 16 groups chosen by \
             rate-distortion; cnn: the paper's Conv3x3(1->c)+BatchNorm+ReLU+Conv3x3(c->1) \
             networks on 5x5 neighbourhoods of the 2-D slice (190 parameters at c=9), sized by \
             gwlz:max_overhead. With gwlz:step_aside (default) the inner compressor also runs \
             at six finer bounds (quarter steps down to the bound over 2 sqrt 2), and the \
             enhancers are kept only when the stream beats that rate-distortion envelope at \
             equal size by 0.25 dB; otherwise the output is the inner stream (itself, when the \
             inner compressor writes pressio-ml streams). With gwlz:strict (default) every \
             output value is within the bound: linear enhancers are also fitted on the inner \
             streams at the bound over sqrt 2 and 2 (which leave room for corrections), the \
             best stream kept; enhanced values the encoder cannot prove within the bound, with \
             a slack of abs/64 for decoder-side rounding differences, keep the inner value \
             (they are listed), and values the inner compressor left outside the bound are stored \
             exactly. float, double and integers (as exact doubles under the integer bound floor(abs)), 1-D to n-D. \
             Default bound: pressio:rel = 1e-3.",
        );
        if let Some(inner) = &self.inner {
            d.merge(&inner_entries(&inner.documentation()));
        }
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
        let bound = self.config.bound.require(ID)?;
        let settings = self.settings()?;
        let inner = self.inner.as_deref().ok_or_else(|| {
            PressioError::invalid_option(
                KEY_COMPRESSOR,
                format!("inner compressor `{}` is not registered", self.config.inner),
            )
        })?;
        let mut codec = GwlzCodec {
            registry: &self.registry,
            inner: Some(inner),
            settings: &settings,
            stats: RunStats::default(),
        };
        let params = EncodeParams {
            plugin_id: ID,
            version: VERSION,
            bound,
            model_name: "",
            model_hash: &[],
            verify: false,
            fill: self.config.fill.spec(),
        };
        let (out, fstats) = field::compress_field(&mut codec, input, &params)?;
        let plain = codec.stats.models == 0;
        self.last = Some((fstats, codec.stats));
        // without enhancers, the inner stream itself where it says everything
        if plain {
            if let Some(raw) = codec::passthrough(out.bytes(), input, inner) {
                return Ok(Data::from_byte_vec(raw));
            }
        }
        Ok(out)
    }

    fn decompress(&mut self, input: &Data, template: &Data) -> Result<Data> {
        let settings = self.settings()?;
        if let Some(out) = codec::decode_passthrough(
            &self.registry,
            self.inner.as_deref(),
            input,
            template,
            settings.nthreads,
        ) {
            return out;
        }
        let mut codec = GwlzCodec {
            registry: &self.registry,
            inner: self.inner.as_deref(),
            settings: &settings,
            stats: RunStats::default(),
        };
        let params = DecodeParams {
            plugin_id: ID,
            version: VERSION,
            model_hash: None,
        };
        field::decompress_field(&mut codec, input, &params)
    }

    fn metrics_results(&self) -> Options {
        let mut o = FieldStats::results(self.last.as_ref().map(|l| &l.0), ID);
        let Some((_, s)) = &self.last else {
            return o;
        };
        let plan = s.plan.unwrap_or(plan::Plan {
            groups: 0,
            channels: 0,
        });
        o.set("gwlz:inner_bytes", s.inner_bytes as u64);
        o.set("gwlz:inner_bound", s.inner_bound);
        o.set("gwlz:weight_bytes", s.weight_bytes as u64);
        o.set("gwlz:strict_bytes", s.strict_bytes as u64);
        o.set("gwlz:groups_used", plan.groups as u32);
        o.set("gwlz:channels_used", plan.channels as u32);
        o.set("gwlz:models", s.models as u32);
        o.set("gwlz:rejected", s.rejected as u64);
        o.set("gwlz:exact", s.exact as u64);
        o.set("gwlz:epochs_run", s.epochs_run);
        o.set("gwlz:inner_ms", s.inner_ms);
        o.set("gwlz:train_ms", s.train_ms);
        o.set("gwlz:enhance_ms", s.enhance_ms);
        let gain = if s.mse_enhanced > 0.0 && s.mse_inner > 0.0 {
            10.0 * (s.mse_inner / s.mse_enhanced).log10()
        } else {
            0.0
        };
        o.set("gwlz:psnr_gain", gain);
        o.set("gwlz:stepped_aside", s.stepped_aside as u32);
        o.set("gwlz:rd_gain", s.rd_gain_db);
        o.merge(&s.inner_results);
        o
    }

    fn children(&self) -> Vec<String> {
        vec![self.config.inner.clone()]
    }

    fn clone_plugin(&self) -> Box<dyn CompressorPlugin> {
        Box::new(Gwlz {
            registry: self.registry.clone(),
            config: self.config.clone(),
            inner: self.inner.as_ref().map(|i| i.clone_plugin()),
            last: None,
        })
    }
}
