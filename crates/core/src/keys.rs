//! Option, configuration and documentation key names shared by every plugin (LibPressio's
//! spelling).

/// Pointwise absolute error bound (`double`).
pub const ABS: &str = "pressio:abs";
/// Pointwise value-range-relative error bound (`double`).
pub const REL: &str = "pressio:rel";
/// Number of threads a plugin may use (`uint32`).
pub const NTHREADS: &str = "pressio:nthreads";
/// Metric id attached to a compressor (`char*`).
pub const METRIC: &str = "pressio:metric";
/// Whether metric errors fail the compressor call (`int32`).
pub const METRICS_ERRORS_FATAL: &str = "metrics:errors_fatal";
/// Whether compressor-internal results are copied into the metric results (`int32`).
pub const METRICS_COPY_RESULTS: &str = "metrics:copy_compressor_results";
/// Thread safety level (configuration, `threadsafety`).
pub const THREAD_SAFE: &str = "pressio:thread_safe";
/// Stability: stable, unstable, experimental or external (configuration, `char*`).
pub const STABILITY: &str = "pressio:stability";
/// Human description of a plugin (documentation, `char*`).
pub const DESCRIPTION: &str = "pressio:description";
/// Options that affect the result in an error-dependent way (configuration, `char*[]`).
pub const PREDICTORS_ERROR_DEPENDENT: &str = "predictors:error_dependent";
/// Options that affect the result independently of the bound (configuration, `char*[]`).
pub const PREDICTORS_ERROR_AGNOSTIC: &str = "predictors:error_agnostic";
/// Options that affect only the runtime (configuration, `char*[]`).
pub const PREDICTORS_RUNTIME: &str = "predictors:runtime";
/// Metric results that need a decompression (metric configuration).
pub const PREDICTORS_REQUIRES_DECOMPRESS: &str = "predictors:requires_decompress";
/// Which predictor categories a metric invalidates (metric configuration).
pub const PREDICTORS_INVALIDATE: &str = "predictors:invalidate";
/// High-level options a user would tune (configuration, `char*[]`).
pub const HIGHLEVEL: &str = "pressio:highlevel";
/// Child plugins (configuration, `char*[]`).
pub const CHILDREN: &str = "pressio:children";
/// Plugin prefix (configuration).
pub const PREFIX: &str = "pressio:prefix";
/// Plugin type: compressor or metric (configuration).
pub const TYPE: &str = "pressio:type";
/// Plugin version string (configuration).
pub const VERSION: &str = "pressio:version";
/// Plugin epoch version (configuration).
pub const VERSION_EPOCH: &str = "pressio:version_epoch";
/// Plugin major version (configuration).
pub const VERSION_MAJOR: &str = "pressio:version_major";
/// Plugin minor version (configuration).
pub const VERSION_MINOR: &str = "pressio:version_minor";
/// Plugin patch version (configuration).
pub const VERSION_PATCH: &str = "pressio:version_patch";
