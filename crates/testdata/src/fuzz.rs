//! Hostile-value fuzzing for every compressor of a registry (issue 10): arrays with huge
//! magnitudes (±1e20, ±2.56e33, ±3.4e38, ±f64::MAX), subnormals, NaN and ±Inf, scattered and in
//! blocks, in 1-D to 4-D, tiny and odd shapes, `float` and `double`, under `pressio:abs` and
//! `pressio:rel`, with `pressio:fill_mode` `none` or `auto`.
//!
//! Each case must either round-trip within its bound or be refused with an error; nothing may
//! crash the process. The promise checked ([`Case::check`], every difference in `f64`):
//!
//! * NaN and ±Inf come back bit-exactly;
//! * `fill_mode = none`: every finite point within `abs`, or `rel` times the range of the finite
//!   values;
//! * `fill_mode = auto`: the fill points ([`FillSpec::detect`] under the default `auto` spec)
//!   bit-exactly, every other finite point within `abs`, or `rel` times the range of the valid
//!   points (finite, not fill).
//!
//! Control cases (plain smooth data, no special value) must not be refused, so a harness that
//! silently fails every case cannot pass.
//!
//! Targets come from the registry ([`targets`]): every compressor, and every meta-compressor
//! (one that declares `<prefix>:compressor`) over every plain compressor, so a plugin joins the
//! suite by being registered. Run each target's batch in a child process
//! ([`crate::isolate`]), since a C++ backend can take the process down.

use crate::isolate;
use pressio_ml_core::{DType, Data, Element, FillSpec, Options, Registry};
use std::fmt::Write as _;

/// A small, seeded generator (SplitMix64): the suite needs no RNG crate, and the cases depend on
/// nothing but the seed.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    /// One element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len())]
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// Which fill handling a case asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// `pressio:fill_mode = none`: every finite value is data.
    None,
    /// `pressio:fill_mode = auto`: the usual missing-value conventions are fill points.
    Auto,
}

impl Fill {
    /// The option value.
    pub fn name(self) -> &'static str {
        match self {
            Fill::None => "none",
            Fill::Auto => "auto",
        }
    }
}

/// The error bound of a case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// `pressio:abs`.
    Abs(f64),
    /// `pressio:rel` (value-range relative).
    Rel(f64),
}

/// Shapes every target sees (fastest first): tiny, odd, extents of 1, 1-D to 4-D.
pub const SHAPES: &[&[usize]] = &[
    &[1],
    &[2],
    &[7],
    &[100],
    &[2, 2],
    &[7, 3],
    &[33, 17],
    &[5, 1, 9],
    &[3, 3, 3],
    &[12, 10, 9],
    &[24, 20, 16],
    &[1, 1, 1, 1],
    &[3, 3, 3, 2],
    &[4, 5, 6, 3],
];

/// Huge magnitudes for both element types (sign chosen per case or per point).
pub const HUGE: &[f64] = &[1e20, 2.56e33, 3.4e38];
/// Huge magnitudes only `double` can hold.
pub const HUGE_DOUBLE: &[f64] = &[1e300, f64::MAX];

/// One fuzz case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Position in the batch.
    pub index: usize,
    /// What it holds, for messages.
    pub description: String,
    /// The input.
    pub input: Data,
    /// The bound.
    pub bound: Bound,
    /// The fill handling.
    pub fill: Fill,
    /// True for control cases (no special value), which must not be refused.
    pub control: bool,
}

fn smooth_base(dims: &[usize], rng: &mut SplitMix64) -> (Vec<f64>, String) {
    let amp = rng.pick(&[1.0, 300.0, 1e-3, 1e5]);
    let offset = rng.pick(&[0.0, 2.0, -1.5]) * amp;
    let n: usize = dims.iter().product();
    let (fa, fb) = (0.2 + rng.unit(), 0.1 + rng.unit());
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        let mut rem = i;
        let mut c = [0f64; 4];
        for (k, &d) in dims.iter().enumerate().take(4) {
            c[k] = (rem % d) as f64;
            rem /= d;
        }
        let s = (fa * c[0] + 0.3 * c[1]).sin() * (fb * c[2] + 0.2 * c[3]).cos()
            + 0.05 * (rng.unit() - 0.5);
        v.push(offset + amp * s);
    }
    (v, format!("{offset:e} + {amp:e} x smooth"))
}

/// Positions of a layout: a single point, a scattered fraction, a contiguous block, or all.
fn positions(n: usize, rng: &mut SplitMix64) -> (Vec<usize>, String) {
    match rng.below(4) {
        0 => {
            let i = rng.below(n);
            (vec![i], format!("at [{i}]"))
        }
        1 => {
            let p = rng.pick(&[0.05, 0.1, 0.3, 0.6]);
            let v: Vec<usize> = (0..n).filter(|_| rng.chance(p)).collect();
            let d = format!("scattered {:.0}% ({} points)", p * 100.0, v.len());
            (v, d)
        }
        2 => {
            let len = 1 + rng.below(n.div_ceil(2));
            let start = rng.below(n - len + 1);
            (
                (start..start + len).collect(),
                format!("block [{start}, {})", start + len),
            )
        }
        _ => ((0..n).collect(), "everywhere".to_string()),
    }
}

/// Generate the batch for `seed`: every shape of [`SHAPES`] in `float` and `double`, under an
/// absolute and a relative bound, for each fill handling of `fills`, `per_combo` cases each
/// (the first of every shape and type a control case). Deterministic in its arguments.
pub fn cases(seed: u64, fills: &[Fill], per_combo: usize) -> Vec<Case> {
    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::new();
    for &fill in fills {
        for dims in SHAPES {
            for dtype in [DType::Float, DType::Double] {
                for rel in [false, true] {
                    for rep in 0..per_combo {
                        let control = !rel && rep == 0;
                        let index = out.len();
                        out.push(one_case(&mut rng, index, dims, dtype, rel, fill, control));
                    }
                }
            }
        }
    }
    out
}

fn one_case(
    rng: &mut SplitMix64,
    index: usize,
    dims: &[usize],
    dtype: DType,
    rel: bool,
    fill: Fill,
    control: bool,
) -> Case {
    let n: usize = dims.iter().product();
    let (mut v, mut desc) = smooth_base(dims, rng);
    let double = dtype == DType::Double;
    if !control {
        // the special values
        let (pos, layout) = positions(n, rng);
        let mut huge: Vec<f64> = HUGE.to_vec();
        if double {
            huge.extend_from_slice(HUGE_DOUBLE);
        } else {
            huge.push(f32::MAX as f64);
        }
        let tiny: &[f64] = if double {
            &[1e-310, 5e-324, 2.2e-308]
        } else {
            &[1e-40, 1.4e-45, 1.17e-38]
        };
        match rng.below(4) {
            0 => {
                let m = rng.pick(&huge) * if rng.chance(0.5) { -1.0 } else { 1.0 };
                for &i in &pos {
                    v[i] = m;
                }
                let _ = write!(desc, "; {m:e} {layout}");
            }
            1 => {
                for &i in &pos {
                    v[i] = rng.pick(&huge) * if rng.chance(0.5) { -1.0 } else { 1.0 };
                }
                let _ = write!(desc, "; mixed ±huge {layout}");
            }
            2 => {
                for &i in &pos {
                    v[i] = rng.pick(tiny) * if rng.chance(0.5) { -1.0 } else { 1.0 };
                }
                let _ = write!(desc, "; subnormals {layout}");
            }
            _ => {
                for &i in &pos {
                    v[i] = match rng.below(3) {
                        0 => rng.pick(&huge) * if rng.chance(0.5) { -1.0 } else { 1.0 },
                        1 => rng.pick(tiny),
                        _ => v[i] * 1e25,
                    };
                }
                let _ = write!(desc, "; huge, subnormal and x1e25 values {layout}");
            }
        }
        // NaN and infinities on top, in about half the cases
        if rng.chance(0.5) {
            let (pos, layout) = positions(n, rng);
            let kind = rng.below(3);
            for &i in &pos {
                v[i] = match kind {
                    0 => f64::NAN,
                    1 => rng.pick(&[f64::INFINITY, f64::NEG_INFINITY]),
                    _ => rng.pick(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY]),
                };
            }
            let what = ["NaN", "±Inf", "NaN/±Inf"][kind];
            let _ = write!(desc, "; {what} {layout}");
        }
    } else {
        desc.push_str("; control (no special value)");
    }
    let bound = if rel {
        Bound::Rel(rng.pick(&[1e-2, 1e-3, 1e-5]))
    } else if control {
        Bound::Abs(1e-2 * (v.iter().fold(0f64, |m, x| m.max(x.abs())).max(1e-3)))
    } else {
        Bound::Abs(rng.pick(&[1e-6, 1e-3, 1e-1, 10.0]))
    };
    let input = if double {
        Data::from_vec(v, dims)
    } else {
        Data::from_vec(v.iter().map(|&x| x as f32).collect::<Vec<_>>(), dims)
    }
    .unwrap_or_else(|e| panic!("case {index}: {e}"));
    let description = format!(
        "#{index} {dims:?} {} {bound:?} fill={}: {desc}",
        dtype.name(),
        fill.name()
    );
    Case {
        index,
        description,
        input,
        bound,
        fill,
        control,
    }
}

impl Case {
    /// The case's options: the bound key and `pressio:fill_mode`.
    pub fn options(&self) -> Options {
        let o = match self.bound {
            Bound::Abs(a) => Options::new().with("pressio:abs", a),
            Bound::Rel(r) => Options::new().with("pressio:rel", r),
        };
        o.with("pressio:fill_mode", self.fill.name())
    }

    /// Check `output` against the promise (see the module documentation); `Err` says where it
    /// is broken.
    pub fn check(&self, output: &Data) -> Result<(), String> {
        if output.dtype() != self.input.dtype() || output.dims() != self.input.dims() {
            return Err(format!(
                "output is {} {:?}, input {} {:?}",
                output.dtype().name(),
                output.dims(),
                self.input.dtype().name(),
                self.input.dims()
            ));
        }
        match self.input.dtype() {
            DType::Float => check_typed::<f32>(self, output, |x| x.to_bits() as u64),
            DType::Double => check_typed::<f64>(self, output, f64::to_bits),
            other => Err(format!("unexpected dtype {}", other.name())),
        }
    }
}

fn check_typed<T: Element + Copy>(
    case: &Case,
    output: &Data,
    bits: impl Fn(T) -> u64,
) -> Result<(), String> {
    let x = case.input.as_slice::<T>().map_err(|e| e.to_string())?;
    let y = output.as_slice::<T>().map_err(|e| e.to_string())?;
    let fill = match case.fill {
        Fill::None => None,
        Fill::Auto => FillSpec::default().detect(x),
    };
    let is_fill = |i: usize| fill.as_ref().is_some_and(|m| m[i]);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (i, &v) in x.iter().enumerate() {
        let f = v.to_f64();
        if f.is_finite() && !is_fill(i) {
            lo = lo.min(f);
            hi = hi.max(f);
        }
    }
    let range = if lo <= hi { hi - lo } else { 0.0 };
    let bound = match case.bound {
        Bound::Abs(a) => a,
        Bound::Rel(r) => r * range,
    };
    let mut worst: Option<(usize, f64)> = None;
    for (i, (&a, &b)) in x.iter().zip(y).enumerate() {
        let (fa, fb) = (a.to_f64(), b.to_f64());
        if !fa.is_finite() || is_fill(i) {
            if bits(a) != bits(b) {
                let what = if fa.is_finite() {
                    "fill value"
                } else {
                    "NaN/Inf"
                };
                return Err(format!(
                    "{what} at [{i}] not kept bit-exactly: {fa:e} became {fb:e}"
                ));
            }
            continue;
        }
        let d = (fa - fb).abs();
        let within = fb.is_finite() && d <= bound;
        if !within && worst.is_none_or(|(_, w)| d > w || d.is_nan()) {
            worst = Some((i, d));
        }
    }
    match worst {
        None => Ok(()),
        Some((i, d)) => Err(format!(
            "bound {bound:e} broken: at [{i}] {:e} became {:e} (error {d:e}; range of the valid \
             values {range:e})",
            x[i].to_f64(),
            y[i].to_f64()
        )),
    }
}

/// One thing the suite compresses with: a registry id and the options set on a fresh handle,
/// in order (a meta-compressor's child is chosen by the first set).
#[derive(Debug, Clone)]
pub struct Target {
    /// Name in reports: the id, or `meta(inner)`.
    pub label: String,
    /// Registry id.
    pub id: String,
    /// Options applied in order before each case's own.
    pub setup: Vec<Options>,
}

/// The `<prefix>:compressor` key when `id` is a meta-compressor (it declares one as a string).
pub fn child_key(reg: &Registry, id: &str) -> Option<String> {
    let c = reg.compressor(id).ok()?;
    let key = format!("{}:compressor", c.prefix());
    c.get_options().get_str(&key).map(|_| key)
}

/// Every compressor of `reg`, and every meta-compressor over every plain compressor, sorted by
/// label. `tuning(id)` adds per-plugin options (e.g. shorter training); it is applied for the
/// target's id and, for a meta-compressor, for its inner id too.
pub fn targets(reg: &Registry, tuning: impl Fn(&str) -> Options) -> Vec<Target> {
    let ids = reg.compressor_ids();
    let metas: Vec<(String, String)> = ids
        .iter()
        .filter_map(|id| child_key(reg, id).map(|k| (id.clone(), k)))
        .collect();
    let plain: Vec<&String> = ids
        .iter()
        .filter(|id| !metas.iter().any(|(m, _)| m == *id))
        .collect();
    let mut out: Vec<Target> = plain
        .iter()
        .map(|id| Target {
            label: id.to_string(),
            id: id.to_string(),
            setup: vec![tuning(id)],
        })
        .collect();
    for (meta, key) in &metas {
        for inner in &plain {
            let mut t = tuning(meta);
            t.merge(&tuning(inner));
            out.push(Target {
                label: format!("{meta}({inner})"),
                id: meta.clone(),
                setup: vec![Options::new().with(key.as_str(), inner.as_str()), t],
            });
        }
    }
    out.sort_by(|a, b| a.label.cmp(&b.label));
    out
}

/// Tally of one target's batch.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Cases within their bound.
    pub passed: usize,
    /// Cases refused with an error (allowed, except for controls): `(case, error)`.
    pub refused: Vec<(String, String)>,
    /// Broken promises: `(case description, what broke)`.
    pub broken: Vec<(String, String)>,
}

/// Run `cases` through `target` in this process, announcing each case first
/// ([`isolate::announce`]). Errors are refusals; broken bounds and refused controls are
/// collected, not panicked on.
pub fn run_target(reg: &Registry, target: &Target, cases: &[Case]) -> Tally {
    let mut tally = Tally::default();
    for case in cases {
        isolate::announce(&format!("{} {}", target.label, case.description));
        match run_case(reg, target, case) {
            Ok(Ok(())) => tally.passed += 1,
            Ok(Err(broken)) => tally.broken.push((case.description.clone(), broken)),
            Err(e) if case.control => tally.broken.push((
                case.description.clone(),
                format!("control case refused: {e}"),
            )),
            Err(e) => tally
                .refused
                .push((case.description.clone(), e.to_string())),
        }
    }
    tally
}

/// `Err` when setting options or compressing fails (a refusal), `Ok(Err)` when the promise is
/// broken: the output is out of bound, or a stream that compression returned fails to decode
/// (the data would be lost).
fn run_case(
    reg: &Registry,
    target: &Target,
    case: &Case,
) -> pressio_ml_core::Result<Result<(), String>> {
    let mut c = reg.compressor(&target.id)?;
    for o in &target.setup {
        c.set_options(o)?;
    }
    c.set_options(&case.options())?;
    let mut compressed = Data::empty(DType::Byte, &[]);
    c.compress(&case.input, &mut compressed)?;
    let mut out = Data::empty(case.input.dtype(), case.input.dims());
    // a fresh handle decodes, as a reader would
    let decoded = reg.compressor(&target.id).and_then(|mut d| {
        for o in &target.setup {
            d.set_options(o)?;
        }
        d.set_options(&case.options())?;
        d.decompress(&compressed, &mut out)
    });
    Ok(match decoded {
        Ok(()) => case.check(&out),
        Err(e) => Err(format!(
            "compression returned a {}-byte stream that does not decode: {e}",
            compressed.num_elements()
        )),
    })
}

/// The child side of a crash-isolated fuzz test: find the target named `job`, run the cases,
/// print the tally, and panic (listing the first broken cases) when any promise broke.
pub fn child(reg: &Registry, targets: &[Target], job: &str, cases: &[Case]) {
    let Some(target) = targets.iter().find(|t| t.label == job) else {
        panic!("no fuzz target named {job}");
    };
    let t = run_target(reg, target, cases);
    for (c, e) in &t.refused {
        println!("refused: {c}\n    -> {e}");
    }
    println!(
        "{SUMMARY_PREFIX}{} cases, {} within bound, {} refused, {} broken",
        cases.len(),
        t.passed,
        t.refused.len(),
        t.broken.len()
    );
    if !t.broken.is_empty() {
        let mut msg = format!("{job}: {} of {} cases broken:", t.broken.len(), cases.len());
        for (c, b) in t.broken.iter().take(8) {
            let _ = write!(msg, "\n  {c}\n    -> {b}");
        }
        panic!("{msg}");
    }
}

/// Prefix of the child's summary line.
pub const SUMMARY_PREFIX: &str = "fuzz-summary: ";

/// The parent side: run every target's batch in a child of `test_name` and return one line
/// per target plus the failures (crashes named with their signal and last case).
pub fn parent(test_name: &str, targets: &[Target]) -> (Vec<String>, Vec<String>) {
    let jobs: Vec<String> = targets.iter().map(|t| t.label.clone()).collect();
    let limit = std::time::Duration::from_secs(
        std::env::var("PRESSIO_ML_FUZZ_LIMIT_S")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300),
    );
    let reports = isolate::run_all(test_name, &jobs, isolate::default_parallelism(), limit);
    let mut lines = Vec::new();
    let mut failures = Vec::new();
    for r in &reports {
        let summary = r
            .stdout
            .lines()
            .find_map(|l| l.split_once(SUMMARY_PREFIX).map(|(_, s)| s))
            .unwrap_or("")
            .to_string();
        lines.push(format!(
            "{:<16} {:>5.1} s  {}",
            r.job,
            r.elapsed.as_secs_f64(),
            if r.passed() { summary } else { "FAILED".into() }
        ));
        if !r.passed() {
            failures.push(r.describe());
        }
    }
    (lines, failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(values: Vec<f32>, bound: Bound, fill: Fill) -> Case {
        let n = values.len();
        Case {
            index: 0,
            description: "test".into(),
            input: Data::from_vec(values, &[n]).expect("data"),
            bound,
            fill,
            control: false,
        }
    }

    fn out(values: Vec<f32>) -> Data {
        let n = values.len();
        Data::from_vec(values, &[n]).expect("data")
    }

    #[test]
    fn the_check_catches_every_broken_promise() {
        let x = vec![1.0f32, 3.0, f32::NAN, -2.56e33, f32::INFINITY];
        let none = case(x.clone(), Bound::Abs(0.5), Fill::None);
        assert!(none.check(&out(x.clone())).is_ok());
        let mut y = x.clone();
        y[0] = 1.4;
        y[3] = -2.5600001e33; // one ulp away: far beyond abs 0.5
        assert!(none.check(&out(y)).is_err());
        let mut y = x.clone();
        y[0] = 1.6;
        assert!(none.check(&out(y)).unwrap_err().contains("bound"));
        let mut y = x.clone();
        y[4] = f32::MAX;
        assert!(none.check(&out(y)).unwrap_err().contains("NaN/Inf"));
        let mut y = x.clone();
        y[2] = f32::from_bits(f32::NAN.to_bits() ^ 1);
        assert!(none.check(&out(y)).is_err(), "NaN payload must be kept");
        // rel: the range of the finite values (with fill_mode none the fill value counts)
        let rel = case(x.clone(), Bound::Rel(1e-3), Fill::None);
        let mut y = x.clone();
        y[0] = 1e29;
        assert!(rel.check(&out(y.clone())).is_ok());
        // auto: the fill point is exact and the range is that of the valid points (2)
        let auto = case(x.clone(), Bound::Rel(0.1), Fill::Auto);
        assert!(auto.check(&out(y)).is_err());
        let mut y = x.clone();
        y[0] = 1.19;
        assert!(auto.check(&out(y.clone())).is_ok());
        y[3] = -2.5600001e33;
        assert!(auto.check(&out(y)).unwrap_err().contains("fill value"));
        // shape and type
        assert!(none.check(&out(vec![1.0; 4])).is_err());
        let d = Data::from_vec(vec![1.0f64; 5], &[5]).expect("data");
        assert!(none.check(&d).is_err());
    }

    #[test]
    fn cases_cover_the_grid_and_are_deterministic() {
        let a = cases(7, &[Fill::None, Fill::Auto], 2);
        let b = cases(7, &[Fill::None, Fill::Auto], 2);
        assert_eq!(a.len(), SHAPES.len() * 2 * 2 * 2 * 2);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.description, y.description);
            assert_eq!(x.input.bytes(), y.input.bytes());
        }
        let has =
            |f: &dyn Fn(f64) -> bool| a.iter().any(|c| c.input.to_f64_vec().into_iter().any(f));
        assert!(has(&|v| v.is_nan()));
        assert!(has(&|v| v.is_infinite()));
        assert!(has(&|v| v.is_finite() && v.abs() >= 1e33));
        assert!(has(&|v| v != 0.0 && v.abs() < f64::MIN_POSITIVE));
        assert!(has(&|v| v.abs() == f64::MAX));
        assert!(a.iter().any(|c| c.control) && a.iter().any(|c| !c.control));
        assert!(a.iter().any(|c| matches!(c.bound, Bound::Rel(_))));
        for dims in SHAPES {
            assert!(a.iter().any(|c| c.input.dims() == *dims));
        }
    }
}
