//! The interpolation pipeline of `aesz` ([`Pipeline::Interp`], body version 3): `classic`'s
//! multilevel interpolation codes the whole field, and the points of the blocks where the
//! autoencoder wins take its prediction instead of the interpolated one.
//!
//! # Encoding
//!
//! 1. `classic`'s interpolation parameters are tuned on the field, and the field is coded
//!    with them, recording every point's prediction and level bound. That stream is the
//!    plain candidate, byte for byte `classic`'s body.
//! 2. The autoencoder's candidates are computed as in the SZ2 pipeline (latents quantized and
//!    decoded again by the portable engine).
//! 3. The field is coded at three finer bounds (the bound over sqrt(2), 2 and 2 sqrt(2)), which
//!    give interpolation's rate-distortion curve on this field: its envelope ([`RdEnvelope`])
//!    and its slope ([`RdCurve`], log squared error linear in log bytes).
//! 4. Per block, the quantization codes both predictors would give every point (at the
//!    point's level bound) are priced with the plain stream's own code statistics
//!    (`-log2 p(code)`), and their squared errors computed. The autoencoder takes blocks whose
//!    extra bits (codes and the block's estimated latent cost) are worth less than the
//!    squared error they remove, valued on the curve: it wins in rate-distortion terms, not
//!    only in size at the same bound (at loose bounds its predictions cut the error far below
//!    the bound at a small cost in bits). Blocks are ranked by error removed per bit and the
//!    prefix of the ranking that lowers the field's `ln D + k ln B` most is taken.
//! 5. The field is coded again with those blocks' points predicted by the autoencoder
//!    ([`PointHooks::overrides`]); the interpolation of the other points reads their
//!    reconstruction as usual. This stream is kept only when it lies above the envelope (a
//!    higher PSNR at equal size than interpolation at any of the four bounds, or between them);
//!    otherwise the plain stream is, so the autoencoder never costs more than `classic`.
//!
//! # Sections
//!
//! * `AEHD` (AE blocks only): the header ([`Head`], version 3; `payload_len` is the
//!   uncompressed length of the block choices). A stream without autoencoder blocks is
//!   `classic`'s body alone and names no model;
//! * `AEPL` (AE blocks only): zstd of one byte per block, [`Choice::Interp`] or [`Choice::Ae`];
//! * `AELT` (AE blocks only): the latents, as in the SZ2 pipeline;
//! * `CLHD` / `CLPL`: `classic`'s interpolation body.

use crate::codec::{
    ae_candidates, decode_latents, denormalize, for_points, AeCandidates, AeszCodec, Affine,
    Choice, Geometry, Head, LatentPart, Pipeline, BODY_VERSION_INTERP, RADIUS, TAG_HEAD,
    TAG_PAYLOAD,
};
use pressio_ml_classic::body::{
    decode_body, decode_body_overridden, encode_interp_hooked, ClassicCodec, Settings,
};
use pressio_ml_classic::tune;
use pressio_ml_codec::container::{sections_len, ParsedStream, Section, SECTION_FRAME};
use pressio_ml_codec::interp::{merge_to_four, squeeze_dims, PointHooks, PredictionRecord};
use pressio_ml_codec::lorenzo::LorenzoValue;
use pressio_ml_codec::lossless;
use pressio_ml_codec::quantizer::Float;
use pressio_ml_codec::rd::{RdCurve, RdEnvelope};
use pressio_ml_core::{PressioError, Result};
use rayon::prelude::*;

/// Runs of plain interpolation at finer bounds (the bound times 2^(-j/2)) that measure its
/// rate-distortion curve on the field.
const FINER_RUNS: i32 = 3;
/// Codes within this magnitude of the zero bin are priced from their own counts.
const PRICED_CODES: i64 = 4096;

/// Prices of quantization codes (in bits) from the counts of one encoding.
struct CodePrices {
    /// `-log2 p` of codes `-PRICED_CODES..=PRICED_CODES`.
    bits: Vec<f64>,
    /// Price of a code outside the priced range or never seen.
    rare: f64,
}

impl CodePrices {
    /// Prices from the codes (`round(residual / 2e)`) of the recorded points of `values`.
    fn from_record<T: Float>(values: &[T], rec: &PredictionRecord<T>) -> CodePrices {
        let w = PRICED_CODES as usize;
        let mut counts = vec![0u64; 2 * w + 1];
        let mut total = 0u64;
        for ((x, p), &eb) in values.iter().zip(&rec.pred).zip(&rec.eb) {
            if eb > 0.0 {
                let q = code_of(x.as_f64(), p.as_f64(), eb);
                if q.abs() <= PRICED_CODES {
                    counts[(q + PRICED_CODES) as usize] += 1;
                }
                total += 1;
            }
        }
        let total = total.max(1) as f64;
        // an unseen code costs as much as one seen half a time, plus the bits that say which
        let rare = (2.0 * total).log2() + 8.0;
        CodePrices {
            bits: counts
                .iter()
                .map(|&c| {
                    if c == 0 {
                        rare
                    } else {
                        (total / c as f64).log2()
                    }
                })
                .collect(),
            rare,
        }
    }

    #[inline]
    fn price(&self, q: i64) -> f64 {
        if q.abs() <= PRICED_CODES {
            self.bits[(q + PRICED_CODES) as usize]
        } else {
            self.rare + 2.0 * (q.unsigned_abs() as f64).log2()
        }
    }
}

/// The quantization bin of residual `x - p` at bound `eb`.
#[inline]
fn code_of(x: f64, p: f64, eb: f32) -> i64 {
    let q = ((x - p) / (2.0 * eb as f64)).round();
    if q.is_finite() {
        q.clamp(-1e15, 1e15) as i64
    } else {
        i64::MAX / 2
    }
}

/// The autoencoder's prediction of every point of `blocks` (normalised predictions `pred` and
/// normalisations `aff`, back to back in the order of `blocks`) in a per-point array, NaN
/// elsewhere: the overrides of the interpolation.
fn overrides<T: Float>(
    g: &Geometry,
    n: usize,
    blocks: &[usize],
    pred: &[f32],
    aff: &[Affine],
) -> Result<Vec<T>> {
    let nan = T::from_f64_round(f64::NAN);
    let mut ov = vec![nan; n];
    let bps = g.blocks_per_slice();
    let sl = g.slice_len();
    let bpv = g.block_volume();
    for (k, &gb) in blocks.iter().enumerate() {
        let base = (gb / bps) * sl;
        let (o, e) = g.block_at(gb % bps);
        let p = &pred[k * bpv..(k + 1) * bpv];
        for_points(g, o, e, |i, c| {
            let t = ((c[2] - o[2]) * g.block[1] + (c[1] - o[1])) * g.block[0] + (c[0] - o[0]);
            ov[base + i] = T::from_f64_round(denormalize(p[t], aff[k]));
            Ok(())
        })?;
    }
    Ok(ov)
}

/// The squared error of a point quantized against `p` at bound `eb` (0 for an unpredictable
/// point, which is stored exactly).
#[inline]
fn sq_error(x: f64, p: f64, eb: f32, radius: u32) -> f64 {
    let q = code_of(x, p, eb);
    if q.unsigned_abs() >= radius as u64 {
        return 0.0;
    }
    let e = x - (p + 2.0 * eb as f64 * q as f64);
    e * e
}

/// The squared error of the whole field as a recorded encoding reconstructs it.
fn recorded_sse<T: Float>(values: &[T], rec: &PredictionRecord<T>, radius: u32) -> f64 {
    values
        .iter()
        .zip(&rec.pred)
        .zip(&rec.eb)
        .filter(|(_, &eb)| eb > 0.0)
        .map(|((x, p), &eb)| sq_error(x.as_f64(), p.as_f64(), eb, radius))
        .sum()
}

/// What giving a block to the autoencoder changes: bits (its codes and latents minus
/// interpolation's codes, priced by [`CodePrices`]) and squared error.
#[derive(Debug, Clone, Copy)]
struct BlockDelta {
    bits: f64,
    sse: f64,
}

/// Per block, the [`BlockDelta`] of the autoencoder against interpolation (`None` where the
/// block is no candidate or its prediction is not finite).
fn block_deltas<T: Float>(
    g: &Geometry,
    values: &[T],
    cands: &AeCandidates<'_>,
    rec: &PredictionRecord<T>,
    radius: u32,
    parallel: bool,
) -> Result<Vec<Option<BlockDelta>>> {
    let prices = CodePrices::from_record(values, rec);
    let bps = g.blocks_per_slice();
    let sl = g.slice_len();
    let bpv = g.block_volume();
    let one = |gb: usize| -> Result<Option<BlockDelta>> {
        let Some((j, aff, latent_bits)) = cands.blocks[gb] else {
            return Ok(None);
        };
        let base = (gb / bps) * sl;
        let (o, e) = g.block_at(gb % bps);
        let p = &cands.pred[j * bpv..(j + 1) * bpv];
        let mut d = BlockDelta {
            bits: latent_bits,
            sse: 0.0,
        };
        let mut finite = true;
        for_points(g, o, e, |i, c| {
            let idx = base + i;
            let t = ((c[2] - o[2]) * g.block[1] + (c[1] - o[1])) * g.block[0] + (c[0] - o[0]);
            let pa = T::from_f64_round(denormalize(p[t], aff)).as_f64();
            finite &= pa.is_finite();
            let eb = rec.eb[idx];
            if eb > 0.0 {
                let x = values[idx].as_f64();
                let pi = rec.pred[idx].as_f64();
                d.bits += prices.price(code_of(x, pa, eb)) - prices.price(code_of(x, pi, eb));
                d.sse += sq_error(x, pa, eb, radius) - sq_error(x, pi, eb, radius);
            }
            Ok(())
        })?;
        Ok(finite.then_some(d))
    };
    let n = g.total_blocks();
    if parallel {
        (0..n).into_par_iter().map(one).collect()
    } else {
        (0..n).map(one).collect()
    }
}

/// The blocks the autoencoder takes, in block order. On the field's rate-distortion curve
/// (`ln D + k ln B` constant), a set of blocks pays when it lowers `ln D + k ln B` of the whole
/// field, `overhead` bytes (header, block choices) included: blocks are ranked by squared error
/// removed per bit, and the best prefix of that ranking is taken. The value of the autoencoder
/// is collective at loose bounds (every block removes a little error, together they remove
/// most of it), which a per-block test against the plain stream's slope would miss.
fn choose_blocks(
    deltas: &[Option<BlockDelta>],
    rd: &RdCurve,
    bytes_plain: f64,
    sse_plain: f64,
    overhead: f64,
) -> Vec<usize> {
    let mut ranked: Vec<(usize, BlockDelta)> = deltas
        .iter()
        .enumerate()
        .filter_map(|(b, d)| d.map(|d| (b, d)))
        .filter(|(_, d)| d.sse < 0.0 || d.bits < 0.0)
        .collect();
    if rd.k <= 0.0 {
        // no curve: only blocks that cost no bits and add no error
        ranked.retain(|(_, d)| d.bits <= 0.0 && d.sse <= 0.0);
        let mut chosen: Vec<usize> = ranked.into_iter().map(|(b, _)| b).collect();
        chosen.sort_unstable();
        return chosen;
    }
    // error removed per bit, best first (free blocks, which remove error and save bits, lead)
    let merit = |d: &BlockDelta| {
        if d.bits <= 0.0 {
            f64::INFINITY
        } else {
            -d.sse / d.bits
        }
    };
    ranked.sort_by(|x, y| merit(&y.1).total_cmp(&merit(&x.1)).then(x.0.cmp(&y.0)));
    let cost = |bytes: f64, sse: f64| {
        if bytes > 0.0 && sse > 0.0 {
            sse.ln() + rd.k * bytes.ln()
        } else if sse <= 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }
    };
    let (mut best, mut best_len) = (cost(bytes_plain, sse_plain), 0);
    let (mut bytes, mut sse) = (bytes_plain + overhead, sse_plain);
    for (m, (_, d)) in ranked.iter().enumerate() {
        bytes += d.bits / 8.0;
        sse += d.sse;
        let c = cost(bytes, sse.max(0.0));
        if c < best {
            (best, best_len) = (c, m + 1);
        }
    }
    let mut chosen: Vec<usize> = ranked[..best_len].iter().map(|(b, _)| *b).collect();
    chosen.sort_unstable();
    chosen
}

/// The header of an interpolation-pipeline stream.
fn head(g: &Geometry, ae: Option<&LatentPart>, choices_len: usize) -> Head {
    Head {
        version: BODY_VERSION_INTERP,
        k: g.k,
        block: g.block[..g.kb].to_vec(),
        radius: RADIUS,
        ae: ae.map(|l| l.head.clone()),
        n_mean: 0,
        n_unpred: 0,
        payload_len: choices_len,
        n_lat_unpred: ae.map_or(0, |l| l.n_unpred),
        latent_len: ae.map_or(0, |l| l.latent_len),
    }
}

/// Encode a field of finite values (normalised `dims`) with the interpolation pipeline.
pub(crate) fn encode<T: Float + LorenzoValue>(
    codec: &mut AeszCodec<'_>,
    values: &[T],
    dims: &[usize],
    abs: f64,
) -> Result<Vec<Section>> {
    let s = codec.settings.clone();
    debug_assert_eq!(s.pipeline, Pipeline::Interp);
    let n = values.len();
    let g = Geometry::new(dims, s.k, &s.block)?;
    let nblocks = g.total_blocks();
    let cdims = merge_to_four(&squeeze_dims(dims, n)?);
    let csettings = Settings::default();
    let params = tune::choose_params(values, &cdims, abs, &csettings)?;
    let mut cc = ClassicCodec {
        settings: &csettings,
        parallel: s.parallel,
        scratch: Vec::new(),
        preset: None,
    };
    let cands = ae_candidates(codec.model, &s, &g, values, abs)?;
    let Some(c) = cands else {
        let plain =
            encode_interp_hooked(&mut cc, values, &cdims, abs, &params, PointHooks::default())?;
        let st = &mut codec.stats;
        *st = Default::default();
        st.interp_blocks = nblocks as u64;
        st.payload_bytes = plain.iter().map(|s| s.data.len() as u64).sum();
        return Ok(plain);
    };
    // The plain stream, recorded, and the field's rate-distortion slope.
    let radius = params.radius;
    let coded = |cc: &mut ClassicCodec<'_>,
                 eb: f64,
                 ov: Option<&[T]>|
     -> Result<(Vec<Section>, PredictionRecord<T>, f64)> {
        let mut rec = PredictionRecord::new(n);
        let sections = encode_interp_hooked(
            cc,
            values,
            &cdims,
            eb,
            &params,
            PointHooks {
                overrides: ov,
                record: Some(&mut rec),
            },
        )?;
        let sse = recorded_sse(values, &rec, radius);
        Ok((sections, rec, sse))
    };
    let (plain, rec, sse_plain) = coded(&mut cc, abs, None)?;
    let bytes_plain = sections_len(&plain) as f64;
    // interpolation's curve on this field: the plain stream and three finer bounds (the
    // envelope of the points, since a compressor's curve has bumps at loose bounds; its slope
    // from the plain stream to the finest)
    let mut points = vec![(bytes_plain, sse_plain)];
    for j in 1..=FINER_RUNS {
        let eb = abs * std::f64::consts::FRAC_1_SQRT_2.powi(j);
        let (finer, _, sse_finer) = coded(&mut cc, eb, None)?;
        points.push((sections_len(&finer) as f64, sse_finer));
    }
    let env = RdEnvelope::new(&points);
    let finest = points[points.len() - 1];
    let rd = RdCurve::measure(bytes_plain, sse_plain, finest.0, finest.1);
    let deltas = block_deltas(&g, values, &c, &rec, radius, s.parallel)?;
    drop(rec);
    // what any autoencoder block adds: the header, the block choices, the model slot
    let model_slot = c.model.name.len() + c.model.hash.len() + 2;
    let overhead = (64 + 3 * SECTION_FRAME + model_slot + nblocks / 8) as f64;
    let chosen = choose_blocks(&deltas, &rd, bytes_plain, sse_plain, overhead);
    let mut best: (Vec<Section>, Option<LatentPart>, usize) = (plain, None, 0);
    if !chosen.is_empty() {
        let lp = c.latent_part(&chosen, &s, g.block_volume())?;
        let ov = overrides::<T>(&g, n, &chosen, &lp.pred, &lp.aff)?;
        let (hooked, _, sse_hooked) = coded(&mut cc, abs, Some(&ov))?;
        let mut choices = vec![Choice::Interp as u8; nblocks];
        for &b in &chosen {
            choices[b] = Choice::Ae as u8;
        }
        let zc = lossless::compress(&choices, lossless::DEFAULT_LEVEL)?;
        // the model slot of the stream header is written only when AE blocks are used
        let with_ae = sections_len(&hooked)
            + head(&g, Some(&lp), nblocks).to_bytes().len()
            + zc.len()
            + lp.section.data.len()
            + 3 * SECTION_FRAME
            + model_slot;
        let gain = env.gain_db(with_ae as f64, sse_hooked.max(f64::MIN_POSITIVE));
        if gain.is_some_and(|g| g > 0.0) {
            let mut sections = vec![Section::new(TAG_PAYLOAD, zc), lp.section.clone()];
            sections.extend(hooked);
            best = (sections, Some(lp), nblocks);
        }
    }
    let (body, lp, choices_len) = best;
    let st = &mut codec.stats;
    st.ae_blocks = lp.as_ref().map_or(0, |l| l.head.blocks as u64);
    st.interp_blocks = nblocks as u64 - st.ae_blocks;
    st.lorenzo_blocks = 0;
    st.mean_blocks = 0;
    st.latent_bytes = lp.as_ref().map_or(0, |l| l.section.data.len() as u64);
    st.payload_bytes = body
        .iter()
        .filter(|s| s.tag != crate::codec::TAG_LATENT)
        .map(|s| s.data.len() as u64)
        .sum();
    st.unpredictable = 0;
    // Without autoencoder blocks the body is classic's alone: no header of ours, no model
    // named in the stream (see `uses_model`), so the stream costs no more than classic's.
    let Some(lp) = lp else {
        return Ok(body);
    };
    let mut sections = vec![Section::new(
        TAG_HEAD,
        head(&g, Some(&lp), choices_len).to_bytes(),
    )];
    sections.extend(body);
    Ok(sections)
}

/// Run `f` with a `classic` codec of default settings (what decodes the body).
fn with_classic<R>(parallel: bool, f: impl FnOnce(&mut ClassicCodec<'_>) -> R) -> R {
    let settings = Settings::default();
    f(&mut ClassicCodec {
        settings: &settings,
        parallel,
        scratch: Vec::new(),
        preset: None,
    })
}

/// Decode an interpolation-pipeline stream without autoencoder blocks (no `AEHD`: the body is
/// classic's alone).
pub(crate) fn decode_plain<T: Float + LorenzoValue>(
    codec: &mut AeszCodec<'_>,
    stream: &ParsedStream<'_>,
    dims: &[usize],
    abs: f64,
    out: &mut [T],
) -> Result<()> {
    with_classic(codec.settings.parallel, |cc| {
        decode_body(cc, stream, dims, abs, None, out)
    })
}

/// Decode a body version 3 stream (normalised `dims`) whose header `h` and geometry `g` are
/// already read.
pub(crate) fn decode<T: Float + LorenzoValue>(
    codec: &mut AeszCodec<'_>,
    stream: &ParsedStream<'_>,
    h: &Head,
    g: &Geometry,
    dims: &[usize],
    abs: f64,
    out: &mut [T],
) -> Result<()> {
    let Some(a) = &h.ae else {
        return Err(PressioError::corrupt(
            "aesz: an interpolation header without autoencoder blocks",
        ));
    };
    let nblocks = g.total_blocks();
    if h.payload_len != nblocks {
        return Err(PressioError::corrupt(format!(
            "aesz: {} block choices for {nblocks} blocks",
            h.payload_len
        )));
    }
    let choices = lossless::decompress(stream.section(TAG_PAYLOAD)?, nblocks)?;
    if choices.len() != nblocks {
        return Err(PressioError::corrupt(
            "aesz: block choices have the wrong size",
        ));
    }
    let mut ae_blocks = Vec::with_capacity(a.blocks);
    for (b, &c) in choices.iter().enumerate() {
        match Choice::from_u8(c)? {
            Choice::Ae => ae_blocks.push(b),
            Choice::Interp => {}
            other => {
                return Err(PressioError::corrupt(format!(
                    "aesz: block predictor {other:?} in an interpolation stream"
                )))
            }
        }
    }
    if ae_blocks.len() != a.blocks {
        return Err(PressioError::corrupt(
            "aesz: autoencoder block count does not match the header",
        ));
    }
    let (pred, aff) = decode_latents(codec, stream, h, g, abs)?;
    let ov = overrides::<T>(g, out.len(), &ae_blocks, &pred, &aff)?;
    with_classic(codec.settings.parallel, |cc| {
        decode_body_overridden(cc, stream, dims, abs, &ov, out)
    })
}
