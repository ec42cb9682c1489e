//! `classic`: an SZ3-style error-bounded compressor for `float` and `double` fields of 1 to 4
//! dimensions (more dimensions are folded into four by merging the slowest ones).
//!
//! Pipeline: multilevel cubic/linear interpolation (SZ3/QoZ style, level-wise bounds, anchor
//! grid) or first-order Lorenzo prediction, the linear quantizer (radius 32768), canonical
//! Huffman coding of the codes, then zstd (level 3). Everything goes through the codec
//! envelope ([`pressio_ml_codec::field`]): NaN/Inf pass through exactly, a bound of 0 (or a
//! constant field under `pressio:rel`) is compressed losslessly, and the stream is versioned and
//! checksummed.
//!
//! # Options
//!
//! | key | type | default | meaning |
//! |---|---|---|---|
//! | `pressio:abs` / `pressio:rel` | double | `pressio:rel = 1e-3` | the error bound |
//! | `pressio:nthreads` | uint32 | 1 | threads (the output never depends on it) |
//! | `classic:predictor` | string | `interp` | `interp`, `lorenzo` or `auto` (both, keep the smaller) |
//! | `classic:interp_algo` | string | `auto` | `auto`, `cubic` or `linear` |
//! | `classic:interp_direction` | string | `auto` | `auto`, `slowest_first`, `fastest_first` |
//! | `classic:interp_alpha` | double | 0 | level bound growth (0 = automatic) |
//! | `classic:interp_beta` | double | 2 | cap of the level bound reduction (with alpha > 0) |
//! | `classic:anchor_stride` | uint32 | 0 | anchor grid stride, a power of two (0 = 4096/128/32/16 for 1/2/3/4-D) |
//! | `classic:quant_radius` | uint32 | 32768 | quantization radius (codes in `[0, 2R)`) |
//! | `classic:zstd_level` | int32 | 3 | zstd level of the payload |
//! | `classic:verify` | bool | false | decode after encoding and patch any value outside the bound |

pub mod body;
pub mod tune;

use body::{Choice, ClassicCodec, Direction, Predictor, Settings};
use pressio_ml_codec::field::{self, DecodeParams, EncodeParams, FieldStats};
use pressio_ml_codec::interp::InterpKind;
use pressio_ml_core::{
    keys, plugin_configuration, BoundOptions, BoundSpec, CompressorPlugin, Data, FillOptions,
    Options, PressioError, RegistryBuilder, Result, Stability, ThreadOptions, ThreadSafety,
    Version,
};

/// Registry id and option prefix.
pub const ID: &str = "classic";
/// Plugin (and stream) version.
pub const VERSION: Version = Version::new(0, 1, 0);
/// The default bound when the user sets none.
pub const DEFAULT_BOUND: BoundSpec = BoundSpec::Rel(1e-3);

/// `classic:predictor`.
pub const KEY_PREDICTOR: &str = "classic:predictor";
/// `classic:interp_algo`.
pub const KEY_INTERP_ALGO: &str = "classic:interp_algo";
/// `classic:interp_direction`.
pub const KEY_DIRECTION: &str = "classic:interp_direction";
/// `classic:interp_alpha`.
pub const KEY_ALPHA: &str = "classic:interp_alpha";
/// `classic:interp_beta`.
pub const KEY_BETA: &str = "classic:interp_beta";
/// `classic:anchor_stride`.
pub const KEY_ANCHOR: &str = "classic:anchor_stride";
/// `classic:quant_radius`.
pub const KEY_RADIUS: &str = "classic:quant_radius";
/// `classic:zstd_level`.
pub const KEY_ZSTD: &str = "classic:zstd_level";
/// `classic:verify`.
pub const KEY_VERIFY: &str = "classic:verify";

/// Metrics result: values stored exactly because they were NaN or infinite.
pub const RESULT_NONFINITE: &str = "classic:nonfinite";
/// Metrics result: values patched by the verify guard.
pub const RESULT_PATCHED: &str = "classic:patched";
/// Metrics result: 1 when the lossless fallback was used.
pub const RESULT_LOSSLESS: &str = "classic:lossless";
/// Metrics result: the resolved absolute bound of the last compression.
pub const RESULT_ABS: &str = "classic:abs_bound";

/// The `classic` compressor plugin.
#[derive(Debug, Clone)]
pub struct Classic {
    bound: BoundOptions,
    threads: ThreadOptions,
    fill: FillOptions,
    settings: Settings,
    alpha: f64,
    beta: f64,
    verify: bool,
    last: Option<FieldStats>,
    /// Code buffer reused between calls (not an option).
    scratch: Scratch,
}

/// A reusable buffer: clones start empty and `Debug` shows only its capacity.
#[derive(Default)]
struct Scratch(Vec<u32>);

impl Clone for Scratch {
    fn clone(&self) -> Self {
        Scratch(Vec::new())
    }
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scratch({} codes)", self.0.capacity())
    }
}

impl Default for Classic {
    fn default() -> Self {
        Classic {
            bound: BoundOptions::new(Some(DEFAULT_BOUND)),
            threads: ThreadOptions::default(),
            fill: FillOptions::default(),
            settings: Settings::default(),
            alpha: 0.0,
            beta: 2.0,
            verify: false,
            last: None,
            scratch: Scratch::default(),
        }
    }
}

/// Register `classic`.
pub fn register(builder: &mut RegistryBuilder) -> Result<()> {
    builder.compressor(ID, |_| Box::new(Classic::default()))?;
    Ok(())
}

fn parse_predictor(s: &str) -> Result<Predictor> {
    match s {
        "interp" => Ok(Predictor::Interp),
        "lorenzo" => Ok(Predictor::Lorenzo),
        "auto" => Ok(Predictor::Auto),
        _ => Err(PressioError::invalid_option(
            KEY_PREDICTOR,
            format!("`{s}` is not interp, lorenzo or auto"),
        )),
    }
}

fn parse_algo(s: &str) -> Result<Choice<InterpKind>> {
    match s {
        "auto" => Ok(Choice::Auto),
        "cubic" => Ok(Choice::Fixed(InterpKind::Cubic)),
        "linear" => Ok(Choice::Fixed(InterpKind::Linear)),
        _ => Err(PressioError::invalid_option(
            KEY_INTERP_ALGO,
            format!("`{s}` is not auto, cubic or linear"),
        )),
    }
}

fn parse_direction(s: &str) -> Result<Choice<Direction>> {
    match s {
        "auto" => Ok(Choice::Auto),
        "slowest_first" => Ok(Choice::Fixed(Direction::SlowestFirst)),
        "fastest_first" => Ok(Choice::Fixed(Direction::FastestFirst)),
        _ => Err(PressioError::invalid_option(
            KEY_DIRECTION,
            format!("`{s}` is not auto, slowest_first or fastest_first"),
        )),
    }
}

fn algo_name(c: Choice<InterpKind>) -> &'static str {
    match c {
        Choice::Auto => "auto",
        Choice::Fixed(InterpKind::Cubic) => "cubic",
        Choice::Fixed(InterpKind::Linear) => "linear",
    }
}

fn direction_name(c: Choice<Direction>) -> &'static str {
    match c {
        Choice::Auto => "auto",
        Choice::Fixed(Direction::SlowestFirst) => "slowest_first",
        Choice::Fixed(Direction::FastestFirst) => "fastest_first",
    }
}

impl Classic {
    /// Apply `options` to a copy of `self` (shared by set_options and check_options).
    fn applied(&self, options: &Options) -> Result<Classic> {
        let mut c = self.clone();
        c.bound.apply(options)?;
        c.threads.apply(options)?;
        c.fill.apply(options)?;
        if let Some(s) = options.get_typed::<String>(KEY_PREDICTOR)? {
            c.settings.predictor = parse_predictor(&s)?;
        }
        if let Some(s) = options.get_typed::<String>(KEY_INTERP_ALGO)? {
            c.settings.interp_algo = parse_algo(&s)?;
        }
        if let Some(s) = options.get_typed::<String>(KEY_DIRECTION)? {
            c.settings.direction = parse_direction(&s)?;
        }
        if let Some(a) = options.get_typed::<f64>(KEY_ALPHA)? {
            if !(a == 0.0 || (1.0..=16.0).contains(&a)) {
                return Err(PressioError::invalid_option(
                    KEY_ALPHA,
                    "must be 0 (automatic) or in [1, 16]",
                ));
            }
            c.alpha = a;
        }
        if let Some(b) = options.get_typed::<f64>(KEY_BETA)? {
            if !(1.0..=1024.0).contains(&b) {
                return Err(PressioError::invalid_option(
                    KEY_BETA,
                    "must be in [1, 1024]",
                ));
            }
            c.beta = b;
        }
        c.settings.level_bounds = if c.alpha == 0.0 {
            Choice::Auto
        } else {
            Choice::Fixed((c.alpha, c.beta))
        };
        if let Some(a) = options.get_typed::<u32>(KEY_ANCHOR)? {
            if a != 0 && (!a.is_power_of_two() || a < 2) {
                return Err(PressioError::invalid_option(
                    KEY_ANCHOR,
                    "must be 0 or a power of two >= 2",
                ));
            }
            c.settings.anchor_stride = a;
        }
        if let Some(r) = options.get_typed::<u32>(KEY_RADIUS)? {
            if !(1..=pressio_ml_codec::quantizer::MAX_RADIUS).contains(&r) {
                return Err(PressioError::invalid_option(
                    KEY_RADIUS,
                    "must be in [1, 2^30]",
                ));
            }
            c.settings.radius = r;
        }
        if let Some(l) = options.get_typed::<i32>(KEY_ZSTD)? {
            if !(-7..=22).contains(&l) {
                return Err(PressioError::invalid_option(
                    KEY_ZSTD,
                    "must be in [-7, 22]",
                ));
            }
            c.settings.zstd_level = l;
        }
        if let Some(v) = options.get_typed::<bool>(KEY_VERIFY)? {
            c.verify = v;
        }
        Ok(c)
    }

    /// Run `f` on a rayon pool of `pressio:nthreads` threads (directly when 1).
    fn with_threads<R: Send>(&self, f: impl FnOnce(bool) -> Result<R> + Send) -> Result<R> {
        let n = self.threads.nthreads() as usize;
        if n <= 1 {
            return f(false);
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| PressioError::backend(ID, format!("cannot start {n} threads: {e}")))?;
        pool.install(|| f(true))
    }
}

impl CompressorPlugin for Classic {
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
        self.bound.declare(&mut o);
        self.threads.declare(&mut o);
        self.fill.declare(&mut o);
        o.set(KEY_PREDICTOR, self.settings.predictor.name());
        o.set(KEY_INTERP_ALGO, algo_name(self.settings.interp_algo));
        o.set(KEY_DIRECTION, direction_name(self.settings.direction));
        o.set(KEY_ALPHA, self.alpha);
        o.set(KEY_BETA, self.beta);
        o.set(KEY_ANCHOR, self.settings.anchor_stride);
        o.set(KEY_RADIUS, self.settings.radius);
        o.set(KEY_ZSTD, self.settings.zstd_level);
        o.set(KEY_VERIFY, self.verify);
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
            Stability::Unstable,
            &[
                keys::ABS,
                keys::REL,
                KEY_PREDICTOR,
                KEY_INTERP_ALGO,
                KEY_DIRECTION,
                KEY_ALPHA,
                KEY_BETA,
                KEY_ANCHOR,
                KEY_RADIUS,
            ],
            &[KEY_ZSTD, KEY_VERIFY],
            &[keys::NTHREADS],
        );
        o.set(
            keys::HIGHLEVEL,
            pressio_ml_core::Value::Strings(vec![
                keys::ABS.to_string(),
                keys::REL.to_string(),
                KEY_PREDICTOR.to_string(),
                keys::NTHREADS.to_string(),
            ]),
        );
        o.set(
            "classic:dtypes",
            pressio_ml_core::Value::Strings(vec!["float".into(), "double".into()]),
        );
        o.set("classic:max_dims", 4u32);
        o
    }

    fn documentation(&self) -> Options {
        let mut d = Options::new();
        d.set(
            keys::DESCRIPTION,
            "SZ3-style error-bounded compressor: multilevel cubic/linear interpolation (anchor grid, \
             level-wise bounds) or Lorenzo prediction, linear quantization, canonical Huffman and \
             zstd. float and double, 1 to 4 dimensions (more are folded into 4). Default bound: \
             pressio:rel = 1e-3.",
        );
        BoundOptions::document(&mut d);
        ThreadOptions::document(&mut d);
        FillOptions::document(&mut d);
        d.set(KEY_PREDICTOR, "predictor: interp (multilevel interpolation, default), lorenzo (first-order Lorenzo) or \
             auto (compresses both ways and keeps the smaller stream)");
        d.set(
            KEY_INTERP_ALGO,
            "interpolation formula: auto (chosen by test-compressing samples), cubic or linear",
        );
        d.set(
            KEY_DIRECTION,
            "order of the axis passes within a level: auto (sampled), slowest_first (SZ3's default) or fastest_first",
        );
        d.set(
            KEY_ALPHA,
            "level-wise bound growth: level l (stride 2^(l-1)) uses bound e / min(alpha^(l-1), beta); \
             0 chooses alpha and beta automatically",
        );
        d.set(
            KEY_BETA,
            "cap of the level-wise bound reduction, used when classic:interp_alpha > 0",
        );
        d.set(
            KEY_ANCHOR,
            "stride of the losslessly stored anchor grid, a power of two; 0 uses 4096, 128, 32, 16 for 1 to 4 dimensions",
        );
        d.set(
            KEY_RADIUS,
            "quantization radius R: codes lie in [0, 2R), 0 marks an unpredictable value",
        );
        d.set(
            KEY_ZSTD,
            "zstd level applied to the Huffman codes and exact values",
        );
        d.set(
            KEY_VERIFY,
            "decode right after encoding and store exactly any value outside the bound (never needed by \
             this compressor; a belt-and-braces guard)",
        );
        d.set("classic:dtypes", "element types the plugin accepts");
        d.set(
            "classic:max_dims",
            "most non-trivial dimensions handled natively (more are merged)",
        );
        d.set(
            RESULT_NONFINITE,
            "result: values of the last compression that were NaN or infinite (stored exactly)",
        );
        d.set(
            RESULT_PATCHED,
            "result: values of the last compression patched by classic:verify",
        );
        d.set(
            RESULT_LOSSLESS,
            "result: 1 when the last compression used the lossless fallback",
        );
        d.set(
            RESULT_ABS,
            "result: the resolved absolute bound of the last compression",
        );
        d
    }

    fn compress(&mut self, input: &Data) -> Result<Data> {
        if !input.dtype().is_floating() {
            return Err(PressioError::UnsupportedDType {
                plugin: ID.into(),
                dtype: input.dtype().name().into(),
            });
        }
        let bound = self.bound.require(ID)?;
        let params = EncodeParams {
            plugin_id: ID,
            version: VERSION,
            bound,
            model_name: "",
            model_hash: &[],
            verify: self.verify,
            fill: self.fill.spec(),
        };
        let settings = &self.settings;
        let mut scratch = std::mem::take(&mut self.scratch.0);
        let r = self.with_threads(|parallel| {
            let mut codec = ClassicCodec {
                settings,
                parallel,
                scratch: &mut scratch,
            };
            field::compress_field(&mut codec, input, &params)
        });
        self.scratch.0 = scratch;
        let (out, stats) = r?;
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
        let mut scratch = std::mem::take(&mut self.scratch.0);
        let r = self.with_threads(|parallel| {
            let mut codec = ClassicCodec {
                settings,
                parallel,
                scratch: &mut scratch,
            };
            field::decompress_field(&mut codec, input, &params)
        });
        self.scratch.0 = scratch;
        r
    }

    fn metrics_results(&self) -> Options {
        field::FieldStats::results(self.last.as_ref(), "classic")
    }

    fn clone_plugin(&self) -> Box<dyn CompressorPlugin> {
        Box::new(self.clone())
    }
}
