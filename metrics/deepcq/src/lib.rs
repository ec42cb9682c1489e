//! DeepCQ for pressio-ml: a learned surrogate that predicts each compressor's compression
//! ratio, PSNR and SSIM at any error bound without compressing (Table V of the DeepCQ paper is
//! what [`train`] and the `pressio-ml deepcq-bench` command reproduce), as the `deepcq` metrics
//! plugin, plus a bound search driven by its predictions.
//!
//! * [`blocks`]: the blocks of the input the network sees;
//! * [`net`]: backbone (a 3-D residual CNN), bound embedding, MLP and mixture-of-experts heads;
//! * [`targets`]: the predicted metrics and their regression targets;
//! * [`model`]: trained models (manifest hyper-parameters, loading, prediction);
//! * [`metric`]: the `deepcq` metrics plugin (result keys `deepcq:<compressor>:<metric key>`);
//! * [`labels`]: tiles of the shared fields labelled by real compressions;
//! * [`train`]: the two-stage trainer; [`train_cli`]: `pressio-ml train deepcq`;
//! * [`search`]: bound search by prediction, and the bisection baseline.

#![warn(missing_docs)]

pub mod blocks;
pub mod labels;
pub mod metric;
pub mod model;
pub mod net;
pub mod search;
pub mod targets;
pub mod train;
pub mod train_cli;

pub use metric::{DeepCq, ID};
pub use model::{LoadedModel, DEFAULT_MODEL};

use pressio_ml_core::{RegistryBuilder, Result};

/// Register the `deepcq` metric.
pub fn register(builder: &mut RegistryBuilder) -> Result<()> {
    builder.metric(ID, |_| Box::new(DeepCq::new()))?;
    Ok(())
}
