//! `cfnn-train`: train a CFNN model (the same as `pressio-ml train cfnn`); see
//! [`pressio_ml_cfnn::train_cli`] for the arguments.

use clap::Parser;
use pressio_ml_cfnn::train_cli::{run, TrainArgs};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "cfnn-train", about = "Train a CFNN cross-field model")]
struct Cli {
    #[command(flatten)]
    args: TrainArgs,
}

fn main() -> ExitCode {
    match run(Cli::parse().args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cfnn-train: {e}");
            ExitCode::FAILURE
        }
    }
}
