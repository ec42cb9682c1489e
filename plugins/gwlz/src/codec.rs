//! The GWLZ body inside the field envelope: inner compression, grouping, training, strict
//! verification, and the stream sections.
//!
//! Sections (besides the envelope's `NFIN`, `PTCH`, `RAW_`):
//!
//! * `INNR`: the inner compressor's id and its complete stream;
//! * `GWLZ`: layout version, masking and strict flags, channels, group count, the n+1 group
//!   boundaries (f64) and per group a model flag and the residual scale (f32);
//! * `WGTS`: the fp32 weights of the groups that have a model, in group order;
//! * `REJC`: (strict mode) indices of in-model points that keep `X'`;
//! * `EXCT`: (strict mode) points stored exactly because no candidate value was within the
//!   bound (the inner compressor broke its bound there);
//! * `XPFP`: a fingerprint of `X'` as the encoder decoded it (see [`Fingerprint`]). The decoder
//!   refuses a stream whose inner compressor decodes other values: another implementation under
//!   the same id (LibPressio's `zfp` inside LibPressio, pressio-ml's in the CLI) or an inner
//!   compressor whose streams depend on options the decoder lacks would otherwise give wrong
//!   values with no error. Every layout 2 stream carries it.

use crate::enhancer::{self, stored_params, Folded, TrainInfo, TrainSettings};
use crate::features::{GroupInputs, Layout, PATCH_LEN};
use crate::grouping::{self, Grouping, NO_GROUP};
use crate::plan::{plan, Plan, MIN_GROUP_POINTS};
use crate::strict::{applies, decide, enhance, Outcome, SLACK_FRACTION};
use pressio_ml_codec::bytes::{ByteReader, ByteWriter};
use pressio_ml_codec::container::{ParsedStream, Section, Tag};
use pressio_ml_codec::field::{FieldCodec, Float};
use pressio_ml_codec::points::{decode_indices, decode_points, encode_indices, encode_points};
use pressio_ml_core::{
    check_decompressed, keys, CompressorPlugin, Data, Options, PressioError, Registry, Result,
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
const PRINT_SAMPLES: usize = 32;
/// Layout version of the `GWLZ` section: 2 since enhancer predictions come from the portable
/// engine (layout 1 streams were predicted by libtorch, whose bits depend on the host).
const LAYOUT: u8 = 2;
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
}

/// The `GWLZ` section.
#[derive(Debug, Clone, PartialEq)]
struct Meta {
    mask: bool,
    strict: bool,
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
        if layout != LAYOUT {
            return Err(PressioError::StreamMismatch(format!(
                "gwlz metadata layout {layout}, this build reads {LAYOUT}"
            )));
        }
        let flag = |v: u8| match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(PressioError::corrupt(format!("gwlz flag {v}"))),
        };
        let mask = flag(r.u8()?)?;
        let strict = flag(r.u8()?)?;
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
            channels,
            boundaries,
            scales,
        })
    }
}

/// A fingerprint of `X'`, the inner compressor's decoded values: how many are finite, their
/// mean, and up to 32 values at evenly spaced indices (first and last included).
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
    fn run_inner<T: Float>(
        &mut self,
        values: &[T],
        dims: &[usize],
        abs: f64,
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
        self.stats.inner_results = inner.metrics_results();
        let mut w = ByteWriter::with_capacity(stream.num_bytes() + id.len() + 8);
        w.put_str(&id);
        w.put_bytes(stream.bytes());
        let section = w.into_inner();
        self.stats.inner_bytes = stream.num_bytes();
        // X' as the decoder will see it: decoded by a compressor set up as the decoder's is.
        let xp = decode_inner::<T>(inner.as_mut(), &id, stream.bytes(), dims)?;
        self.stats.inner_id = id;
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

impl FieldCodec for GwlzCodec<'_> {
    fn encode<T: Float>(&mut self, values: &[T], dims: &[usize], abs: f64) -> Result<Vec<Section>> {
        let s = self.settings.clone();
        let t0 = Instant::now();
        let (inner_section, xp_t) = self.run_inner(values, dims, abs)?;
        self.stats.inner_ms = t0.elapsed().as_secs_f64() * 1e3;
        let n = values.len();
        let xp: Vec<f64> = xp_t.iter().map(|v| v.to_f64()).collect();
        let x: Vec<f64> = values.iter().map(|v| v.to_f64()).collect();
        let finite = xp.iter().filter(|v| v.is_finite()).count();
        let p = plan(
            s.groups,
            s.channels,
            finite,
            self.stats.inner_bytes,
            s.max_overhead,
        );
        self.stats.plan = Some(p);
        let sq = |a: f64, b: f64| {
            if (a - b).is_finite() {
                (a - b) * (a - b)
            } else {
                0.0
            }
        };
        self.stats.mse_inner = x.iter().zip(&xp).map(|(&a, &b)| sq(a, b)).sum::<f64>() / n as f64;

        // Groups and residual scales.
        let boundaries = if p.groups > 0 {
            grouping::boundaries(&xp, p.groups, s.grouping).unwrap_or_default()
        } else {
            Vec::new()
        };
        let n_groups = boundaries.len().saturating_sub(1);
        let groups = if n_groups > 0 {
            grouping::assign(&boundaries, &xp)
        } else {
            vec![NO_GROUP; n]
        };
        let mem = members(&groups, n_groups);
        let layout = Layout::new(dims);
        let inputs_of = |g: usize| GroupInputs {
            xp: &xp,
            groups: &groups,
            group: g as u16,
            lo: boundaries[g],
            hi: boundaries[g + 1],
            mask: s.mask,
        };
        let mut scales: Vec<Option<f32>> = Vec::with_capacity(n_groups);
        for m in &mem {
            let max_r = m
                .iter()
                .map(|&i| (x[i] - xp[i]).abs())
                .filter(|r| r.is_finite())
                .fold(0.0f64, f64::max)
                .min(abs) as f32;
            let ok = m.len() >= MIN_GROUP_POINTS / 4 && max_r > 0.0 && max_r.is_finite();
            scales.push(ok.then_some(max_r));
        }

        // Training data and training.
        let t1 = Instant::now();
        let mut todo = Vec::new();
        for (g, m) in mem.iter().enumerate() {
            let Some(scale) = scales[g] else { continue };
            let picked: Vec<usize> = if m.len() > s.max_samples {
                let mut rng = ChaCha8Rng::seed_from_u64(s.seed.wrapping_add(g as u64));
                let mut idx: Vec<usize> = sample(&mut rng, m.len(), s.max_samples)
                    .into_iter()
                    .map(|k| m[k])
                    .collect();
                idx.sort_unstable();
                idx
            } else {
                m.clone()
            };
            let mut feats = Vec::new();
            inputs_of(g).extend(layout, &picked, &mut feats);
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
        let mut models: Vec<Option<Folded>> = vec![None; n_groups];
        let mut it = trained.into_iter();
        for g in 0..n_groups {
            if scales[g].is_some() {
                models[g] = it.next().and_then(|t| t.0);
            }
        }

        // Inference, strict verification and gating.
        let t2 = Instant::now();
        let slack = abs * SLACK_FRACTION;
        let mut out: Vec<T> = xp_t.clone();
        let mut rejected: Vec<usize> = Vec::new();
        pressio_ml_codec::threads::with_threads("gwlz", s.nthreads, |parallel| {
            for g in 0..n_groups {
                let (Some(model), Some(scale)) = (&models[g], scales[g]) else {
                    continue;
                };
                let r = predict_group(model, &inputs_of(g), layout, &mem[g], scale, parallel)?;
                let mut before = 0.0;
                let mut after = 0.0;
                let mut rej = Vec::new();
                let mut vals = Vec::with_capacity(r.len());
                for (&i, &ri) in mem[g].iter().zip(&r) {
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
                    before += sq(x[i], xp[i]);
                    after += sq(x[i], y.to_f64());
                    vals.push(y);
                }
                if after < before * (1.0 - 1e-3) {
                    for (&i, y) in mem[g].iter().zip(vals) {
                        out[i] = y;
                    }
                    rejected.extend(rej);
                } else {
                    scales[g] = None;
                    models[g] = None;
                }
            }
            Ok(())
        })?;
        rejected.sort_unstable();

        // Exact points where no candidate honours the bound (strict mode).
        let mut exact = Vec::new();
        if s.strict {
            for i in 0..n {
                let y = out[i].to_f64();
                let e = (x[i] - y).abs();
                if e.is_nan() || e > abs {
                    exact.push((i, values[i]));
                    out[i] = values[i];
                }
            }
        }
        self.stats.enhance_ms = t2.elapsed().as_secs_f64() * 1e3;
        self.stats.mse_enhanced = x
            .iter()
            .zip(&out)
            .map(|(&a, b)| sq(a, b.to_f64()))
            .sum::<f64>()
            / n as f64;

        // Sections.
        let mut weights = ByteWriter::new();
        for m in models.iter().flatten() {
            for &w in &m.weights {
                weights.put_f32(w);
            }
        }
        self.stats.models = models.iter().flatten().count();
        self.stats.weight_bytes = weights.len();
        self.stats.rejected = rejected.len();
        self.stats.exact = exact.len();
        let meta = Meta {
            mask: s.mask,
            strict: s.strict,
            channels: p.channels,
            boundaries: if n_groups > 0 {
                boundaries.clone()
            } else {
                Vec::new()
            },
            scales,
        };
        let mut sections = vec![
            Section::new(TAG_INNER, inner_section),
            Section::new(TAG_GWLZ, meta.write()),
            Section::new(TAG_INNER_PRINT, Fingerprint::of(&xp_t).write()),
        ];
        if self.stats.models > 0 {
            sections.push(Section::new(TAG_WEIGHTS, weights.into_inner()));
        }
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
        self.stats.strict_bytes = strict_bytes;
        Ok(sections)
    }

    fn decode<T: Float>(
        &mut self,
        stream: &ParsedStream<'_>,
        dims: &[usize],
        abs: f64,
        out: &mut [T],
    ) -> Result<()> {
        let n = out.len();
        let meta = Meta::read(stream.section(TAG_GWLZ)?)?;
        let (id, inner_stream) = split_inner(stream.section(TAG_INNER)?)?;
        let mut inner = ready_inner(self.registry, self.inner, &id, abs, self.settings.nthreads)?;
        let xp_t = decode_inner::<T>(inner.as_mut(), &id, inner_stream, dims)?;
        drop(inner);
        // every layout 2 stream carries the fingerprint
        Fingerprint::read(stream.section(TAG_INNER_PRINT)?)?.check(
            &Fingerprint::of(&xp_t),
            abs * SLACK_FRACTION,
            &id,
        )?;
        out.copy_from_slice(&xp_t);
        let n_groups = meta.scales.len();
        let n_models = meta.scales.iter().flatten().count();
        let per = stored_params(meta.channels);
        let wbytes = stream.optional_section(TAG_WEIGHTS).unwrap_or(&[]);
        if wbytes.len() != n_models * per * 4 {
            return Err(PressioError::corrupt(format!(
                "gwlz: {} weight bytes for {n_models} models of {} channels",
                wbytes.len(),
                meta.channels
            )));
        }
        if n_models > 0 {
            let mut r = ByteReader::new(wbytes, "gwlz weights");
            let mut models = Vec::with_capacity(n_models);
            for _ in 0..n_models {
                let w = (0..per).map(|_| r.f32()).collect::<Result<Vec<f32>>>()?;
                models.push(Folded::new(meta.channels, w)?);
            }
            let xp: Vec<f64> = xp_t.iter().map(|v| v.to_f64()).collect();
            let groups = grouping::assign(&meta.boundaries, &xp);
            let mem = members(&groups, n_groups);
            let rejected = match stream.optional_section(TAG_REJECTED) {
                Some(b) => decode_indices(b, n)?,
                None => Vec::new(),
            };
            let layout = Layout::new(dims);
            let slack = abs * SLACK_FRACTION;
            let mut models = models.into_iter();
            let nthreads = self.settings.nthreads;
            pressio_ml_codec::threads::with_threads("gwlz", nthreads, |parallel| {
                for (g, scale) in meta.scales.iter().enumerate() {
                    let Some(scale) = *scale else { continue };
                    let model = models
                        .next()
                        .ok_or_else(|| PressioError::corrupt("gwlz: missing model"))?;
                    let inputs = GroupInputs {
                        xp: &xp,
                        groups: &groups,
                        group: g as u16,
                        lo: meta.boundaries[g],
                        hi: meta.boundaries[g + 1],
                        mask: meta.mask,
                    };
                    let r = predict_group(&model, &inputs, layout, &mem[g], scale, parallel)?;
                    for (&i, ri) in mem[g].iter().zip(r) {
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
        }
        if let Some(b) = stream.optional_section(TAG_EXACT) {
            for (i, v) in decode_points::<T>(b, n)? {
                out[i] = v;
            }
        }
        Ok(())
    }
}
