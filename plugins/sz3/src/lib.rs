//! `sz3`: the SZ3 error-bounded compressor (SZ3 3.3.2 through the `sz3` crate) as a pressio-ml
//! plugin with LibPressio's `sz3` option keys.
//!
//! Every stream goes through the shared field envelope ([`pressio_ml_codec::field`]): NaN and
//! ±Inf pass through bit-exactly (SZ3 only ever sees finite values), a resolved bound of 0 is
//! compressed losslessly, the stream is versioned and checksummed (corrupt, truncated or foreign
//! streams are refused before SZ3 sees a byte), and the verify-and-patch guard is always on: the
//! stream is decoded right after encoding and any value outside the bound (compared in `f64`) is
//! stored exactly, so the bound is a hard promise even where SZ3's float arithmetic rounds past
//! it. The number of patched values is reported in the metrics results.
//!
//! Data: `float` and `double`, any number of dimensions (extents of 1 are dropped; more than
//! four are folded into four by merging the slowest ones, SZ3's limit). Single values and
//! extents of 2 are handled by SZ3 itself (checked by the tests).
//!
//! # Options (LibPressio's keys and types)
//!
//! | key | type | default | meaning |
//! |---|---|---|---|
//! | `pressio:abs` | double | `1e-6` | absolute bound; sets the mode to `ABS` (set only in that mode) |
//! | `pressio:rel` | double | unset | value-range relative bound; sets the mode to `REL` (set only in that mode) |
//! | `pressio:nthreads` | uint32 | 1 | accepted for compatibility; this build of SZ3 is serial (no OpenMP) |
//! | `sz3:abs_error_bound` | double | `1e-6` | SZ3's `absErrorBound` (used by ABS, ABS_AND_REL, ABS_OR_REL) |
//! | `sz3:rel_error_bound` | double | `0` | SZ3's `relErrorBound` (used by REL, ABS_AND_REL, ABS_OR_REL) |
//! | `sz3:error_bound_mode` | uint8 | 0 | SZ3's `EB` code: 0 ABS, 1 REL, 4 ABS_AND_REL, 5 ABS_OR_REL |
//! | `sz3:error_bound_mode_str` | char* | `ABS` | the same by name (case-insensitive) |
//! | `sz3:algorithm` | uint8 | 1 | SZ3's `ALGO` code: 0 LORENZO_REG, 1 INTERP_LORENZO, 2 INTERP, 3 NOPRED, 4 LOSSLESS |
//! | `sz3:algorithm_str` | char* | `ALGO_INTERP_LORENZO` | the same by name |
//! | `sz3:lorenzo` | bool | true | first-order Lorenzo (ALGO_LORENZO_REG) |
//! | `sz3:lorenzo2` | bool | false | second-order Lorenzo (ALGO_LORENZO_REG) |
//! | `sz3:regression` | bool | true | linear regression (ALGO_LORENZO_REG) |
//! | `sz3:quant_bin_size` | int32 | 65536 | number of quantization bins, in `[2, 2^24]` |
//! | `sz3:interp_algo` | uint8 | 1 | interpolation formula; only 1 (cubic, SZ3's default) is available |
//! | `sz3:intrep_algo_str` | char* | `INTERP_ALGO_CUBIC` | the same by name (LibPressio's spelling) |
//!
//! The specific `sz3:*` keys are applied after the generic ones, so they win when both change
//! in one call. Keys whose value equals the current state are ignored, so a client may send back
//! everything `get_options` returned with one key changed. The defaults follow SZ3 (algorithm
//! `ALGO_INTERP_LORENZO`, 65536 bins, cubic interpolation) and LibPressio's `sz3` plugin
//! (`pressio:abs = 1e-6`).
//!
//! Not supported, and refused with an error: the `PSNR` and `NORM` bound modes (not pointwise;
//! this plugin promises pointwise bounds), the `ALGO_BIOMD*` algorithms (molecular-dynamics
//! layouts), linear interpolation (the `sz3` crate does not expose `interpAlgo`). Not declared:
//! `sz3:psnr_error_bound`, `sz3:l2_norm_error_bound`, `sz3:regression2`, `sz3:openmp`,
//! `sz3:interp_direction`, `sz3:pred_dim` (the crate does not expose them).
//!
//! Configuration: `pressio:thread_safe = multiple` (SZ3 keeps no mutable global state; every
//! call builds its own compressor), `pressio:stability = external` (the stream format is SZ3's,
//! inside pressio-ml's container).

pub mod codec;

use codec::{Algorithm, Settings, Sz3Codec};
use pressio_ml_codec::field::{self, valid_range, DecodeParams, EncodeParams, FieldStats};
use pressio_ml_core::{
    keys, plugin_configuration, BoundSpec, CompressorPlugin, DType, Data, FillOptions, OptionValue,
    Options, PressioError, RegistryBuilder, Result, Stability, ThreadOptions, ThreadSafety, Value,
    Version,
};

/// Registry id and option prefix.
pub const ID: &str = "sz3";
/// Plugin (and stream) version.
pub const VERSION: Version = Version::new(0, 1, 0);
/// Default absolute bound (LibPressio's `sz3` default).
pub const DEFAULT_ABS: f64 = 1e-6;
/// Most quantization bins accepted.
pub const MAX_QUANT_BINS: i32 = 1 << 24;

/// `sz3:abs_error_bound` (double).
pub const KEY_ABS_EB: &str = "sz3:abs_error_bound";
/// `sz3:rel_error_bound` (double).
pub const KEY_REL_EB: &str = "sz3:rel_error_bound";
/// `sz3:error_bound_mode` (uint8).
pub const KEY_EB_MODE: &str = "sz3:error_bound_mode";
/// `sz3:error_bound_mode_str` (char*).
pub const KEY_EB_MODE_STR: &str = "sz3:error_bound_mode_str";
/// `sz3:algorithm` (uint8).
pub const KEY_ALGO: &str = "sz3:algorithm";
/// `sz3:algorithm_str` (char*).
pub const KEY_ALGO_STR: &str = "sz3:algorithm_str";
/// `sz3:lorenzo` (bool).
pub const KEY_LORENZO: &str = "sz3:lorenzo";
/// `sz3:lorenzo2` (bool).
pub const KEY_LORENZO2: &str = "sz3:lorenzo2";
/// `sz3:regression` (bool).
pub const KEY_REGRESSION: &str = "sz3:regression";
/// `sz3:quant_bin_size` (int32).
pub const KEY_QUANT: &str = "sz3:quant_bin_size";
/// `sz3:interp_algo` (uint8).
pub const KEY_INTERP_ALGO: &str = "sz3:interp_algo";
/// `sz3:intrep_algo_str` (char*, LibPressio's spelling).
pub const KEY_INTERP_ALGO_STR: &str = "sz3:intrep_algo_str";

/// Metrics result: values of the last compression that were NaN or infinite.
pub const RESULT_NONFINITE: &str = "sz3:nonfinite";
/// Metrics result: values the verify guard stored exactly in the last compression.
pub const RESULT_PATCHED: &str = "sz3:patched";
/// Metrics result: 1 when the last compression used the lossless fallback.
pub const RESULT_LOSSLESS: &str = "sz3:lossless";
/// Metrics result: the resolved absolute bound of the last compression.
pub const RESULT_ABS: &str = "sz3:abs_bound";

/// SZ3's cubic interpolation code (`INTERP_ALGO_CUBIC`).
const INTERP_CUBIC: u8 = 1;
const INTERP_CUBIC_NAME: &str = "INTERP_ALGO_CUBIC";

/// SZ3's error-bound modes that are pointwise (the ones this plugin accepts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EbMode {
    /// `ABS` (0): `|x - x'| <= abs`.
    Abs,
    /// `REL` (1): `|x - x'| <= rel * (max - min)`.
    Rel,
    /// `ABS_AND_REL` (4): both hold (the smaller bound).
    AbsAndRel,
    /// `ABS_OR_REL` (5): either holds (the larger bound).
    AbsOrRel,
}

impl EbMode {
    const ALL: [EbMode; 4] = [
        EbMode::Abs,
        EbMode::Rel,
        EbMode::AbsAndRel,
        EbMode::AbsOrRel,
    ];

    /// SZ3's `EB` code.
    pub fn code(self) -> u8 {
        match self {
            EbMode::Abs => 0,
            EbMode::Rel => 1,
            EbMode::AbsAndRel => 4,
            EbMode::AbsOrRel => 5,
        }
    }

    /// SZ3's name (`SZ3::EB_MAP`).
    pub fn name(self) -> &'static str {
        match self {
            EbMode::Abs => "ABS",
            EbMode::Rel => "REL",
            EbMode::AbsAndRel => "ABS_AND_REL",
            EbMode::AbsOrRel => "ABS_OR_REL",
        }
    }

    fn unsupported(what: &str) -> PressioError {
        PressioError::invalid_option(
            KEY_EB_MODE_STR,
            format!(
                "{what} is not a pointwise bound; pressio-ml's sz3 supports ABS, REL, ABS_AND_REL \
                 and ABS_OR_REL"
            ),
        )
    }

    fn from_code(code: u8) -> Result<EbMode> {
        match code {
            2 => Err(Self::unsupported("PSNR")),
            3 => Err(Self::unsupported("NORM")),
            c => EbMode::ALL
                .into_iter()
                .find(|m| m.code() == c)
                .ok_or_else(|| {
                    PressioError::invalid_option(KEY_EB_MODE, format!("unknown SZ3 bound mode {c}"))
                }),
        }
    }

    fn from_name(name: &str) -> Result<EbMode> {
        let n = name.trim();
        if n.eq_ignore_ascii_case("PSNR") || n.eq_ignore_ascii_case("NORM") {
            return Err(Self::unsupported(n));
        }
        EbMode::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(n))
            .ok_or_else(|| {
                PressioError::invalid_option(
                    KEY_EB_MODE_STR,
                    format!("`{name}` is not one of ABS, REL, ABS_AND_REL, ABS_OR_REL"),
                )
            })
    }
}

/// The `sz3` compressor plugin.
#[derive(Debug, Clone)]
pub struct Sz3 {
    eb_mode: EbMode,
    abs_eb: f64,
    rel_eb: f64,
    threads: ThreadOptions,
    fill: FillOptions,
    settings: Settings,
    last: Option<FieldStats>,
}

impl Default for Sz3 {
    fn default() -> Self {
        Sz3 {
            eb_mode: EbMode::Abs,
            abs_eb: DEFAULT_ABS,
            rel_eb: 0.0,
            threads: ThreadOptions::default(),
            fill: FillOptions::default(),
            settings: Settings::default(),
            last: None,
        }
    }
}

/// Register `sz3`.
pub fn register(builder: &mut RegistryBuilder) -> Result<()> {
    builder.compressor(ID, |_| Box::new(Sz3::default()))?;
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

fn check_bound(key: &str, v: f64) -> Result<f64> {
    if !v.is_finite() || v < 0.0 {
        return Err(PressioError::invalid_option(
            key,
            format!("{v} is not a finite bound >= 0"),
        ));
    }
    Ok(v)
}

fn strings(v: &[&str]) -> Value {
    Value::Strings(v.iter().map(|s| s.to_string()).collect())
}

impl Sz3 {
    /// Apply `o` to a copy of `self` (shared by set_options and check_options).
    fn applied(&self, o: &Options) -> Result<Sz3> {
        let mut c = self.clone();
        // generic keys first
        let abs_now = (self.eb_mode == EbMode::Abs).then_some(self.abs_eb);
        let rel_now = (self.eb_mode == EbMode::Rel).then_some(self.rel_eb);
        let abs = changed::<f64>(o, keys::ABS, abs_now.as_ref())?;
        let rel = changed::<f64>(o, keys::REL, rel_now.as_ref())?;
        match (abs, rel) {
            (Some(_), Some(_)) => {
                return Err(PressioError::invalid_option(
                    keys::ABS,
                    "both pressio:abs and pressio:rel were changed; set only one",
                ))
            }
            (Some(a), None) => {
                c.abs_eb = check_bound(keys::ABS, a)?;
                c.eb_mode = EbMode::Abs;
            }
            (None, Some(r)) => {
                c.rel_eb = check_bound(keys::REL, r)?;
                c.eb_mode = EbMode::Rel;
            }
            (None, None) => {}
        }
        c.threads.apply(o)?;
        c.fill.apply(o)?;
        // then the specific keys, which win
        if let Some(a) = changed::<f64>(o, KEY_ABS_EB, Some(&self.abs_eb))? {
            c.abs_eb = check_bound(KEY_ABS_EB, a)?;
        }
        if let Some(r) = changed::<f64>(o, KEY_REL_EB, Some(&self.rel_eb))? {
            c.rel_eb = check_bound(KEY_REL_EB, r)?;
        }
        if let Some(m) = changed::<u8>(o, KEY_EB_MODE, Some(&self.eb_mode.code()))? {
            c.eb_mode = EbMode::from_code(m)?;
        }
        if let Some(s) = o.get_typed::<String>(KEY_EB_MODE_STR)? {
            if !s.trim().eq_ignore_ascii_case(self.eb_mode.name()) {
                c.eb_mode = EbMode::from_name(&s)?;
            }
        }
        if let Some(a) = changed::<u8>(o, KEY_ALGO, Some(&self.settings.algorithm.code()))? {
            c.settings.algorithm = Algorithm::from_code(a).ok_or_else(|| {
                PressioError::invalid_option(
                    KEY_ALGO,
                    format!("{a} is not one of 0 (LORENZO_REG), 1 (INTERP_LORENZO), 2 (INTERP), 3 (NOPRED), 4 (LOSSLESS)"),
                )
            })?;
        }
        if let Some(s) = o.get_typed::<String>(KEY_ALGO_STR)? {
            if !s
                .trim()
                .eq_ignore_ascii_case(self.settings.algorithm.name())
            {
                c.settings.algorithm = Algorithm::from_name(&s).ok_or_else(|| {
                    let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
                    PressioError::invalid_option(
                        KEY_ALGO_STR,
                        format!("`{s}` is not one of {}", names.join(", ")),
                    )
                })?;
            }
        }
        if let Some(v) = o.get_typed::<bool>(KEY_LORENZO)? {
            c.settings.lorenzo = v;
        }
        if let Some(v) = o.get_typed::<bool>(KEY_LORENZO2)? {
            c.settings.lorenzo2 = v;
        }
        if let Some(v) = o.get_typed::<bool>(KEY_REGRESSION)? {
            c.settings.regression = v;
        }
        if let Some(q) = o.get_typed::<i32>(KEY_QUANT)? {
            if !(2..=MAX_QUANT_BINS).contains(&q) {
                return Err(PressioError::invalid_option(
                    KEY_QUANT,
                    "must be in [2, 2^24]",
                ));
            }
            c.settings.quant_bin_size = q;
        }
        if let Some(a) = o.get_typed::<u8>(KEY_INTERP_ALGO)? {
            if a != INTERP_CUBIC {
                return Err(PressioError::invalid_option(
                    KEY_INTERP_ALGO,
                    "only 1 (cubic, SZ3's default) is available: the sz3 crate does not expose interpAlgo",
                ));
            }
        }
        if let Some(s) = o.get_typed::<String>(KEY_INTERP_ALGO_STR)? {
            if !s.trim().eq_ignore_ascii_case(INTERP_CUBIC_NAME) {
                return Err(PressioError::invalid_option(
                    KEY_INTERP_ALGO_STR,
                    "only INTERP_ALGO_CUBIC (SZ3's default) is available: the sz3 crate does not expose interpAlgo",
                ));
            }
        }
        c.settings.validate()?;
        Ok(c)
    }

    /// The bound the envelope enforces for `input` (ABS_AND_REL / ABS_OR_REL need the value
    /// range, computed over the valid values as the envelope does).
    fn bound_for(&self, input: &Data) -> Result<BoundSpec> {
        let combined = |pick: fn(f64, f64) -> f64| -> Result<BoundSpec> {
            let range = match input.dtype() {
                DType::Float => valid_range(input.as_slice::<f32>()?, self.fill.spec()),
                DType::Double => valid_range(input.as_slice::<f64>()?, self.fill.spec()),
                _ => None,
            };
            Ok(BoundSpec::Abs(match range {
                Some((lo, hi)) => pick(self.abs_eb, self.rel_eb * (hi - lo)),
                None => self.abs_eb,
            }))
        };
        match self.eb_mode {
            EbMode::Abs => Ok(BoundSpec::Abs(self.abs_eb)),
            EbMode::Rel => Ok(BoundSpec::Rel(self.rel_eb)),
            EbMode::AbsAndRel => combined(f64::min),
            EbMode::AbsOrRel => combined(f64::max),
        }
    }
}

impl CompressorPlugin for Sz3 {
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
        o.set_or_placeholder(
            keys::ABS,
            (self.eb_mode == EbMode::Abs).then_some(self.abs_eb),
        );
        o.set_or_placeholder(
            keys::REL,
            (self.eb_mode == EbMode::Rel).then_some(self.rel_eb),
        );
        self.threads.declare(&mut o);
        self.fill.declare(&mut o);
        o.set(KEY_ABS_EB, self.abs_eb);
        o.set(KEY_REL_EB, self.rel_eb);
        o.set(KEY_EB_MODE, self.eb_mode.code());
        o.set(KEY_EB_MODE_STR, self.eb_mode.name());
        o.set(KEY_ALGO, self.settings.algorithm.code());
        o.set(KEY_ALGO_STR, self.settings.algorithm.name());
        o.set(KEY_LORENZO, self.settings.lorenzo);
        o.set(KEY_LORENZO2, self.settings.lorenzo2);
        o.set(KEY_REGRESSION, self.settings.regression);
        o.set(KEY_QUANT, self.settings.quant_bin_size);
        o.set(KEY_INTERP_ALGO, INTERP_CUBIC);
        o.set(KEY_INTERP_ALGO_STR, INTERP_CUBIC_NAME);
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
                KEY_ABS_EB,
                KEY_REL_EB,
                KEY_EB_MODE,
                KEY_EB_MODE_STR,
            ],
            &[
                KEY_ALGO,
                KEY_ALGO_STR,
                KEY_LORENZO,
                KEY_LORENZO2,
                KEY_REGRESSION,
                KEY_QUANT,
                KEY_INTERP_ALGO,
                KEY_INTERP_ALGO_STR,
            ],
            &[keys::NTHREADS],
        );
        o.set(
            keys::HIGHLEVEL,
            strings(&[keys::ABS, keys::REL, KEY_ALGO_STR]),
        );
        o.set(KEY_EB_MODE_STR, strings(&EbMode::ALL.map(|m| m.name())));
        o.set(KEY_ALGO_STR, strings(&Algorithm::ALL.map(|a| a.name())));
        o.set(KEY_INTERP_ALGO_STR, strings(&[INTERP_CUBIC_NAME]));
        o.set("sz3:dtypes", strings(&["float", "double"]));
        o.set("sz3:max_dims", codec::MAX_DIMS as u32);
        o.set("sz3:sz3_version", "3.3.2");
        o
    }

    fn documentation(&self) -> Options {
        let mut d = Options::new();
        FillOptions::document(&mut d);
        d.set(
            keys::DESCRIPTION,
            "SZ3 3.3.2 (through the sz3 crate): prediction-based error-bounded lossy compressor \
             (multilevel interpolation or Lorenzo/regression, linear quantization, Huffman, zstd) \
             for float and double data of any dimension (folded to at most 4), inside \
             pressio-ml's checksummed envelope with NaN/Inf passthrough and a verify-and-patch \
             guard that makes the pointwise bound a hard promise. Default pressio:abs = 1e-6.",
        );
        d.set(keys::ABS, "pointwise absolute error bound: |x - x'| <= abs; selects SZ3's ABS mode (sets sz3:abs_error_bound)");
        d.set(
            keys::REL,
            "pointwise value-range-relative error bound: |x - x'| <= rel * (max - min) of the finite \
             input values; selects SZ3's REL mode (sets sz3:rel_error_bound)",
        );
        d.set(
            keys::NTHREADS,
            "threads (>= 1); accepted for compatibility, this build of SZ3 runs serially (no OpenMP) \
             and the output never depends on it",
        );
        d.set(KEY_ABS_EB, "SZ3's absErrorBound, used by the ABS, ABS_AND_REL and ABS_OR_REL modes; wins over pressio:abs");
        d.set(KEY_REL_EB, "SZ3's relErrorBound (a fraction of the finite value range), used by REL, ABS_AND_REL and ABS_OR_REL; wins over pressio:rel");
        d.set(KEY_EB_MODE, "SZ3's error bound mode code: 0 ABS, 1 REL, 4 ABS_AND_REL (the smaller bound), 5 ABS_OR_REL (the larger); 2 PSNR and 3 NORM are refused");
        d.set(
            KEY_EB_MODE_STR,
            "SZ3's error bound mode by name, case-insensitive: ABS, REL, ABS_AND_REL or ABS_OR_REL",
        );
        d.set(KEY_ALGO, "SZ3's algorithm code: 0 ALGO_LORENZO_REG, 1 ALGO_INTERP_LORENZO (default), 2 ALGO_INTERP, 3 ALGO_NOPRED, 4 ALGO_LOSSLESS");
        d.set(KEY_ALGO_STR, "SZ3's algorithm by name, case-insensitive: ALGO_LORENZO_REG, ALGO_INTERP_LORENZO (default: interpolation or Lorenzo chosen by sampling), ALGO_INTERP, ALGO_NOPRED, ALGO_LOSSLESS");
        d.set(
            KEY_LORENZO,
            "use the first-order Lorenzo predictor (ALGO_LORENZO_REG only)",
        );
        d.set(
            KEY_LORENZO2,
            "use the second-order Lorenzo predictor (ALGO_LORENZO_REG only)",
        );
        d.set(KEY_REGRESSION, "use the linear regression predictor (ALGO_LORENZO_REG only); at least one of the three must be on");
        d.set(
            KEY_QUANT,
            "number of quantization bins (SZ3's quantbinCnt), in [2, 2^24]; default 65536",
        );
        d.set(KEY_INTERP_ALGO, "interpolation formula code; only 1 (cubic, SZ3's default) is available through the sz3 crate");
        d.set(KEY_INTERP_ALGO_STR, "interpolation formula by name (LibPressio's spelling \"intrep\"); only INTERP_ALGO_CUBIC is available");
        d.set("sz3:dtypes", "element types the plugin accepts");
        d.set(
            "sz3:max_dims",
            "most non-trivial dimensions SZ3 handles natively (more are merged, slowest first)",
        );
        d.set("sz3:sz3_version", "version of the bundled SZ3 library");
        d.set(
            RESULT_NONFINITE,
            "result: values of the last compression that were NaN or infinite (stored exactly)",
        );
        d.set(RESULT_PATCHED, "result: values of the last compression that SZ3 put outside the bound and the guard stored exactly");
        d.set(
            RESULT_LOSSLESS,
            "result: 1 when the last compression used the lossless fallback (resolved bound 0)",
        );
        d.set(
            RESULT_ABS,
            "result: the resolved absolute bound of the last compression",
        );
        d
    }

    fn compress(&mut self, input: &Data) -> Result<Data> {
        if !matches!(input.dtype(), DType::Float | DType::Double) {
            return Err(PressioError::UnsupportedDType {
                plugin: ID.into(),
                dtype: input.dtype().name().into(),
            });
        }
        let params = EncodeParams {
            plugin_id: ID,
            version: VERSION,
            bound: self.bound_for(input)?,
            model_name: "",
            model_hash: &[],
            verify: true,
            fill: self.fill.spec(),
        };
        let mut codec = Sz3Codec {
            settings: &self.settings,
        };
        let (out, stats) = field::compress_field(&mut codec, input, &params)?;
        self.last = Some(stats);
        Ok(out)
    }

    fn decompress(&mut self, input: &Data, _template: &Data) -> Result<Data> {
        let params = DecodeParams {
            plugin_id: ID,
            version: VERSION,
            model_hash: None,
        };
        let mut codec = Sz3Codec {
            settings: &self.settings,
        };
        field::decompress_field(&mut codec, input, &params)
    }

    fn metrics_results(&self) -> Options {
        field::FieldStats::results(self.last.as_ref(), "sz3")
    }

    fn clone_plugin(&self) -> Box<dyn CompressorPlugin> {
        Box::new(self.clone())
    }
}
