//! The compressor plugin trait and the [`Compressor`] handle that wraps it with LibPressio's
//! generic behaviour (metric hooks, generic keys, error state, pre-allocated outputs).

use crate::data::Data;
use crate::dtype::DType;
use crate::error::{PressioError, Result};
use crate::fill::FillOptions;
use crate::keys;
use crate::metrics::{Metrics, OptionsHook, Phase};
use crate::options::{Options, Value};
use crate::registry::Registry;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// LibPressio's `enum pressio_thread_safety`.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ThreadSafety {
    /// One handle per thread, and handles must not be used concurrently at all.
    Single = 0,
    /// Different handles may be used from different threads, one call at a time per handle.
    Serialized = 1,
    /// Different handles may be used concurrently from any thread.
    Multiple = 2,
}

impl ThreadSafety {
    /// `single`, `serialized` or `multiple`.
    pub fn name(self) -> &'static str {
        match self {
            ThreadSafety::Single => "single",
            ThreadSafety::Serialized => "serialized",
            ThreadSafety::Multiple => "multiple",
        }
    }
}

/// Value of `pressio:stability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stability {
    /// Options and stream format are stable.
    Stable,
    /// May change between minor versions.
    Unstable,
    /// Research code; anything may change.
    Experimental,
    /// Wraps something outside the project.
    External,
}

impl Stability {
    /// The LibPressio spelling.
    pub fn name(self) -> &'static str {
        match self {
            Stability::Stable => "stable",
            Stability::Unstable => "unstable",
            Stability::Experimental => "experimental",
            Stability::External => "external",
        }
    }
}

/// A plugin version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version.
    pub patch: u32,
}

impl Version {
    /// A version from its parts.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Version {
            major,
            minor,
            patch,
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// What a compressor plugin implements (LibPressio's `*_impl` virtuals).
///
/// Plugins declare every settable key in [`CompressorPlugin::options`] (typed placeholders for
/// unset ones), document every option and configuration key, and report `pressio:thread_safe`,
/// `pressio:stability` and the `predictors:*` lists in [`CompressorPlugin::configuration`].
/// Unknown keys passed to `set_options` are ignored; keys of the wrong type are errors.
pub trait CompressorPlugin: Send {
    /// Registry id (also used as the id in streams).
    fn id(&self) -> &str;
    /// Option prefix (usually the id).
    fn prefix(&self) -> &str;
    /// Plugin version.
    fn version(&self) -> Version;
    /// Every settable key with its current value or a typed placeholder.
    fn options(&self) -> Options;
    /// Apply the keys this plugin knows; ignore others.
    fn set_options(&mut self, options: &Options) -> Result<()>;
    /// Validate options without applying them.
    fn check_options(&self, _options: &Options) -> Result<()> {
        Ok(())
    }
    /// `pressio:thread_safe`, `pressio:stability`, `predictors:*` and plugin facts.
    fn configuration(&self) -> Options;
    /// `pressio:description` and one entry per option and configuration key.
    fn documentation(&self) -> Options;
    /// Whether this plugin's streams are pressio-ml stream containers naming its id and
    /// version, which it decodes (every compressor of this workspace; not a foreign compressor
    /// reached through the bridge). A meta-compressor may hand such a stream to the plugin its
    /// container names.
    fn writes_containers(&self) -> bool {
        false
    }
    /// Compress `input` into a byte buffer.
    fn compress(&mut self, input: &Data) -> Result<Data>;
    /// Decompress `input`. `template` carries the dtype and dims the caller expects (dims may be
    /// empty when the caller does not know them); the result's dims come from the stream.
    fn decompress(&mut self, input: &Data, template: &Data) -> Result<Data>;
    /// Compress several buffers; the default compresses each in turn.
    fn compress_many(&mut self, inputs: &[&Data]) -> Result<Vec<Data>> {
        inputs.iter().map(|d| self.compress(d)).collect()
    }
    /// Decompress several buffers; the default decompresses each in turn.
    fn decompress_many(&mut self, inputs: &[&Data], templates: &[&Data]) -> Result<Vec<Data>> {
        check_many_counts(inputs.len(), templates.len())?;
        inputs
            .iter()
            .zip(templates)
            .map(|(i, t)| self.decompress(i, t))
            .collect()
    }
    /// Compressor-internal results (copied into the metric results).
    fn metrics_results(&self) -> Options {
        Options::new()
    }
    /// Child compressors' ids (meta-compressors).
    fn children(&self) -> Vec<String> {
        Vec::new()
    }
    /// A fresh copy with the same options.
    fn clone_plugin(&self) -> Box<dyn CompressorPlugin>;
}

/// Build the standard configuration entries every plugin reports.
pub fn plugin_configuration(
    thread_safety: ThreadSafety,
    stability: Stability,
    error_dependent: &[&str],
    error_agnostic: &[&str],
    runtime: &[&str],
) -> Options {
    let strs = |v: &[&str]| Value::Strings(v.iter().map(|s| s.to_string()).collect());
    let mut o = Options::new();
    o.set(keys::THREAD_SAFE, Value::ThreadSafety(thread_safety));
    o.set(keys::STABILITY, stability.name());
    o.set(keys::PREDICTORS_ERROR_DEPENDENT, strs(error_dependent));
    o.set(keys::PREDICTORS_ERROR_AGNOSTIC, strs(error_agnostic));
    o.set(keys::PREDICTORS_RUNTIME, strs(runtime));
    o
}

/// Documentation of the keys that the [`Compressor`] handle adds to every plugin, and of the
/// generic configuration keys.
pub fn generic_compressor_documentation(prefix: &str) -> Options {
    let mut d = Options::new();
    let mut doc = |k: &str, v: &str| d.set(k, v);
    doc(
        keys::METRIC,
        "id of the metrics plugin attached to this compressor (\"noop\" for none)",
    );
    doc(
        &format!("{prefix}:metric"),
        "same as pressio:metric, for this compressor only",
    );
    doc(
        keys::METRICS_ERRORS_FATAL,
        "if non-zero, a metric error fails the compress call",
    );
    doc(
        keys::METRICS_COPY_RESULTS,
        "if non-zero, compressor-internal results are copied into the metric results",
    );
    doc(
        keys::THREAD_SAFE,
        "thread safety level: single, serialized or multiple",
    );
    doc(
        keys::STABILITY,
        "stability of the plugin: stable, unstable, experimental or external",
    );
    doc(
        keys::PREDICTORS_ERROR_DEPENDENT,
        "options whose effect depends on the error bound",
    );
    doc(
        keys::PREDICTORS_ERROR_AGNOSTIC,
        "options whose effect does not depend on the error bound",
    );
    doc(
        keys::PREDICTORS_RUNTIME,
        "options that only affect the run time",
    );
    doc(keys::HIGHLEVEL, "the options a typical user sets");
    doc(keys::CHILDREN, "ids of child plugins");
    doc(keys::PREFIX, "prefix of this plugin's option keys");
    doc(keys::TYPE, "kind of plugin: compressor or metric");
    doc(keys::VERSION, "version of the plugin");
    doc(
        keys::VERSION_EPOCH,
        "epoch version: incremented on incompatible stream changes",
    );
    doc(keys::VERSION_MAJOR, "major version of the plugin");
    doc(keys::VERSION_MINOR, "minor version of the plugin");
    doc(keys::VERSION_PATCH, "patch version of the plugin");
    d
}

/// Refuse a `compress_many` / `decompress_many` whose input and output counts differ.
pub fn check_many_counts(inputs: usize, outputs: usize) -> Result<()> {
    if inputs != outputs {
        return Err(PressioError::InvalidArgument(format!(
            "{inputs} inputs but {outputs} outputs"
        )));
    }
    Ok(())
}

/// Implement the [`CompressorPlugin`] methods that only restate a plugin's declared
/// [`OptionSchema`](crate::OptionSchema): `id` and `prefix` (both `$id`), `version`, `options`,
/// `set_options`, `check_options` and `configuration` (with the [`ThreadSafety`] and [`Stability`]
/// variants named). `state` names the field that holds the
/// schema's state (`state: config`), or is left out when the plugin itself is the state.
///
/// ```ignore
/// impl CompressorPlugin for Mine {
///     pressio_ml_core::schema_plugin_basics!(ID, VERSION, SCHEMA, Multiple, Experimental, state: config);
///     // compress, decompress, documentation, clone_plugin ...
/// }
/// ```
#[macro_export]
macro_rules! schema_plugin_basics {
    ($id:expr, $version:expr, $schema:expr, $safety:ident, $stability:ident $(, state: $field:ident)?) => {
        fn id(&self) -> &str {
            $id
        }

        fn prefix(&self) -> &str {
            $id
        }

        fn version(&self) -> $crate::Version {
            $version
        }

        fn options(&self) -> $crate::Options {
            $schema.options(&(*self)$(.$field)?)
        }

        fn set_options(&mut self, options: &$crate::Options) -> $crate::Result<()> {
            $schema.set(&mut (*self)$(.$field)?, options)
        }

        fn check_options(&self, options: &$crate::Options) -> $crate::Result<()> {
            $schema.check(&(*self)$(.$field)?, options)
        }

        fn configuration(&self) -> $crate::Options {
            $schema.configuration(
                $crate::ThreadSafety::$safety,
                $crate::Stability::$stability,
            )
        }

        fn writes_containers(&self) -> bool {
            true
        }
    };
}

/// Check a buffer that `plugin` returned from `decompress` before anything reads it.
///
/// A plugin may be foreign (a LibPressio compressor reached through the bridge, a C plugin) or a
/// meta-compressor's inner compressor, and some report success without filling their output:
/// LibPressio's `sz3` returns 0 and leaves the data pointer NULL when asked to decompress into an
/// output that has dims but no buffer. Callers therefore never trust the result's shape or
/// buffer: it must hold exactly the bytes its own dtype and dims describe and, when `expected`
/// gives the dtype and dims the caller asked for, that dtype, that element count and the same
/// dims (extents of 1 aside; a flat 1-D result of the right length is accepted too).
/// Every violation is a [`PressioError::Backend`] naming `plugin`.
pub fn check_decompressed(
    plugin: &str,
    out: &Data,
    expected: Option<(DType, &[usize])>,
) -> Result<()> {
    let fail = |m: String| Err(PressioError::backend(plugin, m));
    let (have, want) = (out.num_bytes(), out.expected_bytes());
    if out.dims().is_empty() && have > 0 {
        return fail(format!(
            "decompression returned {have} bytes of {} without dims",
            out.dtype()
        ));
    }
    if have != want {
        return fail(if have == 0 {
            format!(
                "decompression reported success but returned no buffer for its {} {} values \
                 (dims {:?})",
                out.num_elements(),
                out.dtype(),
                out.dims()
            )
        } else {
            format!(
                "decompression returned {have} bytes for dims {:?} of {} ({want} expected)",
                out.dims(),
                out.dtype()
            )
        });
    }
    let Some((dtype, dims)) = expected else {
        return Ok(());
    };
    if out.dtype() != dtype {
        return fail(format!(
            "decompression returned {} values where {dtype} was asked for",
            out.dtype()
        ));
    }
    let normal = |d: &[usize]| d.iter().copied().filter(|&x| x != 1).collect::<Vec<_>>();
    let n: usize = if dims.is_empty() {
        0
    } else {
        dims.iter().product()
    };
    let got = normal(out.dims());
    if out.num_elements() != n || (got != normal(dims) && got.len() > 1) {
        return fail(format!(
            "decompression returned dims {:?} where {dims:?} were asked for",
            out.dims()
        ));
    }
    Ok(())
}

/// A compressor handle: a plugin plus the metric attached to it and the last error
/// (LibPressio's `pressio_compressor`).
pub struct Compressor {
    plugin: Box<dyn CompressorPlugin>,
    registry: Registry,
    metric_id: String,
    metrics: RefCell<Option<Metrics>>,
    errors_fatal: bool,
    copy_results: bool,
    last_error: Option<(i32, String)>,
}

fn caught<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(PressioError::Internal(format!("{what} panicked: {msg}")))
        }
    }
}

impl Compressor {
    /// Wrap a plugin; `registry` is used to build metrics named by `pressio:metric`.
    pub fn new(plugin: Box<dyn CompressorPlugin>, registry: Registry) -> Self {
        Compressor {
            plugin,
            registry,
            metric_id: "noop".into(),
            metrics: RefCell::new(None),
            errors_fatal: true,
            copy_results: true,
            last_error: None,
        }
    }

    fn record<T>(&mut self, r: Result<T>) -> Result<T> {
        match &r {
            Ok(_) => self.last_error = None,
            Err(e) => self.last_error = Some((e.code(), e.to_string())),
        }
        r
    }

    fn hook(&self, hook: OptionsHook, phase: Phase) {
        if let Some(m) = self.metrics.borrow_mut().as_mut() {
            m.plugin_mut().options_hook(hook, phase);
        }
    }

    /// Registry id of the plugin.
    pub fn id(&self) -> &str {
        self.plugin.id()
    }

    /// Option prefix of the plugin.
    pub fn prefix(&self) -> &str {
        self.plugin.prefix()
    }

    /// Plugin version.
    pub fn version(&self) -> Version {
        self.plugin.version()
    }

    /// The wrapped plugin.
    pub fn plugin(&self) -> &dyn CompressorPlugin {
        self.plugin.as_ref()
    }

    /// Code of the last error (0 if the last call succeeded).
    pub fn error_code(&self) -> i32 {
        self.last_error.as_ref().map_or(0, |e| e.0)
    }

    /// Message of the last error (empty if the last call succeeded).
    pub fn error_msg(&self) -> &str {
        self.last_error.as_ref().map_or("", |e| e.1.as_str())
    }

    /// Every settable key: the plugin's, the metric keys and the metric's own options.
    pub fn get_options(&self) -> Options {
        self.hook(OptionsHook::GetOptions, Phase::Begin);
        let mut o = self.plugin.options();
        o.set(keys::METRIC, self.metric_id.as_str());
        o.set(
            format!("{}:metric", self.plugin.prefix()),
            self.metric_id.as_str(),
        );
        o.set(keys::METRICS_ERRORS_FATAL, self.errors_fatal as i32);
        o.set(keys::METRICS_COPY_RESULTS, self.copy_results as i32);
        if let Some(m) = self.metrics.borrow().as_ref() {
            o.merge(&m.get_options());
        }
        self.hook(OptionsHook::GetOptions, Phase::End);
        o
    }

    /// Apply options: metric selection, metric options, then the plugin's keys.
    pub fn set_options(&mut self, options: &Options) -> Result<()> {
        self.hook(OptionsHook::SetOptions, Phase::Begin);
        let r = self.set_options_inner(options);
        self.hook(OptionsHook::SetOptions, Phase::End);
        self.record(r)
    }

    fn set_options_inner(&mut self, options: &Options) -> Result<()> {
        let own_metric_key = format!("{}:metric", self.plugin.prefix());
        let metric = options
            .get_typed::<String>(&own_metric_key)?
            .or(options.get_typed::<String>(keys::METRIC)?);
        if let Some(id) = metric {
            if id != self.metric_id {
                let m = if id == "noop" || id.is_empty() {
                    None
                } else {
                    let mut m = self.registry.metrics_by_id(&id)?;
                    self.share_fill_keys(&mut m);
                    Some(m)
                };
                *self.metrics.borrow_mut() = m;
                self.metric_id = if id.is_empty() { "noop".into() } else { id };
            }
        }
        if let Some(v) = options.get_typed::<i32>(keys::METRICS_ERRORS_FATAL)? {
            self.errors_fatal = v != 0;
        }
        if let Some(v) = options.get_typed::<i32>(keys::METRICS_COPY_RESULTS)? {
            self.copy_results = v != 0;
        }
        if let Some(m) = self.metrics.borrow_mut().as_mut() {
            m.set_options(options)?;
        }
        let plugin = &mut self.plugin;
        caught("set_options", || plugin.set_options(options))
    }

    /// Check options: keys under this plugin's prefix that it does not declare are refused
    /// ("extra keys"), then the plugin's own checks run.
    pub fn check_options(&mut self, options: &Options) -> Result<()> {
        self.hook(OptionsHook::CheckOptions, Phase::Begin);
        let declared = self.get_options();
        let prefix = format!("{}:", self.plugin.prefix());
        let extra: Vec<&String> = options
            .keys()
            .filter(|k| k.starts_with(&prefix) && !declared.contains(k))
            .collect();
        let r = if !extra.is_empty() {
            Err(PressioError::UnknownOption(format!(
                "extra keys: {}",
                extra
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        } else {
            let plugin = &self.plugin;
            caught("check_options", || plugin.check_options(options))
        };
        self.hook(OptionsHook::CheckOptions, Phase::End);
        self.record(r)
    }

    /// The plugin's configuration plus version, prefix, type and children keys.
    pub fn get_configuration(&self) -> Options {
        self.hook(OptionsHook::GetConfiguration, Phase::Begin);
        let mut o = self.plugin.configuration();
        let v = self.plugin.version();
        o.set(keys::PREFIX, self.plugin.prefix());
        o.set(keys::TYPE, "compressor");
        o.set(keys::VERSION, v.to_string());
        o.set(keys::VERSION_MAJOR, v.major as i32);
        o.set(keys::VERSION_MINOR, v.minor as i32);
        o.set(keys::VERSION_PATCH, v.patch as i32);
        o.set(keys::VERSION_EPOCH, v.major as u64);
        o.set(keys::CHILDREN, Value::Strings(self.plugin.children()));
        self.hook(OptionsHook::GetConfiguration, Phase::End);
        o
    }

    /// The plugin's documentation plus the generic keys' documentation.
    pub fn get_documentation(&self) -> Options {
        self.hook(OptionsHook::GetDocumentation, Phase::Begin);
        let mut o = self.plugin.documentation();
        o.merge(&generic_compressor_documentation(self.plugin.prefix()));
        if let Some(m) = self.metrics.borrow().as_ref() {
            o.merge(&m.get_documentation());
        }
        self.hook(OptionsHook::GetDocumentation, Phase::End);
        o
    }

    fn metric_result(&self, r: Result<()>) -> Result<()> {
        if self.errors_fatal {
            r
        } else {
            Ok(())
        }
    }

    /// Compress `input` into `output` (which is replaced by a byte buffer).
    pub fn compress(&mut self, input: &Data, output: &mut Data) -> Result<()> {
        let r = self.compress_inner(input, output);
        self.record(r)
    }

    fn compress_inner(&mut self, input: &Data, output: &mut Data) -> Result<()> {
        input.check_input()?;
        if let Some(m) = self.metrics.borrow_mut().as_mut() {
            self.metric_result(m.plugin_mut().begin_compress(input, output))?;
        }
        let plugin = &mut self.plugin;
        let r = caught("compress", || plugin.compress(input));
        if let Some(m) = self.metrics.borrow_mut().as_mut() {
            let res = match &r {
                Ok(out) => m.plugin_mut().end_compress(input, out, true),
                Err(_) => m.plugin_mut().end_compress(input, output, false),
            };
            if r.is_ok() {
                self.metric_result(res)?;
            }
        }
        *output = r?;
        Ok(())
    }

    /// Check a decompressed result against the caller's template and store it in `output`,
    /// honouring pre-allocated (possibly borrowed) outputs.
    fn deliver(plugin: &str, mut result: Data, output: &mut Data) -> Result<()> {
        check_decompressed(plugin, &result, None)?;
        let template_known = !output.dims().is_empty() && output.num_elements() > 0;
        if template_known {
            if output.dtype() != result.dtype() && output.dtype() != DType::Byte {
                return Err(PressioError::StreamMismatch(format!(
                    "stream holds {} but the output asks for {}",
                    result.dtype(),
                    output.dtype()
                )));
            }
            if output.num_elements() != result.num_elements() {
                return Err(PressioError::InvalidDims(format!(
                    "stream holds dims {:?} but the output asks for {:?}",
                    result.dims(),
                    output.dims()
                )));
            }
            if output.dtype() == result.dtype() {
                result.reshape(output.dims())?;
            }
        }
        if output.has_data() {
            output.copy_from(&result)
        } else {
            *output = result;
            Ok(())
        }
    }

    /// Decompress `input` into `output`; `output` may be empty (dtype and dims taken from the
    /// stream, or checked against its dims when given) or pre-allocated (filled in place).
    pub fn decompress(&mut self, input: &Data, output: &mut Data) -> Result<()> {
        let r = self.decompress_inner(input, output);
        self.record(r)
    }

    fn decompress_inner(&mut self, input: &Data, output: &mut Data) -> Result<()> {
        if !input.has_data() {
            return Err(PressioError::InvalidInput(
                "compressed input is empty".into(),
            ));
        }
        if let Some(m) = self.metrics.borrow_mut().as_mut() {
            let _ = m.plugin_mut().begin_decompress(input, output);
        }
        let template = Data::empty(output.dtype(), output.dims());
        let plugin = &mut self.plugin;
        let r = caught("decompress", || plugin.decompress(input, &template))
            .and_then(|res| Self::deliver(plugin.id(), res, output));
        if let Some(m) = self.metrics.borrow_mut().as_mut() {
            let _ = m.plugin_mut().end_decompress(input, output, r.is_ok());
        }
        r
    }

    /// Compress several buffers (`pressio_compressor_compress_many`).
    pub fn compress_many(&mut self, inputs: &[&Data], outputs: &mut [Data]) -> Result<()> {
        let r = self.compress_many_inner(inputs, outputs);
        self.record(r)
    }

    fn compress_many_inner(&mut self, inputs: &[&Data], outputs: &mut [Data]) -> Result<()> {
        check_many_counts(inputs.len(), outputs.len())?;
        for i in inputs {
            i.check_input()?;
        }
        if let Some(m) = self.metrics.borrow_mut().as_mut() {
            let outs: Vec<&Data> = outputs.iter().collect();
            self.metric_result(m.plugin_mut().begin_compress_many(inputs, &outs))?;
        }
        let plugin = &mut self.plugin;
        let r = caught("compress_many", || plugin.compress_many(inputs));
        if let Some(m) = self.metrics.borrow_mut().as_mut() {
            match &r {
                Ok(res) => {
                    let outs: Vec<&Data> = res.iter().collect();
                    self.metric_result(m.plugin_mut().end_compress_many(inputs, &outs, true))?;
                }
                Err(_) => {
                    let outs: Vec<&Data> = outputs.iter().collect();
                    let _ = m.plugin_mut().end_compress_many(inputs, &outs, false);
                }
            }
        }
        for (o, res) in outputs.iter_mut().zip(r?) {
            *o = res;
        }
        Ok(())
    }

    /// Decompress several buffers (`pressio_compressor_decompress_many`).
    pub fn decompress_many(&mut self, inputs: &[&Data], outputs: &mut [Data]) -> Result<()> {
        let r = self.decompress_many_inner(inputs, outputs);
        self.record(r)
    }

    fn decompress_many_inner(&mut self, inputs: &[&Data], outputs: &mut [Data]) -> Result<()> {
        check_many_counts(inputs.len(), outputs.len())?;
        if inputs.iter().any(|i| !i.has_data()) {
            return Err(PressioError::InvalidInput(
                "compressed input is empty".into(),
            ));
        }
        if let Some(m) = self.metrics.borrow_mut().as_mut() {
            let outs: Vec<&Data> = outputs.iter().collect();
            let _ = m.plugin_mut().begin_decompress_many(inputs, &outs);
        }
        let templates: Vec<Data> = outputs
            .iter()
            .map(|o| Data::empty(o.dtype(), o.dims()))
            .collect();
        let trefs: Vec<&Data> = templates.iter().collect();
        let plugin = &mut self.plugin;
        let r =
            caught("decompress_many", || plugin.decompress_many(inputs, &trefs)).and_then(|res| {
                if res.len() != outputs.len() {
                    return Err(PressioError::backend(
                        plugin.id(),
                        format!(
                            "decompress_many returned {} buffers for {} outputs",
                            res.len(),
                            outputs.len()
                        ),
                    ));
                }
                for (o, d) in outputs.iter_mut().zip(res) {
                    Self::deliver(plugin.id(), d, o)?;
                }
                Ok(())
            });
        if let Some(m) = self.metrics.borrow_mut().as_mut() {
            let outs: Vec<&Data> = outputs.iter().collect();
            let _ = m.plugin_mut().end_decompress_many(inputs, &outs, r.is_ok());
        }
        r
    }

    /// Results of the attached metric, plus the compressor's internal results when
    /// `metrics:copy_compressor_results` is set.
    pub fn get_metrics_results(&self) -> Options {
        let internal = self.plugin.metrics_results();
        let mut out = match self.metrics.borrow_mut().as_mut() {
            Some(m) => m.get_results_with(&internal),
            None => Options::new(),
        };
        if self.copy_results {
            out.merge(&internal);
        }
        out
    }

    /// Attach a copy of `metrics` (`pressio_compressor_set_metrics` clones).
    pub fn set_metrics(&mut self, metrics: &Metrics) {
        self.metric_id = metrics.id().to_string();
        let mut m = metrics.clone();
        self.share_fill_keys(&mut m);
        *self.metrics.borrow_mut() = Some(m);
    }

    /// Give a newly attached metric the plugin's current fill keys, so that it measures over
    /// the same valid points the compressor keeps the bound on (a metric that does not know the
    /// keys ignores them).
    fn share_fill_keys(&self, m: &mut Metrics) {
        let current = self.plugin.options();
        let mut fill = Options::new();
        for (key, _) in FillOptions::types() {
            if let Some(o) = current.get_option(key).filter(|o| o.has_value()) {
                fill.insert_option(key, o.clone());
            }
        }
        if !fill.is_empty() {
            // the plugin accepted these values, so a metric refusing them has nothing to add
            let _ = m.set_options(&fill);
        }
    }

    /// A copy of the attached metrics, if any.
    pub fn get_metrics(&self) -> Option<Metrics> {
        self.metrics.borrow().clone()
    }

    /// The id of the attached metric ("noop" when none).
    pub fn metric_id(&self) -> &str {
        &self.metric_id
    }

    /// The registry this handle builds metrics from.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Whether the plugin may be used from several threads at once through distinct handles.
    pub fn thread_safety(&self) -> ThreadSafety {
        match self.plugin.configuration().value(keys::THREAD_SAFE) {
            Some(Value::ThreadSafety(t)) => *t,
            _ => ThreadSafety::Single,
        }
    }
}

impl Clone for Compressor {
    /// A new handle with a cloned plugin and metric (`pressio_compressor_clone`).
    fn clone(&self) -> Compressor {
        Compressor {
            plugin: self.plugin.clone_plugin(),
            registry: self.registry.clone(),
            metric_id: self.metric_id.clone(),
            metrics: RefCell::new(self.metrics.borrow().clone()),
            errors_fatal: self.errors_fatal,
            copy_results: self.copy_results,
            last_error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decompressed_results_are_checked_before_use() {
        let dims = [4usize, 3];
        let good = Data::from_vec(vec![1f32; 12], &dims).unwrap();
        let want = Some((DType::Float, &dims[..]));
        assert!(check_decompressed("x", &good, want).is_ok());
        assert!(check_decompressed("x", &good, None).is_ok());
        // a flat result of the right length, and extents of 1, are fine
        let flat = Data::from_vec(vec![1f32; 12], &[12]).unwrap();
        assert!(check_decompressed("x", &flat, want).is_ok());
        let ones = Data::from_vec(vec![1f32; 12], &[4, 1, 3]).unwrap();
        assert!(check_decompressed("x", &ones, want).is_ok());
        let refused = |d: &Data, want, words: &str| {
            let e = check_decompressed("inner", d, want).unwrap_err();
            assert_eq!(e.code(), 13, "{e}");
            let m = e.to_string();
            assert!(m.starts_with("inner: ") && m.contains(words), "{m}");
        };
        // success without a buffer (LibPressio's sz3 on an unallocated output), with or without
        // expectations
        let empty = Data::empty(DType::Float, &dims);
        refused(&empty, want, "no buffer for its 12 float values");
        refused(&empty, None, "no buffer");
        refused(
            &Data::from_vec(vec![1f32; 11], &[11]).unwrap(),
            want,
            "dims [11]",
        );
        refused(
            &Data::from_vec(vec![1f32; 12], &[3, 4]).unwrap(),
            want,
            "dims [3, 4]",
        );
        refused(
            &Data::from_vec(vec![1f64; 12], &dims).unwrap(),
            want,
            "double",
        );
        // a byte result is checked like any other
        let raw = Data::from_byte_vec(vec![1, 2, 3]);
        assert!(check_decompressed("x", &raw, None).is_ok());
        refused(&raw, want, "byte");
    }
}
