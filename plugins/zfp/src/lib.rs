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
//! Threads: zfp's own OpenMP mode is absent from the static `zfp-sys` build (and compresses
//! only); instead the chunks of a big field ([`pressio_ml_codec::chunked`], `zfp:chunk_values`)
//! are coded in parallel on `pressio:nthreads` threads, both ways, with an output independent of
//! the thread count.
//!
//! # Options (LibPressio's keys and types)
//!
//! | key | type | default | meaning |
//! |---|---|---|---|
//! | `pressio:abs` | double | `1e-3` | absolute bound, fixed-accuracy mode (set only in that mode) |
//! | `pressio:rel` | double | unset | value-range relative bound, fixed-accuracy mode (set only in that mode) |
//! | `pressio:lossless` | int32 | unset | any value selects the reversible mode |
//! | `pressio:nthreads` | uint32 | 1 | threads: chunks of big fields are coded in parallel (the output never depends on it) |
//! | `zfp:chunk_values` | uint64 | 4194304 | most values per chunk; 0 never cuts |
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
use pressio_ml_codec::chunked;
use pressio_ml_codec::field::{self, DecodeParams, EncodeParams, FieldStats};
use pressio_ml_core::{
    keys, BoundOptions, BoundSpec, CompressorPlugin, DType, Data, FillOptions, Group, Key,
    OptionSchema, OptionValue, Options, PressioError, RegistryBuilder, Result, ThreadOptions,
    Value, Version,
};
use std::sync::LazyLock;

/// Registry id and option prefix.
pub const ID: &str = "zfp";
/// Plugin (and stream) version. 0.2 cuts big fields into chunks ([`pressio_ml_codec::chunked`]),
/// which 0.1 decoders cannot read, so they refuse 0.2 streams by version; 0.1 streams decode.
pub const VERSION: Version = Version::new(0, 2, 0);
/// Default fixed-accuracy tolerance (LibPressio's `zfp` default).
pub const DEFAULT_ACCURACY: f64 = 1e-3;
/// `pressio:lossless` (int32).
pub const KEY_LOSSLESS: &str = "pressio:lossless";
/// `zfp:accuracy` (double).
pub const KEY_ACCURACY: &str = "zfp:accuracy";
/// `zfp:chunk_values`.
pub const KEY_CHUNK_VALUES: &str = "zfp:chunk_values";
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
    chunk_values: u64,
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
            chunk_values: chunked::CHUNK_VALUES,
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

type K<T> = Key<Zfp, T>;
type G = Group<Zfp>;

/// An expert-mode key: reported in expert mode only, selects expert mode when it changes.
fn expert_key<T: OptionValue + PartialEq + Copy + Send + Sync + 'static>(
    key: &'static str,
    doc: &str,
    get: fn(&Expert) -> T,
    set: fn(&mut Expert, T),
) -> K<T> {
    K::new(
        key,
        doc,
        move |z| z.in_mode(Mode::Expert, get(&z.expert)),
        move |z, v| {
            set(&mut z.expert, v);
            z.mode = Mode::Expert;
            Ok(())
        },
    )
    .error_dependent()
}

/// The options of `zfp`, declared once, lowest priority first (LibPressio's order: mode >
/// precision > accuracy > rate > reversible > expert > lossless > abs/rel).
static SCHEMA: LazyLock<OptionSchema<Zfp>> = LazyLock::new(|| {
    OptionSchema::new()
        .group(G::threads(|z| &z.threads, |z| &mut z.threads).doc(
            keys::NTHREADS,
            "threads (>= 1): the chunks of a big field (zfp:chunk_values) are compressed and \
             decompressed in parallel; the output never depends on it",
        ))
        .key(chunked::chunk_values_key(
            KEY_CHUNK_VALUES,
            "",
            |z| z.chunk_values,
            |z, v| z.chunk_values = v,
        ))
        .group(G::fill(|z| &z.fill, |z| &mut z.fill))
        // pressio:abs / pressio:rel select fixed accuracy when they change
        .group(
            G::bound(
                |z| z.in_mode(Mode::Accuracy, z.bound.spec()).flatten(),
                |z, b| {
                    z.bound.set(Some(b));
                    z.mode = Mode::Accuracy;
                },
            )
            .doc(
                keys::ABS,
                "pointwise absolute error bound: |x - x'| <= abs; selects fixed-accuracy mode with \
                 this tolerance",
            )
            .doc(
                keys::REL,
                "pointwise value-range-relative error bound: |x - x'| <= rel * (max - min) of the \
                 valid (finite, non-fill) input values; selects fixed-accuracy mode with the resolved tolerance",
            ),
        )
        .key(
            K::new(
                KEY_LOSSLESS,
                "any value selects zfp's reversible (lossless) mode (the level is ignored)",
                |_| None::<i32>,
                |z, _| {
                    z.mode = Mode::Reversible;
                    Ok(())
                },
            )
            .error_dependent(),
        )
        .key(expert_key(
            KEY_MINBITS,
            "expert mode: minimum number of bits per block",
            |e| e.minbits,
            |e, v| e.minbits = v,
        ))
        .key(expert_key(
            KEY_MAXBITS,
            "expert mode: maximum number of bits per block (<= 16658)",
            |e| e.maxbits,
            |e, v| e.maxbits = v,
        ))
        .key(expert_key(
            KEY_MAXPREC,
            "expert mode: maximum number of bit planes, 1 to 64",
            |e| e.maxprec,
            |e, v| e.maxprec = v,
        ))
        .key(expert_key(
            KEY_MINEXP,
            "expert mode: smallest bit plane exponent coded (-1075 to 1024)",
            |e| e.minexp,
            |e, v| e.minexp = v,
        ))
        .step(|before, z| {
            let e = z.expert;
            if e == before.expert {
                return Ok(());
            }
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
            Ok(())
        })
        .key(
            K::new(
                KEY_REVERSIBLE,
                "1 selects zfp's reversible (lossless) mode; 0 returns to fixed accuracy",
                |z| Some(u32::from(z.mode == Mode::Reversible)),
                |z, r| {
                    z.mode = if r != 0 {
                        Mode::Reversible
                    } else {
                        Mode::Accuracy
                    };
                    Ok(())
                },
            )
            .error_dependent()
            .highlevel(),
        )
        .key(
            K::new(
                KEY_RATE,
                "fixed-rate mode: bits per value in (0, 64], unaligned; no pointwise bound is \
                 promised",
                |z| z.in_mode(Mode::Rate, z.rate),
                |z, r| {
                    z.rate = r;
                    z.mode = Mode::Rate;
                    Ok(())
                },
            )
            .check(|r| *r > 0.0 && *r <= 64.0, "must be in (0, 64] bits per value")
            .error_dependent()
            .highlevel(),
        )
        .key(
            K::new(
                KEY_ACCURACY,
                "fixed-accuracy tolerance (absolute); same as pressio:abs, wins over it",
                |z| z.accuracy_value(),
                |z, a| {
                    z.bound.set(Some(BoundSpec::Abs(a)));
                    z.mode = Mode::Accuracy;
                    Ok(())
                },
            )
            .check(
                |a| a.is_finite() && *a >= 0.0,
                "must be a finite tolerance >= 0",
            )
            .error_dependent(),
        )
        .key(
            K::new(
                KEY_PRECISION,
                "fixed-precision mode: number of bit planes coded, 1 to 64; no pointwise bound is \
                 promised",
                |z| z.in_mode(Mode::Precision, z.precision),
                |z, p| {
                    z.precision = p;
                    z.mode = Mode::Precision;
                    Ok(())
                },
            )
            .check(|p| (1..=64).contains(p), "must be in [1, 64]")
            .error_dependent()
            .highlevel(),
        )
        .key(
            K::new(
                KEY_MODE,
                "zfp's zfp_mode: 1 expert, 2 fixed rate, 3 fixed precision, 4 fixed accuracy, 5 \
                 reversible; switches mode keeping each mode's last parameters",
                |z| Some(z.mode.code()),
                |z, m| {
                    z.mode = match m {
                        MODE_EXPERT => Mode::Expert,
                        MODE_RATE => Mode::Rate,
                        MODE_PRECISION => Mode::Precision,
                        MODE_ACCURACY => Mode::Accuracy,
                        MODE_REVERSIBLE => Mode::Reversible,
                        _ => {
                            return Err("must be 1 (expert), 2 (rate), 3 (precision), 4 \
                                        (accuracy) or 5 (reversible)"
                                .into())
                        }
                    };
                    Ok(())
                },
            )
            .error_dependent(),
        )
        .step(|_, z| {
            if z.mode == Mode::Accuracy && z.bound.spec().is_none() {
                z.bound.set(Some(BoundSpec::Abs(DEFAULT_ACCURACY)));
            }
            Ok(())
        })
        .dtypes("zfp:dtypes", &DType::FLOATS)
        .fact(
            "zfp:max_dims",
            "most non-trivial dimensions zfp handles natively (more are merged, slowest first)",
            || Value::U32(codec::MAX_DIMS as u32),
        )
        .fact(
            "zfp:execution_name",
            "execution policies available in this build",
            || Value::strings(["serial"]),
        )
        .fact(
            "zfp:zfp_version",
            "version of the bundled zfp library",
            || Value::from("1.0.1"),
        )
        .doc(
            RESULT_PATCHED,
            "result: values of the last compression that zfp put outside the bound and the guard \
             stored exactly (accuracy and reversible modes)",
        )
        .doc(
            RESULT_LOSSLESS,
            "result: 1 when the last compression used the envelope's lossless fallback (resolved \
             bound 0)",
        )
        .doc(
            RESULT_ABS,
            "result: the resolved absolute bound of the last compression (the smallest positive \
             double in reversible mode, f64::MAX in modes without a pointwise bound)",
        )
});

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
    pressio_ml_core::schema_plugin_basics!(ID, VERSION, SCHEMA, Multiple, External);

    fn documentation(&self) -> Options {
        let mut d = SCHEMA.documentation(
            "zfp 1.0 (through zfp-sys, serial): transform-based lossy and lossless compressor for \
             float, double and integer data (integers as exact doubles under the integer bound floor(abs)) of any dimension (folded to at most 4), in fixed-accuracy \
             (default, tolerance 1e-3; a hard pointwise bound thanks to pressio-ml's \
             verify-and-patch guard), fixed-precision, fixed-rate, expert or reversible mode, \
             inside pressio-ml's checksummed envelope with NaN/Inf passthrough.",
        );
        field::FieldStats::document_missing(&mut d, ID);
        d
    }

    fn compress(&mut self, input: &Data) -> Result<Data> {
        if !input.dtype().is_field() {
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
        let (out, stats) = chunked::run(
            ID,
            self.threads.nthreads(),
            chunked::ChunkRule::Values(self.chunk_values),
            || ZfpCodec { params },
            |codec| field::compress_field(codec, input, &p),
        )?;
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
        let make = || ZfpCodec {
            params: ZfpParams::Reversible,
        };
        chunked::run(
            ID,
            self.threads.nthreads(),
            chunked::ChunkRule::Values(self.chunk_values),
            make,
            |codec| field::decompress_field(codec, input, &params),
        )
    }

    fn metrics_results(&self) -> Options {
        field::FieldStats::results(self.last.as_ref(), "zfp")
    }

    fn clone_plugin(&self) -> Box<dyn CompressorPlugin> {
        Box::new(self.clone())
    }
}
