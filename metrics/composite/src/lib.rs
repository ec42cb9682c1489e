//! The `composite` metric: runs several child metrics as one, with LibPressio's `composite`
//! option and result keys. `Registry::metrics(ids)` (LibPressio's `pressio_new_metrics`) builds
//! one with `composite:plugins` set to the ids.
//!
//! # Options
//!
//! * `composite:plugins` (`char*[]`): ids of the child metrics, built from the registry the
//!   plugin was made with; an unknown id is an `UnknownMetric` error and leaves the children as
//!   they were. Setting the same list again keeps the children and their state.
//! * `composite:names` (`char*[]`): one name per child, reported back as given (pressio-ml has
//!   no hierarchical option names yet, so they only label the children). They default to the
//!   child ids and are reset to them whenever the plugin list changes; a list of another length
//!   than the children is an `InvalidOption` error.
//! * Every other option is passed to every child (the two keys above are not, so a composite
//!   child never rebuilds itself from its parent's list). LibPressio's Lua `composite:scripts`
//!   is not supported.
//!
//! # Results
//!
//! The union of the children's results (on a key collision the earlier child wins), plus four
//! `double` rates in uncompressed bytes per millisecond, which is kB/s:
//!
//! * `composite:compression_rate = size:uncompressed_size / time:compress`;
//! * `composite:decompression_rate = size:uncompressed_size / time:decompress`;
//! * `composite:compression_rate_many = size:uncompressed_size / time:compress_many`;
//! * `composite:decompression_rate_many = size:uncompressed_size / time:decompress_many`.
//!
//! A rate is a value when both of its inputs are set in the children's results (that is, with
//! `time` and `size` children after the call), a typed placeholder otherwise. The decompression
//! rates use `size:decompressed_size` when no uncompressed size is known (a decompression-only
//! use). Time is whole milliseconds, so a call faster than 1 ms gives `+inf`, as LibPressio's
//! division does.
//!
//! Every hook is forwarded to every child in order; when children fail, the first error is
//! returned after all children have run. Configuration: the lowest thread safety of the
//! children, `stable`, `predictors:requires_decompress` as the list of result keys that need a
//! decompression (a child's `true` stands for all of its result keys) and
//! `predictors:invalidate` as the union of the children's plus `predictors:runtime`.

#![warn(missing_docs)]

use pressio_ml_core::{
    keys, Data, MetricsPlugin, Options, OptionsHook, Phase, PressioError, Registry,
    RegistryBuilder, Result, ThreadSafety, Value,
};

/// Registry id and key prefix of the metric.
pub const ID: &str = "composite";
/// Option key: child metric ids (`char*[]`).
pub const PLUGINS: &str = "composite:plugins";
/// Option key: names of the children (`char*[]`).
pub const NAMES: &str = "composite:names";
/// Result key: uncompressed bytes per millisecond of compression (`double`, kB/s).
pub const COMPRESSION_RATE: &str = "composite:compression_rate";
/// Result key: uncompressed bytes per millisecond of decompression (`double`, kB/s).
pub const DECOMPRESSION_RATE: &str = "composite:decompression_rate";
/// Result key: uncompressed bytes per millisecond of `compress_many` (`double`, kB/s).
pub const COMPRESSION_RATE_MANY: &str = "composite:compression_rate_many";
/// Result key: uncompressed bytes per millisecond of `decompress_many` (`double`, kB/s).
pub const DECOMPRESSION_RATE_MANY: &str = "composite:decompression_rate_many";

const UNCOMPRESSED_SIZE: &str = "size:uncompressed_size";
const DECOMPRESSED_SIZE: &str = "size:decompressed_size";

/// Register the `composite` metric.
pub fn register(builder: &mut RegistryBuilder) -> Result<()> {
    builder.metric(ID, |reg| Box::new(CompositeMetric::new(reg.clone())))?;
    Ok(())
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

/// One child metric.
struct Child {
    id: String,
    plugin: Box<dyn MetricsPlugin>,
    /// Result keys of the child (they depend on its options, not on its state).
    result_keys: Vec<String>,
}

impl Child {
    fn new(id: &str, mut plugin: Box<dyn MetricsPlugin>) -> Child {
        let result_keys = plugin.results(&Options::new()).keys().cloned().collect();
        Child {
            id: id.to_string(),
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

/// The `composite` metrics plugin.
#[derive(Clone)]
pub struct CompositeMetric {
    registry: Registry,
    children: Vec<Child>,
    names: Vec<String>,
}

impl std::fmt::Debug for CompositeMetric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompositeMetric")
            .field(
                "children",
                &self.children.iter().map(|c| &c.id).collect::<Vec<_>>(),
            )
            .field("names", &self.names)
            .finish()
    }
}

impl CompositeMetric {
    /// A composite without children; `registry` builds the children named by
    /// `composite:plugins`.
    pub fn new(registry: Registry) -> Self {
        CompositeMetric {
            registry,
            children: Vec::new(),
            names: Vec::new(),
        }
    }

    fn ids(&self) -> Vec<String> {
        self.children.iter().map(|c| c.id.clone()).collect()
    }

    /// Run `f` on every child; the first error is returned once all have run.
    fn each(&mut self, mut f: impl FnMut(&mut dyn MetricsPlugin) -> Result<()>) -> Result<()> {
        let mut first = Ok(());
        for c in &mut self.children {
            let r = f(c.plugin.as_mut());
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
}

/// `bytes / ms` when both are known.
fn rate(bytes: Option<u64>, ms: Option<u32>) -> Option<f64> {
    Some(bytes? as f64 / ms? as f64)
}

impl MetricsPlugin for CompositeMetric {
    fn id(&self) -> &str {
        ID
    }

    fn begin_compress(&mut self, input: &Data, output: &Data) -> Result<()> {
        self.each(|c| c.begin_compress(input, output))
    }

    fn end_compress(&mut self, input: &Data, output: &Data, ok: bool) -> Result<()> {
        self.each(|c| c.end_compress(input, output, ok))
    }

    fn begin_decompress(&mut self, input: &Data, output: &Data) -> Result<()> {
        self.each(|c| c.begin_decompress(input, output))
    }

    fn end_decompress(&mut self, input: &Data, output: &Data, ok: bool) -> Result<()> {
        self.each(|c| c.end_decompress(input, output, ok))
    }

    fn begin_compress_many(&mut self, inputs: &[&Data], outputs: &[&Data]) -> Result<()> {
        self.each(|c| c.begin_compress_many(inputs, outputs))
    }

    fn end_compress_many(&mut self, inputs: &[&Data], outputs: &[&Data], ok: bool) -> Result<()> {
        self.each(|c| c.end_compress_many(inputs, outputs, ok))
    }

    fn begin_decompress_many(&mut self, inputs: &[&Data], outputs: &[&Data]) -> Result<()> {
        self.each(|c| c.begin_decompress_many(inputs, outputs))
    }

    fn end_decompress_many(&mut self, inputs: &[&Data], outputs: &[&Data], ok: bool) -> Result<()> {
        self.each(|c| c.end_decompress_many(inputs, outputs, ok))
    }

    fn options_hook(&mut self, hook: OptionsHook, phase: Phase) {
        for c in &mut self.children {
            c.plugin.options_hook(hook, phase);
        }
    }

    fn results(&mut self, compressor_results: &Options) -> Options {
        let mut o = Options::new();
        for c in &mut self.children {
            o.merge(&c.plugin.results(compressor_results));
        }
        let uncompressed = o.get::<u64>(UNCOMPRESSED_SIZE).1;
        let out_bytes = uncompressed.or(o.get::<u64>(DECOMPRESSED_SIZE).1);
        let time = |k: &str| o.get::<u32>(k).1;
        let rates = [
            (COMPRESSION_RATE, rate(uncompressed, time("time:compress"))),
            (DECOMPRESSION_RATE, rate(out_bytes, time("time:decompress"))),
            (
                COMPRESSION_RATE_MANY,
                rate(uncompressed, time("time:compress_many")),
            ),
            (
                DECOMPRESSION_RATE_MANY,
                rate(out_bytes, time("time:decompress_many")),
            ),
        ];
        for (k, v) in rates {
            o.set_or_placeholder(k, v);
        }
        o
    }

    fn options(&self) -> Options {
        let mut o = Options::new();
        o.set(PLUGINS, Value::Strings(self.ids()));
        o.set(NAMES, Value::Strings(self.names.clone()));
        for c in &self.children {
            o.merge(&c.plugin.options());
        }
        o
    }

    fn set_options(&mut self, options: &Options) -> Result<()> {
        let plugins = options.get_typed::<Vec<String>>(PLUGINS)?;
        let names = options.get_typed::<Vec<String>>(NAMES)?;
        let rebuild = plugins.as_ref().is_some_and(|p| *p != self.ids());
        let count = match (&plugins, rebuild) {
            (Some(p), true) => p.len(),
            _ => self.children.len(),
        };
        if let Some(n) = &names {
            if n.len() != count {
                return Err(PressioError::invalid_option(
                    NAMES,
                    format!("{} names for {count} child metrics", n.len()),
                ));
            }
        }
        if let (Some(ids), true) = (&plugins, rebuild) {
            let mut built = Vec::with_capacity(ids.len());
            for id in ids {
                built.push(Child::new(id, self.registry.metric_plugin(id)?));
            }
            self.children = built;
            self.names = ids.clone();
        }
        if let Some(n) = names {
            self.names = n;
        }
        let mut forwarded = options.clone();
        forwarded.remove(PLUGINS);
        forwarded.remove(NAMES);
        let r = self.each(|c| c.set_options(&forwarded));
        for c in &mut self.children {
            c.refresh_keys();
        }
        r
    }

    fn configuration(&self) -> Options {
        let mut requires = vec![
            DECOMPRESSION_RATE.to_string(),
            DECOMPRESSION_RATE_MANY.to_string(),
        ];
        let mut invalidate = vec![keys::PREDICTORS_RUNTIME.to_string()];
        let mut safety = ThreadSafety::Multiple;
        let mut extra = Options::new();
        for c in &self.children {
            let cfg = c.plugin.configuration();
            requires.extend(requires_decompress_keys(&cfg, &c.result_keys));
            if let Some(Value::Strings(v)) = cfg.value(keys::PREDICTORS_INVALIDATE) {
                invalidate.extend(v.iter().cloned());
            }
            if let Some(Value::ThreadSafety(t)) = cfg.value(keys::THREAD_SAFE) {
                safety = safety.min(*t);
            }
            extra.merge(&cfg);
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
        // children's own configuration keys, if any (the merged keys above win)
        o.merge(&extra);
        o
    }

    fn documentation(&self) -> Options {
        let mut d = Options::new();
        d.set(
            keys::DESCRIPTION,
            "composite metric: runs several metrics as one and adds compression and \
             decompression rates when time and size are among them",
        );
        d.set(PLUGINS, "ids of the child metrics, in order");
        d.set(
            NAMES,
            "one name per child metric (defaults to the child ids)",
        );
        d.set(
            COMPRESSION_RATE,
            "size:uncompressed_size / time:compress, in bytes per ms (kB/s); needs the time and \
             size metrics",
        );
        d.set(
            DECOMPRESSION_RATE,
            "size:uncompressed_size / time:decompress, in bytes per ms (kB/s); needs the time \
             and size metrics",
        );
        d.set(
            COMPRESSION_RATE_MANY,
            "size:uncompressed_size / time:compress_many, in bytes per ms (kB/s); needs the time \
             and size metrics",
        );
        d.set(
            DECOMPRESSION_RATE_MANY,
            "size:uncompressed_size / time:decompress_many, in bytes per ms (kB/s); needs the \
             time and size metrics",
        );
        for c in &self.children {
            d.merge(&c.plugin.documentation());
        }
        d
    }

    fn children(&self) -> Vec<String> {
        self.ids()
    }

    fn clone_metric(&self) -> Box<dyn MetricsPlugin> {
        Box::new(self.clone())
    }
}
