//! The `deepcq` metrics plugin: predicted compression ratio, PSNR and SSIM of each compressor
//! with heads, without compressing.
//!
//! In `begin_compress` the plugin loads the model (once), samples blocks of the input and runs
//! the backbone; in `end_compress` it evaluates the heads at the bound the compressor runs with
//! (`pressio:abs` or `pressio:rel` as seen by `set_options`, the way every LibPressio metric
//! sees the compressor's options) and at each entry of `deepcq:bounds`. Nothing needs the
//! compressed stream or a decompression, so it also predicts under a `noop` compressor.

use crate::labels::DEFAULT_COMPRESSORS;
use crate::model::{LoadedModel, DEFAULT_MODEL};
use crate::net::HeadKind;
use crate::targets::{heads_for, HeadId, Quality, QUALITIES};
use pressio_ml_core::schema::{Group, Key, OptionSchema};
use pressio_ml_core::{
    keys, metric_configuration, BoundSpec, Data, FillOptions, MetricsPlugin, OptionType, Options,
    PressioError, Result, Value,
};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::Instant;

/// Registry id and key prefix.
pub const ID: &str = "deepcq";
/// Option: the model (name or path).
pub const KEY_MODEL: &str = "deepcq:model";
/// Option: compressor ids to predict for (empty: every compressor with heads).
pub const KEY_COMPRESSORS: &str = "deepcq:compressors";
/// Option: relative bounds to predict at, besides the compressor's own.
pub const KEY_BOUNDS: &str = "deepcq:bounds";
/// Option: head variant, `auto`, `mlp` or `moe`.
pub const KEY_HEAD: &str = "deepcq:head";
/// Result: the relative bound of the scalar predictions.
pub const RESULT_BOUND: &str = "deepcq:bound";
/// Result: warnings of the last prediction (empty: none).
pub const RESULT_WARNING: &str = "deepcq:warning";
/// Result: seconds spent sampling blocks and running the backbone.
pub const RESULT_FEATURE_SECONDS: &str = "deepcq:feature_seconds";
/// Result: seconds spent evaluating the heads.
pub const RESULT_PREDICT_SECONDS: &str = "deepcq:predict_seconds";
/// Result: name and hash of the model used.
pub const RESULT_MODEL: &str = "deepcq:model_used";
/// Result: the relative bounds of the `:at_bounds` arrays.
pub const RESULT_BOUNDS: &str = "deepcq:bounds_used";

/// Options of the metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    model: String,
    compressors: Vec<String>,
    bounds: Vec<String>,
    head: String,
    fill: FillOptions,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            model: DEFAULT_MODEL.into(),
            compressors: Vec::new(),
            bounds: Vec::new(),
            head: "auto".into(),
            fill: FillOptions::default(),
        }
    }
}

/// Parse `deepcq:bounds` entries (each one number, or several separated by commas).
pub fn parse_bounds(list: &[String]) -> std::result::Result<Vec<f64>, String> {
    let mut out = Vec::new();
    for entry in list {
        for part in entry.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.parse::<f64>() {
                Ok(v) if v > 0.0 && v.is_finite() => out.push(v),
                _ => return Err(format!("`{part}` is not a positive relative bound")),
            }
        }
    }
    Ok(out)
}

type K<T> = Key<Config, T>;

static SCHEMA: LazyLock<OptionSchema<Config>> = LazyLock::new(|| {
    OptionSchema::new()
        .group(Group::fill(|c: &Config| &c.fill, |c: &mut Config| &mut c.fill))
        .key(
            K::field(
                KEY_MODEL,
                "the DeepCQ model: a name looked up in $PRESSIO_ML_MODELS, the workspace's \
                 models/ and ./models, or a path to its .json manifest",
                |c| c.model.clone(),
                |c, m: String| c.model = m.trim().to_string(),
            )
            .check(|m| !m.trim().is_empty(), "must name a model"),
        )
        .key(K::field(
            KEY_COMPRESSORS,
            "compressor ids to predict for; empty: every compressor the model has heads for \
             (an id without heads is an error)",
            |c| c.compressors.clone(),
            |c, v: Vec<String>| c.compressors = v,
        ))
        .key(
            K::field(
                KEY_BOUNDS,
                "value-range-relative bounds to predict at as well as the compressor's own \
                 pressio:abs / pressio:rel (numbers, one per entry or comma-separated); results \
                 deepcq:<compressor>:<metric>:at_bounds hold one prediction per bound",
                |c| c.bounds.clone(),
                |c, v: Vec<String>| c.bounds = v,
            )
            .validate(|v| parse_bounds(v).map(|_| ())),
        )
        .key(
            K::field(
                KEY_HEAD,
                "head variant: auto (the one with the lower validation error, recorded in the \
                 model), mlp (the predictor MLP) or moe (the 4-expert soft-gated mixture)",
                |c| c.head.clone(),
                |c, v: String| c.head = v,
            )
            .check(|v| matches!(v.as_str(), "auto" | "mlp" | "moe"), "must be auto, mlp or moe")
            .allowed(["auto", "mlp", "moe"]),
        )
        .doc(RESULT_BOUND, "result: relative bound of the deepcq:<compressor>:<metric> predictions")
        .doc(RESULT_WARNING, "result: warnings of the last prediction (a bound outside the trained range, no bound, ...); empty when none")
        .doc(RESULT_FEATURE_SECONDS, "result: seconds spent sampling blocks and running the backbone")
        .doc(RESULT_PREDICT_SECONDS, "result: seconds spent evaluating the heads")
        .doc(RESULT_MODEL, "result: name and SHA-256 of the model used")
        .doc(RESULT_BOUNDS, "result: the relative bounds of the :at_bounds arrays (deepcq:bounds)")
});

/// A loaded model shared by clones of the plugin (tensors are not `Sync`, hence the lock).
type Shared = Arc<Mutex<LoadedModel>>;

fn lock(m: &Shared) -> MutexGuard<'_, LoadedModel> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What `begin_compress` measured on the input.
#[derive(Debug, Clone)]
struct Measured {
    /// What the features were computed from: model, fill rule, dtype, dims and an xxh3 of the
    /// bytes, so that a search calling the metric again on the same input (OptZConfig over
    /// `noop`) reuses them.
    key: (String, String, u64),
    features: Vec<f32>,
    range: f64,
    seconds: f64,
}

/// The `deepcq` metrics plugin.
#[derive(Debug, Clone, Default)]
pub struct DeepCq {
    config: Config,
    bound: Option<BoundSpec>,
    model: Option<(String, Shared)>,
    measured: Option<Measured>,
    predicted: Option<Options>,
    warning: String,
}

impl DeepCq {
    /// A plugin with default options.
    pub fn new() -> Self {
        Self::default()
    }

    fn model(&mut self) -> Result<Shared> {
        if let Some((name, m)) = &self.model {
            if *name == self.config.model {
                return Ok(Arc::clone(m));
            }
        }
        let m = Arc::new(Mutex::new(LoadedModel::load(&self.config.model)?));
        self.model = Some((self.config.model.clone(), Arc::clone(&m)));
        Ok(m)
    }

    /// The compressors predicted for: the option's, checked against the model's heads.
    fn compressors(&self, model: &LoadedModel) -> Result<Vec<String>> {
        let have = model.hyper.compressors();
        if self.config.compressors.is_empty() {
            return Ok(have);
        }
        for c in &self.config.compressors {
            if !have.contains(c) {
                return Err(PressioError::invalid_option(
                    KEY_COMPRESSORS,
                    format!(
                        "model `{}` has no heads for compressor `{c}` (it has: {})",
                        model.manifest.name,
                        have.join(", ")
                    ),
                ));
            }
        }
        Ok(self.config.compressors.clone())
    }

    fn measure(&mut self, input: &Data) -> Result<()> {
        let previous = self.measured.take();
        self.predicted = None;
        let started = Instant::now();
        let shared = self.model()?;
        let model = lock(&shared);
        self.compressors(&model)?;
        let key = (
            format!("{} {}", model.manifest.name, model.hash),
            format!(
                "{:?} {} {:?}",
                self.config.fill,
                input.dtype(),
                input.dims()
            ),
            xxhash_rust::xxh3::xxh3_64(input.bytes()),
        );
        if let Some(p) = previous.filter(|p| p.key == key) {
            self.measured = Some(Measured {
                seconds: started.elapsed().as_secs_f64(),
                ..p
            });
            return Ok(());
        }
        let (features, range) = model.data_features(input, self.config.fill.spec())?;
        self.measured = Some(Measured {
            key,
            features,
            range,
            seconds: started.elapsed().as_secs_f64(),
        });
        Ok(())
    }

    fn predict(&mut self) -> Result<()> {
        let Some(m) = self.measured.clone() else {
            return Ok(());
        };
        let shared = self.model()?;
        let model = lock(&shared);
        let started = Instant::now();
        let mut warnings = Vec::new();
        let run_rel = match self.bound {
            Some(BoundSpec::Rel(r)) => Some(r),
            Some(BoundSpec::Abs(a)) if m.range > 0.0 => Some(a / m.range),
            Some(BoundSpec::Abs(_)) => {
                warnings.push("constant input: an absolute bound has no relative value".into());
                None
            }
            None => None,
        };
        let extra = parse_bounds(&self.config.bounds)
            .map_err(|r| PressioError::invalid_option(KEY_BOUNDS, r))?;
        let scalar = run_rel.or(extra.first().copied());
        if scalar.is_none() {
            warnings.push(
                "no bound: set pressio:abs or pressio:rel on the compressor, or deepcq:bounds"
                    .to_string(),
            );
        }
        let mut all: Vec<f64> = scalar.into_iter().collect();
        all.extend(&extra);
        let [lo, hi] = model.hyper.bound_range;
        for b in &all {
            if !model.hyper.in_range(*b) {
                warnings.push(format!(
                    "relative bound {b:e} is outside the trained range [{lo:e}, {hi:e}]: the \
                     prediction is an extrapolation"
                ));
            }
        }
        warnings.dedup();
        let kind = match self.config.head.as_str() {
            "mlp" => HeadKind::Mlp,
            "moe" => HeadKind::Moe,
            _ => model.hyper.default_head,
        };
        let values = model.predict(&m.features, &all, kind)?;
        let heads = &model.hyper.heads;
        let mut o = Options::new();
        let wanted = self.compressors(&model)?;
        for (h, head) in heads.iter().enumerate() {
            if !wanted.contains(&head.compressor) {
                continue;
            }
            let key = head.result_key();
            let at = |b: usize| values[b * heads.len() + h];
            o.set_or_placeholder(&key, scalar.map(|_| at(0)));
            if !extra.is_empty() {
                let offset = usize::from(scalar.is_some());
                let series: Vec<f64> = (0..extra.len()).map(|i| at(i + offset)).collect();
                o.set(
                    format!("{key}:at_bounds"),
                    Value::Data(Data::from_vec(series, &[extra.len()])?),
                );
            }
        }
        o.set_or_placeholder(RESULT_BOUND, scalar);
        if !extra.is_empty() {
            let n = extra.len();
            o.set(RESULT_BOUNDS, Value::Data(Data::from_vec(extra, &[n])?));
        }
        o.set(RESULT_FEATURE_SECONDS, m.seconds);
        o.set(RESULT_PREDICT_SECONDS, started.elapsed().as_secs_f64());
        o.set(
            RESULT_MODEL,
            format!("{} sha256:{}", model.manifest.name, model.hash),
        );
        self.warning = warnings.join("; ");
        self.predicted = Some(o);
        Ok(())
    }

    /// Placeholders for every result key the current model and options give.
    fn placeholders(&self) -> Options {
        let mut o = Options::new();
        // the loaded model's heads, or (before any prediction) the default compressors'
        let heads: Vec<HeadId> = match &self.model {
            Some((_, shared)) => {
                let model = lock(shared);
                let wanted = self.compressors(&model).unwrap_or_default();
                model
                    .hyper
                    .heads
                    .iter()
                    .filter(|h| wanted.contains(&h.compressor))
                    .cloned()
                    .collect()
            }
            None => {
                let ids: Vec<String> = if self.config.compressors.is_empty() {
                    DEFAULT_COMPRESSORS.iter().map(|s| s.to_string()).collect()
                } else {
                    self.config.compressors.clone()
                };
                heads_for(&ids)
            }
        };
        for head in heads {
            o.set_type(head.result_key(), OptionType::F64);
            if !self.config.bounds.is_empty() {
                o.set_type(format!("{}:at_bounds", head.result_key()), OptionType::Data);
            }
        }
        o.set_type(RESULT_BOUND, OptionType::F64);
        o.set_type(RESULT_FEATURE_SECONDS, OptionType::F64);
        o.set_type(RESULT_PREDICT_SECONDS, OptionType::F64);
        o.set_type(RESULT_MODEL, OptionType::Str);
        if !self.config.bounds.is_empty() {
            o.set_type(RESULT_BOUNDS, OptionType::Data);
        }
        o
    }
}

impl MetricsPlugin for DeepCq {
    fn id(&self) -> &str {
        ID
    }

    fn begin_compress(&mut self, input: &Data, _output: &Data) -> Result<()> {
        let r = self.measure(input);
        if let Err(e) = &r {
            self.warning = e.to_string();
        }
        r
    }

    fn end_compress(&mut self, _input: &Data, _output: &Data, _ok: bool) -> Result<()> {
        let r = self.predict();
        if let Err(e) = &r {
            self.predicted = None;
            self.warning = e.to_string();
        }
        r
    }

    fn begin_compress_many(&mut self, inputs: &[&Data], outputs: &[&Data]) -> Result<()> {
        match (inputs, outputs) {
            ([i], [o]) => self.begin_compress(i, o),
            // several fields: predict for the first (the target of a multi-field compressor)
            ([i, ..], [o, ..]) => self.begin_compress(i, o),
            _ => Ok(()),
        }
    }

    fn end_compress_many(&mut self, inputs: &[&Data], outputs: &[&Data], ok: bool) -> Result<()> {
        match (inputs.first(), outputs.first()) {
            (Some(i), Some(o)) => self.end_compress(i, o, ok),
            _ => Ok(()),
        }
    }

    fn results(&mut self, _compressor_results: &Options) -> Options {
        let mut o = self.placeholders();
        if let Some(p) = &self.predicted {
            o.extend_from(p);
        }
        o.set(RESULT_WARNING, self.warning.as_str());
        o
    }

    fn options(&self) -> Options {
        let mut o = SCHEMA.options(&self.config);
        // the bound the metric predicts at, declared as LibPressio's out_of_bounds metric does:
        // a search that sets pressio:abs on a compressor without one (`noop`) finds the key
        let (abs, rel) = match self.bound {
            Some(BoundSpec::Abs(a)) => (Some(a), None),
            Some(BoundSpec::Rel(r)) => (None, Some(r)),
            None => (None, None),
        };
        o.set_or_placeholder(keys::ABS, abs);
        o.set_or_placeholder(keys::REL, rel);
        o
    }

    fn set_options(&mut self, options: &Options) -> Result<()> {
        SCHEMA.set(&mut self.config, options)?;
        // the compressor's bound, as LibPressio hands every option to its metrics
        let abs = options.get_typed::<f64>(keys::ABS).ok().flatten();
        let rel = options.get_typed::<f64>(keys::REL).ok().flatten();
        match (abs, rel) {
            (_, Some(r)) if r > 0.0 && r.is_finite() => self.bound = Some(BoundSpec::Rel(r)),
            (Some(a), _) if a > 0.0 && a.is_finite() => self.bound = Some(BoundSpec::Abs(a)),
            _ => {}
        }
        Ok(())
    }

    fn configuration(&self) -> Options {
        let mut o = metric_configuration(
            false,
            &[
                keys::PREDICTORS_ERROR_DEPENDENT,
                keys::PREDICTORS_ERROR_AGNOSTIC,
            ],
        );
        o.set(keys::STABILITY, "experimental");
        o
    }

    fn documentation(&self) -> Options {
        let mut d = SCHEMA.documentation(
            "DeepCQ (learned compression-quality predictor): predicts each compressor's \
             compression ratio, PSNR and SSIM at the compressor's bound (and at deepcq:bounds) \
             from sampled blocks of the input, without compressing",
        );
        d.set(
            keys::ABS,
            "the absolute bound to predict at; the compressor's pressio:abs reaches the metric \
             with the compressor's options (declared here so that a search can set it on a \
             compressor without a bound, such as noop)",
        );
        d.set(
            keys::REL,
            "the value-range-relative bound to predict at (as pressio:abs)",
        );
        let mut ids = vec!["<compressor>"];
        ids.extend(crate::labels::DEFAULT_COMPRESSORS);
        for c in ids {
            for q in QUALITIES {
                d.set(
                    format!("deepcq:{c}:{}", q.key()),
                    format!("result: predicted {} of {c} at deepcq:bound", describe(q)),
                );
                d.set(
                    format!("deepcq:{c}:{}:at_bounds", q.key()),
                    format!(
                        "result: predicted {} of {c} at each of deepcq:bounds (double array)",
                        describe(q)
                    ),
                );
            }
        }
        d
    }

    fn clone_metric(&self) -> Box<dyn MetricsPlugin> {
        Box::new(self.clone())
    }
}

fn describe(q: Quality) -> &'static str {
    match q {
        Quality::Ratio => "compression ratio (size:compression_ratio)",
        Quality::Psnr => "PSNR in dB (error_stat:psnr)",
        Quality::Ssim => "SSIM (ssim:ssim)",
    }
}
