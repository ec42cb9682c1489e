//! What DeepCQ predicts: one head per (compressor, quality metric), the metrics' result keys,
//! and the transforms that turn a metric into a well-scaled regression target.

use serde::{Deserialize, Serialize};

/// A quality metric DeepCQ predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    /// `size:compression_ratio`
    Ratio,
    /// `error_stat:psnr`
    Psnr,
    /// `ssim:ssim`
    Ssim,
}

/// Every predicted metric, in head order.
pub const QUALITIES: [Quality; 3] = [Quality::Ratio, Quality::Psnr, Quality::Ssim];

/// SSIM targets are `-ln(1 + SSIM_EPS - ssim)`: near-1 values spread out, and 1 stays finite.
const SSIM_EPS: f64 = 1e-4;

/// Largest PSNR kept as a label (an exact reconstruction has an infinite PSNR).
pub const PSNR_CAP: f64 = 200.0;

impl Quality {
    /// The LibPressio metric result key (`size:compression_ratio`, ...).
    pub fn key(self) -> &'static str {
        match self {
            Quality::Ratio => "size:compression_ratio",
            Quality::Psnr => "error_stat:psnr",
            Quality::Ssim => "ssim:ssim",
        }
    }

    /// Short name (`ratio`, `psnr`, `ssim`).
    pub fn name(self) -> &'static str {
        match self {
            Quality::Ratio => "ratio",
            Quality::Psnr => "psnr",
            Quality::Ssim => "ssim",
        }
    }

    /// The regression target of a measured value, or `None` when the value is unusable.
    pub fn to_target(self, v: f64) -> Option<f64> {
        let t = match self {
            Quality::Ratio => (v > 0.0).then(|| v.ln())?,
            Quality::Psnr => {
                if v.is_nan() {
                    return None;
                }
                v.min(PSNR_CAP)
            }
            Quality::Ssim => {
                if !v.is_finite() {
                    return None;
                }
                -(1.0 + SSIM_EPS - v.min(1.0)).ln()
            }
        };
        t.is_finite().then_some(t)
    }

    /// The metric value of a regression target (the inverse of [`Quality::to_target`]).
    pub fn from_target(self, t: f64) -> f64 {
        match self {
            Quality::Ratio => t.exp(),
            Quality::Psnr => t,
            Quality::Ssim => (1.0 + SSIM_EPS - (-t).exp()).min(1.0),
        }
    }

    /// Whether the metric grows when the bound grows (the ratio) or shrinks (PSNR, SSIM).
    pub fn grows_with_bound(self) -> bool {
        matches!(self, Quality::Ratio)
    }
}

/// One prediction head: a compressor id and a metric.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HeadId {
    /// Compressor id in the registry.
    pub compressor: String,
    /// Predicted metric.
    pub quality: Quality,
}

impl HeadId {
    /// The result key, `deepcq:<compressor>:<metric key>`.
    pub fn result_key(&self) -> String {
        format!("deepcq:{}:{}", self.compressor, self.quality.key())
    }
}

/// The heads for `compressors`, compressor-major.
pub fn heads_for(compressors: &[String]) -> Vec<HeadId> {
    compressors
        .iter()
        .flat_map(|c| {
            QUALITIES.iter().map(move |&q| HeadId {
                compressor: c.clone(),
                quality: q,
            })
        })
        .collect()
}

/// Mean absolute percentage error of `predicted` against `actual` (pairs with a zero actual
/// are skipped), in percent; NaN when no pair counts.
pub fn mape(pairs: impl IntoIterator<Item = (f64, f64)>) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for (p, a) in pairs {
        if a != 0.0 && a.is_finite() && p.is_finite() {
            s += ((p - a) / a).abs();
            n += 1;
        }
    }
    if n == 0 {
        f64::NAN
    } else {
        100.0 * s / n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_invert() {
        for q in QUALITIES {
            for v in [0.3, 0.9, 0.999, 1.0, 12.0, 87.5] {
                if q == Quality::Ssim && v > 1.0 {
                    continue;
                }
                let t = q.to_target(v).unwrap();
                assert!(
                    (q.from_target(t) - v).abs() < 1e-9 * v.max(1.0),
                    "{q:?} {v}"
                );
            }
        }
        assert_eq!(Quality::Ratio.to_target(0.0), None);
        assert_eq!(Quality::Psnr.to_target(f64::INFINITY), Some(PSNR_CAP));
        assert_eq!(Quality::Ssim.to_target(f64::NAN), None);
        let h = heads_for(&["sz3".into()]);
        assert_eq!(h.len(), 3);
        assert_eq!(h[1].result_key(), "deepcq:sz3:error_stat:psnr");
        assert!((mape([(110.0, 100.0), (90.0, 100.0), (1.0, 0.0)]) - 10.0).abs() < 1e-12);
        assert!(mape([]).is_nan());
    }
}
