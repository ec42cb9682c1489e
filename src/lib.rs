//! pressio-ml: learning-based, error-bounded lossy compressors for scientific data, as
//! LibPressio-compatible plugins.
//!
//! This crate assembles every plugin of the workspace into one [`Registry`] and exposes the C ABI
//! (see `include/pressio_ml.h`). Rust users start from [`registry`]:
//!
//! ```
//! use pressio_ml::{registry, Data, Options};
//! let mut c = registry().compressor("classic").unwrap();
//! c.set_options(&Options::new().with("pressio:abs", 1e-3)).unwrap();
//! let input = Data::from_vec((0..1000).map(|i| (i as f32 * 0.01).sin()).collect(), &[1000]).unwrap();
//! let mut compressed = Data::empty(pressio_ml::DType::Byte, &[]);
//! c.compress(&input, &mut compressed).unwrap();
//! let mut output = Data::empty(pressio_ml::DType::Float, &[1000]);
//! c.decompress(&compressed, &mut output).unwrap();
//! ```

pub use pressio_ml_core::*;
use std::sync::OnceLock;

pub mod capi;

/// Version of the pressio-ml library.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Build a registry holding every compressor and metric of pressio-ml.
pub fn build_registry() -> Result<Registry> {
    let mut b = RegistryBuilder::new();
    pressio_ml_classic::register(&mut b)?;
    pressio_ml_sz3::register(&mut b)?;
    pressio_ml_zfp::register(&mut b)?;
    pressio_ml_sperr::register(&mut b)?;
    pressio_ml_aesz::register(&mut b)?;
    pressio_ml_gwlz::register(&mut b)?;
    pressio_ml_cfnn::register(&mut b)?;
    pressio_ml_srnsz::register(&mut b)?;
    pressio_ml_metric_size::register(&mut b)?;
    pressio_ml_metric_error_stat::register(&mut b)?;
    pressio_ml_metric_time::register(&mut b)?;
    pressio_ml_metric_ssim::register(&mut b)?;
    pressio_ml_metric_composite::register(&mut b)?;
    pressio_ml_metric_deepcq::register(&mut b)?;
    Ok(b.build())
}

/// The process-wide registry (built on first use).
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| build_registry().expect("plugin ids are unique"))
}
