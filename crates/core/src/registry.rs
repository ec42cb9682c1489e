//! The registry of compressor and metric factories, by id.

use crate::compressor::{Compressor, CompressorPlugin};
use crate::error::{PressioError, Result};
use crate::metrics::{Metrics, MetricsPlugin};
use crate::options::{Options, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Builds a fresh compressor plugin; receives the registry so meta-compressors can build
/// children.
pub type CompressorFactory = Arc<dyn Fn(&Registry) -> Box<dyn CompressorPlugin> + Send + Sync>;
/// Builds a fresh metrics plugin; receives the registry so composites can build children.
pub type MetricFactory = Arc<dyn Fn(&Registry) -> Box<dyn MetricsPlugin> + Send + Sync>;

#[derive(Default)]
struct Inner {
    compressors: BTreeMap<String, CompressorFactory>,
    metrics: BTreeMap<String, MetricFactory>,
}

/// Collects factories; ids are unique (a second registration of an id is an error, never an
/// overwrite).
#[derive(Default)]
pub struct RegistryBuilder {
    inner: Inner,
}

impl RegistryBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Register a compressor factory under `id`.
    pub fn compressor<F>(&mut self, id: &str, factory: F) -> Result<&mut Self>
    where
        F: Fn(&Registry) -> Box<dyn CompressorPlugin> + Send + Sync + 'static,
    {
        if self.inner.compressors.contains_key(id) {
            return Err(PressioError::InvalidArgument(format!(
                "compressor id {id} registered twice"
            )));
        }
        self.inner
            .compressors
            .insert(id.to_string(), Arc::new(factory));
        Ok(self)
    }

    /// Register a metric factory under `id`.
    pub fn metric<F>(&mut self, id: &str, factory: F) -> Result<&mut Self>
    where
        F: Fn(&Registry) -> Box<dyn MetricsPlugin> + Send + Sync + 'static,
    {
        if self.inner.metrics.contains_key(id) {
            return Err(PressioError::InvalidArgument(format!(
                "metric id {id} registered twice"
            )));
        }
        self.inner.metrics.insert(id.to_string(), Arc::new(factory));
        Ok(self)
    }

    /// Freeze the registry.
    pub fn build(self) -> Registry {
        Registry {
            inner: Arc::new(self.inner),
        }
    }
}

/// An immutable, cheaply cloneable registry of factories.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

impl Registry {
    /// Ids of every registered compressor, sorted.
    pub fn compressor_ids(&self) -> Vec<String> {
        self.inner.compressors.keys().cloned().collect()
    }

    /// Ids of every registered metric, sorted.
    pub fn metric_ids(&self) -> Vec<String> {
        self.inner.metrics.keys().cloned().collect()
    }

    /// True if a compressor is registered under `id`.
    pub fn has_compressor(&self, id: &str) -> bool {
        self.inner.compressors.contains_key(id)
    }

    /// A fresh compressor plugin.
    pub fn compressor_plugin(&self, id: &str) -> Result<Box<dyn CompressorPlugin>> {
        let f = self
            .inner
            .compressors
            .get(id)
            .ok_or_else(|| PressioError::UnknownCompressor(id.to_string()))?;
        Ok(f(self))
    }

    /// A fresh compressor handle.
    pub fn compressor(&self, id: &str) -> Result<Compressor> {
        Ok(Compressor::new(self.compressor_plugin(id)?, self.clone()))
    }

    /// A fresh metrics plugin.
    pub fn metric_plugin(&self, id: &str) -> Result<Box<dyn MetricsPlugin>> {
        let f = self
            .inner
            .metrics
            .get(id)
            .ok_or_else(|| PressioError::UnknownMetric(id.to_string()))?;
        Ok(f(self))
    }

    /// A metrics handle for one id.
    pub fn metrics_by_id(&self, id: &str) -> Result<Metrics> {
        Ok(Metrics::new(self.metric_plugin(id)?))
    }

    /// A composite of the named metrics (`pressio_new_metrics`): the `composite` metric with
    /// `composite:plugins` set to `ids`.
    pub fn metrics(&self, ids: &[&str]) -> Result<Metrics> {
        for id in ids {
            if !self.inner.metrics.contains_key(*id) {
                return Err(PressioError::UnknownMetric(id.to_string()));
            }
        }
        let mut m = self.metrics_by_id("composite")?;
        let opts = Options::new().with(
            "composite:plugins",
            Value::Strings(ids.iter().map(|s| s.to_string()).collect()),
        );
        m.set_options(&opts)?;
        Ok(m)
    }
}
