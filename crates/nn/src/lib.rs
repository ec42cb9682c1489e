//! The neural-network runtime of pressio-ml, on libtorch through the `tch` crate.
//!
//! * [`device`]: `auto` / `cpu` / `cuda` / `cuda:N` selection, with libtorch's CUDA support
//!   loaded on demand so that CPU-only machines need no CUDA libraries;
//! * [`fields`]: training fields on disk (raw `float` files named after their shape);
//! * [`model`]: models as files (safetensors weights plus a JSON [`model::Manifest`] with the
//!   architecture, hyper-parameters, normalisation constants, training record and the SHA-256
//!   of the weights), found by name in the model directories or by path;
//! * [`mod@inference`]: deterministic inference (global lock, fixed intra-op threads, deterministic
//!   algorithms, fixed batches and order) and a prediction checksum;
//! * [`layers`]: 2-D/3-D convolutions, dense layers and GDN/iGDN (libtorch, for training and
//!   for outputs that are stored rather than recomputed);
//! * [`progress`]: the trainers' progress bars and running loss;
//! * [`portable`]: a pure-Rust forward pass with a fixed order of operations, for every
//!   prediction a decoder must reproduce bit for bit on any host.
//!
//! # Building
//!
//! `LIBTORCH` must point at a libtorch or PyTorch 2.13.0 install (the directory holding `lib/`
//! and `include/`). Binaries need the libtorch library directory at run time: this crate's own
//! tests get an rpath from its build script; dependents add
//! `cargo:rustc-link-arg=-Wl,-rpath,<dir>` in theirs (the directory is exported to direct
//! dependents as `DEP_PRESSIO_ML_NN_LIBTORCH_LIB`, or is `$LIBTORCH/lib`).

#![warn(missing_docs)]

pub mod device;
pub mod fields;
pub mod inference;
pub mod layers;
pub mod model;
pub mod portable;
pub mod progress;

pub use device::{DeviceKind, DeviceSpec};
pub use inference::{inference, prediction_checksum, run_batched, training, INFERENCE_THREADS};
pub use model::{Manifest, ModelFiles};

use pressio_ml_core::PressioError;

/// Wrap a libtorch error as a [`PressioError::Backend`] of the `libtorch` backend.
pub fn tch_error(context: &str, e: tch::TchError) -> PressioError {
    PressioError::backend("libtorch", format!("{context}: {e}"))
}
