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
//! | `pressio:nthreads` | uint32 | 1 | threads: chunks of big fields and Huffman blocks are coded in parallel (the output never depends on it) |
//! | `classic:chunk_values` | uint64 | 4194304 | most values per chunk ([`pressio_ml_codec::chunked`]); 0 never cuts |
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
use pressio_ml_codec::chunked::{ChunkRule, Chunked};
use pressio_ml_codec::field::{self, DecodeParams, EncodeParams, FieldStats};
use pressio_ml_codec::interp::InterpKind;
use pressio_ml_core::{
    keys, BoundOptions, BoundSpec, Choices, CompressorPlugin, DType, Data, FillOptions, Group, Key,
    OptionSchema, Options, PressioError, RegistryBuilder, Result, ThreadOptions, Value, Version,
};
use std::sync::{LazyLock, OnceLock};

/// Registry id and option prefix.
pub const ID: &str = "classic";
/// Plugin (and stream) version. 0.2 cuts big fields into chunks ([`pressio_ml_codec::chunked`]),
/// which 0.1 decoders cannot read, so they refuse 0.2 streams by version; 0.1 streams decode.
pub const VERSION: Version = Version::new(0, 2, 0);
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
/// `classic:chunk_values`.
pub const KEY_CHUNK_VALUES: &str = "classic:chunk_values";

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
    chunk_values: u64,
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
            chunk_values: pressio_ml_codec::chunked::CHUNK_VALUES,
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

const PREDICTORS: &[(&str, Predictor)] = &[
    ("interp", Predictor::Interp),
    ("lorenzo", Predictor::Lorenzo),
    ("auto", Predictor::Auto),
];
const ALGOS: &[(&str, Choice<InterpKind>)] = &[
    ("auto", Choice::Auto),
    ("cubic", Choice::Fixed(InterpKind::Cubic)),
    ("linear", Choice::Fixed(InterpKind::Linear)),
];
const DIRECTIONS: &[(&str, Choice<Direction>)] = &[
    ("auto", Choice::Auto),
    ("slowest_first", Choice::Fixed(Direction::SlowestFirst)),
    ("fastest_first", Choice::Fixed(Direction::FastestFirst)),
];

type K<T> = Key<Classic, T>;
type G = Group<Classic>;

/// The options of `classic`, declared once.
static SCHEMA: LazyLock<OptionSchema<Classic>> = LazyLock::new(|| {
    OptionSchema::new()
        .group(G::bound(|c| c.bound.spec(), |c, b| c.bound.set(Some(b))))
        .group(G::threads(|c| &c.threads, |c| &mut c.threads).highlevel(keys::NTHREADS))
        .key(pressio_ml_codec::chunked::chunk_values_key(
            KEY_CHUNK_VALUES,
            "",
            |c| c.chunk_values,
            |c, v| c.chunk_values = v,
        ))
        .group(G::fill(|c| &c.fill, |c| &mut c.fill))
        .key(
            K::choice(
                KEY_PREDICTOR,
                "predictor: interp (multilevel interpolation, default), lorenzo (first-order \
                 Lorenzo) or auto (compresses both ways and keeps the smaller stream)",
                Choices::exact(PREDICTORS),
                |c| c.settings.predictor,
                |c, v| c.settings.predictor = v,
            )
            .error_dependent()
            .highlevel(),
        )
        .key(
            K::choice(
                KEY_INTERP_ALGO,
                "interpolation formula: auto (chosen by test-compressing samples), cubic or linear",
                Choices::exact(ALGOS),
                |c| c.settings.interp_algo,
                |c, v| c.settings.interp_algo = v,
            )
            .error_dependent(),
        )
        .key(
            K::choice(
                KEY_DIRECTION,
                "order of the axis passes within a level: auto (sampled), slowest_first (SZ3's \
                 default) or fastest_first",
                Choices::exact(DIRECTIONS),
                |c| c.settings.direction,
                |c, v| c.settings.direction = v,
            )
            .error_dependent(),
        )
        .key(
            K::field(
                KEY_ALPHA,
                "level-wise bound growth: level l (stride 2^(l-1)) uses bound e / \
                 min(alpha^(l-1), beta); 0 chooses alpha and beta automatically",
                |c| c.alpha,
                |c, v| c.alpha = v,
            )
            .check(
                |a| *a == 0.0 || (1.0..=16.0).contains(a),
                "must be 0 (automatic) or in [1, 16]",
            )
            .error_dependent(),
        )
        .key(
            K::field(
                KEY_BETA,
                "cap of the level-wise bound reduction, used when classic:interp_alpha > 0",
                |c| c.beta,
                |c, v| c.beta = v,
            )
            .check(|b| (1.0..=1024.0).contains(b), "must be in [1, 1024]")
            .error_dependent(),
        )
        .step(|_, c| {
            c.settings.level_bounds = if c.alpha == 0.0 {
                Choice::Auto
            } else {
                Choice::Fixed((c.alpha, c.beta))
            };
            Ok(())
        })
        .key(
            K::field(
                KEY_ANCHOR,
                "stride of the losslessly stored anchor grid, a power of two; 0 uses 4096, 128, \
                 32, 16 for 1 to 4 dimensions",
                |c| c.settings.anchor_stride,
                |c, v| c.settings.anchor_stride = v,
            )
            .check(
                |a| *a == 0 || (a.is_power_of_two() && *a >= 2),
                "must be 0 or a power of two >= 2",
            )
            .error_dependent(),
        )
        .key(
            K::field(
                KEY_RADIUS,
                "quantization radius R: codes lie in [0, 2R), 0 marks an unpredictable value",
                |c| c.settings.radius,
                |c, v| c.settings.radius = v,
            )
            .check(
                |r| (1..=pressio_ml_codec::quantizer::MAX_RADIUS).contains(r),
                "must be in [1, 2^30]",
            )
            .error_dependent(),
        )
        .key(
            K::field(
                KEY_ZSTD,
                "zstd level applied to the Huffman codes and exact values",
                |c| c.settings.zstd_level,
                |c, v| c.settings.zstd_level = v,
            )
            .check(|l| (-7..=22).contains(l), "must be in [-7, 22]")
            .error_agnostic(),
        )
        .key(
            K::field(
                KEY_VERIFY,
                "decode right after encoding and store exactly any value outside the bound (never \
                 needed by this compressor; a belt-and-braces guard)",
                |c| c.verify,
                |c, v| c.verify = v,
            )
            .error_agnostic(),
        )
        .dtypes("classic:dtypes", &DType::NUMERIC)
        .fact(
            "classic:max_dims",
            "most non-trivial dimensions handled natively (more are merged)",
            || Value::U32(4),
        )
        .doc(
            RESULT_PATCHED,
            "result: values of the last compression patched by classic:verify",
        )
        .doc(
            RESULT_ABS,
            "result: the resolved absolute bound of the last compression",
        )
});

/// A maker of classic bodies for the chunks of a big field.
type MakeBody<'m, 'a> = &'m (dyn Fn() -> ClassicCodec<'a> + Sync);

/// The chunked classic body, its chunks sharing a predictor choice made on the whole field.
type ChunkedClassic<'m, 'a> = Chunked<ClassicCodec<'a>, MakeBody<'m, 'a>>;

/// Run `f` on `nthreads` threads with the chunked classic body (chunks of at most
/// `chunk_values` values, see [`pressio_ml_codec::chunked`]); `scratch`, the plugin's code
/// buffer, goes to the whole-field body and comes back with the result.
fn run_chunked<R: Send>(
    settings: &Settings,
    (nthreads, chunk_values): (u32, u64),
    scratch: Vec<u32>,
    f: impl for<'m, 'a> FnOnce(&mut ChunkedClassic<'m, 'a>) -> Result<R> + Send,
) -> (Vec<u32>, Result<R>) {
    let mut back = Vec::new();
    let preset = OnceLock::new();
    let r = pressio_ml_codec::threads::with_threads(ID, nthreads, |parallel| {
        let preset = Some(&preset);
        // chunk bodies run serially inside: the chunks already keep every thread busy, and
        // nested parallel Huffman stages would leave chunks waiting on stolen work
        let make = move || ClassicCodec {
            settings,
            parallel: false,
            scratch: Vec::new(),
            preset,
        };
        let whole = ClassicCodec {
            settings,
            parallel,
            scratch,
            preset,
        };
        let rule = ChunkRule::Values(chunk_values);
        let mut codec = Chunked::new(whole, &make as MakeBody<'_, '_>, parallel, rule);
        let r = f(&mut codec);
        back = codec.whole.scratch;
        r
    });
    (back, r)
}

impl CompressorPlugin for Classic {
    pressio_ml_core::schema_plugin_basics!(ID, VERSION, SCHEMA, Multiple, Unstable);

    fn documentation(&self) -> Options {
        let mut d = SCHEMA.documentation(
            "SZ3-style error-bounded compressor: multilevel cubic/linear interpolation (anchor grid, \
             level-wise bounds) or Lorenzo prediction, linear quantization, canonical Huffman and \
             zstd. float, double and integers (as exact doubles under the integer bound floor(abs)), 1 to 4 dimensions (more are folded into 4). Default bound: \
             pressio:rel = 1e-3.",
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
        let scratch = std::mem::take(&mut self.scratch.0);
        let (scratch, r) = run_chunked(
            &self.settings,
            (self.threads.nthreads(), self.chunk_values),
            scratch,
            |codec| field::compress_field(codec, input, &params),
        );
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
        let scratch = std::mem::take(&mut self.scratch.0);
        let (scratch, r) = run_chunked(
            &self.settings,
            (self.threads.nthreads(), self.chunk_values),
            scratch,
            |codec| field::decompress_field(codec, input, &params),
        );
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
