//! The `pressio-ml` binary: LibPressio `pressio`-compatible compression driver, stream decoder
//! and benchmark. See `pressio-ml --help`.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let registry = match pressio_ml::build_registry() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pressio-ml: error: cannot build the plugin registry: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = match pressio_ml_cli::run_args(&registry, std::env::args_os(), &mut out) {
        Ok(r) => r,
        Err(e) => {
            drop(out);
            // clap prints usage errors to stderr (status 2) and --help/--version to stdout (0).
            e.exit()
        }
    };
    let flushed = out.flush();
    let broken_pipe = |e: &std::io::Error| e.kind() == std::io::ErrorKind::BrokenPipe;
    match (result, flushed) {
        (Ok(()), Ok(())) => ExitCode::SUCCESS,
        // a reader that stops early (`| head`) is not an error
        (Err(pressio_ml_cli::CliError::Output(e)), _) if broken_pipe(&e) => ExitCode::SUCCESS,
        (Err(e), _) => {
            eprintln!("pressio-ml: error: {e}");
            ExitCode::FAILURE
        }
        (Ok(()), Err(e)) if broken_pipe(&e) => ExitCode::SUCCESS,
        (Ok(()), Err(e)) => {
            eprintln!("pressio-ml: error: cannot write the output: {e}");
            ExitCode::FAILURE
        }
    }
}
