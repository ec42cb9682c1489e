//! `aesz-train`: train an AE-SZ model (the same as `pressio-ml train aesz`); see
//! [`pressio_ml_aesz::train_cli`] for the arguments.

use clap::Parser;
use pressio_ml_aesz::train_cli::{run, TrainArgs};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "aesz-train", about = "Train an AE-SZ autoencoder model")]
struct Cli {
    #[command(flatten)]
    args: TrainArgs,
}

fn main() -> ExitCode {
    match run(Cli::parse().args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aesz-train: {e}");
            ExitCode::FAILURE
        }
    }
}
