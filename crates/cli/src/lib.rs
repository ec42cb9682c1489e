//! The `pressio-ml` command line, as a library so that it can be driven with any [`Registry`]
//! (the binary uses [`pressio_ml::registry`]).
//!
//! * Without a subcommand it follows LibPressio's `pressio` tool: `-i FILE -t TYPE -d N...`,
//!   `-b compressor=ID` (or a positional id), `-o key=value`, `-m METRIC`, and `-O`/`-C`/`-M`
//!   print options, configuration and metric results as `key<type> = value` lines. `-w FILE`
//!   writes the compressed stream and `-W FILE` the decompressed data, as in `pressio` (earlier
//!   releases had them swapped; see [`pressio::check_write_flags`] for the transition checks).
//! * `list`, `doc ID`, `decompress STREAM -o FILE` and `bench` are subcommands; so are
//!   `train`, and DeepCQ's `predict`, `opt` and `deepcq-bench` ([`deepcq`]).

#![warn(missing_docs)]

pub mod args;
pub mod bench;
pub mod buffers;
pub mod catalog;
pub mod deepcq;
pub mod error;
pub mod input;
pub mod opts;
pub mod pressio;
pub mod stream;

pub use args::{Cli, Command};
pub use error::{CliError, CliResult};

use pressio_ml::Registry;
use std::ffi::OsString;
use std::io::Write;

/// Run a parsed command line against `registry`, writing results to `out`.
pub fn run(registry: &Registry, cli: &Cli, out: &mut dyn Write) -> CliResult<()> {
    match &cli.command {
        None => pressio::run_pressio(registry, &cli.run, out),
        Some(Command::List) => catalog::run_list(registry, out),
        Some(Command::Doc(d)) => catalog::run_doc(registry, &d.id, out),
        Some(Command::Decompress(d)) => stream::run_decompress(registry, d, out),
        Some(Command::Bench(b)) => bench::run_bench(registry, b, out),
        Some(Command::Train(args::TrainCommand::Aesz(t))) => {
            pressio_ml_aesz::train_cli::run((**t).clone()).map_err(CliError::Train)
        }
        Some(Command::Train(args::TrainCommand::Cfnn(t))) => {
            pressio_ml_cfnn::train_cli::run((**t).clone()).map_err(CliError::Train)
        }
        Some(Command::Train(args::TrainCommand::Srnsz(t))) => {
            pressio_ml_srnsz::train_cli::run((**t).clone()).map_err(CliError::Train)
        }
        Some(Command::Train(args::TrainCommand::Deepcq(t))) => {
            pressio_ml_metric_deepcq::train_cli::run((**t).clone(), registry)
                .map_err(CliError::Train)
        }
        Some(Command::Predict(p)) => deepcq::run_predict(p, out),
        Some(Command::Opt(o)) => deepcq::run_opt(registry, o, out),
        Some(Command::DeepcqBench(b)) => deepcq::run_bench(registry, b, out),
    }
}

/// Parse `args` (including the program name) and run them; clap's own errors (and `--help`)
/// come back as `Err(clap::Error)` so the caller can print them its way.
pub fn run_args<I, T>(
    registry: &Registry,
    args: I,
    out: &mut dyn Write,
) -> Result<CliResult<()>, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    cli.run.positions = buffers::BufferPositions::from_matches(&matches);
    Ok(run(registry, &cli, out))
}
