//! Convolutions (plain and transposed, grouped, 1-D to 3-D) with a fixed summation order.
//!
//! Every output element is `sum over (input channel of its group, kz, ky, kx) of w * x`, added
//! in that order to a zero accumulator (taps outside the input contribute `w * 0`), then
//! `+ bias`. A convolution runs as matrix products: the input points each output reads are
//! gathered into a `[taps, points]` matrix and multiplied by the packed weights, tiled for
//! registers across output channels and points. Tiles and vector lanes only ever run across
//! *output* elements, so no element's order of additions depends on them; no FMA is ever
//! formed (Rust never contracts `a * b + c`). A transposed convolution of stride `s` splits its
//! outputs into `s^dims` parity phases, each of which reads only its own kernel taps, so no
//! work is spent on the zeros a dilated input would hold.

use super::Activation;
use pressio_ml_core::{PressioError, Result};

/// Geometry of a convolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvSpec {
    /// Spatial dimensions: 1, 2 or 3.
    pub dims: usize,
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel extent along every spatial axis (odd or even).
    pub kernel: usize,
    /// Stride along every spatial axis.
    pub stride: usize,
    /// Zero padding along every spatial axis.
    pub padding: usize,
    /// Extra output extent of a transposed convolution (PyTorch's `output_padding`).
    pub output_padding: usize,
    /// Channel groups (`c_in` for a depthwise convolution).
    pub groups: usize,
    /// A transposed convolution (PyTorch's `ConvTranspose`).
    pub transposed: bool,
}

impl ConvSpec {
    /// Number of weights: `[c_out, c_in / groups, k...]` (plain) or `[c_in, c_out / groups, k...]`
    /// (transposed), as PyTorch lays them out.
    pub fn weight_len(&self) -> usize {
        let per = if self.transposed {
            self.c_in * (self.c_out / self.groups.max(1))
        } else {
            self.c_out * (self.c_in / self.groups.max(1))
        };
        per * self.kernel.pow(self.dims as u32)
    }

    fn validate(&self) -> Result<()> {
        let ok = (1..=3).contains(&self.dims)
            && self.c_in > 0
            && self.c_out > 0
            && self.kernel > 0
            && self.stride > 0
            && self.groups > 0
            && self.c_in % self.groups == 0
            && self.c_out % self.groups == 0
            && if self.transposed {
                self.output_padding < self.stride
            } else {
                self.output_padding == 0
            };
        if ok {
            Ok(())
        } else {
            Err(PressioError::Model(format!("bad convolution {self:?}")))
        }
    }

    /// Per-axis (extent, stride, padding, output padding), slowest axis first, 3 entries
    /// (absent axes have extent 1 and no stride or padding).
    fn axes(&self) -> [(usize, usize, usize, usize); 3] {
        let mut a = [(1, 1, 0, 0); 3];
        for ax in a.iter_mut().skip(3 - self.dims) {
            *ax = (self.kernel, self.stride, self.padding, self.output_padding);
        }
        a
    }

    /// Output spatial shape (slowest first) for `input`, or an error when the input is too
    /// small.
    pub fn output_shape(&self, input: [usize; 3]) -> Result<[usize; 3]> {
        let mut out = [0; 3];
        for (o, (&i, (k, s, p, op))) in out.iter_mut().zip(input.iter().zip(self.axes())) {
            *o = if self.transposed {
                if i == 0 || (i - 1) * s + k + op < 2 * p + 1 {
                    return Err(small(input));
                }
                (i - 1) * s + k + op - 2 * p
            } else {
                if i + 2 * p < k {
                    return Err(small(input));
                }
                (i + 2 * p - k) / s + 1
            };
        }
        Ok(out)
    }
}

fn small(input: [usize; 3]) -> PressioError {
    PressioError::InvalidArgument(format!("input {input:?} is too small for the convolution"))
}

/// One kernel tap of a phase: the input channel it reads (within its group), the offset
/// `c` of the input index `i = m * q + c` along each axis, and its weight's index.
#[derive(Debug, Clone, PartialEq)]
struct Tap {
    ci: usize,
    offset: [isize; 3],
}

/// A set of output points computed as one matrix product: the output points `o = so * q + phase`
/// for `q` in a grid (per axis), from input points `i = m * q + tap offset`.
#[derive(Debug, Clone, PartialEq)]
struct Phase {
    /// Output index phase per axis (0 for plain convolutions).
    phase: [usize; 3],
    /// Taps in increasing (input channel, kz, ky, kx) order: the order of additions.
    taps: Vec<Tap>,
    /// Per group: weights `[c_out / groups, taps]`, row-major.
    packed: Vec<Vec<f32>>,
}

/// A convolution layer with its weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    spec: ConvSpec,
    bias: Vec<f32>,
    phases: Vec<Phase>,
}

impl Conv {
    /// A convolution of geometry `spec` with weights in PyTorch's layout and an optional bias
    /// (`c_out` values).
    pub fn new(spec: ConvSpec, weight: Vec<f32>, bias: Option<Vec<f32>>) -> Result<Conv> {
        spec.validate()?;
        let bias = bias.unwrap_or_else(|| vec![0.0; spec.c_out]);
        if weight.len() != spec.weight_len() || bias.len() != spec.c_out {
            return Err(PressioError::Model(format!(
                "convolution {spec:?}: {} weights and {} biases",
                weight.len(),
                bias.len()
            )));
        }
        let axes = spec.axes();
        let (cig, cog) = (spec.c_in / spec.groups, spec.c_out / spec.groups);
        let kvol: usize = axes.iter().map(|a| a.0).product();
        // Phases: one for a plain convolution; stride^dims for a transposed one (each output
        // parity class sees its own subset of the kernel).
        let mut phase_list = vec![[0usize; 3]];
        if spec.transposed {
            for (a, &(_, st, _, _)) in axes.iter().enumerate() {
                phase_list = phase_list
                    .into_iter()
                    .flat_map(|p| {
                        (0..st).map(move |f| {
                            let mut q = p;
                            q[a] = f;
                            q
                        })
                    })
                    .collect();
            }
        }
        let mut phases = Vec::with_capacity(phase_list.len());
        for phase in phase_list {
            let mut taps = Vec::new();
            // (tap, kernel position) in the order of additions
            let mut kidx = Vec::new();
            for cil in 0..cig {
                for kz in 0..axes[0].0 {
                    for ky in 0..axes[1].0 {
                        for kx in 0..axes[2].0 {
                            let k = [kz, ky, kx];
                            let mut offset = [0isize; 3];
                            let mut valid = true;
                            for a in 0..3 {
                                let (_, st, pad, _) = axes[a];
                                if spec.transposed {
                                    let t = phase[a] as isize + pad as isize - k[a] as isize;
                                    valid &= t.rem_euclid(st as isize) == 0;
                                    offset[a] = t.div_euclid(st as isize);
                                } else {
                                    offset[a] = k[a] as isize - pad as isize;
                                }
                            }
                            if valid {
                                taps.push(Tap { ci: cil, offset });
                                kidx.push((cil, (kz * axes[1].0 + ky) * axes[2].0 + kx));
                            }
                        }
                    }
                }
            }
            let packed = (0..spec.groups)
                .map(|g| {
                    let mut w = Vec::with_capacity(cog * taps.len());
                    for col in 0..cog {
                        for &(cil, kk) in &kidx {
                            let idx = if spec.transposed {
                                ((g * cig + cil) * cog + col) * kvol + kk
                            } else {
                                ((g * cog + col) * cig + cil) * kvol + kk
                            };
                            w.push(weight[idx]);
                        }
                    }
                    w
                })
                .collect();
            phases.push(Phase {
                phase,
                taps,
                packed,
            });
        }
        Ok(Conv { spec, bias, phases })
    }

    /// The geometry.
    pub fn spec(&self) -> &ConvSpec {
        &self.spec
    }

    /// Apply to a batch of samples.
    ///
    /// Each phase gathers the input points of every sample into a `[taps, samples x points]`
    /// matrix (zeros outside the input) and multiplies it by the packed weights; every output
    /// element is the sum of its taps' `w * x` in tap order from 0, then `+ bias`.
    pub fn forward(&self, x: &Activation) -> Result<Activation> {
        let s = &self.spec;
        x.check("convolution")?;
        if x.channels != s.c_in {
            return Err(PressioError::InvalidArgument(format!(
                "convolution expects {} channels, got {}",
                s.c_in, x.channels
            )));
        }
        let oshape = s.output_shape(x.shape)?;
        let ovol: usize = oshape.iter().product();
        let nb = x.batch;
        let mut out = vec![0f32; nb * s.c_out * ovol];
        let (cig, cog) = (s.c_in / s.groups, s.c_out / s.groups);
        SCRATCH.with(|scratch| {
            let (col, acc) = &mut *scratch.borrow_mut();
            self.phases_into(x, &mut out, oshape, (cig, cog), col, acc);
        });
        for (o, b) in out
            .chunks_exact_mut(ovol.max(1))
            .zip(self.bias.iter().cycle())
        {
            for v in o {
                *v += b;
            }
        }
        Ok(Activation {
            batch: nb,
            channels: s.c_out,
            shape: oshape,
            data: out,
        })
    }

    /// Compute every phase's outputs into `out` (bias not added), with `col` and `acc` as
    /// scratch space.
    fn phases_into(
        &self,
        x: &Activation,
        out: &mut [f32],
        oshape: [usize; 3],
        (cig, cog): (usize, usize),
        col: &mut Vec<f32>,
        acc: &mut Vec<f32>,
    ) {
        let s = &self.spec;
        let axes = s.axes();
        let ovol: usize = oshape.iter().product();
        let nb = x.batch;
        for ph in &self.phases {
            // Output grid of this phase and the input multiplier per axis.
            let mut q = [0usize; 3];
            let mut step = [1usize; 3];
            let mut m = [1usize; 3];
            for a in 0..3 {
                let st = axes[a].1;
                if s.transposed {
                    step[a] = st;
                    q[a] = if ph.phase[a] < oshape[a] {
                        (oshape[a] - ph.phase[a]).div_ceil(st)
                    } else {
                        0
                    };
                } else {
                    m[a] = st;
                    q[a] = oshape[a];
                }
            }
            let npts = q[0] * q[1] * q[2];
            if npts == 0 || ph.taps.is_empty() {
                continue;
            }
            let total = nb * npts;
            for g in 0..s.groups {
                gather(x, g * cig, &ph.taps, q, m, col);
                acc.clear();
                acc.resize(cog * total, 0.0);
                gemm(&ph.packed[g], col, cog, ph.taps.len(), total, acc);
                // Scatter into the output points of this phase.
                for col_o in 0..cog {
                    let co = g * cog + col_o;
                    for b in 0..nb {
                        let src = &acc[col_o * total + b * npts..col_o * total + (b + 1) * npts];
                        let dst =
                            &mut out[(b * s.c_out + co) * ovol..(b * s.c_out + co + 1) * ovol];
                        let mut k = 0;
                        for qz in 0..q[0] {
                            let oz = qz * step[0] + ph.phase[0];
                            for qy in 0..q[1] {
                                let oy = qy * step[1] + ph.phase[1];
                                let row = (oz * oshape[1] + oy) * oshape[2] + ph.phase[2];
                                let run = &src[k..k + q[2]];
                                if step[2] == 1 {
                                    dst[row..row + q[2]].copy_from_slice(run);
                                } else {
                                    for (j, v) in run.iter().enumerate() {
                                        dst[row + j * step[2]] = *v;
                                    }
                                }
                                k += q[2];
                            }
                        }
                    }
                }
            }
        }
    }
}

thread_local! {
    /// Per-thread scratch of [`Conv::forward`] (the gathered matrix and the product), kept
    /// between calls so large windows do not fault in fresh pages for every layer.
    static SCRATCH: std::cell::RefCell<(Vec<f32>, Vec<f32>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Index in the tile-major gathered matrix of tap `t` (of `taps`) and point `p`: points come in
/// tiles of [`PB`], each tile holding `[taps][PB]` contiguously.
#[inline(always)]
fn col_index(taps: usize, t: usize, p: usize) -> usize {
    (p / PB) * taps * PB + t * PB + p % PB
}

/// Fill `col` (tile-major, see [`col_index`]; `samples x points` points, padded with zeros to
/// whole tiles) with the input value each tap reads (channel `c0 + tap.ci`) for each sample and
/// grid point `q` (`i = m * q + offset` per axis), or 0 outside the input.
fn gather(
    x: &Activation,
    c0: usize,
    taps: &[Tap],
    q: [usize; 3],
    m: [usize; 3],
    col: &mut Vec<f32>,
) {
    let shape = x.shape;
    let npts = q[0] * q[1] * q[2];
    let total = x.batch * npts;
    let nt = taps.len();
    col.clear();
    col.resize(total.div_ceil(PB) * nt * PB, 0.0);
    let ivol = x.volume();
    let per = x.sample_len();
    // index along one axis, if inside
    let at = |qa: usize, a: usize, off: isize| -> Option<usize> {
        let i = (m[a] * qa) as isize + off;
        (i >= 0 && (i as usize) < shape[a]).then_some(i as usize)
    };
    // per tap: the x range that stays inside (m * qx + off in [0, w)) and its first input x
    let ranges: Vec<(usize, usize, usize)> = taps
        .iter()
        .map(|tap| {
            let (mx, ox, w) = (m[2] as isize, tap.offset[2], shape[2] as isize);
            let lo = if ox < 0 { (-ox + mx - 1) / mx } else { 0 } as usize;
            let hi = if w - 1 - ox < 0 {
                0
            } else {
                (((w - 1 - ox) / mx + 1) as usize).min(q[2])
            };
            let first = if lo < hi {
                (mx * lo as isize + ox) as usize
            } else {
                0
            };
            (lo, hi, first)
        })
        .collect();
    // row by row of output points, every tap in turn: the writes for one row stay within its
    // tiles, in tap order
    for b in 0..x.batch {
        let mut k = b * npts;
        for qz in 0..q[0] {
            for qy in 0..q[1] {
                for (t, (tap, &(lo, hi, first))) in taps.iter().zip(&ranges).enumerate() {
                    if lo >= hi {
                        continue;
                    }
                    let (Some(iz), Some(iy)) = (at(qz, 0, tap.offset[0]), at(qy, 1, tap.offset[1]))
                    else {
                        continue;
                    };
                    let base = b * per + (c0 + tap.ci) * ivol;
                    let row = &x.data[base + (iz * shape[1] + iy) * shape[2]..][..shape[2]];
                    if m[2] == 1 {
                        // copy the run tile by tile
                        let src = &row[first..first + (hi - lo)];
                        let mut j = 0;
                        while j < src.len() {
                            let p = k + lo + j;
                            let len = (PB - p % PB).min(src.len() - j);
                            let d = col_index(nt, t, p);
                            copy_short(&mut col[d..d + len], &src[j..j + len]);
                            j += len;
                        }
                    } else {
                        for j in lo..hi {
                            col[col_index(nt, t, k + j)] = row[first + (j - lo) * m[2]];
                        }
                    }
                }
                k += q[2];
            }
        }
    }
}

/// Copy a run of at most [`PB`] values; a whole tile as one fixed-size move (no `memcpy` call
/// for these short runs).
#[inline(always)]
fn copy_short(dst: &mut [f32], src: &[f32]) {
    match (
        <&mut [f32; PB]>::try_from(&mut *dst),
        <&[f32; PB]>::try_from(src),
    ) {
        (Ok(d), Ok(s)) => *d = *s,
        _ => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = *s;
            }
        }
    }
}

/// Output channels per register block, and points per register tile (and per tile of the
/// gathered matrix).
const MB: usize = 4;
const PB: usize = 16;

/// `acc[r][p] = sum over t in order of w[r][t] * col[t][p]` (from 0; `acc` is zero on entry),
/// for `rows` weight rows over `taps` taps and `npts` points, `col` tile-major
/// ([`col_index`]).
///
/// On x86-64 CPUs with AVX2 the same code is compiled for 8-wide vectors. Vector width never
/// changes a result: lanes run across independent output elements, each of which sees the
/// same IEEE multiplications and additions in the same order (AVX2 code is still built without
/// FMA contraction).
fn gemm(w: &[f32], col: &[f32], rows: usize, taps: usize, npts: usize, acc: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { gemm_avx2(w, col, rows, taps, npts, acc) };
        return;
    }
    gemm_generic(w, col, rows, taps, npts, acc);
}

/// [`gemm_generic`] compiled with AVX2 enabled.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gemm_avx2(
    w: &[f32],
    col: &[f32],
    rows: usize,
    taps: usize,
    npts: usize,
    acc: &mut [f32],
) {
    gemm_generic(w, col, rows, taps, npts, acc);
}

/// The portable product behind [`gemm`]: one tile of points at a time (its `[taps][PB]` block
/// is contiguous, so it streams from cache), register blocks of [`MB`] output channels; the
/// blocking never changes any element's order of additions.
#[inline(always)]
fn gemm_generic(w: &[f32], col: &[f32], rows: usize, taps: usize, npts: usize, acc: &mut [f32]) {
    for (tile, ct) in col.chunks_exact(taps * PB).enumerate() {
        let p0 = tile * PB;
        if p0 >= npts {
            break;
        }
        let pb = PB.min(npts - p0);
        let mut r0 = 0;
        while r0 < rows {
            let mb = MB.min(rows - r0);
            let mut a = [[0f32; PB]; MB];
            if mb == MB {
                for (t, c) in ct.chunks_exact(PB).enumerate() {
                    for (r, ar) in a.iter_mut().enumerate() {
                        let wv = w[(r0 + r) * taps + t];
                        for j in 0..PB {
                            ar[j] += wv * c[j];
                        }
                    }
                }
            } else {
                for (t, c) in ct.chunks_exact(PB).enumerate() {
                    for (r, ar) in a.iter_mut().enumerate().take(mb) {
                        let wv = w[(r0 + r) * taps + t];
                        for j in 0..PB {
                            ar[j] += wv * c[j];
                        }
                    }
                }
            }
            for (r, ar) in a.iter().enumerate().take(mb) {
                acc[(r0 + r) * npts + p0..(r0 + r) * npts + p0 + pb].copy_from_slice(&ar[..pb]);
            }
            r0 += mb;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct definition, element by element, in f64.
    fn reference(c: &Conv, weight: &[f32], x: &Activation) -> Activation {
        let s = &c.spec;
        let oshape = s.output_shape(x.shape).unwrap();
        let ax = s.axes();
        let ovol: usize = oshape.iter().product();
        let ivol: usize = x.shape.iter().product();
        let (cig, cog) = (s.c_in / s.groups, s.c_out / s.groups);
        let mut out = vec![0f32; s.c_out * ovol];
        let (kd, kh, kw) = (ax[0].0, ax[1].0, ax[2].0);
        for co in 0..s.c_out {
            for (p, o) in out[co * ovol..(co + 1) * ovol].iter_mut().enumerate() {
                let oi = [
                    p / (oshape[1] * oshape[2]),
                    p / oshape[2] % oshape[1],
                    p % oshape[2],
                ];
                let mut acc = c.bias[co] as f64;
                for ci in 0..s.c_in {
                    if ci / cig != co / cog {
                        continue;
                    }
                    for kz in 0..kd {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let k = [kz, ky, kx];
                                let mut ii = [0usize; 3];
                                let mut ok = true;
                                for a in 0..3 {
                                    let (_, st, pad, _) = ax[a];
                                    let v = if s.transposed {
                                        let t = oi[a] as i64 + pad as i64 - k[a] as i64;
                                        if t < 0 || t % st as i64 != 0 {
                                            ok = false;
                                            0
                                        } else {
                                            t / st as i64
                                        }
                                    } else {
                                        oi[a] as i64 * st as i64 + k[a] as i64 - pad as i64
                                    };
                                    if v < 0 || v >= x.shape[a] as i64 {
                                        ok = false;
                                    }
                                    ii[a] = v.max(0) as usize;
                                }
                                if !ok {
                                    continue;
                                }
                                let xi =
                                    ci * ivol + (ii[0] * x.shape[1] + ii[1]) * x.shape[2] + ii[2];
                                let kk = (kz * kh + ky) * kw + kx;
                                let wi = if s.transposed {
                                    (ci * cog + co % cog) * kd * kh * kw + kk
                                } else {
                                    (co * cig + ci % cig) * kd * kh * kw + kk
                                };
                                acc += weight[wi] as f64 * x.data[xi] as f64;
                            }
                        }
                    }
                }
                *o = acc as f32;
            }
        }
        Activation {
            batch: 1,
            channels: s.c_out,
            shape: oshape,
            data: out,
        }
    }

    fn pseudo(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2654435761).wrapping_add(12345);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn matches_the_definition() {
        let mut seed = 1;
        for dims in 1..=3usize {
            for transposed in [false, true] {
                for (kernel, stride, padding, opad) in [
                    (3, 1, 1, 0),
                    (3, 2, 1, 1),
                    (3, 2, 1, 0),
                    (1, 1, 0, 0),
                    (3, 1, 0, 0),
                    (2, 2, 0, 0),
                ] {
                    if !transposed && opad > 0 {
                        continue;
                    }
                    for (c_in, c_out, groups) in [(2, 3, 1), (4, 4, 4), (4, 2, 2)] {
                        let spec = ConvSpec {
                            dims,
                            c_in,
                            c_out,
                            kernel,
                            stride,
                            padding,
                            output_padding: opad,
                            groups,
                            transposed,
                        };
                        seed += 1;
                        let weight = pseudo(spec.weight_len(), seed);
                        let c = Conv::new(
                            spec.clone(),
                            weight.clone(),
                            Some(pseudo(c_out, seed + 1000)),
                        )
                        .unwrap();
                        let mut shape = [1, 1, 1];
                        for (a, e) in shape.iter_mut().skip(3 - dims).zip([5, 6, 7]) {
                            *a = e;
                        }
                        let x = Activation {
                            batch: 1,
                            channels: c_in,
                            shape,
                            data: pseudo(c_in * shape.iter().product::<usize>(), seed + 7),
                        };
                        let ours = c.forward(&x).unwrap();
                        let want = reference(&c, &weight, &x);
                        // in a batch, each sample gives the same bits as alone
                        let other: Vec<f32> = x.data.iter().map(|v| v * 0.5 - 0.25).collect();
                        let alone = c
                            .forward(&Activation {
                                data: other.clone(),
                                ..x.clone()
                            })
                            .unwrap();
                        let both = c
                            .forward(&Activation {
                                batch: 2,
                                data: [x.data.clone(), other].concat(),
                                ..x.clone()
                            })
                            .unwrap();
                        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                        assert_eq!(
                            bits(&both.data),
                            bits(&[ours.data.clone(), alone.data].concat())
                        );
                        assert_eq!(ours.shape, want.shape, "{spec:?}");
                        for (a, b) in ours.data.iter().zip(&want.data) {
                            assert!((a - b).abs() < 1e-5, "{spec:?}: {a} vs {b}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn vector_width_does_not_change_bits() {
        let (rows, taps, npts) = (7, 29, 53);
        let w = pseudo(rows * taps, 3);
        let plain = pseudo(taps * npts, 4);
        // the tile-major layout gemm reads, padded with zeros to whole tiles
        let mut col = vec![0f32; npts.div_ceil(PB) * taps * PB];
        for t in 0..taps {
            for p in 0..npts {
                col[col_index(taps, t, p)] = plain[t * npts + p];
            }
        }
        let mut generic = vec![0f32; rows * npts];
        gemm_generic(&w, &col, rows, taps, npts, &mut generic);
        let mut dispatched = vec![0f32; rows * npts];
        gemm(&w, &col, rows, taps, npts, &mut dispatched);
        // element by element, in order, in plain scalar code
        for r in 0..rows {
            for p in 0..npts {
                let mut a = 0f32;
                for t in 0..taps {
                    a += w[r * taps + t] * plain[t * npts + p];
                }
                assert_eq!(a.to_bits(), generic[r * npts + p].to_bits());
                assert_eq!(a.to_bits(), dispatched[r * npts + p].to_bits());
            }
        }
    }

    #[test]
    fn stride_two_transposed_doubles_and_bad_input_is_an_error() {
        let spec = ConvSpec {
            dims: 2,
            c_in: 1,
            c_out: 1,
            kernel: 3,
            stride: 2,
            padding: 1,
            output_padding: 1,
            groups: 1,
            transposed: true,
        };
        let c = Conv::new(spec.clone(), vec![0.5; 9], None).unwrap();
        let x = Activation {
            batch: 1,
            channels: 1,
            shape: [1, 4, 4],
            data: vec![1.0; 16],
        };
        assert_eq!(c.forward(&x).unwrap().shape, [1, 8, 8]);
        let wrong = Activation {
            batch: 1,
            channels: 2,
            shape: [1, 4, 4],
            data: vec![1.0; 32],
        };
        assert!(c.forward(&wrong).is_err());
        assert!(Conv::new(spec.clone(), vec![0.5; 8], None).is_err());
        let mut bad = spec;
        bad.groups = 3;
        assert!(Conv::new(bad, vec![0.5; 9], None).is_err());
    }
}
