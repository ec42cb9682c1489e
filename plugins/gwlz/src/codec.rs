//! The GWLZ body inside the field envelope: inner compression, the inner compressor's
//! rate-distortion envelope, grouping, fitting or training, strict verification, the
//! encoder-side decision, and the stream sections.
//!
//! Sections (besides the envelope's `NFIN`, `PTCH`, `RAW_`):
//!
//! * `INNC`: the inner compressor's id, plugin version and the section table of its pressio-ml
//!   container, when the inner compressor writes one: the container's header repeats what the
//!   outer header holds (dims, dtype, the bound), so the decoder rebuilds it (see
//!   [`pressio_ml_codec::container::attach_header`]) and the inner stream's own checksum is
//!   verified again; about 80 bytes less than `INNR`, which matters for streams of a few KB;
//! * `INNR`: otherwise (foreign inner compressors), the inner compressor's id and its complete
//!   stream;
//! * `GWLZ` (streams with enhancers; layout 4): layout version, flags (masking, strict, f32
//!   boundaries), the enhancer kind, channels, group count, the n+1 group boundaries (f32 when
//!   they are f32 values, else f64), a bitmap of the groups with a model and their residual
//!   scales (f32), the stored enhancers in group order (networks: fp32 weights; linear
//!   filters: an fp32 step and 16-bit coefficients), and (strict mode) the points that keep
//!   `X'`: ranks per class of `|r|` for linear enhancers (see [`crate::rejections`]), indices
//!   for networks. Layouts 2 and 3 kept the enhancers in `WGTS` and the indices in `REJC`;
//!   they are still read;
//! * `EXCT`: (strict mode) points stored exactly because no candidate value was within the
//!   bound (the inner compressor broke its bound there);
//! * `XPFP`: with `INNR`, a fingerprint of `X'` as the encoder decoded it (see
//!   [`Fingerprint`]). The decoder refuses a stream whose inner compressor decodes other values:
//!   another implementation under the same id (LibPressio's `zfp` inside LibPressio,
//!   pressio-ml's in the CLI) or an inner compressor whose streams depend on options the
//!   decoder lacks would otherwise give wrong values with no error. With `INNC` the inner
//!   stream is a checksummed pressio-ml container, which only pressio-ml's compressors are
//!   handed (others are refused with error 10), and they decode it the same everywhere.
//!
//! A stream without `GWLZ` is the inner stream alone (the encoder stepped aside, or no
//! enhancer lowered the error). When the inner compressor writes pressio-ml containers, the
//! plugin returns that inner stream itself instead ([`passthrough`]).

use crate::enhancer::{self, stored_params, Folded, TrainInfo, TrainSettings};
use crate::features::{GroupInputs, Layout, PATCH_LEN};
use crate::grouping::{self, Grouping, NO_GROUP};
use crate::linear::{self, Filter, Stencil};
use crate::plan::{plan, Plan, MIN_GROUP_POINTS};
use crate::rejections::{bucket, RankedBuilder, RankedReader};
use crate::strict::{applies, decide, enhance, Outcome, SLACK_FRACTION};
use pressio_ml_codec::bytes::{ByteReader, ByteWriter};
use pressio_ml_codec::container::{
    attach_header, detach_header, sections_len, stream_overhead, ParsedStream, Section,
    StreamHeader, Tag, SECTION_FRAME,
};
use pressio_ml_codec::field::{FieldCodec, Float};
use pressio_ml_codec::points::{decode_indices, decode_points, encode_indices, encode_points};
use pressio_ml_codec::rd::RdEnvelope;
use pressio_ml_core::{
    check_decompressed, keys, CompressorPlugin, DType, Data, Options, PressioError, Registry,
    Result, Version,
};
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::time::Instant;
use tch::Device;

/// The inner stream.
pub const TAG_INNER: Tag = Tag(*b"INNR");
/// The inner stream's pressio-ml container without its header.
pub const TAG_INNER_COMPACT: Tag = Tag(*b"INNC");
/// Grouping and model metadata.
pub const TAG_GWLZ: Tag = Tag(*b"GWLZ");
/// Model weights.
pub const TAG_WEIGHTS: Tag = Tag(*b"WGTS");
/// Points that keep the inner value.
pub const TAG_REJECTED: Tag = Tag(*b"REJC");
/// Points stored exactly.
pub const TAG_EXACT: Tag = Tag(*b"EXCT");
/// Fingerprint of the inner compressor's decoded values.
pub const TAG_INNER_PRINT: Tag = Tag(*b"XPFP");
/// The inner compressor's bound (f64), with `INNR`, when it is not the stream's.
pub const TAG_INNER_BOUND: Tag = Tag(*b"INAB");
/// Most values of `X'` a fingerprint samples.
const PRINT_SAMPLES: usize = 8;
/// Layout version of the `GWLZ` section: 4 since it holds the enhancers and the rejection list
/// itself (3 named the enhancer kind; layout 2 streams, whose enhancers are all networks
/// predicted by the portable engine, are still read; layout 1 streams were predicted by
/// libtorch, whose bits depend on the host).
const LAYOUT: u8 = 4;
/// Oldest layout read.
const MIN_LAYOUT: u8 = 2;
/// Group counts the linear enhancer tries (each within the plan's limit).
const LINEAR_GROUPS: [usize; 5] = [1, 2, 4, 8, 16];

/// What enhances a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnhancerKind {
    /// The paper's two-layer CNN, trained at compression time ([`enhancer`]).
    Cnn,
    /// A least-squares filter over a 3-D neighbourhood ([`linear`]).
    Linear,
}

impl EnhancerKind {
    /// Option spelling.
    pub fn name(self) -> &'static str {
        match self {
            EnhancerKind::Cnn => "cnn",
            EnhancerKind::Linear => "linear",
        }
    }

    fn code(self) -> u8 {
        match self {
            EnhancerKind::Cnn => 0,
            EnhancerKind::Linear => 1,
        }
    }

    fn from_code(code: u8) -> Result<EnhancerKind> {
        match code {
            0 => Ok(EnhancerKind::Cnn),
            1 => Ok(EnhancerKind::Linear),
            k => Err(PressioError::corrupt(format!("gwlz enhancer kind {k}"))),
        }
    }
}
/// Most groups a stream may declare.
pub const MAX_GROUPS: usize = 1024;
/// Most hidden channels a stream may declare.
pub const MAX_CHANNELS: usize = 64;
/// Points whose neighbourhoods are built at once during inference (bounds memory; results do
/// not depend on it).
const CHUNK: usize = 1 << 17;

/// Everything the user controls.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Requested groups.
    pub groups: usize,
    /// Boundary placement.
    pub grouping: Grouping,
    /// Largest hidden channel count.
    pub channels: usize,
    /// Training epochs.
    pub epochs: u32,
    /// Training minibatch.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Most training samples per group.
    pub max_samples: usize,
    /// Training time budget in seconds (0: none).
    pub time_budget: f64,
    /// Largest weights-to-inner-stream ratio.
    pub max_overhead: f64,
    /// Keep the bound at every point.
    pub strict: bool,
    /// What enhances a group.
    pub enhancer: EnhancerKind,
    /// Emit the inner stream alone when the enhanced stream does not beat the inner
    /// compressor's rate-distortion envelope.
    pub step_aside: bool,
    /// Paper's out-of-group placeholder.
    pub mask: bool,
    /// Training seed.
    pub seed: u64,
    /// Groups trained concurrently (and the inner compressor's `pressio:nthreads`).
    pub nthreads: u32,
    /// Where the networks run.
    pub device: Device,
}

/// Facts about the last compression, for metrics results.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    /// Id of the inner compressor.
    pub inner_id: String,
    /// Bytes of the inner stream.
    pub inner_bytes: usize,
    /// The bound the kept inner stream was written at (the stream's, or a finer one the
    /// enhancers were fitted on).
    pub inner_bound: f64,
    /// Bytes of the weights.
    pub weight_bytes: usize,
    /// Bytes of the rejection and exact lists.
    pub strict_bytes: usize,
    /// The plan before gating.
    pub plan: Option<Plan>,
    /// Groups whose model was kept.
    pub models: usize,
    /// Points that keep `X'` in model groups (strict mode).
    pub rejected: usize,
    /// Points stored exactly.
    pub exact: usize,
    /// Inner compression and decompression time (ms).
    pub inner_ms: f64,
    /// Training time (ms).
    pub train_ms: f64,
    /// Inference and verification time (ms).
    pub enhance_ms: f64,
    /// Fewest epochs any group trained (the time budget may cut training short).
    pub epochs_run: u32,
    /// Mean squared error of the inner compressor over the finite values.
    pub mse_inner: f64,
    /// Mean squared error after enhancement.
    pub mse_enhanced: f64,
    /// The inner compressor's own metrics results.
    pub inner_results: Options,
    /// Whether the encoder emitted the inner stream alone because enhancement did not pay in
    /// rate-distortion terms.
    pub stepped_aside: bool,
    /// PSNR gain (dB) of the enhanced stream over the inner compressor's envelope at equal size,
    /// as the encoder estimated it (0 when not measured).
    pub rd_gain_db: f64,
}

/// How a stream lists the in-model points that keep `X'` (strict mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rejections<'a> {
    /// None are listed.
    None,
    /// Their indices ([`encode_indices`]).
    Indices(&'a [u8]),
    /// Their ranks per class of `|r|` ([`crate::rejections`]).
    Ranked(&'a [u8]),
}

impl Rejections<'_> {
    fn code(&self) -> u8 {
        match self {
            Rejections::None => 0,
            Rejections::Indices(_) => 1,
            Rejections::Ranked(_) => 2,
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Rejections::None => &[],
            Rejections::Indices(b) | Rejections::Ranked(b) => b,
        }
    }
}

/// The `GWLZ` section.
#[derive(Debug, Clone, PartialEq)]
struct Meta {
    /// Layout version the section was written in.
    layout: u8,
    mask: bool,
    strict: bool,
    kind: EnhancerKind,
    channels: usize,
    boundaries: Vec<f64>,
    /// Per group: residual scale if the group has a model.
    scales: Vec<Option<f32>>,
}

/// What a stream stores besides its [`Meta`]: the enhancers and the rejection list.
struct Stored<'a> {
    weights: &'a [u8],
    rejections: Rejections<'a>,
}

impl Meta {
    /// The layout-4 section: this metadata, the stored enhancers and the rejection list.
    fn write(&self, weights: &[u8], rejections: Rejections<'_>) -> Vec<u8> {
        let narrow = self.boundaries.iter().all(|&b| (b as f32) as f64 == b);
        let mut w = ByteWriter::new();
        w.put_u8(LAYOUT);
        w.put_u8(self.mask as u8 | (self.strict as u8) << 1 | (narrow as u8) << 2);
        w.put_u8(self.kind.code());
        w.put_varint(self.channels as u64);
        w.put_varint(self.scales.len() as u64);
        for &b in &self.boundaries {
            if narrow {
                w.put_f32(b as f32);
            } else {
                w.put_f64(b);
            }
        }
        for byte in self.scales.chunks(8) {
            w.put_u8(
                byte.iter()
                    .enumerate()
                    .fold(0u8, |m, (k, s)| m | (s.is_some() as u8) << k),
            );
        }
        for s in self.scales.iter().flatten() {
            w.put_f32(*s);
        }
        w.put_len_bytes(weights);
        w.put_u8(rejections.code());
        w.put_len_bytes(rejections.bytes());
        w.into_inner()
    }

    /// Read the `GWLZ` section of `stream`, and find the enhancers and rejection list (inside
    /// it from layout 4, in their own sections before).
    fn read<'a>(stream: &ParsedStream<'a>, bytes: &'a [u8]) -> Result<(Meta, Stored<'a>)> {
        let mut r = ByteReader::new(bytes, "gwlz metadata");
        let layout = r.u8()?;
        if layout == 1 {
            return Err(PressioError::StreamMismatch(
                "gwlz metadata layout 1: the stream's enhancer predictions were computed by \
                 libtorch, which this build no longer uses for them (it would not reproduce \
                 them bit for bit); decompress it with the pressio-ml release that wrote it"
                    .into(),
            ));
        }
        if !(MIN_LAYOUT..=LAYOUT).contains(&layout) {
            return Err(PressioError::StreamMismatch(format!(
                "gwlz metadata layout {layout}, this build reads {MIN_LAYOUT} to {LAYOUT}"
            )));
        }
        if layout >= 4 {
            return Self::read_inline(r);
        }
        let flag = |v: u8| match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(PressioError::corrupt(format!("gwlz flag {v}"))),
        };
        let mask = flag(r.u8()?)?;
        let strict = flag(r.u8()?)?;
        let kind = if layout == 2 {
            EnhancerKind::Cnn
        } else {
            EnhancerKind::from_code(r.u8()?)?
        };
        let channels = r.u32()? as usize;
        let groups = r.u32()? as usize;
        check_shape(groups, channels)?;
        let mut boundaries = Vec::new();
        let mut scales = Vec::with_capacity(groups);
        if groups > 0 {
            for _ in 0..=groups {
                boundaries.push(r.f64()?);
            }
            grouping::validate(&boundaries, MAX_GROUPS)?;
            for _ in 0..groups {
                let has = flag(r.u8()?)?;
                let s = r.f32()?;
                scales.push(has.then(|| check_scale(s)).transpose()?);
            }
        }
        r.finish()?;
        let meta = Meta {
            layout,
            mask,
            strict,
            kind,
            channels,
            boundaries,
            scales,
        };
        let stored = Stored {
            weights: stream.optional_section(TAG_WEIGHTS).unwrap_or(&[]),
            rejections: stream
                .optional_section(TAG_REJECTED)
                .map_or(Rejections::None, Rejections::Indices),
        };
        Ok((meta, stored))
    }

    /// The rest of a layout-4 section, after its layout byte.
    fn read_inline(mut r: ByteReader<'_>) -> Result<(Meta, Stored<'_>)> {
        let flags = r.u8()?;
        if flags > 7 {
            return Err(PressioError::corrupt(format!("gwlz flags {flags:#x}")));
        }
        let narrow = flags & 4 != 0;
        let kind = EnhancerKind::from_code(r.u8()?)?;
        let channels = r.varint_usize(MAX_CHANNELS)?;
        let groups = r.varint_usize(MAX_GROUPS)?;
        check_shape(groups, channels)?;
        let mut boundaries = Vec::new();
        let mut scales = Vec::with_capacity(groups);
        if groups > 0 {
            for _ in 0..=groups {
                boundaries.push(if narrow { r.f32()? as f64 } else { r.f64()? });
            }
            grouping::validate(&boundaries, MAX_GROUPS)?;
            let bits = r.bytes(groups.div_ceil(8))?;
            for g in 0..groups {
                let has = bits[g / 8] >> (g % 8) & 1 == 1;
                scales.push(has.then_some(()));
            }
            if groups % 8 != 0 && bits[groups / 8] >> (groups % 8) != 0 {
                return Err(PressioError::corrupt(
                    "gwlz: model bits past the last group",
                ));
            }
        }
        let scales = scales
            .into_iter()
            .map(|has| has.map(|()| r.f32().and_then(check_scale)).transpose())
            .collect::<Result<Vec<_>>>()?;
        let weights = r.len_bytes()?;
        let code = r.u8()?;
        let list = r.len_bytes()?;
        let rejections = match code {
            0 if list.is_empty() => Rejections::None,
            1 => Rejections::Indices(list),
            2 => Rejections::Ranked(list),
            _ => {
                return Err(PressioError::corrupt(format!(
                    "gwlz rejection list kind {code}"
                )))
            }
        };
        r.finish()?;
        let meta = Meta {
            layout: LAYOUT,
            mask: flags & 1 != 0,
            strict: flags & 2 != 0,
            kind,
            channels,
            boundaries,
            scales,
        };
        Ok((
            meta,
            Stored {
                weights,
                rejections,
            },
        ))
    }
}

/// Where a layout-4 `GWLZ` section keeps its stored enhancers (their bytes, after their
/// length), and where its rejection list starts: for tools that inspect or re-weight streams.
pub fn stored_enhancers(section: &[u8]) -> Result<(std::ops::Range<usize>, usize)> {
    let mut r = ByteReader::new(section, "gwlz metadata");
    if r.u8()? != LAYOUT {
        return Err(PressioError::StreamMismatch(format!(
            "not a layout-{LAYOUT} gwlz section"
        )));
    }
    let (_, stored) = Meta::read_inline(r)?;
    let start = stored.weights.as_ptr() as usize - section.as_ptr() as usize;
    let end = start + stored.weights.len();
    Ok((start..end, end))
}

fn check_shape(groups: usize, channels: usize) -> Result<()> {
    if groups > MAX_GROUPS || !(1..=MAX_CHANNELS).contains(&channels) {
        return Err(PressioError::corrupt(format!(
            "gwlz: {groups} groups of {channels} channels"
        )));
    }
    Ok(())
}

fn check_scale(s: f32) -> Result<f32> {
    if s.is_finite() && s > 0.0 {
        Ok(s)
    } else {
        Err(PressioError::corrupt(format!("gwlz residual scale {s}")))
    }
}

/// A group's enhancer.
#[derive(Debug, Clone)]
enum Model {
    /// A trained network.
    Cnn(Folded),
    /// A least-squares filter.
    Linear(Filter),
}

impl Model {
    /// Append what the stream stores for it.
    fn write(&self, w: &mut ByteWriter) {
        match self {
            Model::Cnn(m) => m.weights.iter().for_each(|&v| w.put_f32(v)),
            Model::Linear(f) => f.write(w),
        }
    }
}

/// Everything that predicts a field's residuals: the value groups and each one's enhancer.
#[derive(Clone)]
struct Enhancers {
    /// The n+1 group boundaries (empty: no groups).
    boundaries: Vec<f64>,
    /// The group of every point.
    groups: Vec<u16>,
    /// The members of every group, in index order.
    members: Vec<Vec<usize>>,
    /// Per group: the residual scale, when the group has an enhancer.
    scales: Vec<Option<f32>>,
    /// Per group: its enhancer.
    models: Vec<Option<Model>>,
    /// Hidden channels of the networks (1 for linear enhancers).
    channels: usize,
}

impl Enhancers {
    fn none(n: usize) -> Enhancers {
        Enhancers {
            boundaries: Vec::new(),
            groups: vec![NO_GROUP; n],
            members: Vec::new(),
            scales: Vec::new(),
            models: Vec::new(),
            channels: 1,
        }
    }

    /// `n_groups` groups of `xp` with boundaries placed by `grouping`, and each group's
    /// residual scale (its largest `|x - x'|`, capped at `abs`; none for groups too small or
    /// without residual).
    fn grouped(x: &[f64], xp: &[f64], n_groups: usize, grouping: Grouping, abs: f64) -> Enhancers {
        Self::grouped_sorted(x, xp, &grouping::sorted_finite(xp), n_groups, grouping, abs)
    }

    /// [`Enhancers::grouped`] given the sorted finite values of `xp`.
    fn grouped_sorted(
        x: &[f64],
        xp: &[f64],
        sorted: &[f64],
        n_groups: usize,
        grouping: Grouping,
        abs: f64,
    ) -> Enhancers {
        let boundaries = if n_groups > 0 {
            grouping::boundaries_of_sorted(sorted, n_groups, grouping).unwrap_or_default()
        } else {
            Vec::new()
        };
        let g = boundaries.len().saturating_sub(1);
        if g == 0 {
            return Enhancers::none(xp.len());
        }
        let groups = grouping::assign(&boundaries, xp);
        let members = members(&groups, g);
        let scales = members
            .iter()
            .map(|m| {
                let max_r = m
                    .iter()
                    .map(|&i| (x[i] - xp[i]).abs())
                    .filter(|r| r.is_finite())
                    .fold(0.0f64, f64::max)
                    .min(abs) as f32;
                let ok = m.len() >= MIN_GROUP_POINTS / 4 && max_r > 0.0 && max_r.is_finite();
                ok.then_some(max_r)
            })
            .collect();
        Enhancers {
            boundaries,
            groups,
            members,
            scales,
            models: vec![None; g],
            channels: 1,
        }
    }

    /// A copy whose linear enhancers predict `alpha` times as much (their stored
    /// coefficients scaled; networks are kept as they are).
    fn shrunk(&self, alpha: f32) -> Enhancers {
        let mut e = self.clone();
        if alpha != 1.0 {
            for m in e.models.iter_mut().flatten() {
                if let Model::Linear(f) = m {
                    if let Ok(g) = f.scaled(alpha as f64) {
                        *f = g;
                    }
                }
            }
        }
        e
    }

    fn inputs<'a>(&'a self, xp: &'a [f64], g: usize, mask: bool) -> GroupInputs<'a> {
        GroupInputs {
            xp,
            groups: &self.groups,
            group: g as u16,
            lo: self.boundaries[g],
            hi: self.boundaries[g + 1],
            mask,
        }
    }

    /// The predicted residuals of group `g`'s members, in order.
    fn predict(
        &self,
        g: usize,
        xp: &[f64],
        layout: Layout,
        stencil: &Stencil,
        mask: bool,
        parallel: bool,
    ) -> Result<Option<Vec<f64>>> {
        let (Some(model), Some(scale)) = (&self.models[g], self.scales[g]) else {
            return Ok(None);
        };
        Ok(Some(match model {
            Model::Cnn(m) => predict_group(
                m,
                &self.inputs(xp, g, mask),
                layout,
                &self.members[g],
                scale,
                parallel,
            )?,
            Model::Linear(f) => {
                let scale = scale as f64;
                f.sums(stencil, xp, &self.members[g], scale, parallel)
                    .into_iter()
                    .map(|s| f.residual(s, scale))
                    .collect()
            }
        }))
    }

    /// Every group's predicted residuals ([`Enhancers::predict`]), on `nthreads` threads.
    fn predictions(
        &self,
        xp: &[f64],
        layout: Layout,
        stencil: &Stencil,
        mask: bool,
        nthreads: u32,
    ) -> Result<Vec<Option<Vec<f64>>>> {
        pressio_ml_codec::threads::with_threads("gwlz", nthreads, |parallel| {
            (0..self.models.len())
                .map(|g| self.predict(g, xp, layout, stencil, mask, parallel))
                .collect()
        })
    }

    /// Every linear group's step-free sums ([`Filter::sums`]), on `nthreads` threads; the
    /// residuals of this or any shrunk copy follow from them by [`Enhancers::residuals`].
    fn sums(&self, xp: &[f64], stencil: &Stencil, nthreads: u32) -> Result<Vec<Option<Vec<f64>>>> {
        pressio_ml_codec::threads::with_threads("gwlz", nthreads, |parallel| {
            Ok(self
                .models
                .iter()
                .zip(&self.scales)
                .enumerate()
                .map(|(g, (m, scale))| match (m, scale) {
                    (Some(Model::Linear(f)), Some(scale)) => {
                        Some(f.sums(stencil, xp, &self.members[g], *scale as f64, parallel))
                    }
                    _ => None,
                })
                .collect())
        })
    }

    /// The residuals of linear groups from their `sums`.
    fn residuals(&self, sums: &[Option<Vec<f64>>]) -> Vec<Option<Vec<f64>>> {
        self.models
            .iter()
            .zip(&self.scales)
            .zip(sums)
            .map(|((m, scale), s)| match (m, scale, s) {
                (Some(Model::Linear(f)), Some(scale), Some(s)) => {
                    Some(s.iter().map(|&v| f.residual(v, *scale as f64)).collect())
                }
                _ => None,
            })
            .collect()
    }
}

/// A fingerprint of `X'`, the inner compressor's decoded values: how many are finite, their
/// mean, and up to 8 values at evenly spaced indices (first and last included).
/// The encoder stores it; the decoder recomputes it from its own `X'` and requires the same
/// finite count and every number within `abs / 64` (the strict mode's slack, far above rounding
/// differences and far below what a misparsed inner stream gives).
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    finite: u64,
    mean: f64,
    samples: Vec<f64>,
}

impl Fingerprint {
    /// The fingerprint of `xp`.
    pub fn of<T: Float>(xp: &[T]) -> Fingerprint {
        let n = xp.len();
        let (mut finite, mut sum) = (0u64, 0.0f64);
        for v in xp.iter().map(|v| v.to_f64()).filter(|v| v.is_finite()) {
            finite += 1;
            sum += v;
        }
        let k = n.min(PRINT_SAMPLES);
        let samples = (0..k)
            .map(|j| {
                let i = if k > 1 { j * (n - 1) / (k - 1) } else { 0 };
                xp[i].to_f64()
            })
            .collect();
        Fingerprint {
            finite,
            mean: if finite > 0 { sum / finite as f64 } else { 0.0 },
            samples,
        }
    }

    fn write(&self) -> Vec<u8> {
        let mut w = ByteWriter::with_capacity(20 + 8 * self.samples.len());
        w.put_u64(self.finite);
        w.put_f64(self.mean);
        w.put_u32(self.samples.len() as u32);
        for &v in &self.samples {
            w.put_f64(v);
        }
        w.into_inner()
    }

    fn read(bytes: &[u8]) -> Result<Fingerprint> {
        let mut r = ByteReader::new(bytes, "gwlz inner fingerprint");
        let finite = r.u64()?;
        let mean = r.f64()?;
        let k = r.u32()? as usize;
        if k > PRINT_SAMPLES {
            return Err(PressioError::corrupt(format!(
                "gwlz: {k} fingerprint samples"
            )));
        }
        let samples = (0..k).map(|_| r.f64()).collect::<Result<Vec<f64>>>()?;
        r.finish()?;
        Ok(Fingerprint {
            finite,
            mean,
            samples,
        })
    }

    /// Refuse `decoded` (the decoder's fingerprint) unless it matches this one within `tol`.
    fn check(&self, decoded: &Fingerprint, tol: f64, id: &str) -> Result<()> {
        let close = |a: f64, b: f64| {
            if a.is_finite() && b.is_finite() {
                (a - b).abs() <= tol
            } else {
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
            }
        };
        let differs = if self.finite != decoded.finite {
            Some(format!(
                "{} finite values, {} at compression",
                decoded.finite, self.finite
            ))
        } else if self.samples.len() != decoded.samples.len() {
            Some(format!(
                "{} samples, {} at compression",
                decoded.samples.len(),
                self.samples.len()
            ))
        } else if let Some((j, (a, b))) = self
            .samples
            .iter()
            .zip(&decoded.samples)
            .enumerate()
            .find(|(_, (a, b))| !close(**a, **b))
        {
            Some(format!("sample {j} is {b}, {a} at compression"))
        } else if !close(self.mean, decoded.mean) {
            Some(format!(
                "mean {}, {} at compression",
                decoded.mean, self.mean
            ))
        } else {
            None
        };
        match differs {
            None => Ok(()),
            Some(what) => Err(PressioError::StreamMismatch(format!(
                "gwlz: the inner compressor `{id}` decoded other values than at compression \
                 ({what}): the stream's inner `{id}` stream was written by another \
                 implementation of `{id}` (LibPressio's inside LibPressio, pressio-ml's in the \
                 pressio-ml CLI and C ABI) or with inner options this decoder lacks (LibPressio's \
                 zfp streams do not record zfp:rate, zfp:precision, zfp:mode or the expert keys)"
            ))),
        }
    }
}

/// The GWLZ body: wraps an inner compressor.
pub struct GwlzCodec<'a> {
    /// For the decoder's inner compressor.
    pub registry: &'a Registry,
    /// The configured inner compressor, cloned per call: required to encode; used to decode
    /// streams of the same inner id (so the inner compressor decodes with the user's inner
    /// options), a fresh one from `registry` being used otherwise.
    pub inner: Option<&'a dyn CompressorPlugin>,
    /// User settings.
    pub settings: &'a Settings,
    /// Filled by `encode`.
    pub stats: RunStats,
}

fn inner_error(id: &str, e: PressioError) -> PressioError {
    match e {
        PressioError::Backend { .. } | PressioError::Internal(_) => e,
        other => PressioError::backend(id, format!("inner compressor: {other}")),
    }
}

/// The enhancer outputs (denormalised residuals) for the points of one group, in order.
fn predict_group(
    model: &Folded,
    inputs: &GroupInputs<'_>,
    layout: Layout,
    points: &[usize],
    scale: f32,
    parallel: bool,
) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(points.len());
    let mut buf = Vec::with_capacity(CHUNK.min(points.len()) * PATCH_LEN);
    let s = scale as f64;
    for chunk in points.chunks(CHUNK) {
        buf.clear();
        inputs.extend(layout, chunk, &mut buf);
        let y = model.predict(&buf, parallel)?;
        out.extend(y.into_iter().map(|v| (v as f64 * s).clamp(-s, s)));
    }
    Ok(out)
}

/// Members of every group, in index order.
fn members(groups: &[u16], n_groups: usize) -> Vec<Vec<usize>> {
    let mut m = vec![Vec::new(); n_groups];
    for (i, &g) in groups.iter().enumerate() {
        if g != NO_GROUP {
            m[g as usize].push(i);
        }
    }
    m
}

/// The options `gwlz` gives its inner compressor for one run, compression or decompression: its
/// bound as `pressio:abs` (the meaning the key has in LibPressio and pressio-ml alike), its thread
/// count, and no fill handling (the envelope already replaced fill points by a stand-in). Both
/// sides set the same ones, so an inner compressor whose streams depend on its options decodes
/// what it wrote: LibPressio's `zfp` stores no header, and its decoder must run in the accuracy
/// mode its encoder ran in.
fn run_options(abs: f64, nthreads: u32) -> Options {
    Options::new()
        .with(keys::ABS, abs)
        .with(keys::NTHREADS, nthreads)
        .with(pressio_ml_core::fill::FILL_MODE, "none")
}

/// An inner compressor ready to run: a copy of the `configured` one (the user's inner options)
/// when it has id `id`, a fresh one from `registry` otherwise, with [`run_options`] applied.
fn ready_inner(
    registry: &Registry,
    configured: Option<&dyn CompressorPlugin>,
    id: &str,
    abs: f64,
    nthreads: u32,
) -> Result<Box<dyn CompressorPlugin>> {
    let mut inner = match configured.filter(|c| c.id() == id) {
        Some(c) => c.clone_plugin(),
        None => {
            if !registry.has_compressor(id) {
                return Err(PressioError::StreamMismatch(format!(
                    "the stream's inner compressor `{id}` is not registered here"
                )));
            }
            registry.compressor_plugin(id)?
        }
    };
    inner
        .set_options(&run_options(abs, nthreads))
        .map_err(|e| inner_error(id, e))?;
    Ok(inner)
}

/// The inner compressor's id and stream in an `INNR` section.
fn split_inner(bytes: &[u8]) -> Result<(String, &[u8])> {
    let mut r = ByteReader::new(bytes, "gwlz inner stream");
    let id = r.str()?.to_string();
    Ok((id, &bytes[r.position()..]))
}

/// Decompress the inner `stream` with `inner` (whose id is `id`) into `dims` values of `T`.
/// The result is never trusted: an inner compressor that reports success with no buffer, a short
/// one, another dtype or other dims (LibPressio's `sz3` leaves the data NULL when the output has
/// no buffer) is an error naming it.
fn decode_inner<T: Float>(
    inner: &mut dyn CompressorPlugin,
    id: &str,
    stream: &Data,
    dims: &[usize],
) -> Result<Vec<T>> {
    let out = inner
        .decompress(stream, &Data::empty(T::DTYPE, dims))
        .map_err(|e| inner_error(id, e))?;
    check_decompressed(id, &out, Some((T::DTYPE, dims))).map_err(|e| inner_error(id, e))?;
    Ok(out.as_slice::<T>()?.to_vec())
}

/// One run of the inner compressor, as stream sections.
struct InnerStream {
    /// `INNC` (the inner stream's container without its header), or `INNR` (and `INAB` when
    /// the inner bound is not the stream's).
    sections: Vec<Section>,
    /// Bytes of the inner compressor's own stream (what stepping aside emits).
    stream_bytes: usize,
}

/// The header of an inner pressio-ml container whose header was left out (`INNC`): the inner
/// compressor `id` at `version`, run on `dims` values of `dtype` at `pressio:abs = abs`.
fn inner_header(
    id: &str,
    version: Version,
    dtype: DType,
    dims: &[usize],
    abs: f64,
) -> StreamHeader {
    StreamHeader {
        plugin_id: id.to_string(),
        plugin_version: version,
        dtype,
        dims: dims.to_vec(),
        bound_mode: 1,
        bound_value: abs,
        abs_bound: abs,
        model_name: String::new(),
        model_hash: Vec::new(),
    }
}

/// The `INNC` section of an inner pressio-ml container `stream` written at the bound `abs`:
/// its id, plugin version, the bound when it is not the outer stream's (`bound`), and its
/// section table. `None` when the header is not the one the decoder will rebuild (then the
/// stream is kept whole, in `INNR`).
fn compact_inner(
    id: &str,
    stream: &[u8],
    dtype: DType,
    dims: &[usize],
    abs: f64,
    bound: Option<f64>,
) -> Option<Section> {
    let (h, table) = detach_header(stream).ok()?;
    let rebuilt = inner_header(id, h.plugin_version, dtype, dims, abs);
    if attach_header(&rebuilt, table) != stream {
        return None;
    }
    let mut w = ByteWriter::with_capacity(table.len() + id.len() + 8);
    w.put_str(id);
    for v in [
        h.plugin_version.major,
        h.plugin_version.minor,
        h.plugin_version.patch,
    ] {
        w.put_varint(v as u64);
    }
    match bound {
        None => w.put_u8(0),
        Some(b) => {
            w.put_u8(1);
            w.put_f64(b);
        }
    }
    w.put_bytes(table);
    Some(Section::new(TAG_INNER_COMPACT, w.into_inner()))
}

/// A stream's inner stream, as its decoder gets it.
struct InnerOf {
    /// The inner compressor's id.
    id: String,
    /// Its stream.
    stream: Vec<u8>,
    /// The bound it ran at.
    abs: f64,
    /// Whether the stream was stored without its header (`INNC`).
    compact: bool,
}

fn check_inner_bound(b: f64, outer: f64) -> Result<f64> {
    if b.is_finite() && b > 0.0 && b <= outer {
        Ok(b)
    } else {
        Err(PressioError::corrupt(format!(
            "gwlz inner bound {b} (the stream's is {outer})"
        )))
    }
}

/// The inner stream of a stream of `dtype` values with normalized `dims` at the bound `abs`:
/// rebuilt from `INNC`, or taken from `INNR` (and `INAB`).
fn inner_of(stream: &ParsedStream<'_>, dtype: DType, dims: &[usize], abs: f64) -> Result<InnerOf> {
    if let Some(bytes) = stream.optional_section(TAG_INNER_COMPACT) {
        let mut r = ByteReader::new(bytes, "gwlz compact inner stream");
        let id = r.str()?.to_string();
        let mut v = [0u32; 3];
        for part in &mut v {
            *part = u32::try_from(r.varint()?)
                .map_err(|_| PressioError::corrupt("gwlz inner plugin version"))?;
        }
        let inner_abs = match r.u8()? {
            0 => abs,
            1 => check_inner_bound(r.f64()?, abs)?,
            f => return Err(PressioError::corrupt(format!("gwlz inner bound flag {f}"))),
        };
        let table = &bytes[r.position()..];
        let h = inner_header(&id, Version::new(v[0], v[1], v[2]), dtype, dims, inner_abs);
        return Ok(InnerOf {
            id,
            stream: attach_header(&h, table),
            abs: inner_abs,
            compact: true,
        });
    }
    let (id, bytes) = split_inner(stream.section(TAG_INNER)?)?;
    let inner_abs = match stream.optional_section(TAG_INNER_BOUND) {
        None => abs,
        Some(b) => {
            let b: [u8; 8] = b
                .try_into()
                .map_err(|_| PressioError::corrupt("gwlz inner bound section"))?;
            check_inner_bound(f64::from_le_bytes(b), abs)?
        }
    };
    Ok(InnerOf {
        id,
        stream: bytes.to_vec(),
        abs: inner_abs,
        compact: false,
    })
}

impl GwlzCodec<'_> {
    /// Compress `values` with the inner compressor at `abs` and decode the stream as the
    /// decoder will: the inner section and `X'`. With `record`, the run's facts go into the
    /// stats (the stream's own run; the finer runs that measure the envelope leave them alone).
    fn run_inner<T: Float>(
        &mut self,
        values: &[T],
        dims: &[usize],
        (abs, outer_abs): (f64, f64),
        record: bool,
    ) -> Result<(InnerStream, Vec<T>)> {
        let proto = self
            .inner
            .ok_or_else(|| PressioError::Internal("gwlz encoder without inner".into()))?;
        let id = proto.id().to_string();
        let mut inner = ready_inner(self.registry, Some(proto), &id, abs, self.settings.nthreads)?;
        let input = Data::from_vec(values.to_vec(), dims)?;
        let stream = inner.compress(&input).map_err(|e| inner_error(&id, e))?;
        if !stream.has_data() {
            return Err(PressioError::backend(
                &id,
                "inner compressor: compression reported success but returned an empty stream",
            ));
        }
        if record {
            self.stats.inner_results = inner.metrics_results();
        }
        let bound = (abs != outer_abs).then_some(abs);
        let compact = if inner.writes_containers() {
            compact_inner(&id, stream.bytes(), T::DTYPE, dims, abs, bound)
        } else {
            None
        };
        let sections = compact.map_or_else(
            || {
                let mut w = ByteWriter::with_capacity(stream.num_bytes() + id.len() + 8);
                w.put_str(&id);
                w.put_bytes(stream.bytes());
                let mut v = vec![Section::new(TAG_INNER, w.into_inner())];
                if let Some(b) = bound {
                    v.push(Section::new(TAG_INNER_BOUND, b.to_le_bytes().to_vec()));
                }
                v
            },
            |c| vec![c],
        );
        // X' as the decoder will see it: decoded by a compressor set up as the decoder's is.
        let xp = decode_inner::<T>(inner.as_mut(), &id, &stream, dims)?;
        if record {
            self.stats.inner_bytes = stream.num_bytes();
            self.stats.inner_id = id;
        }
        Ok((
            InnerStream {
                sections,
                stream_bytes: stream.num_bytes(),
            },
            xp,
        ))
    }

    fn train_all(
        &self,
        todo: &[(usize, Vec<f32>, Vec<f32>)],
        channels: usize,
    ) -> Result<Vec<(Option<Folded>, TrainInfo)>> {
        let s = self.settings;
        // The budget is shared fairly: each group gets its slice of it from the moment it
        // starts, so groups trained last are not starved.
        let workers = (s.nthreads.max(1) as usize).min(todo.len().max(1));
        let per_group = (s.time_budget > 0.0).then(|| {
            std::time::Duration::from_secs_f64(
                s.time_budget * workers as f64 / todo.len().max(1) as f64,
            )
        });
        let job = |(g, x, y): &(usize, Vec<f32>, Vec<f32>)| {
            let deadline = per_group.map(|d| Instant::now() + d);
            let ts = TrainSettings {
                epochs: s.epochs,
                batch: s.batch,
                lr: s.lr,
                seed: s.seed ^ (*g as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                deadline,
                device: s.device,
            };
            enhancer::train(x, y, channels, &ts)
        };
        pressio_ml_nn::training(1, || {
            if s.nthreads <= 1 {
                return todo.iter().map(job).collect();
            }
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(s.nthreads as usize)
                .build()
                .map_err(|e| PressioError::backend("gwlz", format!("thread pool: {e}")))?;
            pool.install(|| todo.par_iter().map(job).collect())
        })
    }
}

/// When a `gwlz` stream holds nothing but the inner stream (the encoder stepped aside, or no
/// enhancer lowered the error), the inner compressor writes pressio-ml containers
/// ([`CompressorPlugin::writes_containers`]) and the inner stream is one of `input` (its dims
/// and dtype: the field envelope added nothing, no fill or non-finite points, no integer
/// conversion), the inner stream alone: `gwlz` then costs not one byte over its inner
/// compressor. [`decode_passthrough`] decodes it.
pub fn passthrough(
    gwlz_stream: &[u8],
    input: &Data,
    inner: &dyn CompressorPlugin,
) -> Option<Vec<u8>> {
    if !inner.writes_containers() {
        return None;
    }
    let outer = ParsedStream::parse(gwlz_stream).ok()?;
    let only_inner = outer
        .sections()
        .iter()
        .all(|(t, _)| [TAG_INNER, TAG_INNER_COMPACT, TAG_INNER_PRINT].contains(t));
    if !only_inner || !matches!(input.dtype(), DType::Float | DType::Double) {
        return None;
    }
    let h = &outer.header;
    let dims = pressio_ml_codec::field::normalized_dims(&h.dims);
    let inner = inner_of(&outer, h.dtype, &dims, h.abs_bound).ok()?;
    let parsed = ParsedStream::parse(&inner.stream).ok()?;
    let h = &parsed.header;
    (h.plugin_id == inner.id && h.dims == input.dims() && h.dtype == input.dtype())
        .then_some(inner.stream)
}

/// Decode a stream [`passthrough`] returned: the `configured` inner compressor's own stream
/// (a pressio-ml container naming its id), decoded by it at `nthreads`. `None` when `stream`
/// is not such a stream (streams of other plugins are then refused as not `gwlz`'s); an error
/// when the inner compressor does not read pressio-ml containers (inside LibPressio, `sz3` is
/// LibPressio's own, which must never be handed one).
pub fn decode_passthrough(
    registry: &Registry,
    configured: Option<&dyn CompressorPlugin>,
    stream: &Data,
    template: &Data,
    nthreads: u32,
) -> Option<Result<Data>> {
    let parsed = ParsedStream::parse(stream.bytes()).ok()?;
    let h = &parsed.header;
    let configured = configured.filter(|c| c.id() == h.plugin_id && h.plugin_id != crate::ID)?;
    let id = h.plugin_id.clone();
    let abs = h.abs_bound;
    Some((|| {
        let mut inner = ready_inner(registry, Some(configured), &id, abs, nthreads)?;
        if !inner.writes_containers() {
            return Err(PressioError::StreamMismatch(format!(
                "this is a pressio-ml `{id}` stream (gwlz stepped aside and emitted its inner \
                 stream), but the `{id}` registered here is another implementation that does \
                 not read pressio-ml streams; decompress it with pressio-ml's `{id}`"
            )));
        }
        let out = inner
            .decompress(stream, template)
            .map_err(|e| inner_error(&id, e))?;
        check_decompressed(&id, &out, None).map_err(|e| inner_error(&id, e))?;
        Ok(out)
    })())
}

impl GwlzCodec<'_> {
    /// The paper's enhancers: groups planned under the overhead cap, a network trained per
    /// group.
    fn cnn_enhancers(
        &mut self,
        x: &[f64],
        xp: &[f64],
        layout: Layout,
        finite: usize,
        abs: f64,
    ) -> Result<Enhancers> {
        let s = self.settings.clone();
        let p = plan(
            s.groups,
            s.channels,
            finite,
            self.stats.inner_bytes,
            s.max_overhead,
        );
        self.stats.plan = Some(p);
        let mut e = Enhancers::grouped(x, xp, p.groups, s.grouping, abs);
        e.channels = p.channels;
        let t1 = Instant::now();
        let mut todo = Vec::new();
        for (g, m) in e.members.iter().enumerate() {
            let Some(scale) = e.scales[g] else { continue };
            let picked = sample_members(m, s.max_samples, s.seed.wrapping_add(g as u64));
            let mut feats = Vec::new();
            e.inputs(xp, g, s.mask).extend(layout, &picked, &mut feats);
            let targets: Vec<f32> = picked
                .iter()
                .map(|&i| ((x[i] - xp[i]) / scale as f64).clamp(-1.0, 1.0) as f32)
                .collect();
            todo.push((g, feats, targets));
        }
        let trained = self.train_all(&todo, p.channels)?;
        drop(todo);
        self.stats.train_ms = t1.elapsed().as_secs_f64() * 1e3;
        self.stats.epochs_run = trained.iter().map(|t| t.1.epochs).min().unwrap_or(0);
        let mut it = trained.into_iter();
        for g in 0..e.models.len() {
            if e.scales[g].is_some() {
                e.models[g] = it.next().and_then(|t| t.0).map(Model::Cnn);
            }
        }
        Ok(e)
    }

    /// Apply a stream's enhancers (described by `meta`, stored in `stored`) to `out`, which
    /// holds `X'`.
    fn enhance_decoded<T: Float>(
        &self,
        meta: &Meta,
        stored: &Stored<'_>,
        dims: &[usize],
        abs: f64,
        xp_t: &[T],
        out: &mut [T],
    ) -> Result<()> {
        let n = out.len();
        let n_groups = meta.scales.len();
        let n_models = meta.scales.iter().flatten().count();
        let stencil = Stencil::new(dims);
        let per = match meta.kind {
            EnhancerKind::Cnn => 4 * stored_params(meta.channels),
            EnhancerKind::Linear => Filter::stored_bytes(stencil.features()),
        };
        let wbytes = stored.weights;
        if wbytes.len() != n_models * per {
            return Err(PressioError::corrupt(format!(
                "gwlz: {} weight bytes for {n_models} {} enhancers of {per} values",
                wbytes.len(),
                meta.kind.name()
            )));
        }
        if n_models == 0 {
            return Ok(());
        }
        let mut r = ByteReader::new(wbytes, "gwlz weights");
        let mut models = Vec::with_capacity(n_groups);
        for scale in &meta.scales {
            if scale.is_none() {
                models.push(None);
                continue;
            }
            models.push(Some(match meta.kind {
                EnhancerKind::Cnn => {
                    let n = stored_params(meta.channels);
                    let w = (0..n).map(|_| r.f32()).collect::<Result<Vec<f32>>>()?;
                    Model::Cnn(Folded::new(meta.channels, w)?)
                }
                EnhancerKind::Linear => {
                    Model::Linear(Filter::read(&stencil, &mut r, meta.layout >= 4)?)
                }
            }));
        }
        let xp: Vec<f64> = xp_t.iter().map(|v| v.to_f64()).collect();
        let groups = grouping::assign(&meta.boundaries, &xp);
        let e = Enhancers {
            boundaries: meta.boundaries.clone(),
            members: members(&groups, n_groups),
            groups,
            scales: meta.scales.clone(),
            models,
            channels: meta.channels,
        };
        let (rejected, mut ranked) = match stored.rejections {
            Rejections::None => (Vec::new(), None),
            Rejections::Indices(b) => (decode_indices(b, n)?, None),
            Rejections::Ranked(b) if meta.kind == EnhancerKind::Linear => {
                (Vec::new(), Some(RankedReader::decode(b, n)?))
            }
            Rejections::Ranked(_) => {
                return Err(PressioError::corrupt(
                    "gwlz: ranked rejections with network enhancers",
                ))
            }
        };
        let layout = Layout::new(dims);
        let slack = abs * SLACK_FRACTION;
        pressio_ml_codec::threads::with_threads("gwlz", self.settings.nthreads, |parallel| {
            for g in 0..n_groups {
                let Some(r) = e.predict(g, &xp, layout, &stencil, meta.mask, parallel)? else {
                    continue;
                };
                for (&i, ri) in e.members[g].iter().zip(r) {
                    if applies(ri, slack)
                        && !ranked.as_mut().is_some_and(|k| k.take(bucket(ri, abs)))
                    {
                        out[i] = enhance(xp_t[i], ri);
                    }
                }
            }
            Ok(())
        })?;
        if let Some(k) = &ranked {
            k.finish()?;
        }
        for i in rejected {
            out[i] = xp_t[i];
        }
        Ok(())
    }

    /// Linear enhancers, their number of groups chosen on the inner compressor's
    /// rate-distortion envelope: for each count of [`LINEAR_GROUPS`] the plan allows, every group's
    /// filter is fitted and the in-sample squared error it leaves is set against the bytes of
    /// the coefficients; the count with the largest estimated gain at equal size wins.
    #[allow(clippy::too_many_arguments)]
    fn linear_enhancers(
        &mut self,
        x: &[f64],
        xp: &[f64],
        stencil: &Stencil,
        finite: usize,
        abs: f64,
        env: &RdEnvelope,
        (bytes0, sse0): (f64, f64),
    ) -> Result<Enhancers> {
        let s = self.settings.clone();
        let t1 = Instant::now();
        let most = s.groups.min(finite / MIN_GROUP_POINTS).max(1);
        let per_group = (Filter::stored_bytes(stencil.features()) + 4) as f64;
        let mut best: Option<(f64, Enhancers)> = None;
        let sorted = grouping::sorted_finite(xp);
        for &g in LINEAR_GROUPS.iter().filter(|&&g| g <= most) {
            let mut e = Enhancers::grouped_sorted(x, xp, &sorted, g, s.grouping, abs);
            let mut sse = sse0;
            for (k, m) in e.members.iter().enumerate() {
                let Some(scale) = e.scales[k] else { continue };
                let scale = scale as f64;
                let picked = sample_members(m, s.max_samples, s.seed.wrapping_add(k as u64));
                let Some(coefs) = linear::fit(stencil, x, xp, &picked, scale) else {
                    continue;
                };
                let f = Filter::quantize(stencil, &coefs)?;
                // the squared error removed, estimated on the fitting sample (the whole group
                // when it is small) and scaled to the group
                let r = f.predict(stencil, xp, &picked, scale);
                let (mut before, mut after) = (0f64, 0f64);
                for (&i, ri) in picked.iter().zip(&r) {
                    let d = x[i] - xp[i];
                    if d.is_finite() {
                        before += d * d;
                        after += (d - ri) * (d - ri);
                    }
                }
                if after < before {
                    sse += (after - before) * m.len() as f64 / picked.len() as f64;
                    e.models[k] = Some(Model::Linear(f));
                }
            }
            let n_models = e.models.iter().flatten().count();
            if n_models == 0 {
                continue;
            }
            // the GWLZ section: frame, fixed fields, f32 boundaries, model bits, scales and
            // filters (the rejection list is not known yet)
            let bytes = bytes0
                + (SECTION_FRAME + 16 + 4 * (e.models.len() + 1) + e.models.len().div_ceil(8))
                    as f64
                + n_models as f64 * per_group;
            let gain = env
                .gain_db(bytes, sse.max(f64::MIN_POSITIVE))
                .unwrap_or(f64::NEG_INFINITY);
            if best.as_ref().is_none_or(|(b, _)| gain > *b) {
                best = Some((gain, e));
            }
        }
        // fitted once per inner stream tried: the times add up
        self.stats.train_ms += t1.elapsed().as_secs_f64() * 1e3;
        let e = best.map_or_else(|| Enhancers::none(x.len()), |b| b.1);
        self.stats.plan = Some(Plan {
            groups: e.models.len(),
            channels: 1,
        });
        Ok(e)
    }
}

/// Up to `max` members of a group, a seeded sample in index order when there are more.
fn sample_members(m: &[usize], max: usize, seed: u64) -> Vec<usize> {
    if m.len() <= max {
        return m.to_vec();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut idx: Vec<usize> = sample(&mut rng, m.len(), max)
        .into_iter()
        .map(|k| m[k])
        .collect();
    idx.sort_unstable();
    idx
}

/// Summed squared difference of the finite differences of two fields.
fn sse_between<T: Float>(x: &[f64], y: &[T]) -> f64 {
    x.iter()
        .zip(y)
        .map(|(&a, b)| {
            let d = a - b.to_f64();
            if d.is_finite() {
                d * d
            } else {
                0.0
            }
        })
        .sum()
}

/// Shrink factors tried for the linear enhancers' predictions in strict mode.
const SHRINKS: [f32; 3] = [1.0, 0.75, 0.5];
/// Runs of the inner compressor at finer bounds (the bound times 2^(-j/4), down to the bound
/// over 2 sqrt 2) that measure its rate-distortion envelope. Quarter steps, because at loose
/// bounds on small fields SZ3's curve has bumps between half steps: on a CESM cut, 5.6e-2
/// gives 1.4 dB more than 5e-2 for two thirds of the bytes.
const FINER_RUNS: i32 = 6;
/// The runs (indices into the bound and the finer runs) the linear enhancers are fitted on
/// in strict mode: the bound, and the bound over sqrt(2) and 2.
const INNER_CHOICES: [usize; 3] = [0, 2, 4];

/// The bound of inner run `j`: `abs` times 2^(-j/4).
fn run_bound(abs: f64, j: usize) -> f64 {
    abs * 2f64.powf(-(j as f64) / 4.0)
}
/// Smallest estimated gain (dB, at equal size over the inner compressor's envelope) for which
/// the encoder keeps the enhancers: the envelope is measured at a few bounds only, and a
/// compressor's curve bends between them.
const MIN_GAIN_DB: f64 = 0.25;

/// The values an enhancement works on.
#[derive(Clone, Copy)]
struct Field<'a, T> {
    /// The original values, as f64.
    x: &'a [f64],
    /// `X'`, as f64.
    xp: &'a [f64],
    /// `X'`.
    xp_t: &'a [T],
    /// The original values.
    values: &'a [T],
}

/// One possible stream: its sections and what they hold.
struct Candidate<T> {
    sections: Vec<Section>,
    /// Bytes of the sections, frames included.
    bytes: usize,
    /// Squared error of the decoded field.
    sse: f64,
    models: usize,
    weight_bytes: usize,
    rejected: usize,
    exact: usize,
    strict_bytes: usize,
    _values: std::marker::PhantomData<T>,
}

/// Points where `out` breaks the bound (strict mode stores them exactly).
fn exact_points<T: Float>(
    x: &[f64],
    out: &[T],
    values: &[T],
    abs: f64,
    strict: bool,
) -> Vec<(usize, T)> {
    if !strict {
        return Vec::new();
    }
    (0..x.len())
        .filter(|&i| {
            let e = (x[i] - out[i].to_f64()).abs();
            e.is_nan() || e > abs
        })
        .map(|i| (i, values[i]))
        .collect()
}

/// The sections every stream starts with: the inner stream and, for a foreign one (`INNR`),
/// the fingerprint of `X'` (the decoder refuses another implementation's values).
fn inner_sections<T: Float>(inner: &[Section], xp_t: &[T]) -> Vec<Section> {
    let mut v = inner.to_vec();
    if inner.iter().any(|s| s.tag == TAG_INNER) {
        v.push(Section::new(TAG_INNER_PRINT, Fingerprint::of(xp_t).write()));
    }
    v
}

/// The stream without enhancement: the inner stream (see [`inner_sections`]) and the exact
/// points.
fn plain_sections<T: Float>(
    inner: &[Section],
    xp_t: &[T],
    exact: &[(usize, T)],
) -> Result<Vec<Section>> {
    let mut v = inner_sections(inner, xp_t);
    if !exact.is_empty() {
        v.push(Section::new(TAG_EXACT, encode_points(exact)?));
    }
    Ok(v)
}

impl GwlzCodec<'_> {
    /// The stream `e` gives: every group's predictions verified (strict mode) and gated (a
    /// group whose enhancer does not lower its squared error loses it), then the sections.
    fn candidate<T: Float>(
        &self,
        mut e: Enhancers,
        preds: &[Option<Vec<f64>>],
        f: Field<'_, T>,
        abs: f64,
        inner: &[Section],
        overhead: usize,
    ) -> Result<Candidate<T>> {
        let s = self.settings;
        let Field {
            x,
            xp,
            xp_t,
            values,
        } = f;
        let slack = abs * SLACK_FRACTION;
        let mut out: Vec<T> = xp_t.to_vec();
        let mut rejected: Vec<usize> = Vec::new();
        // linear predictions are the same bits on both sides: rejections are listed by rank
        // within their class of |r| among the points the decoder enhances
        let ranked = s.enhancer == EnhancerKind::Linear;
        let mut ranks = RankedBuilder::new();
        for (g, r) in preds.iter().enumerate() {
            let (Some(r), Some(_)) = (r, &e.models[g]) else {
                continue;
            };
            let mut before = 0.0;
            let mut after = 0.0;
            let mut rej = Vec::new();
            let mut classes = Vec::new();
            let mut vals = Vec::with_capacity(r.len());
            for (&i, &ri) in e.members[g].iter().zip(r.iter()) {
                let outcome = if s.strict {
                    decide(x[i], xp_t[i], ri, slack, abs)
                } else if applies(ri, slack) {
                    Outcome::Enhance
                } else {
                    Outcome::Keep
                };
                if applies(ri, slack) {
                    classes.push((bucket(ri, abs), outcome == Outcome::Reject));
                }
                let y = match outcome {
                    Outcome::Enhance => enhance(xp_t[i], ri),
                    Outcome::Keep => xp_t[i],
                    Outcome::Reject => {
                        // ranked lists are built from `classes` below
                        if !ranked {
                            rej.push(i);
                        }
                        xp_t[i]
                    }
                };
                let d0 = x[i] - xp[i];
                let d1 = x[i] - y.to_f64();
                if d0.is_finite() && d1.is_finite() {
                    before += d0 * d0;
                    after += d1 * d1;
                }
                vals.push(y);
            }
            if after < before * (1.0 - 1e-3) {
                for (&i, y) in e.members[g].iter().zip(vals) {
                    out[i] = y;
                }
                rejected.extend(rej);
                for (b, rejected) in classes {
                    ranks.push(b, rejected);
                }
            } else {
                e.scales[g] = None;
                e.models[g] = None;
            }
        }
        rejected.sort_unstable();
        // a group is stored with a scale exactly when it has an enhancer
        for (scale, model) in e.scales.iter_mut().zip(&e.models) {
            if model.is_none() {
                *scale = None;
            }
        }
        let models = e.models.iter().flatten().count();
        if models == 0 {
            let exact = exact_points(x, xp_t, values, abs, s.strict);
            let sections = plain_sections(inner, xp_t, &exact)?;
            return Ok(Candidate {
                bytes: sections_len(&sections) + overhead,
                sections,
                sse: sse_between(x, xp_t),
                models: 0,
                weight_bytes: 0,
                rejected: 0,
                exact: exact.len(),
                strict_bytes: 0,
                _values: std::marker::PhantomData,
            });
        }
        let exact = exact_points(x, &out, values, abs, s.strict);
        for &(i, v) in &exact {
            out[i] = v;
        }
        let mut weights = ByteWriter::new();
        for m in e.models.iter().flatten() {
            m.write(&mut weights);
        }
        let weight_bytes = weights.len();
        let meta = Meta {
            layout: LAYOUT,
            mask: s.mask,
            strict: s.strict,
            kind: s.enhancer,
            channels: e.channels,
            boundaries: e.boundaries.clone(),
            scales: e.scales.clone(),
        };
        let n_rejected = if ranked {
            ranks.rejected()
        } else {
            rejected.len()
        };
        let list = if n_rejected == 0 {
            Vec::new()
        } else if ranked {
            ranks.encode()?
        } else {
            encode_indices(&rejected)?
        };
        let rejections = match (list.is_empty(), ranked) {
            (true, _) => Rejections::None,
            (false, true) => Rejections::Ranked(&list),
            (false, false) => Rejections::Indices(&list),
        };
        let mut strict_bytes = list.len();
        let mut sections = inner_sections(inner, xp_t);
        sections.push(Section::new(
            TAG_GWLZ,
            meta.write(&weights.into_inner(), rejections),
        ));
        if !exact.is_empty() {
            let b = encode_points(&exact)?;
            strict_bytes += b.len();
            sections.push(Section::new(TAG_EXACT, b));
        }
        Ok(Candidate {
            bytes: sections_len(&sections) + overhead,
            sections,
            sse: sse_between(x, &out),
            models,
            weight_bytes,
            rejected: n_rejected,
            exact: exact.len(),
            strict_bytes,
            _values: std::marker::PhantomData,
        })
    }
}

impl FieldCodec for GwlzCodec<'_> {
    fn encode<T: Float>(&mut self, values: &[T], dims: &[usize], abs: f64) -> Result<Vec<Section>> {
        let s = self.settings.clone();
        let t0 = Instant::now();
        let n = values.len();
        let x: Vec<f64> = values.iter().map(|v| v.to_f64()).collect();
        // The inner compressor at the bound, and (for the envelope and the linear enhancers)
        // at finer bounds, down to the bound over 2 sqrt(2) in quarter steps.
        let finer = if s.step_aside || s.enhancer == EnhancerKind::Linear {
            FINER_RUNS
        } else {
            0
        };
        let mut runs = Vec::with_capacity(finer as usize + 1);
        for j in 0..=finer {
            let eb = run_bound(abs, j as usize);
            let (inner, xp_t) = self.run_inner(values, dims, (eb, abs), j == 0)?;
            let sse = sse_between(&x, &xp_t);
            runs.push((inner, xp_t, sse));
        }
        self.stats.inner_ms = t0.elapsed().as_secs_f64() * 1e3;
        self.stats.mse_inner = runs[0].2 / n as f64;
        self.stats.inner_bound = abs;
        // The inner compressor's rate-distortion envelope, what an enhanced stream must beat;
        // stepping aside emits the inner stream itself (where it can: see `passthrough`).
        let inner_points: Vec<(f64, f64)> = runs
            .iter()
            .map(|(inner, _, sse)| (inner.stream_bytes as f64, *sse))
            .collect();
        let env = RdEnvelope::new(&inner_points);
        let measured = inner_points.len() > 1;
        let overhead = stream_overhead(crate::ID, dims.len());

        let layout = Layout::new(dims);
        let stencil = Stencil::new(dims);
        // Linear enhancers are also fitted on the inner streams at finer bounds: a point whose
        // inner error is at most e / sqrt 2 takes any correction up to 0.29 e without a
        // rejection, which can cost fewer bytes than the rejections at the bound.
        let bases: &[usize] = match s.enhancer {
            EnhancerKind::Linear if s.strict && measured => &INNER_CHOICES,
            _ => &[0],
        };
        let shrinks: &[f32] = match s.enhancer {
            EnhancerKind::Linear if s.strict => &SHRINKS,
            _ => &[1.0],
        };
        let t1 = Instant::now();
        let mut best: Option<(f64, Candidate<T>, usize)> = None;
        for &j in bases {
            let (inner, xp_t, sse) = &runs[j];
            let xp: Vec<f64> = xp_t.iter().map(|v| v.to_f64()).collect();
            let finite = xp.iter().filter(|v| v.is_finite()).count();
            let e = match s.enhancer {
                EnhancerKind::Cnn => self.cnn_enhancers(&x, &xp, layout, finite, abs)?,
                EnhancerKind::Linear => {
                    let plain = sections_len(&inner.sections) + overhead;
                    self.linear_enhancers(
                        &x,
                        &xp,
                        &stencil,
                        finite,
                        abs,
                        &env,
                        (plain as f64, *sse),
                    )?
                }
            };
            // Inference, strict verification, gating and the stream, for each shrink factor of
            // the linear enhancers' predictions (smaller predictions cross the bound less often,
            // so strict mode stores fewer rejections); the one with the largest gain is kept.
            // Linear filters shrink by their step alone: one pass computes the sums of all.
            let sums = match s.enhancer {
                EnhancerKind::Linear => Some(e.sums(&xp, &stencil, s.nthreads)?),
                EnhancerKind::Cnn => None,
            };
            for &alpha in shrinks {
                let shrunk = e.shrunk(alpha);
                let preds = match &sums {
                    Some(sums) => shrunk.residuals(sums),
                    None => shrunk.predictions(&xp, layout, &stencil, s.mask, s.nthreads)?,
                };
                let c = self.candidate(
                    shrunk,
                    &preds,
                    Field {
                        x: &x,
                        xp: &xp,
                        xp_t,
                        values,
                    },
                    abs,
                    &inner.sections,
                    overhead,
                )?;
                if c.models == 0 {
                    continue;
                }
                let gain = match env.gain_db(c.bytes as f64, c.sse.max(f64::MIN_POSITIVE)) {
                    Some(g) if measured => g,
                    _ => -c.sse,
                };
                if best.as_ref().is_none_or(|(g, _, _)| gain > *g) {
                    best = Some((gain, c, j));
                }
            }
        }
        // the fitting inside the loop is training time
        self.stats.enhance_ms = t1.elapsed().as_secs_f64() * 1e3 - self.stats.train_ms;
        let (inner0, xp0, _) = &runs[0];
        let plain = |stats: &mut RunStats, aside: bool| -> Result<Vec<Section>> {
            let exact = exact_points(&x, xp0, values, abs, s.strict);
            stats.stepped_aside = aside;
            stats.models = 0;
            stats.weight_bytes = 0;
            stats.rejected = 0;
            stats.strict_bytes = 0;
            stats.exact = exact.len();
            stats.mse_enhanced = stats.mse_inner;
            plain_sections(&inner0.sections, xp0, &exact)
        };
        // nothing enhances: the inner stream alone (and its exact points)
        let Some((gain, c, j)) = best else {
            self.stats.rd_gain_db = 0.0;
            return plain(&mut self.stats, false);
        };
        self.stats.rd_gain_db = if measured { gain } else { 0.0 };
        // The encoder-side decision: the enhanced stream must beat the inner compressor run
        // at finer bounds for the same bytes (its envelope) by a margin.
        if s.step_aside && !(measured && gain >= MIN_GAIN_DB) {
            return plain(&mut self.stats, true);
        }
        self.stats.models = c.models;
        self.stats.weight_bytes = c.weight_bytes;
        self.stats.rejected = c.rejected;
        self.stats.exact = c.exact;
        self.stats.strict_bytes = c.strict_bytes;
        self.stats.mse_enhanced = c.sse / n as f64;
        self.stats.stepped_aside = false;
        self.stats.inner_bytes = runs[j].0.stream_bytes;
        // the enhancement's own gain is over the inner stream it enhances
        self.stats.mse_inner = runs[j].2 / n as f64;
        self.stats.inner_bound = run_bound(abs, j);
        Ok(c.sections)
    }

    fn decode<T: Float>(
        &mut self,
        stream: &ParsedStream<'_>,
        dims: &[usize],
        abs: f64,
        out: &mut [T],
    ) -> Result<()> {
        let n = out.len();
        let InnerOf {
            id,
            stream: inner_stream,
            abs: inner_abs,
            compact,
        } = inner_of(stream, T::DTYPE, dims, abs)?;
        let mut inner = ready_inner(
            self.registry,
            self.inner,
            &id,
            inner_abs,
            self.settings.nthreads,
        )?;
        if compact && !inner.writes_containers() {
            return Err(PressioError::StreamMismatch(format!(
                "this gwlz stream's inner stream is a pressio-ml `{id}` stream, but the `{id}` \
                 registered here is another implementation that does not read pressio-ml \
                 streams; decompress it with pressio-ml's `{id}`"
            )));
        }
        let xp_t = decode_inner::<T>(
            inner.as_mut(),
            &id,
            &Data::from_byte_vec(inner_stream),
            dims,
        )?;
        drop(inner);
        out.copy_from_slice(&xp_t);
        // a foreign inner stream comes with the fingerprint of X'
        match stream.optional_section(TAG_INNER_PRINT) {
            Some(print) => Fingerprint::read(print)?.check(
                &Fingerprint::of(&xp_t),
                abs * SLACK_FRACTION,
                &id,
            )?,
            None if !compact => {
                return Err(PressioError::corrupt("missing section XPFP"));
            }
            None => {}
        }
        // A stream without a GWLZ section is the inner stream alone (the encoder stepped
        // aside): X' and the exact points.
        if let Some(meta_bytes) = stream.optional_section(TAG_GWLZ) {
            let (meta, stored) = Meta::read(stream, meta_bytes)?;
            self.enhance_decoded(&meta, &stored, dims, abs, &xp_t, out)?;
        } else if [TAG_WEIGHTS, TAG_REJECTED]
            .iter()
            .any(|&t| stream.optional_section(t).is_some())
        {
            return Err(PressioError::corrupt(
                "gwlz: enhancer sections without their GWLZ metadata",
            ));
        }
        if let Some(b) = stream.optional_section(TAG_EXACT) {
            for (i, v) in decode_points::<T>(b, n)? {
                out[i] = v;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pressio_ml_codec::container::write_stream;
    use pressio_ml_core::RegistryBuilder;

    /// The layout-3 `GWLZ` section of `meta` (what gwlz 0.1 wrote).
    fn layout3(meta: &Meta) -> Vec<u8> {
        let mut w = ByteWriter::new();
        w.put_u8(3);
        w.put_u8(meta.mask as u8);
        w.put_u8(meta.strict as u8);
        w.put_u8(meta.kind.code());
        w.put_u32(meta.channels as u32);
        w.put_u32(meta.scales.len() as u32);
        for &b in &meta.boundaries {
            w.put_f64(b);
        }
        for s in &meta.scales {
            w.put_u8(s.is_some() as u8);
            w.put_f32(s.unwrap_or(0.0));
        }
        w.into_inner()
    }

    /// A gwlz 0.1 stream (`INNR`, `XPFP`, layout-3 `GWLZ`, `WGTS`) still decodes, its linear
    /// filters predicting with their own formula: the same values as the layout-4 stream it
    /// was rebuilt from, to rounding.
    #[test]
    fn layout_3_streams_still_decode() {
        let mut b = RegistryBuilder::new();
        pressio_ml_sz3::register(&mut b).unwrap();
        crate::register(&mut b).unwrap();
        let reg = b.build();
        let (nx, ny) = (96usize, 80usize);
        let v: Vec<f32> = (0..nx * ny)
            .map(|i| {
                let (x, y) = ((i % nx) as f32, (i / nx) as f32);
                (x * 0.05).sin() * (y * 0.07).cos() * 10.0 + (x * 0.31 + y * 0.17).sin()
            })
            .collect();
        let input = Data::from_vec(v, &[nx, ny]).unwrap();
        let mut c = reg.compressor("gwlz").unwrap();
        c.set_options(
            &Options::new()
                .with(keys::REL, 1e-2)
                .with("gwlz:strict", false)
                .with("gwlz:step_aside", false),
        )
        .unwrap();
        let mut s = Data::empty(DType::Byte, &[]);
        c.compress(&input, &mut s).unwrap();
        let parsed = ParsedStream::parse(s.bytes()).unwrap();
        let h = &parsed.header;
        let (meta, stored) = Meta::read(&parsed, parsed.section(TAG_GWLZ).unwrap()).unwrap();
        assert!(
            meta.scales.iter().flatten().count() > 0,
            "the test needs enhancers"
        );
        assert_eq!(stored.rejections, Rejections::None);
        let inner = inner_of(&parsed, DType::Float, &h.dims, h.abs_bound).unwrap();
        assert!(inner.compact && inner.abs == h.abs_bound);
        let mut sz3 = reg.compressor("sz3").unwrap();
        let mut xp = Data::empty(DType::Float, &[nx, ny]);
        sz3.decompress(&Data::from_byte_vec(inner.stream.clone()), &mut xp)
            .unwrap();
        let mut innr = ByteWriter::new();
        innr.put_str("sz3");
        innr.put_bytes(&inner.stream);
        let mut old_header = h.clone();
        old_header.plugin_version = Version::new(0, 1, 0);
        let old = write_stream(
            &old_header,
            &[
                Section::new(TAG_INNER, innr.into_inner()),
                Section::new(TAG_GWLZ, layout3(&meta)),
                Section::new(
                    TAG_INNER_PRINT,
                    Fingerprint::of(xp.as_slice::<f32>().unwrap()).write(),
                ),
                Section::new(TAG_WEIGHTS, stored.weights.to_vec()),
            ],
        );
        let mut decode = |bytes: &[u8]| {
            let mut out = Data::empty(DType::Float, &[nx, ny]);
            c.decompress(&Data::from_byte_vec(bytes.to_vec()), &mut out)
                .unwrap();
            out.as_slice::<f32>().unwrap().to_vec()
        };
        let new_values = decode(s.bytes());
        let old_values = decode(&old);
        let worst = new_values
            .iter()
            .zip(&old_values)
            .map(|(a, b)| (a - b).abs() as f64)
            .fold(0f64, f64::max);
        assert!(worst <= 1e-5 * h.abs_bound, "{worst:e}");
        assert!(new_values != xp.as_slice::<f32>().unwrap(), "enhanced");
    }
}
