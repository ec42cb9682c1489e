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
//! | `pressio:nthreads` | uint32 | 1 | threads: chunks of big fields are coded in parallel (the output never depends on it) |
//! | `sz3:chunk_values` | uint64 | 4194304 | most values per chunk ([`pressio_ml_codec::chunked`]); 0 never cuts |
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
use pressio_ml_codec::chunked;
use pressio_ml_codec::field::{self, valid_range, DecodeParams, EncodeParams, FieldStats};
use pressio_ml_core::schema::finite_bound;
use pressio_ml_core::{
    keys, BoundSpec, CompressorPlugin, DType, Data, FillOptions, Group, Key, OptionSchema, Options,
    PressioError, RegistryBuilder, Result, ThreadOptions, Value, Version,
};
use std::sync::LazyLock;

/// Registry id and option prefix.
pub const ID: &str = "sz3";
/// Plugin (and stream) version. 0.2 cuts big fields into chunks ([`pressio_ml_codec::chunked`]),
/// which 0.1 decoders cannot read, so they refuse 0.2 streams by version; 0.1 streams decode.
pub const VERSION: Version = Version::new(0, 2, 0);
/// Default absolute bound (LibPressio's `sz3` default).
pub const DEFAULT_ABS: f64 = 1e-6;
/// Most quantization bins accepted.
pub const MAX_QUANT_BINS: i32 = 1 << 24;

/// `sz3:abs_error_bound` (double).
pub const KEY_ABS_EB: &str = "sz3:abs_error_bound";
/// `sz3:chunk_values`.
pub const KEY_CHUNK_VALUES: &str = "sz3:chunk_values";
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
    chunk_values: u64,
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
            chunk_values: chunked::CHUNK_VALUES,
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

type K<T> = Key<Sz3, T>;
type G = Group<Sz3>;

/// The options of `sz3`, declared once: the generic keys first, then the specific ones, which
/// win when both change in one call.
static SCHEMA: LazyLock<OptionSchema<Sz3>> = LazyLock::new(|| {
    OptionSchema::new()
        .group(
            G::bound(
                |s| match s.eb_mode {
                    EbMode::Abs => Some(BoundSpec::Abs(s.abs_eb)),
                    EbMode::Rel => Some(BoundSpec::Rel(s.rel_eb)),
                    _ => None,
                },
                |s, b| match b {
                    BoundSpec::Abs(a) => {
                        s.abs_eb = a;
                        s.eb_mode = EbMode::Abs;
                    }
                    BoundSpec::Rel(r) => {
                        s.rel_eb = r;
                        s.eb_mode = EbMode::Rel;
                    }
                },
            )
            .doc(
                keys::ABS,
                "pointwise absolute error bound: |x - x'| <= abs; selects SZ3's ABS mode (sets \
                 sz3:abs_error_bound)",
            )
            .doc(
                keys::REL,
                "pointwise value-range-relative error bound: |x - x'| <= rel * (max - min) of the \
                 valid (finite, non-fill) input values; selects SZ3's REL mode (sets sz3:rel_error_bound)",
            ),
        )
        .group(G::threads(|s| &s.threads, |s| &mut s.threads).doc(
            keys::NTHREADS,
            "threads (>= 1): the chunks of a big field (sz3:chunk_values) are compressed and \
             decompressed in parallel; the output never depends on it",
        ))
        .key(chunked::chunk_values_key(
            KEY_CHUNK_VALUES,
            "",
            |s| s.chunk_values,
            |s, v| s.chunk_values = v,
        ))
        .group(G::fill(|s| &s.fill, |s| &mut s.fill))
        .key(
            K::field(
                KEY_ABS_EB,
                "SZ3's absErrorBound, used by the ABS, ABS_AND_REL and ABS_OR_REL modes; wins over \
                 pressio:abs",
                |s| s.abs_eb,
                |s, v| s.abs_eb = v,
            )
            .validate(finite_bound)
            .error_dependent(),
        )
        .key(
            K::field(
                KEY_REL_EB,
                "SZ3's relErrorBound (a fraction of the finite value range), used by REL, \
                 ABS_AND_REL and ABS_OR_REL; wins over pressio:rel",
                |s| s.rel_eb,
                |s, v| s.rel_eb = v,
            )
            .validate(finite_bound)
            .error_dependent(),
        )
        .key(
            K::new(
                KEY_EB_MODE,
                "SZ3's error bound mode code: 0 ABS, 1 REL, 4 ABS_AND_REL (the smaller bound), 5 \
                 ABS_OR_REL (the larger); 2 PSNR and 3 NORM are refused",
                |s| Some(s.eb_mode.code()),
                |s, m| {
                    s.eb_mode = EbMode::from_code(m)?;
                    Ok(())
                },
            )
            .error_dependent(),
        )
        .key(
            K::new(
                KEY_EB_MODE_STR,
                "SZ3's error bound mode by name, case-insensitive: ABS, REL, ABS_AND_REL or \
                 ABS_OR_REL",
                |s| Some(s.eb_mode.name().to_string()),
                |s, name: String| {
                    s.eb_mode = EbMode::from_name(&name)?;
                    Ok(())
                },
            )
            .allowed(EbMode::ALL.map(|m| m.name()))
            .ignore_case()
            .error_dependent(),
        )
        .key(
            K::new(
                KEY_ALGO,
                "SZ3's algorithm code: 0 ALGO_LORENZO_REG, 1 ALGO_INTERP_LORENZO (default), 2 \
                 ALGO_INTERP, 3 ALGO_NOPRED, 4 ALGO_LOSSLESS",
                |s| Some(s.settings.algorithm.code()),
                |s, a| {
                    s.settings.algorithm = Algorithm::from_code(a).ok_or_else(|| {
                        format!(
                            "{a} is not one of 0 (LORENZO_REG), 1 (INTERP_LORENZO), 2 (INTERP), \
                             3 (NOPRED), 4 (LOSSLESS)"
                        )
                    })?;
                    Ok(())
                },
            )
            .error_agnostic(),
        )
        .key(
            K::new(
                KEY_ALGO_STR,
                "SZ3's algorithm by name, case-insensitive: ALGO_LORENZO_REG, ALGO_INTERP_LORENZO \
                 (default: interpolation or Lorenzo chosen by sampling), ALGO_INTERP, \
                 ALGO_NOPRED, ALGO_LOSSLESS",
                |s| Some(s.settings.algorithm.name().to_string()),
                |s, name: String| {
                    s.settings.algorithm = Algorithm::from_name(&name).ok_or_else(|| {
                        let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
                        format!("`{name}` is not one of {}", names.join(", "))
                    })?;
                    Ok(())
                },
            )
            .allowed(Algorithm::ALL.map(|a| a.name()))
            .ignore_case()
            .error_agnostic()
            .highlevel(),
        )
        .key(
            K::field(
                KEY_LORENZO,
                "use the first-order Lorenzo predictor (ALGO_LORENZO_REG only)",
                |s| s.settings.lorenzo,
                |s, v| s.settings.lorenzo = v,
            )
            .error_agnostic(),
        )
        .key(
            K::field(
                KEY_LORENZO2,
                "use the second-order Lorenzo predictor (ALGO_LORENZO_REG only)",
                |s| s.settings.lorenzo2,
                |s, v| s.settings.lorenzo2 = v,
            )
            .error_agnostic(),
        )
        .key(
            K::field(
                KEY_REGRESSION,
                "use the linear regression predictor (ALGO_LORENZO_REG only); at least one of the \
                 three must be on",
                |s| s.settings.regression,
                |s, v| s.settings.regression = v,
            )
            .error_agnostic(),
        )
        .key(
            K::field(
                KEY_QUANT,
                "number of quantization bins (SZ3's quantbinCnt), in [2, 2^24]; default 65536",
                |s| s.settings.quant_bin_size,
                |s, v| s.settings.quant_bin_size = v,
            )
            .check(|q| (2..=MAX_QUANT_BINS).contains(q), "must be in [2, 2^24]")
            .error_agnostic(),
        )
        .key(
            K::new(
                KEY_INTERP_ALGO,
                "interpolation formula code; only 1 (cubic, SZ3's default) is available through \
                 the sz3 crate",
                |_| Some(INTERP_CUBIC),
                |_, _| {
                    Err("only 1 (cubic, SZ3's default) is available: the sz3 crate does not \
                         expose interpAlgo"
                        .into())
                },
            )
            .error_agnostic(),
        )
        .key(
            K::new(
                KEY_INTERP_ALGO_STR,
                "interpolation formula by name (LibPressio's spelling \"intrep\"); only \
                 INTERP_ALGO_CUBIC is available",
                |_| Some(INTERP_CUBIC_NAME.to_string()),
                |_, _| {
                    Err("only INTERP_ALGO_CUBIC (SZ3's default) is available: the sz3 crate does \
                         not expose interpAlgo"
                        .into())
                },
            )
            .allowed([INTERP_CUBIC_NAME])
            .ignore_case()
            .error_agnostic(),
        )
        .step(|_, s| s.settings.validate())
        .dtypes("sz3:dtypes", &DType::FLOATS)
        .fact(
            "sz3:max_dims",
            "most non-trivial dimensions SZ3 handles natively (more are merged, slowest first)",
            || Value::U32(codec::MAX_DIMS as u32),
        )
        .fact(
            "sz3:sz3_version",
            "version of the bundled SZ3 library",
            || Value::from("3.3.2"),
        )
        .doc(
            RESULT_PATCHED,
            "result: values of the last compression that SZ3 put outside the bound and the guard \
             stored exactly",
        )
        .doc(
            RESULT_ABS,
            "result: the resolved absolute bound of the last compression",
        )
});

impl Sz3 {
    /// The bound the envelope enforces for `input` (ABS_AND_REL / ABS_OR_REL need the value
    /// range, computed over the valid values as the envelope does).
    fn bound_for(&self, input: &Data) -> Result<BoundSpec> {
        let combined = |pick: fn(f64, f64) -> f64| -> Result<BoundSpec> {
            let range = match input.dtype() {
                DType::Float => valid_range(input.as_slice::<f32>()?, self.fill.spec()),
                DType::Double => valid_range(input.as_slice::<f64>()?, self.fill.spec()),
                d if d.is_integer() => valid_range(&input.to_f64_vec(), self.fill.spec()),
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
    pressio_ml_core::schema_plugin_basics!(ID, VERSION, SCHEMA, Multiple, External);

    fn documentation(&self) -> Options {
        let mut d = SCHEMA.documentation(
            "SZ3 3.3.2 (through the sz3 crate): prediction-based error-bounded lossy compressor \
             (multilevel interpolation or Lorenzo/regression, linear quantization, Huffman, zstd) \
             for float, double and integer data (integers as exact doubles under the integer bound floor(abs)) of any dimension (folded to at most 4), inside \
             pressio-ml's checksummed envelope with NaN/Inf passthrough and a verify-and-patch \
             guard that makes the pointwise bound a hard promise. Default pressio:abs = 1e-6.",
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
        let params = EncodeParams {
            plugin_id: ID,
            version: VERSION,
            bound: self.bound_for(input)?,
            model_name: "",
            model_hash: &[],
            verify: true,
            fill: self.fill.spec(),
        };
        let settings = &self.settings;
        let (out, stats) = chunked::run(
            ID,
            self.threads.nthreads(),
            chunked::ChunkRule::Values(self.chunk_values),
            || Sz3Codec { settings },
            |codec| field::compress_field(codec, input, &params),
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
        let settings = &self.settings;
        chunked::run(
            ID,
            self.threads.nthreads(),
            chunked::ChunkRule::Values(self.chunk_values),
            || Sz3Codec { settings },
            |codec| field::decompress_field(codec, input, &params),
        )
    }

    fn metrics_results(&self) -> Options {
        field::FieldStats::results(self.last.as_ref(), "sz3")
    }

    fn clone_plugin(&self) -> Box<dyn CompressorPlugin> {
        Box::new(self.clone())
    }
}
