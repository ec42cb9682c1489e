//! Command-line syntax: LibPressio `pressio`-style short flags for the compress/decompress path,
//! plus subcommands.

use clap::{ArgAction, Args, Parser, Subcommand};
use pressio_ml::DType;
use std::path::PathBuf;

/// The whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "pressio-ml",
    version,
    about = "Error-bounded lossy compression of scientific data, LibPressio `pressio` style",
    long_about = "Error-bounded lossy compression of scientific data.\n\n\
        Without a subcommand, pressio-ml behaves like LibPressio's `pressio` tool: it reads a raw \
        file (-i, -t, -d), compresses and decompresses it with the chosen compressor (-b \
        compressor=ID or a positional ID), and prints options (-O), configuration (-C) and metric \
        results (-M) as `key<type> = value` lines.",
    after_help = "Example:\n  pressio-ml -i f.f32 -t float -d 128 -d 64 -d 17 -b compressor=sz3 \
        -o rel=1e-3 -m size -m error_stat -M all -w f.prml -W f.out.f32\n\n\
        -w FILE writes the compressed stream and -W FILE the decompressed data, as in \
        LibPressio's pressio. This changed: earlier pressio-ml releases had them the other way \
        round. During the transition, -w with a raw-type extension (.f32, .f64, .i32, ...) and \
        -W with a stream extension (.prml, .pml) are refused.",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// A subcommand; without one, the `pressio`-style compress/decompress path runs.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The `pressio`-style flags.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the registered compressors and metrics with their descriptions.
    List,
    /// Show a compressor's or metric's options (types, values, documentation) and configuration.
    Doc(DocArgs),
    /// Decompress a stream written by `-w`; dtype, dims and compressor come from its header.
    Decompress(DecompressArgs),
    /// Benchmark compressors on the shared fields: ratio, PSNR, max error, throughput.
    Bench(crate::bench::BenchArgs),
    /// Train a learned compressor's (or DeepCQ's) model.
    #[command(subcommand)]
    Train(TrainCommand),
    /// Print DeepCQ's predicted table for a field: compression ratio, PSNR and SSIM of every
    /// compressor with heads at every bound, without compressing.
    Predict(crate::deepcq::PredictArgs),
    /// Pick a compressor's bound for a target ratio, PSNR or minimum SSIM from DeepCQ's
    /// predictions (verified and refined with real compressions), next to a plain bisection.
    Opt(Box<crate::deepcq::OptArgs>),
    /// DeepCQ on held-out tiles: MAPE per field, compressor and metric (the paper's Table V),
    /// a predicted-against-actual PNG, and the cost of predicting against computing.
    DeepcqBench(Box<crate::deepcq::BenchArgs>),
}

/// What `train` trains.
#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// Train an AE-SZ autoencoder (same `-i`/`-d`/`-t` flags as compression) and write the
    /// model with its manifest.
    Aesz(Box<pressio_ml_aesz::train_cli::TrainArgs>),
    /// Train a CFNN cross-field model for one target and its anchors (`--target F --anchor A
    /// --anchor B -t float -d ...`) and write `<out>/<name>.safetensors` and `.json`.
    Cfnn(Box<pressio_ml_cfnn::train_cli::TrainArgs>),
    /// Train an SRN-SZ super-resolution family (one model per noise level, `<name>-n2`, `-n3`,
    /// `-n0`) on 2-D slices of the shared fields, or fine-tune one (`--finetune F --field ...`).
    Srnsz(Box<pressio_ml_srnsz::train_cli::TrainArgs>),
    /// Train the DeepCQ quality predictor: label tiles of the shared fields with the real
    /// compressors (cached), train backbone then heads, and write the model.
    Deepcq(Box<pressio_ml_metric_deepcq::train_cli::TrainArgs>),
}

/// Arguments of `doc`.
#[derive(Debug, Args)]
pub struct DocArgs {
    /// Compressor or metric id.
    #[arg(value_name = "ID")]
    pub id: String,
}

/// Arguments of `decompress`.
#[derive(Debug, Args)]
pub struct DecompressArgs {
    /// The compressed stream.
    #[arg(value_name = "STREAM")]
    pub stream: PathBuf,
    /// Where to write the decompressed values (raw little-endian, in the original layout).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

/// What to do in the `pressio`-style path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Compress the input.
    Compress,
    /// Decompress (the compressed input, or with `-a decompress` alone the input stream).
    Decompress,
    /// Print the compressor's documentation, as `doc` does.
    Help,
    /// Print the versions of pressio-ml and of the compressor.
    Versions,
}

impl Action {
    /// Parse an action name; unambiguous prefixes are accepted (`pressio` matches fuzzily).
    pub fn parse(s: &str) -> Result<Action, String> {
        const NAMES: [(&str, Action); 4] = [
            ("compress", Action::Compress),
            ("decompress", Action::Decompress),
            ("help", Action::Help),
            ("versions", Action::Versions),
        ];
        let lower = s.to_ascii_lowercase();
        if let Some((_, a)) = NAMES.iter().find(|(n, _)| *n == lower) {
            return Ok(*a);
        }
        let hits: Vec<Action> = NAMES
            .iter()
            .filter(|(n, _)| !lower.is_empty() && n.starts_with(&lower))
            .map(|(_, a)| *a)
            .collect();
        match hits.as_slice() {
            [a] => Ok(*a),
            _ => Err(format!(
                "unknown action `{s}` (expected compress, decompress, help or versions)"
            )),
        }
    }
}

fn parse_dtype(s: &str) -> Result<DType, String> {
    DType::parse(s).map_err(|_| {
        format!(
            "unknown type `{s}` (expected float, double, int8, int16, int32, int64, uint8, \
             uint16, uint32, uint64)"
        )
    })
}

fn parse_dim(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("a dimension must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a dimension (a positive integer)")),
    }
}

/// The `pressio`-compatible flags.
#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// Compressor id (default: the one given by `-b compressor=ID`).
    #[arg(value_name = "COMPRESSOR")]
    pub compressor: Option<String>,
    /// Input file (raw little-endian values; with `-a decompress` alone, a compressed stream).
    /// Repeat for several buffers (`compress_many`, e.g. a cfnn target then its anchors): the
    /// k-th `-w`/`-W` go with the k-th `-i`, and `-t`/`-d` describe every buffer; or start each
    /// further buffer with `-p`, as in LibPressio's pressio.
    #[arg(short = 'i', value_name = "FILE", action = ArgAction::Append)]
    pub input: Vec<PathBuf>,
    /// Start the next buffer: the `-i`, `-t`, `-d`, `-w` and `-W` after it describe it (a buffer
    /// without `-t` or `-d` takes the first buffer's).
    #[arg(short = 'p', action = ArgAction::Append, num_args = 0, default_missing_value = "true",
          value_parser = clap::value_parser!(bool))]
    pub next_buffer: Vec<bool>,
    /// One dimension, fastest-varying first; repeat for each dimension (default: from a
    /// `_AxBxC` file name suffix, else 1-D).
    #[arg(short = 'd', value_name = "N", action = ArgAction::Append, value_parser = parse_dim)]
    pub dims: Vec<usize>,
    /// Element type: float, double, int8..int64, uint8..uint64 (default: from the extension).
    #[arg(short = 't', value_name = "TYPE", value_parser = parse_dtype, action = ArgAction::Append)]
    pub dtype: Vec<DType>,
    /// Early option KEY=VALUE, set before the others; `-b compressor=ID` selects the compressor.
    #[arg(short = 'b', value_name = "KEY=VALUE", action = ArgAction::Append)]
    pub early: Vec<String>,
    /// Compressor option KEY=VALUE (bare keys get the `pressio:` prefix; repeating a key gives a
    /// string array).
    #[arg(short = 'o', value_name = "KEY=VALUE", action = ArgAction::Append)]
    pub options: Vec<String>,
    /// Metric option KEY=VALUE (applied with the compressor options).
    #[arg(short = 'n', value_name = "KEY=VALUE", action = ArgAction::Append)]
    pub metric_options: Vec<String>,
    /// Attach a metric (repeatable; a composite of all of them is built).
    #[arg(short = 'm', value_name = "METRIC", action = ArgAction::Append)]
    pub metrics: Vec<String>,
    /// Print metric results whose key matches REGEX (or `all`) after the run.
    #[arg(short = 'M', value_name = "all|REGEX", action = ArgAction::Append)]
    pub print_metrics: Vec<String>,
    /// Print compressor options whose key matches REGEX (or `all`).
    #[arg(short = 'O', value_name = "all|REGEX", action = ArgAction::Append)]
    pub print_options: Vec<String>,
    /// Print compressor configuration entries whose key matches REGEX (or `all`).
    #[arg(short = 'C', value_name = "all|REGEX", action = ArgAction::Append)]
    pub print_configuration: Vec<String>,
    /// Print metric options whose key matches REGEX (or `all`).
    #[arg(short = 'N', value_name = "all|REGEX", action = ArgAction::Append)]
    pub print_metric_options: Vec<String>,
    /// Write the compressed stream to FILE, as `pressio -w` does. Changed: before this release
    /// `-w` wrote the decompressed data; a FILE whose extension names a raw type (`.f32`, ...)
    /// is refused during the transition.
    #[arg(short = 'w', value_name = "FILE", action = ArgAction::Append)]
    pub write_compressed: Vec<PathBuf>,
    /// Write the decompressed data to FILE (raw values), as `pressio -W` does. Changed: before
    /// this release `-W` wrote the compressed stream; a FILE named like a stream (`.prml`,
    /// `.pml`) is refused during the transition.
    #[arg(short = 'W', value_name = "FILE", action = ArgAction::Append)]
    pub write_decompressed: Vec<PathBuf>,
    /// Action: compress, decompress, help, versions (repeatable; default compress+decompress).
    #[arg(short = 'a', value_name = "ACTION", action = ArgAction::Append,
          value_parser = Action::parse)]
    pub actions: Vec<Action>,
    /// Which buffer each per-buffer flag belongs to (filled from the flags' positions by
    /// [`crate::run_args`]).
    #[arg(skip)]
    pub positions: crate::buffers::BufferPositions,
}
