//! The GWLZ body inside the field envelope: inner compression, the inner compressor's
//! rate-distortion envelope, grouping, fitting or training, strict verification, the
//! encoder-side decision, and the stream sections.
//!
//! Sections (besides the envelope's `NFIN`, `PTCH`, `RAW_`):
//!
//! * `INNR`: the inner compressor's id and its complete stream;
//! * `GWLZ` (streams with enhancers): layout version, masking and strict flags, the enhancer
//!   kind (layout 3), channels, group count, the n+1 group boundaries (f64) and per group a
//!   model flag and the residual scale (f32);
//! * `WGTS`: the stored enhancers of the groups that have one, in group order (networks: fp32
//!   weights; linear filters: an fp32 step and 16-bit coefficients);
//! * `REJC`: (strict mode) indices of in-model points that keep `X'`;
//! * `EXCT`: (strict mode) points stored exactly because no candidate value was within the
//!   bound (the inner compressor broke its bound there);
//! * `XPFP`: a fingerprint of `X'` as the encoder decoded it (see [`Fingerprint`]). The decoder
//!   refuses a stream whose inner compressor decodes other values: another implementation under
//!   the same id (LibPressio's `zfp` inside LibPressio, pressio-ml's in the CLI) or an inner
//!   compressor whose streams depend on options the decoder lacks would otherwise give wrong
//!   values with no error. Every stream carries it.
//!
//! A stream without `GWLZ` is the inner stream alone (the encoder stepped aside, or no
//! enhancer lowered the error). When the inner compressor writes pressio-ml containers, the
//! plugin returns that inner stream itself instead ([`passthrough`]).

use crate::enhancer::{self, stored_params, Folded, TrainInfo, TrainSettings};
use crate::features::{GroupInputs, Layout, PATCH_LEN};
use crate::grouping::{self, Grouping, NO_GROUP};
use crate::linear::{self, Filter, Stencil};
use crate::plan::{plan, Plan, MIN_GROUP_POINTS};
use crate::strict::{applies, decide, enhance, Outcome, SLACK_FRACTION};
use pressio_ml_codec::bytes::{ByteReader, ByteWriter};
use pressio_ml_codec::container::{sections_len, ParsedStream, Section, Tag, SECTION_FRAME};
use pressio_ml_codec::field::{FieldCodec, Float};
use pressio_ml_codec::points::{decode_indices, decode_points, encode_indices, encode_points};
use pressio_ml_codec::rd::RdEnvelope;
use pressio_ml_core::{
    check_decompressed, keys, CompressorPlugin, DType, Data, Options, PressioError, Registry,
    Result,
};
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::time::Instant;
use tch::Device;

/// The inner stream.
pub const TAG_INNER: Tag = Tag(*b"INNR");
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
/// Most values of `X'` a fingerprint samples.
const PRINT_SAMPLES: usize = 8;
/// Layout version of the `GWLZ` section: 3 since it names the enhancer kind (layout 2 streams,
/// whose enhancers are all networks predicted by the portable engine, are still read; layout 1
/// streams were predicted by libtorch, whose bits depend on the host).
const LAYOUT: u8 = 3;
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

/// The `GWLZ` section.
#[derive(Debug, Clone, PartialEq)]
struct Meta {
    mask: bool,
    strict: bool,
    kind: EnhancerKind,
    channels: usize,
    boundaries: Vec<f64>,
    /// Per group: residual scale if the group has a model.
    scales: Vec<Option<f32>>,
}

impl Meta {
    fn write(&self) -> Vec<u8> {
        let mut w = ByteWriter::new();
        w.put_u8(LAYOUT);
        w.put_u8(self.mask as u8);
        w.put_u8(self.strict as u8);
        w.put_u8(self.kind.code());
        w.put_u32(self.channels as u32);
        w.put_u32(self.scales.len() as u32);
        for &b in &self.boundaries {
            w.put_f64(b);
        }
        for s in &self.scales {
            w.put_u8(s.is_some() as u8);
            w.put_f32(s.unwrap_or(0.0));
        }
        w.into_inner()
    }

    fn read(bytes: &[u8]) -> Result<Meta> {
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
            match r.u8()? {
                0 => EnhancerKind::Cnn,
                1 => EnhancerKind::Linear,
                k => return Err(PressioError::corrupt(format!("gwlz enhancer kind {k}"))),
            }
        };
        let channels = r.u32()? as usize;
        let groups = r.u32()? as usize;
        if groups > MAX_GROUPS || !(1..=MAX_CHANNELS).contains(&channels) {
            return Err(PressioError::corrupt(format!(
                "gwlz: {groups} groups of {channels} channels"
            )));
        }
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
                if has && !(s.is_finite() && s > 0.0) {
                    return Err(PressioError::corrupt(format!("gwlz residual scale {s}")));
                }
                scales.push(has.then_some(s));
            }
        }
        r.finish()?;
        Ok(Meta {
            mask,
            strict,
            kind,
            channels,
            boundaries,
            scales,
        })
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
        let boundaries = if n_groups > 0 {
            grouping::boundaries(xp, n_groups, grouping).unwrap_or_default()
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
    fn shrunk(&self, alpha: f32, stencil: &Stencil) -> Enhancers {
        let mut e = self.clone();
        if alpha != 1.0 {
            for m in e.models.iter_mut().flatten() {
                if let Model::Linear(f) = m {
                    if let Ok(g) = f.scaled(stencil, alpha as f64) {
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
            Model::Linear(f) => f.predict(stencil, xp, &self.members[g], scale as f64),
        }))
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
    stream: &[u8],
    dims: &[usize],
) -> Result<Vec<T>> {
    let out = inner
        .decompress(
            &Data::from_byte_vec(stream.to_vec()),
            &Data::empty(T::DTYPE, dims),
        )
        .map_err(|e| inner_error(id, e))?;
    check_decompressed(id, &out, Some((T::DTYPE, dims))).map_err(|e| inner_error(id, e))?;
    Ok(out.as_slice::<T>()?.to_vec())
}

impl GwlzCodec<'_> {
    /// Compress `values` with the inner compressor at `abs` and decode the stream as the
    /// decoder will: the `INNR` section and `X'`. With `record`, the run's facts go into the
    /// stats (the stream's own run; the finer runs that measure the envelope leave them alone).
    fn run_inner<T: Float>(
        &mut self,
        values: &[T],
        dims: &[usize],
        abs: f64,
        record: bool,
    ) -> Result<(Vec<u8>, Vec<T>)> {
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
        let mut w = ByteWriter::with_capacity(stream.num_bytes() + id.len() + 8);
        w.put_str(&id);
        w.put_bytes(stream.bytes());
        let section = w.into_inner();
        // X' as the decoder will see it: decoded by a compressor set up as the decoder's is.
        let xp = decode_inner::<T>(inner.as_mut(), &id, stream.bytes(), dims)?;
        if record {
            self.stats.inner_bytes = stream.num_bytes();
            self.stats.inner_id = id;
        }
        Ok((section, xp))
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
        .all(|(t, _)| *t == TAG_INNER || *t == TAG_INNER_PRINT);
    let inner = outer.optional_section(TAG_INNER)?;
    if !only_inner || !matches!(input.dtype(), DType::Float | DType::Double) {
        return None;
    }
    let (id, bytes) = split_inner(inner).ok()?;
    let parsed = ParsedStream::parse(bytes).ok()?;
    let h = &parsed.header;
    (h.plugin_id == id && h.dims == input.dims() && h.dtype == input.dtype())
        .then(|| bytes.to_vec())
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

    /// Apply a stream's enhancers (described by `meta`) to `out`, which holds `X'`.
    fn enhance_decoded<T: Float>(
        &self,
        stream: &ParsedStream<'_>,
        meta: &Meta,
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
        let wbytes = stream.optional_section(TAG_WEIGHTS).unwrap_or(&[]);
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
                EnhancerKind::Linear => Model::Linear(Filter::read(&stencil, &mut r)?),
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
        let rejected = match stream.optional_section(TAG_REJECTED) {
            Some(b) => decode_indices(b, n)?,
            None => Vec::new(),
        };
        let layout = Layout::new(dims);
        let slack = abs * SLACK_FRACTION;
        pressio_ml_codec::threads::with_threads("gwlz", self.settings.nthreads, |parallel| {
            for g in 0..n_groups {
                let Some(r) = e.predict(g, &xp, layout, &stencil, meta.mask, parallel)? else {
                    continue;
                };
                for (&i, ri) in e.members[g].iter().zip(r) {
                    if applies(ri, slack) {
                        out[i] = enhance(xp_t[i], ri);
                    }
                }
            }
            Ok(())
        })?;
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
        let per_group =
            (Filter::stored_bytes(stencil.features()) + crate::plan::GROUP_SIDE_BYTES) as f64;
        let mut best: Option<(f64, Enhancers)> = None;
        for &g in LINEAR_GROUPS.iter().filter(|&&g| g <= most) {
            let mut e = Enhancers::grouped(x, xp, g, s.grouping, abs);
            let mut sse = sse0;
            for (k, m) in e.members.iter().enumerate() {
                let Some(scale) = e.scales[k] else { continue };
                let scale = scale as f64;
                let picked = sample_members(m, s.max_samples, s.seed.wrapping_add(k as u64));
                let Some(coefs) = linear::fit(stencil, x, xp, &picked, scale) else {
                    continue;
                };
                let f = Filter::quantize(stencil, &coefs)?;
                let r = f.predict(stencil, xp, m, scale);
                let (mut before, mut after) = (0f64, 0f64);
                for (&i, ri) in m.iter().zip(&r) {
                    let d = x[i] - xp[i];
                    if d.is_finite() {
                        before += d * d;
                        after += (d - ri) * (d - ri);
                    }
                }
                if after < before {
                    sse += after - before;
                    e.models[k] = Some(Model::Linear(f));
                }
            }
            let n_models = e.models.iter().flatten().count();
            if n_models == 0 {
                continue;
            }
            let bytes = bytes0 + n_models as f64 * per_group + (e.models.len() * 9 + 64) as f64;
            let gain = env
                .gain_db(bytes, sse.max(f64::MIN_POSITIVE))
                .unwrap_or(f64::NEG_INFINITY);
            if best.as_ref().is_none_or(|(b, _)| gain > *b) {
                best = Some((gain, e));
            }
        }
        self.stats.train_ms = t1.elapsed().as_secs_f64() * 1e3;
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
/// Runs of the inner compressor at finer bounds (the bound times 2^(-j/2)) that measure its
/// rate-distortion envelope.
const FINER_RUNS: i32 = 3;
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

/// The stream without enhancement: the inner stream, the fingerprint of `X'` (the decoder
/// refuses another implementation's values, as with enhancers), and the exact points.
fn plain_sections<T: Float>(
    inner_section: &[u8],
    xp_t: &[T],
    exact: &[(usize, T)],
) -> Result<Vec<Section>> {
    let mut v = vec![
        Section::new(TAG_INNER, inner_section.to_vec()),
        Section::new(TAG_INNER_PRINT, Fingerprint::of(xp_t).write()),
    ];
    if !exact.is_empty() {
        v.push(Section::new(TAG_EXACT, encode_points(exact)?));
    }
    Ok(v)
}

impl GwlzCodec<'_> {
    /// The stream `e` gives: every group's predictions verified (strict mode) and gated (a
    /// group whose enhancer does not lower its squared error loses it), then the sections.
    #[allow(clippy::too_many_arguments)]
    fn candidate<T: Float>(
        &self,
        mut e: Enhancers,
        f: Field<'_, T>,
        layout: Layout,
        stencil: &Stencil,
        abs: f64,
        inner_section: &[u8],
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
        pressio_ml_codec::threads::with_threads("gwlz", s.nthreads, |parallel| {
            for g in 0..e.models.len() {
                let Some(r) = e.predict(g, xp, layout, stencil, s.mask, parallel)? else {
                    continue;
                };
                let mut before = 0.0;
                let mut after = 0.0;
                let mut rej = Vec::new();
                let mut vals = Vec::with_capacity(r.len());
                for (&i, &ri) in e.members[g].iter().zip(&r) {
                    let outcome = if s.strict {
                        decide(x[i], xp_t[i], ri, slack, abs)
                    } else if applies(ri, slack) {
                        Outcome::Enhance
                    } else {
                        Outcome::Keep
                    };
                    let y = match outcome {
                        Outcome::Enhance => enhance(xp_t[i], ri),
                        Outcome::Keep => xp_t[i],
                        Outcome::Reject => {
                            rej.push(i);
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
                } else {
                    e.scales[g] = None;
                    e.models[g] = None;
                }
            }
            Ok(())
        })?;
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
            let sections = plain_sections(inner_section, xp_t, &exact)?;
            return Ok(Candidate {
                bytes: sections_len(&sections),
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
            mask: s.mask,
            strict: s.strict,
            kind: s.enhancer,
            channels: e.channels,
            boundaries: e.boundaries.clone(),
            scales: e.scales.clone(),
        };
        let mut sections = vec![
            Section::new(TAG_INNER, inner_section.to_vec()),
            Section::new(TAG_GWLZ, meta.write()),
            Section::new(TAG_INNER_PRINT, Fingerprint::of(xp_t).write()),
            Section::new(TAG_WEIGHTS, weights.into_inner()),
        ];
        let mut strict_bytes = 0;
        if !rejected.is_empty() {
            let b = encode_indices(&rejected)?;
            strict_bytes += b.len();
            sections.push(Section::new(TAG_REJECTED, b));
        }
        if !exact.is_empty() {
            let b = encode_points(&exact)?;
            strict_bytes += b.len();
            sections.push(Section::new(TAG_EXACT, b));
        }
        Ok(Candidate {
            bytes: sections_len(&sections),
            sections,
            sse: sse_between(x, &out),
            models,
            weight_bytes,
            rejected: rejected.len(),
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
        let (inner_section, xp_t) = self.run_inner(values, dims, abs, true)?;
        self.stats.inner_ms = t0.elapsed().as_secs_f64() * 1e3;
        let n = values.len();
        let xp: Vec<f64> = xp_t.iter().map(|v| v.to_f64()).collect();
        let x: Vec<f64> = values.iter().map(|v| v.to_f64()).collect();
        let finite = xp.iter().filter(|v| v.is_finite()).count();
        let sse_inner = sse_between(&x, &xp_t);
        self.stats.mse_inner = sse_inner / n as f64;

        // The inner compressor's rate-distortion envelope: its stream and runs at finer
        // bounds (the bound over sqrt(2), 2 and 2 sqrt(2)), what the enhanced stream must beat.
        let bytes0 = (inner_section.len() + SECTION_FRAME) as f64;
        let mut inner_points = vec![(bytes0, sse_inner)];
        if s.step_aside || s.enhancer == EnhancerKind::Linear {
            for j in 1..=FINER_RUNS {
                let eb = abs * std::f64::consts::FRAC_1_SQRT_2.powi(j);
                let (finer, xp2) = self.run_inner(values, dims, eb, false)?;
                inner_points.push(((finer.len() + SECTION_FRAME) as f64, sse_between(&x, &xp2)));
            }
        }
        let env = RdEnvelope::new(&inner_points);
        let measured = inner_points.len() > 1;

        let layout = Layout::new(dims);
        let stencil = Stencil::new(dims);
        let e = match s.enhancer {
            EnhancerKind::Cnn => self.cnn_enhancers(&x, &xp, layout, finite, abs)?,
            EnhancerKind::Linear => {
                self.linear_enhancers(&x, &xp, &stencil, finite, abs, &env, (bytes0, sse_inner))?
            }
        };
        // Inference, strict verification, gating and the stream, for each shrink factor of
        // the linear enhancers' predictions (smaller predictions cross the bound less often,
        // so strict mode stores fewer rejections); the one with the largest gain is kept.
        let t2 = Instant::now();
        let shrinks: &[f32] = match s.enhancer {
            EnhancerKind::Linear if s.strict => &SHRINKS,
            _ => &[1.0],
        };
        let mut best: Option<(f64, Candidate<T>)> = None;
        for &alpha in shrinks {
            let c = self.candidate(
                e.shrunk(alpha, &stencil),
                Field {
                    x: &x,
                    xp: &xp,
                    xp_t: &xp_t,
                    values,
                },
                layout,
                &stencil,
                abs,
                &inner_section,
            )?;
            let gain = match env.gain_db(c.bytes as f64, c.sse.max(f64::MIN_POSITIVE)) {
                Some(g) if measured => g,
                _ => -c.sse,
            };
            if best.as_ref().is_none_or(|(g, _)| gain > *g) {
                best = Some((gain, c));
            }
        }
        drop(e);
        let (gain, c) = best.ok_or_else(|| PressioError::Internal("gwlz: no candidate".into()))?;
        self.stats.enhance_ms = t2.elapsed().as_secs_f64() * 1e3;
        self.stats.models = c.models;
        self.stats.weight_bytes = c.weight_bytes;
        self.stats.rejected = c.rejected;
        self.stats.exact = c.exact;
        self.stats.strict_bytes = c.strict_bytes;
        self.stats.mse_enhanced = c.sse / n as f64;
        self.stats.stepped_aside = false;
        self.stats.rd_gain_db = if measured { gain } else { 0.0 };
        if c.models == 0 {
            // nothing enhances: the inner stream alone (and its exact points)
            return Ok(c.sections);
        }
        // The encoder-side decision: the enhanced stream must beat the inner compressor run
        // at finer bounds for the same bytes (its envelope) by a margin.
        if s.step_aside && !(measured && gain >= MIN_GAIN_DB) {
            let exact = exact_points(&x, &xp_t, values, abs, s.strict);
            self.stats.stepped_aside = true;
            self.stats.models = 0;
            self.stats.weight_bytes = 0;
            self.stats.rejected = 0;
            self.stats.strict_bytes = 0;
            self.stats.exact = exact.len();
            self.stats.mse_enhanced = self.stats.mse_inner;
            return plain_sections(&inner_section, &xp_t, &exact);
        }
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
        let (id, inner_stream) = split_inner(stream.section(TAG_INNER)?)?;
        let mut inner = ready_inner(self.registry, self.inner, &id, abs, self.settings.nthreads)?;
        let xp_t = decode_inner::<T>(inner.as_mut(), &id, inner_stream, dims)?;
        drop(inner);
        out.copy_from_slice(&xp_t);
        // every stream carries the fingerprint of X'
        Fingerprint::read(stream.section(TAG_INNER_PRINT)?)?.check(
            &Fingerprint::of(&xp_t),
            abs * SLACK_FRACTION,
            &id,
        )?;
        // A stream without a GWLZ section is the inner stream alone (the encoder stepped
        // aside): X' and the exact points.
        if let Some(meta_bytes) = stream.optional_section(TAG_GWLZ) {
            let meta = Meta::read(meta_bytes)?;
            self.enhance_decoded(stream, &meta, dims, abs, &xp_t, out)?;
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
