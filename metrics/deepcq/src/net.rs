//! The DeepCQ network on libtorch: a small 3-D residual backbone over sampled blocks, an
//! error-bound embedding, and per-(compressor, metric) heads in two variants (a predictor MLP
//! and a 4-expert soft-gated mixture of experts).
//!
//! # Backbone depth
//!
//! The paper uses a ResNet-152-3D. On the 2-core machines this project trains and tests on,
//! one forward pass of that network over a single 16³ block costs more than a whole
//! compression of the field it is meant to save. The backbone here has eight convolutions:
//! a stem (2 -> c1 channels), two residual blocks at full resolution, a stride-2 convolution
//! (c1 -> c2) and one residual block at half resolution (3x3x3 kernels throughout; c1 = 8,
//! c2 = 16 by default). That is about 40 M multiply-adds per 16³ block, 0.3 G per prediction,
//! some tens of milliseconds on one core, and an epoch over the training tiles in well under a
//! minute. What it must see is local smoothness against the bound, which a few layers of 3x3x3
//! receptive field capture.
//!
//! # Residual statistics
//!
//! Next to the learned features the heads get fourteen fixed statistics of the same blocks
//! (quantiles of the log Lorenzo and midpoint residuals, [`crate::blocks::statistics`]). With
//! the backbone alone the ratio heads underfit on this budget (23% training MAPE after 1,500
//! steps); the statistics hand them the residual distribution an error-bounded compressor's
//! output size depends on, and the backbone learns what they leave out.
//!
//! # Pooling
//!
//! Features are pooled per channel over all positions of all blocks, after the first residual
//! stage and after the last one, as `mean` and `ln(mean + 1e-6)` (ReLU outputs are non-negative).
//! The log-mean makes a field's variation, which spans orders of magnitude across fields, enter
//! the heads on the same logarithmic scale as the bound.

use crate::blocks::CHANNELS;
use pressio_ml_core::{PressioError, Result};
use pressio_ml_nn::layers::{Conv, Dense};
use pressio_ml_nn::tch_error;
use serde::{Deserialize, Serialize};
use tch::nn::Path;
use tch::{Kind, Tensor};

/// Architecture id recorded in manifests.
pub const ARCHITECTURE: &str = "deepcq-resnet3d-moe";

/// Sizes of the network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetConfig {
    /// Channels of the full-resolution stage.
    pub c1: i64,
    /// Channels of the half-resolution stage.
    pub c2: i64,
    /// Hidden width of the bound embedding (1 -> hidden -> embed).
    pub embed_hidden: i64,
    /// Width of the bound embedding.
    pub embed: i64,
    /// Hidden width of an MLP head.
    pub head_hidden: i64,
    /// Experts of a mixture-of-experts head.
    pub experts: i64,
    /// Hidden width of one expert.
    pub expert_hidden: i64,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            c1: 8,
            c2: 16,
            embed_hidden: 128,
            embed: 256,
            head_hidden: 128,
            experts: 4,
            expert_hidden: 32,
        }
    }
}

impl NetConfig {
    /// Width of the features the heads see: the pooled backbone features and the blocks'
    /// residual statistics ([`crate::blocks::statistics`]).
    pub fn features(&self) -> i64 {
        2 * (self.c1 + self.c2) + crate::blocks::STATS as i64
    }

    /// Refuse sizes outside 1..=4096.
    pub fn validate(&self) -> Result<()> {
        let all = [
            self.c1,
            self.c2,
            self.embed_hidden,
            self.embed,
            self.head_hidden,
            self.experts,
            self.expert_hidden,
        ];
        if all.iter().any(|&v| !(1..=4096).contains(&v)) {
            return Err(PressioError::Model(format!(
                "deepcq: invalid network sizes {self:?}"
            )));
        }
        Ok(())
    }
}

/// Which head variant predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadKind {
    /// The predictor MLP.
    Mlp,
    /// The soft-gated mixture of experts.
    Moe,
}

impl HeadKind {
    /// `mlp` or `moe`.
    pub fn name(self) -> &'static str {
        match self {
            HeadKind::Mlp => "mlp",
            HeadKind::Moe => "moe",
        }
    }

    /// Parse `mlp` or `moe`.
    pub fn parse(s: &str) -> Option<HeadKind> {
        match s {
            "mlp" => Some(HeadKind::Mlp),
            "moe" => Some(HeadKind::Moe),
            _ => None,
        }
    }
}

fn t<T>(what: &str, r: std::result::Result<T, tch::TchError>) -> Result<T> {
    r.map_err(|e| tch_error(what, e))
}

fn relu(x: &Tensor) -> Result<Tensor> {
    t("relu", x.f_relu())
}

struct Residual {
    a: Conv,
    b: Conv,
}

impl Residual {
    fn new(p: &Path, c: i64) -> Result<Residual> {
        Ok(Residual {
            a: Conv::new(&(p / "a"), 3, c, c, 3, 1, false)?,
            b: Conv::new(&(p / "b"), 3, c, c, 3, 1, false)?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.b.forward(&relu(&self.a.forward(x)?)?)?;
        relu(&t("residual", x.f_add(&h))?)
    }
}

/// The 3-D residual backbone.
struct Backbone {
    stem: Conv,
    r1: Residual,
    r2: Residual,
    down: Conv,
    r3: Residual,
}

impl Backbone {
    fn new(p: &Path, c: &NetConfig) -> Result<Backbone> {
        Ok(Backbone {
            stem: Conv::new(&(p / "stem"), 3, CHANNELS as i64, c.c1, 3, 1, false)?,
            r1: Residual::new(&(p / "r1"), c.c1)?,
            r2: Residual::new(&(p / "r2"), c.c1)?,
            down: Conv::new(&(p / "down"), 3, c.c1, c.c2, 3, 2, false)?,
            r3: Residual::new(&(p / "r3"), c.c2)?,
        })
    }

    /// `[samples * k, CHANNELS, d, h, w]` -> pooled features `[samples, 2 (c1 + c2)]`.
    fn forward(&self, x: &Tensor, samples: i64) -> Result<Tensor> {
        let h1 = self
            .r2
            .forward(&self.r1.forward(&relu(&self.stem.forward(x)?)?)?)?;
        let h2 = self.r3.forward(&relu(&self.down.forward(&h1)?)?)?;
        let pool = |h: &Tensor| -> Result<Tensor> {
            let size = h.size();
            let c = size[1];
            // [s*k, c, ...] -> [s, k, c, n] -> mean over blocks and positions
            let m = t(
                "pooling",
                h.f_reshape([samples, -1, c, size[2] * size[3] * size[4]])
                    .and_then(|v| v.f_mean_dim(&[1i64, 3][..], false, Kind::Float)),
            )?;
            let l = t("pooling", m.f_add_scalar(1e-6).and_then(|v| v.f_log()))?;
            Ok(Tensor::cat(&[m, l], 1))
        };
        Ok(Tensor::cat(&[pool(&h1)?, pool(&h2)?], 1))
    }
}

/// The bound embedding: normalised log bound, `1 -> hidden -> embed` with ReLUs.
struct Embedding {
    a: Dense,
    b: Dense,
}

impl Embedding {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        relu(&self.b.forward(&relu(&self.a.forward(x)?)?)?)
    }
}

/// One predictor MLP head.
struct MlpHead {
    a: Dense,
    b: Dense,
}

/// One mixture-of-experts head: softmax gate over experts, each a one-hidden-layer MLP.
struct MoeHead {
    gate: Dense,
    experts: Vec<(Dense, Dense)>,
}

/// The whole network.
pub struct DeepCqNet {
    backbone: Backbone,
    embedding: Embedding,
    mlp: Vec<MlpHead>,
    moe: Vec<MoeHead>,
}

impl DeepCqNet {
    /// A network with `heads` heads of each variant under `p` (PyTorch's default
    /// initialisation; load weights afterwards to use a trained model).
    pub fn new(p: &Path, c: &NetConfig, heads: usize) -> Result<DeepCqNet> {
        c.validate()?;
        let z = c.features() + c.embed;
        let backbone = Backbone::new(&(p / "backbone"), c)?;
        let e = p / "embed";
        let embedding = Embedding {
            a: Dense::new(&(&e / "a"), 1, c.embed_hidden)?,
            b: Dense::new(&(&e / "b"), c.embed_hidden, c.embed)?,
        };
        let mut mlp = Vec::with_capacity(heads);
        let mut moe = Vec::with_capacity(heads);
        for h in 0..heads {
            let m = p / "mlp" / h.to_string();
            mlp.push(MlpHead {
                a: Dense::new(&(&m / "a"), z, c.head_hidden)?,
                b: Dense::new(&(&m / "b"), c.head_hidden, 1)?,
            });
            let m = p / "moe" / h.to_string();
            let mut experts = Vec::new();
            for x in 0..c.experts {
                let ep = &m / format!("e{x}");
                experts.push((
                    Dense::new(&(&ep / "a"), z, c.expert_hidden)?,
                    Dense::new(&(&ep / "b"), c.expert_hidden, 1)?,
                ));
            }
            moe.push(MoeHead {
                gate: Dense::new(&(&m / "gate"), z, c.experts)?,
                experts,
            });
        }
        Ok(DeepCqNet {
            backbone,
            embedding,
            mlp,
            moe,
        })
    }

    /// Number of heads per variant.
    pub fn heads(&self) -> usize {
        self.mlp.len()
    }

    /// Features `[samples, F]` of `blocks` (`[samples * k, CHANNELS, d, h, w]`): the pooled
    /// backbone features followed by the samples' residual statistics `stats`
    /// (`[samples, STATS]`).
    pub fn features(&self, blocks: &Tensor, samples: i64, stats: &Tensor) -> Result<Tensor> {
        let pooled = self.backbone.forward(blocks, samples)?;
        Ok(Tensor::cat(&[&pooled, stats], 1))
    }

    /// The embedding `[n, embed]` of normalised log bounds `[n, 1]`.
    pub fn embed(&self, bounds: &Tensor) -> Result<Tensor> {
        self.embedding.forward(bounds)
    }

    /// Every head's standardised prediction `[n, heads]` from `z = [features, embedding]`.
    pub fn predict(&self, z: &Tensor, kind: HeadKind) -> Result<Tensor> {
        let mut outs = Vec::with_capacity(self.heads());
        match kind {
            HeadKind::Mlp => {
                for h in &self.mlp {
                    outs.push(h.b.forward(&relu(&h.a.forward(z)?)?)?);
                }
            }
            HeadKind::Moe => {
                for h in &self.moe {
                    let g = t("gate", h.gate.forward(z)?.f_softmax(1, Kind::Float))?;
                    let mut e = Vec::with_capacity(h.experts.len());
                    for (a, b) in &h.experts {
                        e.push(b.forward(&relu(&a.forward(z)?)?)?);
                    }
                    let e = Tensor::cat(&e, 1);
                    outs.push(t(
                        "experts",
                        (e * g).f_sum_dim_intlist(&[1i64][..], true, Kind::Float),
                    )?);
                }
            }
        }
        if outs.is_empty() {
            return Err(PressioError::Model("deepcq: a model without heads".into()));
        }
        Ok(Tensor::cat(&outs, 1))
    }

    /// `[features (repeated per bound), embedding (tiled per sample)]`: `[s * b, F + E]` for
    /// features `[s, F]` and embeddings `[b, E]`, sample-major.
    pub fn join(features: &Tensor, embedding: &Tensor) -> Result<Tensor> {
        let (s, b) = (features.size()[0], embedding.size()[0]);
        let f = t(
            "join",
            features.f_repeat_interleave_self_int(b, Some(0), None::<i64>),
        )?;
        let e = t("join", embedding.f_repeat([s, 1]))?;
        Ok(Tensor::cat(&[f, e], 1))
    }
}
