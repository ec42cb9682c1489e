//! The `time` metric: wall-clock milliseconds of the calls of the compressor it is attached to,
//! with LibPressio's `time` result keys, and optionally a child metric whose hooks it forwards
//! and times.
//!
//! # Results (all `uint32` milliseconds, truncated; typed placeholders until measured)
//!
//! * Compressor calls: `time:compress`, `time:decompress`, `time:compress_many`,
//!   `time:decompress_many`, measured from the begin hook to the end hook of the call (so they
//!   exclude the time spent in the child metric's hooks). A failed call is timed too.
//! * Option calls, through the options hooks: `time:check_options`, `time:set_options`,
//!   `time:get_options`, `time:get_configuration` (`get_documentation` is forwarded to the
//!   child but not timed: LibPressio has no key for it).
//! * The child metric's hooks, one key per hook: `time:begin_compress`, `time:end_compress`,
//!   `time:begin_decompress`, `time:end_decompress`, `time:begin_compress_many`,
//!   `time:end_compress_many`, `time:begin_decompress_many`, `time:end_decompress_many`,
//!   `time:begin_check_options`, `time:end_check_options`, `time:begin_set_options`,
//!   `time:end_set_options`, `time:begin_get_options`, `time:end_get_options`,
//!   `time:begin_get_configuration`, `time:end_get_configuration`. They stay placeholders while
//!   no child is set.
//! * The child's own results are merged in (the `time:` keys win on a collision).
//!
//! # Options
//!
//! `time:metric` (`char*`): id of the child metric, built from the registry the plugin was made
//! with; unset, empty or `noop` means no child. An unknown id is an `UnknownMetric` error. Every
//! option set on the time metric except `time:metric` itself is also passed to its child (so a
//! time metric can time another time metric without recursing).

#![warn(missing_docs)]

use pressio_ml_core::{
    keys, Data, MetricsPlugin, OptionType, Options, OptionsHook, Phase, Registry, RegistryBuilder,
    Result, ThreadSafety, Value,
};
use std::collections::BTreeMap;
use std::time::Instant;

/// Registry id and key prefix of the metric.
pub const ID: &str = "time";
/// Option key: id of the child metric (`char*`).
pub const METRIC: &str = "time:metric";

/// Result key: milliseconds of a compression.
pub const COMPRESS: &str = "time:compress";
/// Result key: milliseconds of a decompression.
pub const DECOMPRESS: &str = "time:decompress";
/// Result key: milliseconds of a `compress_many`.
pub const COMPRESS_MANY: &str = "time:compress_many";
/// Result key: milliseconds of a `decompress_many`.
pub const DECOMPRESS_MANY: &str = "time:decompress_many";
/// Result key: milliseconds of a `check_options`.
pub const CHECK_OPTIONS: &str = "time:check_options";
/// Result key: milliseconds of a `set_options`.
pub const SET_OPTIONS: &str = "time:set_options";
/// Result key: milliseconds of a `get_options`.
pub const GET_OPTIONS: &str = "time:get_options";
/// Result key: milliseconds of a `get_configuration`.
pub const GET_CONFIGURATION: &str = "time:get_configuration";

/// The timed calls of the compressor: `(result key, description)`.
pub const CALL_KEYS: [(&str, &str); 8] = [
    (COMPRESS, "milliseconds spent in compress"),
    (DECOMPRESS, "milliseconds spent in decompress"),
    (COMPRESS_MANY, "milliseconds spent in compress_many"),
    (DECOMPRESS_MANY, "milliseconds spent in decompress_many"),
    (CHECK_OPTIONS, "milliseconds spent in check_options"),
    (SET_OPTIONS, "milliseconds spent in set_options"),
    (GET_OPTIONS, "milliseconds spent in get_options"),
    (GET_CONFIGURATION, "milliseconds spent in get_configuration"),
];

/// The timed hooks of the child metric: `(result key, description)`.
pub const CHILD_HOOK_KEYS: [(&str, &str); 16] = [
    (
        "time:begin_compress",
        "milliseconds spent in the child metric's begin_compress hook",
    ),
    (
        "time:end_compress",
        "milliseconds spent in the child metric's end_compress hook",
    ),
    (
        "time:begin_decompress",
        "milliseconds spent in the child metric's begin_decompress hook",
    ),
    (
        "time:end_decompress",
        "milliseconds spent in the child metric's end_decompress hook",
    ),
    (
        "time:begin_compress_many",
        "milliseconds spent in the child metric's begin_compress_many hook",
    ),
    (
        "time:end_compress_many",
        "milliseconds spent in the child metric's end_compress_many hook",
    ),
    (
        "time:begin_decompress_many",
        "milliseconds spent in the child metric's begin_decompress_many hook",
    ),
    (
        "time:end_decompress_many",
        "milliseconds spent in the child metric's end_decompress_many hook",
    ),
    (
        "time:begin_check_options",
        "milliseconds spent in the child metric's begin check_options hook",
    ),
    (
        "time:end_check_options",
        "milliseconds spent in the child metric's end check_options hook",
    ),
    (
        "time:begin_set_options",
        "milliseconds spent in the child metric's begin set_options hook",
    ),
    (
        "time:end_set_options",
        "milliseconds spent in the child metric's end set_options hook",
    ),
    (
        "time:begin_get_options",
        "milliseconds spent in the child metric's begin get_options hook",
    ),
    (
        "time:end_get_options",
        "milliseconds spent in the child metric's end get_options hook",
    ),
    (
        "time:begin_get_configuration",
        "milliseconds spent in the child metric's begin get_configuration hook",
    ),
    (
        "time:end_get_configuration",
        "milliseconds spent in the child metric's end get_configuration hook",
    ),
];

/// Result keys that only a decompression fills.
const DECOMPRESS_KEYS: [&str; 6] = [
    DECOMPRESS,
    DECOMPRESS_MANY,
    "time:begin_decompress",
    "time:end_decompress",
    "time:begin_decompress_many",
    "time:end_decompress_many",
];

/// Register the `time` metric.
pub fn register(builder: &mut RegistryBuilder) -> Result<()> {
    builder.metric(ID, |reg| Box::new(TimeMetric::new(reg.clone())))?;
    Ok(())
}

/// Milliseconds since `start`, truncated, saturating at `u32::MAX`.
fn millis_since(start: Instant) -> u32 {
    u32::try_from(start.elapsed().as_millis()).unwrap_or(u32::MAX)
}

/// For an options call: its own result key and the keys of the child's begin and end hooks.
fn hook_keys(hook: OptionsHook) -> Option<(&'static str, &'static str, &'static str)> {
    match hook {
        OptionsHook::CheckOptions => Some((
            CHECK_OPTIONS,
            "time:begin_check_options",
            "time:end_check_options",
        )),
        OptionsHook::SetOptions => Some((
            SET_OPTIONS,
            "time:begin_set_options",
            "time:end_set_options",
        )),
        OptionsHook::GetOptions => Some((
            GET_OPTIONS,
            "time:begin_get_options",
            "time:end_get_options",
        )),
        OptionsHook::GetConfiguration => Some((
            GET_CONFIGURATION,
            "time:begin_get_configuration",
            "time:end_get_configuration",
        )),
        OptionsHook::GetDocumentation => None,
    }
}

/// A child's `predictors:requires_decompress` as a list of result keys: `true` stands for all of
/// `result_keys`, `false` or anything else for none.
fn requires_decompress_keys(config: &Options, result_keys: &[String]) -> Vec<String> {
    match config.value(keys::PREDICTORS_REQUIRES_DECOMPRESS) {
        Some(Value::Bool(true)) => result_keys.to_vec(),
        Some(Value::Strings(v)) => v.clone(),
        _ => Vec::new(),
    }
}

/// The child metric of a time metric.
struct Child {
    id: String,
    plugin: Box<dyn MetricsPlugin>,
    /// Result keys of the child (they do not depend on its state, only on its options).
    result_keys: Vec<String>,
}

impl Child {
    fn new(id: String, mut plugin: Box<dyn MetricsPlugin>) -> Child {
        let result_keys = plugin.results(&Options::new()).keys().cloned().collect();
        Child {
            id,
            plugin,
            result_keys,
        }
    }

    fn refresh_keys(&mut self) {
        self.result_keys = self
            .plugin
            .results(&Options::new())
            .keys()
            .cloned()
            .collect();
    }
}

impl Clone for Child {
    fn clone(&self) -> Child {
        Child {
            id: self.id.clone(),
            plugin: self.plugin.clone_metric(),
            result_keys: self.result_keys.clone(),
        }
    }
}

/// The `time` metrics plugin.
#[derive(Clone)]
pub struct TimeMetric {
    registry: Registry,
    child: Option<Child>,
    /// Start instants of the calls being timed, by result key.
    starts: BTreeMap<&'static str, Instant>,
    /// Measured milliseconds, by result key.
    measured: BTreeMap<&'static str, u32>,
}

impl TimeMetric {
    /// A fresh instance without a child; `registry` builds the child named by `time:metric`.
    pub fn new(registry: Registry) -> Self {
        TimeMetric {
            registry,
            child: None,
            starts: BTreeMap::new(),
            measured: BTreeMap::new(),
        }
    }

    fn start(&mut self, key: &'static str) {
        self.starts.insert(key, Instant::now());
    }

    fn stop(&mut self, key: &'static str) {
        if let Some(s) = self.starts.remove(key) {
            self.measured.insert(key, millis_since(s));
        }
    }

    /// Run `f` on the child, if any, and record its duration under `key`.
    fn timed_child<T>(
        &mut self,
        key: &'static str,
        f: impl FnOnce(&mut dyn MetricsPlugin) -> T,
    ) -> Option<T> {
        let c = self.child.as_mut()?;
        let t = Instant::now();
        let r = f(c.plugin.as_mut());
        self.measured.insert(key, millis_since(t));
        Some(r)
    }

    fn set_child(&mut self, id: &str) -> Result<()> {
        if self.child.as_ref().map(|c| c.id.as_str()) == Some(id) {
            return Ok(());
        }
        if id.is_empty() || id == "noop" {
            self.child = None;
        } else {
            let plugin = self.registry.metric_plugin(id)?;
            self.child = Some(Child::new(id.to_string(), plugin));
        }
        Ok(())
    }
}

impl MetricsPlugin for TimeMetric {
    fn id(&self) -> &str {
        ID
    }

    fn begin_compress(&mut self, input: &Data, output: &Data) -> Result<()> {
        let r = self.timed_child("time:begin_compress", |c| c.begin_compress(input, output));
        self.start(COMPRESS);
        r.unwrap_or(Ok(()))
    }

    fn end_compress(&mut self, input: &Data, output: &Data, ok: bool) -> Result<()> {
        self.stop(COMPRESS);
        self.timed_child("time:end_compress", |c| c.end_compress(input, output, ok))
            .unwrap_or(Ok(()))
    }

    fn begin_decompress(&mut self, input: &Data, output: &Data) -> Result<()> {
        let r = self.timed_child("time:begin_decompress", |c| {
            c.begin_decompress(input, output)
        });
        self.start(DECOMPRESS);
        r.unwrap_or(Ok(()))
    }

    fn end_decompress(&mut self, input: &Data, output: &Data, ok: bool) -> Result<()> {
        self.stop(DECOMPRESS);
        self.timed_child("time:end_decompress", |c| {
            c.end_decompress(input, output, ok)
        })
        .unwrap_or(Ok(()))
    }

    fn begin_compress_many(&mut self, inputs: &[&Data], outputs: &[&Data]) -> Result<()> {
        let r = self.timed_child("time:begin_compress_many", |c| {
            c.begin_compress_many(inputs, outputs)
        });
        self.start(COMPRESS_MANY);
        r.unwrap_or(Ok(()))
    }

    fn end_compress_many(&mut self, inputs: &[&Data], outputs: &[&Data], ok: bool) -> Result<()> {
        self.stop(COMPRESS_MANY);
        self.timed_child("time:end_compress_many", |c| {
            c.end_compress_many(inputs, outputs, ok)
        })
        .unwrap_or(Ok(()))
    }

    fn begin_decompress_many(&mut self, inputs: &[&Data], outputs: &[&Data]) -> Result<()> {
        let r = self.timed_child("time:begin_decompress_many", |c| {
            c.begin_decompress_many(inputs, outputs)
        });
        self.start(DECOMPRESS_MANY);
        r.unwrap_or(Ok(()))
    }

    fn end_decompress_many(&mut self, inputs: &[&Data], outputs: &[&Data], ok: bool) -> Result<()> {
        self.stop(DECOMPRESS_MANY);
        self.timed_child("time:end_decompress_many", |c| {
            c.end_decompress_many(inputs, outputs, ok)
        })
        .unwrap_or(Ok(()))
    }

    fn options_hook(&mut self, hook: OptionsHook, phase: Phase) {
        let Some((own, begin, end)) = hook_keys(hook) else {
            if let Some(c) = self.child.as_mut() {
                c.plugin.options_hook(hook, phase);
            }
            return;
        };
        match phase {
            Phase::Begin => {
                self.timed_child(begin, |c| c.options_hook(hook, phase));
                self.start(own);
            }
            Phase::End => {
                self.stop(own);
                self.timed_child(end, |c| c.options_hook(hook, phase));
            }
        }
    }

    fn results(&mut self, compressor_results: &Options) -> Options {
        let mut o = Options::new();
        for (k, _) in CALL_KEYS.iter().chain(CHILD_HOOK_KEYS.iter()) {
            o.set_or_placeholder(*k, self.measured.get(k).copied());
        }
        if let Some(c) = self.child.as_mut() {
            o.merge(&c.plugin.results(compressor_results));
        }
        o
    }

    fn options(&self) -> Options {
        let mut o = Options::new();
        match &self.child {
            Some(c) => o.set(METRIC, c.id.as_str()),
            None => o.set_type(METRIC, OptionType::Str),
        }
        if let Some(c) = &self.child {
            o.merge(&c.plugin.options());
        }
        o
    }

    fn set_options(&mut self, options: &Options) -> Result<()> {
        if let Some(id) = options.get_typed::<String>(METRIC)? {
            self.set_child(&id)?;
        }
        if let Some(c) = self.child.as_mut() {
            // the child gets every option but `time:metric`, which is this metric's own: a
            // child time metric (or a deeper chain) must not rebuild itself from it forever
            let mut forwarded = options.clone();
            forwarded.remove(METRIC);
            c.plugin.set_options(&forwarded)?;
            c.refresh_keys();
        }
        Ok(())
    }

    fn configuration(&self) -> Options {
        let mut requires: Vec<String> = DECOMPRESS_KEYS.iter().map(|s| s.to_string()).collect();
        let mut invalidate = vec![keys::PREDICTORS_RUNTIME.to_string()];
        let mut safety = ThreadSafety::Multiple;
        if let Some(c) = &self.child {
            let cfg = c.plugin.configuration();
            requires.extend(requires_decompress_keys(&cfg, &c.result_keys));
            if let Some(Value::Strings(v)) = cfg.value(keys::PREDICTORS_INVALIDATE) {
                invalidate.extend(v.iter().cloned());
            }
            if let Some(Value::ThreadSafety(t)) = cfg.value(keys::THREAD_SAFE) {
                safety = safety.min(*t);
            }
        }
        requires.sort();
        requires.dedup();
        invalidate.sort();
        invalidate.dedup();
        let mut o = Options::new();
        o.set(keys::THREAD_SAFE, Value::ThreadSafety(safety));
        o.set(keys::STABILITY, "stable");
        o.set(
            keys::PREDICTORS_REQUIRES_DECOMPRESS,
            Value::Strings(requires),
        );
        o.set(keys::PREDICTORS_INVALIDATE, Value::Strings(invalidate));
        o
    }

    fn documentation(&self) -> Options {
        let mut d = Options::new();
        d.set(
            keys::DESCRIPTION,
            "time metric: wall-clock milliseconds of the compressor's calls and of a child \
             metric's hooks",
        );
        d.set(
            METRIC,
            "id of a child metric whose hooks are forwarded and timed and whose results are \
             included (unset, empty or noop: none)",
        );
        for (k, v) in CALL_KEYS.iter().chain(CHILD_HOOK_KEYS.iter()) {
            d.set(*k, format!("{v} (uint32, truncated)"));
        }
        if let Some(c) = &self.child {
            d.merge(&c.plugin.documentation());
        }
        d
    }

    fn children(&self) -> Vec<String> {
        self.child.iter().map(|c| c.id.clone()).collect()
    }

    fn clone_metric(&self) -> Box<dyn MetricsPlugin> {
        Box::new(self.clone())
    }
}

impl std::fmt::Debug for TimeMetric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimeMetric")
            .field("child", &self.child.as_ref().map(|c| c.id.as_str()))
            .field("measured", &self.measured)
            .finish()
    }
}
