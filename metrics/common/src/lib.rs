//! What the pressio-ml error metrics (`error_stat`, `ssim`) and `size` share, written once:
//!
//! * [`valid`]: which points are *valid* under the generic fill keys (`pressio:fill_mode`,
//!   `pressio:fill_value`, `pressio:fill_values`): finite in the input and not a fill point;
//! * [`window`]: the statistics of windows of (original, decompressed) pairs (means,
//!   population variances and covariance, extremes, the rule for non-finite pairs), taken by
//!   `ssim` over QCAT's 7-point windows and by `error_stat` over chunks merged into the whole
//!   buffer;
//! * [`pair`]: the plugin shell of a metric that keeps the uncompressed input at compression
//!   and compares it with the decompressed output, with the fill keys declared, documented and
//!   applied in one place.

#![warn(missing_docs)]

pub mod pair;
pub mod valid;
pub mod window;

pub use pair::{held_elements, PairMetric, PairStatistic};
pub use valid::{fill_mask, valid_points};
pub use window::{same_non_finite, Extremes, Moments, WindowSums};
