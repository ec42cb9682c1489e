//! A trained DeepCQ model: manifest hyper-parameters, loading by name or path, and prediction
//! (features once per input, then any number of bounds).

use crate::blocks::{sample_blocks, statistics, BlockConfig, STATS};
use crate::net::{DeepCqNet, HeadKind, NetConfig, ARCHITECTURE};
use crate::targets::HeadId;
use pressio_ml_core::{DType, Data, FillSpec, PressioError, Result};
use pressio_ml_nn::inference::{inference, tensor_from_f32, tensor_to_f32};
use pressio_ml_nn::model::{load_weights, resolve, Manifest};
use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::{Device, Kind};

/// Name of the shipped model.
pub const DEFAULT_MODEL: &str = "deepcq-general";

/// Seed of the blocks a prediction samples (fixed, so a prediction is reproducible).
pub const FEATURE_SEED: u64 = 0x0dee_9c0d;

/// What a DeepCQ manifest's `hyperparameters` hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hyper {
    /// Network sizes.
    pub net: NetConfig,
    /// Block sampling.
    pub blocks: BlockConfig,
    /// Heads, in output order.
    pub heads: Vec<HeadId>,
    /// Per head, the training targets' mean and standard deviation.
    pub scales: Vec<[f64; 2]>,
    /// Relative bounds the model was trained on, `[lowest, highest]`.
    pub bound_range: [f64; 2],
    /// The head variant with the lower validation error.
    pub default_head: HeadKind,
    /// Evaluation record (MAPE per head and split), for people.
    #[serde(default)]
    pub evaluation: serde_json::Value,
}

impl Hyper {
    /// The bound embedding's input for a relative bound: `log10(rel)` mapped so that the
    /// trained range is `[-1, 1]`.
    pub fn bound_input(&self, rel: f64) -> f32 {
        let (lo, hi) = (self.bound_range[0].log10(), self.bound_range[1].log10());
        let half = ((hi - lo) / 2.0).max(1e-9);
        ((rel.log10() - (lo + hi) / 2.0) / half) as f32
    }

    /// Whether `rel` lies in the trained range (with 1% slack for rounding).
    pub fn in_range(&self, rel: f64) -> bool {
        rel >= self.bound_range[0] * 0.99 && rel <= self.bound_range[1] * 1.01
    }

    /// Compressor ids that have heads, in order of first appearance.
    pub fn compressors(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for h in &self.heads {
            if !out.contains(&h.compressor) {
                out.push(h.compressor.clone());
            }
        }
        out
    }

    /// Check the sizes and the heads against the scales.
    pub fn validate(&self) -> Result<()> {
        self.net.validate()?;
        self.blocks.validate()?;
        let [lo, hi] = self.bound_range;
        if self.heads.is_empty()
            || self.scales.len() != self.heads.len()
            || self
                .scales
                .iter()
                .any(|s| !s[0].is_finite() || !s[1].is_finite() || s[1] <= 0.0)
            || !(lo > 0.0 && hi > lo && hi.is_finite())
        {
            return Err(PressioError::Model(
                "deepcq: the manifest's heads, scales or bound range are inconsistent".into(),
            ));
        }
        Ok(())
    }
}

/// A predicted table: `values[bound][compressor] = [ratio, psnr, ssim]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Relative bounds.
    pub bounds: Vec<f64>,
    /// Compressor ids.
    pub compressors: Vec<String>,
    /// Predictions.
    pub values: Vec<Vec<[f64; 3]>>,
}

impl Table {
    /// The prediction for `compressor` at the `b`-th bound.
    pub fn get(&self, b: usize, compressor: &str) -> Option<[f64; 3]> {
        let c = self.compressors.iter().position(|x| x == compressor)?;
        self.values.get(b).map(|row| row[c])
    }
}

/// A loaded model, ready to predict on the CPU.
pub struct LoadedModel {
    /// The manifest.
    pub manifest: Manifest,
    /// Its hyper-parameters.
    pub hyper: Hyper,
    /// Lower-case hex SHA-256 of the weights.
    pub hash: String,
    net: DeepCqNet,
    _vs: VarStore,
}

impl std::fmt::Debug for LoadedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModel")
            .field("name", &self.manifest.name)
            .field("hash", &self.hash)
            .finish()
    }
}

impl LoadedModel {
    /// Load the model named (or at the path) `spec`.
    pub fn load(spec: &str) -> Result<LoadedModel> {
        let files = resolve(spec)
            .map_err(|e| PressioError::Model(format!("deepcq: cannot load model `{spec}`: {e}")))?;
        if files.manifest.architecture != ARCHITECTURE {
            return Err(PressioError::Model(format!(
                "deepcq: model `{spec}` is a `{}` model, not `{ARCHITECTURE}`",
                files.manifest.architecture
            )));
        }
        let hyper: Hyper = serde_json::from_value(files.manifest.hyperparameters.clone())
            .map_err(|e| PressioError::Model(format!("deepcq: model `{spec}`: {e}")))?;
        hyper.validate()?;
        let (net, vs) = inference(|| {
            let mut vs = VarStore::new(Device::Cpu);
            vs.set_kind(Kind::Float);
            let net = DeepCqNet::new(&vs.root(), &hyper.net, hyper.heads.len())?;
            load_weights(&vs, &files.weights, &format!("deepcq model `{spec}`"))?;
            Ok((net, vs))
        })?;
        Ok(LoadedModel {
            hash: pressio_ml_nn::model::hex(&files.hash),
            manifest: files.manifest,
            hyper,
            net,
            _vs: vs,
        })
    }

    /// The features of one field (`dims` fastest first, `valid` its validity mask) and its
    /// valid value range.
    pub fn features(
        &self,
        values: &[f64],
        dims: &[usize],
        valid: Option<&[bool]>,
    ) -> Result<(Vec<f32>, f64)> {
        let b = sample_blocks(values, dims, valid, &self.hyper.blocks, FEATURE_SEED)?;
        let stats = statistics(&b);
        let features = inference(|| {
            let x = tensor_from_f32(&b.data, &b.tensor_shape(), Device::Cpu)?;
            let s = tensor_from_f32(&stats, &[1, STATS as i64], Device::Cpu)?;
            tensor_to_f32(&self.net.features(&x, 1, &s)?)
        })?;
        Ok((features, b.range))
    }

    /// The features of a buffer and its valid value range: any dtype but byte and bool,
    /// NaN/Inf refused, fill points (under `fill`) left out of the blocks and of the range.
    pub fn data_features(&self, data: &Data, fill: &FillSpec) -> Result<(Vec<f32>, f64)> {
        data.check_input()?;
        let mask = match data.dtype() {
            DType::Byte | DType::Bool => {
                return Err(PressioError::UnsupportedDType {
                    plugin: "deepcq".into(),
                    dtype: data.dtype().to_string(),
                })
            }
            DType::Float => fill.detect(data.as_slice::<f32>()?),
            DType::Double => fill.detect(data.as_slice::<f64>()?),
            _ => None,
        };
        let values = data.to_f64_vec();
        let bad = values.iter().filter(|v| !v.is_finite()).count();
        if bad > 0 {
            return Err(PressioError::InvalidInput(format!(
                "deepcq: the input holds {bad} NaN or infinite values; the model was trained on \
                 finite fields (declare missing values as fill values instead)"
            )));
        }
        let valid: Option<Vec<bool>> = mask.map(|f| f.iter().map(|x| !x).collect());
        self.features(&values, data.dims(), valid.as_deref())
    }

    /// The whole predicted table: per bound, per compressor with heads, `[ratio, psnr, ssim]`.
    pub fn table(&self, features: &[f32], bounds: &[f64], kind: HeadKind) -> Result<Table> {
        let p = self.predict(features, bounds, kind)?;
        let compressors = self.hyper.compressors();
        let heads = &self.hyper.heads;
        let mut values = vec![vec![[f64::NAN; 3]; compressors.len()]; bounds.len()];
        for (i, row) in values.iter_mut().enumerate() {
            for (h, head) in heads.iter().enumerate() {
                if let Some(c) = compressors.iter().position(|c| *c == head.compressor) {
                    row[c][head.quality as usize] = p[i * heads.len() + h];
                }
            }
        }
        Ok(Table {
            bounds: bounds.to_vec(),
            compressors,
            values,
        })
    }

    /// Predicted metric values for `features` at each relative bound of `bounds`:
    /// `bounds.len() * heads` values, bound-major, in the heads' order, on the metrics' own
    /// scales (ratio, dB, SSIM).
    pub fn predict(&self, features: &[f32], bounds: &[f64], kind: HeadKind) -> Result<Vec<f64>> {
        if bounds.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(b) = bounds.iter().find(|b| !(**b > 0.0 && b.is_finite())) {
            return Err(PressioError::InvalidArgument(format!(
                "deepcq: bound {b} is not a positive relative bound"
            )));
        }
        let fdim = self.hyper.net.features();
        if features.len() as i64 != fdim {
            return Err(PressioError::InvalidArgument(format!(
                "deepcq: {} features, the model takes {fdim}",
                features.len()
            )));
        }
        let xs: Vec<f32> = bounds.iter().map(|&b| self.hyper.bound_input(b)).collect();
        let raw = inference(|| {
            let f = tensor_from_f32(features, &[1, fdim], Device::Cpu)?;
            let e = self
                .net
                .embed(&tensor_from_f32(&xs, &[xs.len() as i64, 1], Device::Cpu)?)?;
            tensor_to_f32(&self.net.predict(&DeepCqNet::join(&f, &e)?, kind)?)
        })?;
        let h = self.hyper.heads.len();
        Ok(raw
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let head = &self.hyper.heads[i % h];
                let [mean, std] = self.hyper.scales[i % h];
                head.quality.from_target(f64::from(v) * std + mean)
            })
            .collect())
    }
}
