//! The metrics plugin trait and the [`Metrics`] handle (LibPressio's `pressio_metrics`).

use crate::data::Data;
use crate::error::{PressioError, Result};
use crate::keys;
use crate::options::{Options, Value};

/// Which option call a metric hook observes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionsHook {
    /// `check_options`
    CheckOptions,
    /// `set_options`
    SetOptions,
    /// `get_options`
    GetOptions,
    /// `get_configuration`
    GetConfiguration,
    /// `get_documentation`
    GetDocumentation,
}

/// Before or after the observed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the call.
    Begin,
    /// After the call.
    End,
}

/// What a metrics plugin implements. Hooks default to doing nothing; the `_many` hooks default
/// to the single-buffer hooks when there is exactly one buffer.
///
/// Results follow LibPressio's convention: every result key is returned on every call, as a
/// typed placeholder while no value is available.
pub trait MetricsPlugin: Send {
    /// Registry id.
    fn id(&self) -> &str;
    /// Result and option key prefix (usually the id).
    fn prefix(&self) -> &str {
        self.id()
    }
    /// Called before a compression.
    fn begin_compress(&mut self, _input: &Data, _output: &Data) -> Result<()> {
        Ok(())
    }
    /// Called after a compression; `ok` is false when it failed.
    fn end_compress(&mut self, _input: &Data, _output: &Data, _ok: bool) -> Result<()> {
        Ok(())
    }
    /// Called before a decompression.
    fn begin_decompress(&mut self, _input: &Data, _output: &Data) -> Result<()> {
        Ok(())
    }
    /// Called after a decompression.
    fn end_decompress(&mut self, _input: &Data, _output: &Data, _ok: bool) -> Result<()> {
        Ok(())
    }
    /// Called before `compress_many`.
    fn begin_compress_many(&mut self, inputs: &[&Data], outputs: &[&Data]) -> Result<()> {
        match (inputs, outputs) {
            ([i], [o]) => self.begin_compress(i, o),
            _ => Ok(()),
        }
    }
    /// Called after `compress_many`.
    fn end_compress_many(&mut self, inputs: &[&Data], outputs: &[&Data], ok: bool) -> Result<()> {
        match (inputs, outputs) {
            ([i], [o]) => self.end_compress(i, o, ok),
            _ => Ok(()),
        }
    }
    /// Called before `decompress_many`.
    fn begin_decompress_many(&mut self, inputs: &[&Data], outputs: &[&Data]) -> Result<()> {
        match (inputs, outputs) {
            ([i], [o]) => self.begin_decompress(i, o),
            _ => Ok(()),
        }
    }
    /// Called after `decompress_many`.
    fn end_decompress_many(&mut self, inputs: &[&Data], outputs: &[&Data], ok: bool) -> Result<()> {
        match (inputs, outputs) {
            ([i], [o]) => self.end_decompress(i, o, ok),
            _ => Ok(()),
        }
    }
    /// Observes the option calls of the compressor it is attached to.
    fn options_hook(&mut self, _hook: OptionsHook, _phase: Phase) {}
    /// Every result key, with a value or a typed placeholder. `compressor_results` are the
    /// compressor's internal results.
    fn results(&mut self, compressor_results: &Options) -> Options;
    /// Settable options of the metric.
    fn options(&self) -> Options {
        Options::new()
    }
    /// Apply the keys this metric knows; ignore others.
    fn set_options(&mut self, _options: &Options) -> Result<()> {
        Ok(())
    }
    /// `pressio:thread_safe`, `pressio:stability`, `predictors:requires_decompress`,
    /// `predictors:invalidate`.
    fn configuration(&self) -> Options;
    /// `pressio:description` and one entry per option, configuration and result key.
    fn documentation(&self) -> Options;
    /// Child metrics' ids (composite).
    fn children(&self) -> Vec<String> {
        Vec::new()
    }
    /// A fresh copy with the same options and state.
    fn clone_metric(&self) -> Box<dyn MetricsPlugin>;
}

/// Standard metric configuration entries.
pub fn metric_configuration(requires_decompress: bool, invalidate: &[&str]) -> Options {
    let mut o = Options::new();
    o.set(
        keys::THREAD_SAFE,
        Value::ThreadSafety(crate::ThreadSafety::Multiple),
    );
    o.set(keys::STABILITY, "stable");
    o.set(keys::PREDICTORS_REQUIRES_DECOMPRESS, requires_decompress);
    o.set(
        keys::PREDICTORS_INVALIDATE,
        Value::Strings(invalidate.iter().map(|s| s.to_string()).collect()),
    );
    o
}

/// A metrics handle: a plugin plus its last error.
pub struct Metrics {
    plugin: Box<dyn MetricsPlugin>,
    last_error: Option<(i32, String)>,
}

impl Clone for Metrics {
    fn clone(&self) -> Self {
        Metrics {
            plugin: self.plugin.clone_metric(),
            last_error: None,
        }
    }
}

impl Metrics {
    /// Wrap a plugin.
    pub fn new(plugin: Box<dyn MetricsPlugin>) -> Self {
        Metrics {
            plugin,
            last_error: None,
        }
    }

    /// Registry id of the plugin.
    pub fn id(&self) -> &str {
        self.plugin.id()
    }

    /// The plugin.
    pub fn plugin_mut(&mut self) -> &mut dyn MetricsPlugin {
        self.plugin.as_mut()
    }

    /// Code of the last error (0 if none).
    pub fn error_code(&self) -> i32 {
        self.last_error.as_ref().map_or(0, |e| e.0)
    }

    /// Message of the last error.
    pub fn error_msg(&self) -> &str {
        self.last_error.as_ref().map_or("", |e| e.1.as_str())
    }

    /// The metric's options.
    pub fn get_options(&self) -> Options {
        self.plugin.options()
    }

    /// Apply options.
    pub fn set_options(&mut self, options: &Options) -> Result<()> {
        let r = self.plugin.set_options(options);
        self.last_error = r.as_ref().err().map(|e| (e.code(), e.to_string()));
        r
    }

    /// Configuration plus the generic `pressio:type`, `pressio:prefix`, `pressio:children`.
    pub fn get_configuration(&self) -> Options {
        let mut o = self.plugin.configuration();
        o.set(keys::TYPE, "metric");
        o.set(keys::PREFIX, self.plugin.prefix());
        o.set(keys::CHILDREN, Value::Strings(self.plugin.children()));
        o
    }

    /// Documentation plus the generic metric keys.
    pub fn get_documentation(&self) -> Options {
        let mut o = self.plugin.documentation();
        let mut g = Options::new();
        g.set(
            keys::THREAD_SAFE,
            "thread safety level: single, serialized or multiple",
        );
        g.set(
            keys::STABILITY,
            "stability of the plugin: stable, unstable, experimental or external",
        );
        g.set(
            keys::PREDICTORS_REQUIRES_DECOMPRESS,
            "whether the results need a decompression, or which results do",
        );
        g.set(
            keys::PREDICTORS_INVALIDATE,
            "predictor categories whose results this metric changes",
        );
        g.set(keys::TYPE, "kind of plugin: compressor or metric");
        g.set(keys::PREFIX, "prefix of this plugin's keys");
        g.set(keys::CHILDREN, "ids of child plugins");
        o.merge(&g);
        o
    }

    /// Results without compressor-internal results.
    pub fn get_results(&mut self) -> Options {
        self.plugin.results(&Options::new())
    }

    /// Results given the compressor's internal results.
    pub fn get_results_with(&mut self, compressor_results: &Options) -> Options {
        self.plugin.results(compressor_results)
    }

    /// Evaluate the metric standalone (`pressio_metrics_evaluate`): the compress hooks run when
    /// `uncompressed` is given, the decompress hooks when `decompressed` is given.
    pub fn evaluate(
        &mut self,
        uncompressed: Option<&Data>,
        compressed: Option<&Data>,
        decompressed: Option<&Data>,
    ) -> Result<Options> {
        let empty = Data::empty(crate::DType::Byte, &[]);
        let c = compressed.unwrap_or(&empty);
        let r = (|| {
            if uncompressed.is_none() && decompressed.is_none() {
                return Err(PressioError::InvalidArgument(
                    "evaluate needs the uncompressed or the decompressed data".into(),
                ));
            }
            if let Some(u) = uncompressed {
                self.plugin.begin_compress(u, c)?;
                self.plugin.end_compress(u, c, true)?;
            }
            if let Some(d) = decompressed {
                self.plugin.begin_decompress(c, d)?;
                self.plugin.end_decompress(c, d, true)?;
            }
            Ok(self.plugin.results(&Options::new()))
        })();
        self.last_error = r.as_ref().err().map(|e| (e.code(), e.to_string()));
        r
    }
}
