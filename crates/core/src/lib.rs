//! The plugin core of pressio-ml.
//!
//! This crate mirrors LibPressio's object model so that the C ABI and the LibPressio bridge are
//! thin translations of it:
//!
//! * [`DType`] and [`Data`]: typed n-D buffers, dims fastest-first, owned or borrowed;
//! * [`Options`], [`Value`], [`OptionType`]: typed options with LibPressio's three-way key status
//!   and exact-type `get` semantics, plus explicit conversions for command lines;
//! * [`CompressorPlugin`] / [`Compressor`]: the plugin trait and the handle that adds the generic
//!   keys, the metric hooks and error state, as LibPressio's `compressor_base.cc` does;
//! * [`MetricsPlugin`] / [`Metrics`]: metric plugins and their handle;
//! * [`Registry`]: factories by id;
//! * [`BoundOptions`] and [`ThreadOptions`]: the generic `pressio:abs`, `pressio:rel` and
//!   `pressio:nthreads` keys, declared and documented once for every plugin;
//! * [`FillOptions`] and [`FillSpec`]: the generic fill-value keys and the rule that finds fill
//!   points;
//! * [`OptionSchema`]: a plugin's options declared once (key, type, default, documentation,
//!   validation), driving `get_options`, `set_options`, `get_documentation` and the option
//!   lists of `get_configuration`.

mod bound;
mod compressor;
mod data;
mod dtype;
mod error;
pub mod fill;
pub mod keys;
mod metrics;
mod options;
mod registry;
pub mod schema;

pub use bound::{BoundOptions, BoundSpec, ThreadOptions};
pub use compressor::{
    check_decompressed, check_many_counts, generic_compressor_documentation, plugin_configuration,
    Compressor, CompressorPlugin, Stability, ThreadSafety, Version,
};
pub use data::{Data, Element};
pub use dtype::DType;
pub use error::{PressioError, Result};
pub use fill::{FillMode, FillOptions, FillSpec};
pub use metrics::{metric_configuration, Metrics, MetricsPlugin, OptionsHook, Phase};
pub use options::{
    ConversionSafety, KeyStatus, OptionType, OptionValue, Options, PressioOption, Value,
};
pub use registry::{CompressorFactory, MetricFactory, Registry, RegistryBuilder};
pub use schema::{Affects, Choices, Group, Key, KeyInfo, OptionSchema, Reject, SetResult};
