//! `zfp`: the zfp 1.0 transform-based compressor (through `zfp-sys`, statically linked) as a
//! pressio-ml plugin with LibPressio's `zfp` option keys.
//!
//! Every stream goes through the shared field envelope ([`pressio_ml_codec::field`]): NaN and
//! ±Inf pass through bit-exactly (zfp only ever sees finite values), a resolved bound of 0 is
//! compressed losslessly, and the stream is versioned and checksummed (corrupt, truncated or
//! foreign streams are refused before zfp sees a byte).
//!
//! Modes and what is promised:
//!
//! * fixed accuracy (`pressio:abs`, `pressio:rel`, `zfp:accuracy`; the default, tolerance
//!   `1e-3` as in LibPressio): zfp runs with the resolved absolute bound as its tolerance and the
//!   verify-and-patch guard is on, so `|x - x'| <= bound` is a hard promise (zfp's accuracy mode
//!   is usually, not always, within tolerance; patched values are counted in the metrics
//!   results);
//! * reversible (`zfp:reversible = 1`, `pressio:lossless`, `zfp:mode = 5`): zfp's lossless mode;
//!   the guard checks the result is exact;
//! * fixed precision (`zfp:precision`), fixed rate (`zfp:rate`) and expert (`zfp:minbits`,
//!   `zfp:maxbits`, `zfp:maxprec`, `zfp:minexp`): zfp's own semantics, **no pointwise bound is
//!   promised** (the stream records an unbounded absolute bound) and no patching happens.
//!
//! Data: `float` and `double`, any number of dimensions (extents of 1 are dropped; more than
//! four are folded into four by merging the slowest ones, zfp's limit). zfp pads partial
//! blocks itself, so single values and extents of 2 or 3 are fine.
//!
//! Threads: `pressio:nthreads` is accepted but zfp runs serially (the static `zfp-sys` build
//! has OpenMP off); the output never depends on it.
//!
//! # Options (LibPressio's keys and types)
//!
//! | key | type | default | meaning |
//! |---|---|---|---|
//! | `pressio:abs` | double | `1e-3` | absolute bound, fixed-accuracy mode (set only in that mode) |
//! | `pressio:rel` | double | unset | value-range relative bound, fixed-accuracy mode (set only in that mode) |
//! | `pressio:lossless` | int32 | unset | any value selects the reversible mode |
//! | `pressio:nthreads` | uint32 | 1 | accepted; execution is serial |
//! | `zfp:accuracy` | double | `1e-3` | fixed-accuracy tolerance (same as `pressio:abs`) |
//! | `zfp:precision` | uint32 | unset | fixed-precision mode with this many bit planes, 1 to 64 |
//! | `zfp:rate` | double | unset | fixed-rate mode, bits per value in (0, 64] |
//! | `zfp:reversible` | uint32 | 0 | 1 selects the reversible (lossless) mode; 0 leaves it for fixed accuracy |
//! | `zfp:mode` | uint32 | 4 | zfp's `zfp_mode`: 1 expert, 2 rate, 3 precision, 4 accuracy, 5 reversible |
//! | `zfp:minbits`, `zfp:maxbits`, `zfp:maxprec` | uint32 | unset | expert mode parameters |
//! | `zfp:minexp` | int32 | unset | expert mode parameter |
//!
//! Keys are applied lowest priority first: `pressio:abs`/`pressio:rel`, `pressio:lossless`,
//! the expert keys, `zfp:reversible`, `zfp:rate`, `zfp:accuracy`, `zfp:precision`, `zfp:mode`
//! (LibPressio's order: mode > precision > accuracy > rate > reversible). A key whose value
//! equals the current state is ignored, so a client may send back everything `get_options`
//! returned with one key changed. Not declared: `zfp:type`, `zfp:dims`, `zfp:wra` (the rate is
//! set for the actual dtype and dims, unaligned), `zfp:execution*`, `zfp:omp_*` (serial build).
//!
//! Configuration: `pressio:thread_safe = multiple` (zfp keeps no global state),
//! `pressio:stability = external` (zfp's codec inside pressio-ml's container).

pub mod codec;

use codec::{ZfpCodec, ZfpParams};
use pressio_ml_codec::field::{self, DecodeParams, EncodeParams, FieldStats};
use pressio_ml_core::{
    keys, plugin_configuration, BoundOptions, BoundSpec, CompressorPlugin, DType, Data,
    FillOptions, OptionType, OptionValue, Options, PressioError, RegistryBuilder, Result,
    Stability, ThreadOptions, ThreadSafety, Value, Version,
};

/// Registry id and option prefix.
pub const ID: &str = "zfp";
/// Plugin (and stream) version.
pub const VERSION: Version = Version::new(0, 1, 0);
/// Default fixed-accuracy tolerance (LibPressio's `zfp` default).
pub const DEFAULT_ACCURACY: f64 = 1e-3;
/// `pressio:lossless` (int32).
pub const KEY_LOSSLESS: &str = "pressio:lossless";
/// `zfp:accuracy` (double).
pub const KEY_ACCURACY: &str = "zfp:accuracy";
/// `zfp:precision` (uint32).
pub const KEY_PRECISION: &str = "zfp:precision";
/// `zfp:rate` (double).
pub const KEY_RATE: &str = "zfp:rate";
/// `zfp:reversible` (uint32).
pub const KEY_REVERSIBLE: &str = "zfp:reversible";
/// `zfp:mode` (uint32).
pub const KEY_MODE: &str = "zfp:mode";
/// `zfp:minbits` (uint32).
pub const KEY_MINBITS: &str = "zfp:minbits";
/// `zfp:maxbits` (uint32).
pub const KEY_MAXBITS: &str = "zfp:maxbits";
/// `zfp:maxprec` (uint32).
pub const KEY_MAXPREC: &str = "zfp:maxprec";
/// `zfp:minexp` (int32).
pub const KEY_MINEXP: &str = "zfp:minexp";

/// Metrics result: values of the last compression that were NaN or infinite.
pub const RESULT_NONFINITE: &str = "zfp:nonfinite";
/// Metrics result: values the verify guard stored exactly in the last compression.
pub const RESULT_PATCHED: &str = "zfp:patched";
/// Metrics result: 1 when the last compression used the lossless fallback.
pub const RESULT_LOSSLESS: &str = "zfp:lossless";
/// Metrics result: the resolved absolute bound of the last compression.
pub const RESULT_ABS: &str = "zfp:abs_bound";

/// zfp's `zfp_mode` codes.
const MODE_EXPERT: u32 = 1;
const MODE_RATE: u32 = 2;
const MODE_PRECISION: u32 = 3;
const MODE_ACCURACY: u32 = 4;
const MODE_REVERSIBLE: u32 = 5;

/// zfp's largest block size in bits (`ZFP_MAX_BITS`).
const MAX_BITS: u32 = zfp_sys::ZFP_MAX_BITS;
/// zfp's smallest bit plane exponent (`ZFP_MIN_EXP`).
const MIN_EXP: i32 = zfp_sys::ZFP_MIN_EXP;

/// The active zfp mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Fixed accuracy from the bound.
    Accuracy,
    /// Fixed precision.
    Precision,
    /// Fixed rate.
    Rate,
    /// Lossless.
    Reversible,
    /// Expert parameters.
    Expert,
}

impl Mode {
    fn code(self) -> u32 {
        match self {
            Mode::Expert => MODE_EXPERT,
            Mode::Rate => MODE_RATE,
            Mode::Precision => MODE_PRECISION,
            Mode::Accuracy => MODE_ACCURACY,
            Mode::Reversible => MODE_REVERSIBLE,
        }
    }
}

/// Expert mode parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expert {
    minbits: u32,
    maxbits: u32,
    maxprec: u32,
    minexp: i32,
}

/// The `zfp` compressor plugin.
#[derive(Debug, Clone)]
pub struct Zfp {
    mode: Mode,
    bound: BoundOptions,
    precision: u32,
    rate: f64,
    expert: Expert,
    threads: ThreadOptions,
    fill: FillOptions,
    last: Option<FieldStats>,
}

impl Default for Zfp {
    fn default() -> Self {
        Zfp {
            mode: Mode::Accuracy,
            bound: BoundOptions::new(Some(BoundSpec::Abs(DEFAULT_ACCURACY))),
            precision: 32,
            rate: 16.0,
            // zfp's defaults for a fresh stream (effectively lossless up to 64 bit planes)
            expert: Expert {
                minbits: 1,
                maxbits: MAX_BITS,
                maxprec: 64,
                minexp: MIN_EXP,
            },
            threads: ThreadOptions::default(),
            fill: FillOptions::default(),
            last: None,
        }
    }
}

/// Register `zfp`.
pub fn register(builder: &mut RegistryBuilder) -> Result<()> {
    builder.compressor(ID, |_| Box::new(Zfp::default()))?;
    Ok(())
}

/// The value of `key` when it is set and differs from `current` (what `get_options` reports).
fn changed<T: OptionValue + PartialEq>(
    o: &Options,
    key: &str,
    current: Option<&T>,
) -> Result<Option<T>> {
    Ok(o.get_typed::<T>(key)?.filter(|v| Some(v) != current))
}

fn strings(v: &[&str]) -> Value {
    Value::Strings(v.iter().map(|s| s.to_string()).collect())
}

impl Zfp {
    fn in_mode<T>(&self, m: Mode, v: T) -> Option<T> {
        (self.mode == m).then_some(v)
    }

    fn accuracy_value(&self) -> Option<f64> {
        match (self.mode, self.bound.spec()) {
            (Mode::Accuracy, Some(BoundSpec::Abs(a))) => Some(a),
            _ => None,
        }
    }

    /// Apply `o` to a copy of `self` (shared by set_options and check_options).
    fn applied(&self, o: &Options) -> Result<Zfp> {
        let mut c = self.clone();
        c.threads.apply(o)?;
        c.fill.apply(o)?;
        // pressio:abs / pressio:rel select fixed accuracy when they change
        let mut probe =
            BoundOptions::new(self.in_mode(Mode::Accuracy, self.bound.spec()).flatten());
        let before = probe.spec();
        probe.apply(o)?;
        if probe.spec() != before {
            c.bound.set(probe.spec());
            c.mode = Mode::Accuracy;
        }
        if o.get_typed::<i32>(KEY_LOSSLESS)?.is_some() {
            c.mode = Mode::Reversible;
        }
        let ex = self.in_mode(Mode::Expert, self.expert);
        let minbits = changed::<u32>(o, KEY_MINBITS, ex.map(|e| e.minbits).as_ref())?;
        let maxbits = changed::<u32>(o, KEY_MAXBITS, ex.map(|e| e.maxbits).as_ref())?;
        let maxprec = changed::<u32>(o, KEY_MAXPREC, ex.map(|e| e.maxprec).as_ref())?;
        let minexp = changed::<i32>(o, KEY_MINEXP, ex.map(|e| e.minexp).as_ref())?;
        if minbits.is_some() || maxbits.is_some() || maxprec.is_some() || minexp.is_some() {
            let e = Expert {
                minbits: minbits.unwrap_or(self.expert.minbits),
                maxbits: maxbits.unwrap_or(self.expert.maxbits),
                maxprec: maxprec.unwrap_or(self.expert.maxprec),
                minexp: minexp.unwrap_or(self.expert.minexp),
            };
            if !(e.minbits <= e.maxbits && (1..=MAX_BITS).contains(&e.maxbits)) {
                return Err(PressioError::invalid_option(
                    KEY_MAXBITS,
                    format!("need minbits <= maxbits and 1 <= maxbits <= {MAX_BITS}"),
                ));
            }
            if !(1..=64).contains(&e.maxprec) {
                return Err(PressioError::invalid_option(
                    KEY_MAXPREC,
                    "must be in [1, 64]",
                ));
            }
            if !(MIN_EXP - 1..=1024).contains(&e.minexp) {
                return Err(PressioError::invalid_option(
                    KEY_MINEXP,
                    format!("must be in [{}, 1024]", MIN_EXP - 1),
                ));
            }
            c.expert = e;
            c.mode = Mode::Expert;
        }
        let rev_now = u32::from(self.mode == Mode::Reversible);
        if let Some(r) = changed::<u32>(o, KEY_REVERSIBLE, Some(&rev_now))? {
            c.mode = if r != 0 {
                Mode::Reversible
            } else {
                Mode::Accuracy
            };
        }
        if let Some(r) = changed::<f64>(o, KEY_RATE, self.in_mode(Mode::Rate, self.rate).as_ref())?
        {
            if !(r > 0.0 && r <= 64.0) {
                return Err(PressioError::invalid_option(
                    KEY_RATE,
                    "must be in (0, 64] bits per value",
                ));
            }
            c.rate = r;
            c.mode = Mode::Rate;
        }
        if let Some(a) = changed::<f64>(o, KEY_ACCURACY, self.accuracy_value().as_ref())? {
            if !(a.is_finite() && a >= 0.0) {
                return Err(PressioError::invalid_option(
                    KEY_ACCURACY,
                    "must be a finite tolerance >= 0",
                ));
            }
            c.bound.set(Some(BoundSpec::Abs(a)));
            c.mode = Mode::Accuracy;
        }
        if let Some(p) = changed::<u32>(
            o,
            KEY_PRECISION,
            self.in_mode(Mode::Precision, self.precision).as_ref(),
        )? {
            if !(1..=64).contains(&p) {
                return Err(PressioError::invalid_option(
                    KEY_PRECISION,
                    "must be in [1, 64]",
                ));
            }
            c.precision = p;
            c.mode = Mode::Precision;
        }
        if let Some(m) = changed::<u32>(o, KEY_MODE, Some(&self.mode.code()))? {
            c.mode = match m {
                MODE_EXPERT => Mode::Expert,
                MODE_RATE => Mode::Rate,
                MODE_PRECISION => Mode::Precision,
                MODE_ACCURACY => Mode::Accuracy,
                MODE_REVERSIBLE => Mode::Reversible,
                _ => return Err(PressioError::invalid_option(
                    KEY_MODE,
                    "must be 1 (expert), 2 (rate), 3 (precision), 4 (accuracy) or 5 (reversible)",
                )),
            };
        }
        if c.mode == Mode::Accuracy && c.bound.spec().is_none() {
            c.bound.set(Some(BoundSpec::Abs(DEFAULT_ACCURACY)));
        }
        Ok(c)
    }

    /// The envelope bound, whether to verify, and zfp's parameters for the current mode.
    fn plan(&self) -> Result<(BoundSpec, bool, ZfpParams)> {
        Ok(match self.mode {
            Mode::Accuracy => (self.bound.require(ID)?, true, ZfpParams::Accuracy(0.0)),
            // the tightest positive bound: the guard confirms the result is exact
            Mode::Reversible => (
                BoundSpec::Abs(f64::MIN_POSITIVE),
                true,
                ZfpParams::Reversible,
            ),
            // no pointwise bound is promised in these modes
            Mode::Precision => (
                BoundSpec::Abs(f64::MAX),
                false,
                ZfpParams::Precision(self.precision),
            ),
            Mode::Rate => (BoundSpec::Abs(f64::MAX), false, ZfpParams::Rate(self.rate)),
            Mode::Expert => (
                BoundSpec::Abs(f64::MAX),
                false,
                ZfpParams::Expert {
                    minbits: self.expert.minbits,
                    maxbits: self.expert.maxbits,
                    maxprec: self.expert.maxprec,
                    minexp: self.expert.minexp,
                },
            ),
        })
    }
}

impl CompressorPlugin for Zfp {
    fn id(&self) -> &str {
        ID
    }

    fn prefix(&self) -> &str {
        ID
    }

    fn version(&self) -> Version {
        VERSION
    }

    fn options(&self) -> Options {
        let mut o = Options::new();
        BoundOptions::new(self.in_mode(Mode::Accuracy, self.bound.spec()).flatten())
            .declare(&mut o);
        o.set_type(KEY_LOSSLESS, OptionType::I32);
        self.threads.declare(&mut o);
        self.fill.declare(&mut o);
        o.set_or_placeholder(KEY_ACCURACY, self.accuracy_value());
        o.set_or_placeholder(KEY_PRECISION, self.in_mode(Mode::Precision, self.precision));
        o.set_or_placeholder(KEY_RATE, self.in_mode(Mode::Rate, self.rate));
        o.set(KEY_REVERSIBLE, u32::from(self.mode == Mode::Reversible));
        o.set(KEY_MODE, self.mode.code());
        let ex = self.in_mode(Mode::Expert, self.expert);
        o.set_or_placeholder(KEY_MINBITS, ex.map(|e| e.minbits));
        o.set_or_placeholder(KEY_MAXBITS, ex.map(|e| e.maxbits));
        o.set_or_placeholder(KEY_MAXPREC, ex.map(|e| e.maxprec));
        o.set_or_placeholder(KEY_MINEXP, ex.map(|e| e.minexp));
        o
    }

    fn set_options(&mut self, options: &Options) -> Result<()> {
        *self = self.applied(options)?;
        Ok(())
    }

    fn check_options(&self, options: &Options) -> Result<()> {
        self.applied(options).map(|_| ())
    }

    fn configuration(&self) -> Options {
        let mut o = plugin_configuration(
            ThreadSafety::Multiple,
            Stability::External,
            &[
                keys::ABS,
                keys::REL,
                KEY_LOSSLESS,
                KEY_ACCURACY,
                KEY_PRECISION,
                KEY_RATE,
                KEY_REVERSIBLE,
                KEY_MODE,
                KEY_MINBITS,
                KEY_MAXBITS,
                KEY_MAXPREC,
                KEY_MINEXP,
            ],
            &[],
            &[keys::NTHREADS],
        );
        o.set(
            keys::HIGHLEVEL,
            strings(&[
                keys::ABS,
                keys::REL,
                KEY_PRECISION,
                KEY_RATE,
                KEY_REVERSIBLE,
            ]),
        );
        o.set("zfp:dtypes", strings(&["float", "double"]));
        o.set("zfp:max_dims", codec::MAX_DIMS as u32);
        o.set("zfp:execution_name", strings(&["serial"]));
        o.set("zfp:zfp_version", "1.0.1");
        o
    }

    fn documentation(&self) -> Options {
        let mut d = Options::new();
        FillOptions::document(&mut d);
        d.set(
            keys::DESCRIPTION,
            "zfp 1.0 (through zfp-sys, serial): transform-based lossy and lossless compressor for \
             float and double data of any dimension (folded to at most 4), in fixed-accuracy \
             (default, tolerance 1e-3; a hard pointwise bound thanks to pressio-ml's \
             verify-and-patch guard), fixed-precision, fixed-rate, expert or reversible mode, \
             inside pressio-ml's checksummed envelope with NaN/Inf passthrough.",
        );
        d.set(keys::ABS, "pointwise absolute error bound: |x - x'| <= abs; selects fixed-accuracy mode with this tolerance");
        d.set(
            keys::REL,
            "pointwise value-range-relative error bound: |x - x'| <= rel * (max - min) of the finite \
             input values; selects fixed-accuracy mode with the resolved tolerance",
        );
        d.set(
            KEY_LOSSLESS,
            "any value selects zfp's reversible (lossless) mode (the level is ignored)",
        );
        d.set(
            keys::NTHREADS,
            "threads (>= 1); accepted for compatibility, zfp runs serially (static build without \
             OpenMP) and the output never depends on it",
        );
        d.set(
            KEY_ACCURACY,
            "fixed-accuracy tolerance (absolute); same as pressio:abs, wins over it",
        );
        d.set(KEY_PRECISION, "fixed-precision mode: number of bit planes coded, 1 to 64; no pointwise bound is promised");
        d.set(
            KEY_RATE,
            "fixed-rate mode: bits per value in (0, 64], unaligned; no pointwise bound is promised",
        );
        d.set(
            KEY_REVERSIBLE,
            "1 selects zfp's reversible (lossless) mode; 0 returns to fixed accuracy",
        );
        d.set(KEY_MODE, "zfp's zfp_mode: 1 expert, 2 fixed rate, 3 fixed precision, 4 fixed accuracy, 5 reversible; switches mode keeping each mode's last parameters");
        d.set(KEY_MINBITS, "expert mode: minimum number of bits per block");
        d.set(
            KEY_MAXBITS,
            "expert mode: maximum number of bits per block (<= 16658)",
        );
        d.set(
            KEY_MAXPREC,
            "expert mode: maximum number of bit planes, 1 to 64",
        );
        d.set(
            KEY_MINEXP,
            "expert mode: smallest bit plane exponent coded (-1075 to 1024)",
        );
        d.set("zfp:dtypes", "element types the plugin accepts");
        d.set(
            "zfp:max_dims",
            "most non-trivial dimensions zfp handles natively (more are merged, slowest first)",
        );
        d.set(
            "zfp:execution_name",
            "execution policies available in this build",
        );
        d.set("zfp:zfp_version", "version of the bundled zfp library");
        d.set(
            RESULT_NONFINITE,
            "result: values of the last compression that were NaN or infinite (stored exactly)",
        );
        d.set(RESULT_PATCHED, "result: values of the last compression that zfp put outside the bound and the guard stored exactly (accuracy and reversible modes)");
        d.set(RESULT_LOSSLESS, "result: 1 when the last compression used the envelope's lossless fallback (resolved bound 0)");
        d.set(RESULT_ABS, "result: the resolved absolute bound of the last compression (the smallest positive double in reversible mode, f64::MAX in modes without a pointwise bound)");
        d
    }

    fn compress(&mut self, input: &Data) -> Result<Data> {
        if !matches!(input.dtype(), DType::Float | DType::Double) {
            return Err(PressioError::UnsupportedDType {
                plugin: ID.into(),
                dtype: input.dtype().name().into(),
            });
        }
        let (bound, verify, params) = self.plan()?;
        let p = EncodeParams {
            plugin_id: ID,
            version: VERSION,
            bound,
            model_name: "",
            model_hash: &[],
            verify,
            fill: self.fill.spec(),
        };
        let mut codec = ZfpCodec { params };
        let (out, stats) = field::compress_field(&mut codec, input, &p)?;
        self.last = Some(stats);
        Ok(out)
    }

    fn decompress(&mut self, input: &Data, _template: &Data) -> Result<Data> {
        let params = DecodeParams {
            plugin_id: ID,
            version: VERSION,
            model_hash: None,
        };
        // the mode word in the stream drives decoding; the codec's own parameters are unused
        let mut codec = ZfpCodec {
            params: ZfpParams::Reversible,
        };
        field::decompress_field(&mut codec, input, &params)
    }

    fn metrics_results(&self) -> Options {
        field::FieldStats::results(self.last.as_ref(), "zfp")
    }

    fn clone_plugin(&self) -> Box<dyn CompressorPlugin> {
        Box::new(self.clone())
    }
}
