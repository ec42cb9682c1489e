//! Several buffers on one command line, as LibPressio's `pressio` takes them: `-p` starts the
//! next buffer, and the `-i`, `-t`, `-d`, `-w` and `-W` after it describe that buffer. A buffer
//! without `-t` or `-d` takes the first buffer's.
//!
//! Without `-p`, repeating `-i` gives one buffer per `-i` (and the k-th `-w` and `-W` go with the
//! k-th `-i`); `-t` and `-d` then describe every buffer (one grid, as for a target and its
//! anchors).
//!
//! ```text
//! pressio-ml -i W.f32 -i U.f32 -i V.f32 -t float -d 48 -d 48 -d 14 cfnn -o cfnn:model=M \
//!     -w W.prml -w U.prml -w V.prml
//! pressio-ml -i W.f32 -t float -d 48 -d 48 -d 14 -w W.prml -p -i U.f32 -w U.prml ...
//! ```

use crate::args::RunArgs;
use crate::error::{CliError, CliResult};
use clap::ArgMatches;
use pressio_ml::DType;
use std::path::PathBuf;

/// Which buffer each occurrence of a per-buffer flag belongs to (from the flags' positions on
/// the command line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BufferPositions {
    /// Buffer of each `-i`, in order.
    pub input: Vec<usize>,
    /// Buffer of each `-d`.
    pub dims: Vec<usize>,
    /// Buffer of each `-t`.
    pub dtype: Vec<usize>,
    /// Buffer of each `-w`.
    pub write_compressed: Vec<usize>,
    /// Buffer of each `-W`.
    pub write_decompressed: Vec<usize>,
}

impl BufferPositions {
    /// Read the positions from clap's matches: a flag belongs to the buffer numbered by the
    /// `-p` flags before it.
    pub fn from_matches(m: &ArgMatches) -> BufferPositions {
        let seps: Vec<usize> = m
            .indices_of("next_buffer")
            .map(|i| i.collect())
            .unwrap_or_default();
        let of = |id: &str| -> Vec<usize> {
            m.indices_of(id)
                .map(|i| {
                    i.map(|at| seps.iter().filter(|&&s| s < at).count())
                        .collect()
                })
                .unwrap_or_default()
        };
        BufferPositions {
            input: of("input"),
            dims: of("dims"),
            dtype: of("dtype"),
            write_compressed: of("write_compressed"),
            write_decompressed: of("write_decompressed"),
        }
    }
}

/// One buffer: its input file, type, dims and output files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buffer {
    /// `-i`.
    pub input: Option<PathBuf>,
    /// `-t`.
    pub dtype: Option<DType>,
    /// `-d`, fastest first.
    pub dims: Vec<usize>,
    /// `-w`: where the compressed stream goes.
    pub write_compressed: Option<PathBuf>,
    /// `-W`: where the decompressed data goes.
    pub write_decompressed: Option<PathBuf>,
}

/// At most one value of `flag` per buffer.
fn one<T: Clone>(flag: &str, b: usize, values: &[T], at: &[usize]) -> CliResult<Option<T>> {
    let mut hits = values
        .iter()
        .zip(at)
        .filter(|(_, &k)| k == b)
        .map(|(v, _)| v);
    let first = hits.next().cloned();
    if hits.next().is_some() {
        return Err(CliError::usage(format!(
            "{flag} is given twice for buffer {}; start the next buffer with -p",
            b + 1
        )));
    }
    Ok(first)
}

/// The buffers `a` describes (at least one, possibly without input).
pub fn buffers(a: &RunArgs) -> CliResult<Vec<Buffer>> {
    if !a.next_buffer.is_empty() {
        return separated(a);
    }
    if a.dtype.len() > 1 {
        return Err(CliError::usage(
            "-t is given twice; with several buffers use -p before each buffer's -i, -t, -d",
        ));
    }
    let n = a.input.len().max(1);
    for (flag, count) in [
        ("-w", a.write_compressed.len()),
        ("-W", a.write_decompressed.len()),
    ] {
        if count > n {
            return Err(CliError::usage(format!(
                "{count} {flag} for {} input(s): give one {flag} per -i",
                a.input.len()
            )));
        }
    }
    Ok((0..n)
        .map(|k| Buffer {
            input: a.input.get(k).cloned(),
            dtype: a.dtype.first().copied(),
            dims: a.dims.clone(),
            write_compressed: a.write_compressed.get(k).cloned(),
            write_decompressed: a.write_decompressed.get(k).cloned(),
        })
        .collect())
}

/// Buffers separated by `-p`.
fn separated(a: &RunArgs) -> CliResult<Vec<Buffer>> {
    let p = &a.positions;
    let lengths_match = p.input.len() == a.input.len()
        && p.dims.len() == a.dims.len()
        && p.dtype.len() == a.dtype.len()
        && p.write_compressed.len() == a.write_compressed.len()
        && p.write_decompressed.len() == a.write_decompressed.len();
    if !lengths_match {
        return Err(CliError::usage(
            "-p needs the command line's flag positions (parse it with run_args)",
        ));
    }
    let n = a.next_buffer.len() + 1;
    let mut out = Vec::with_capacity(n);
    for b in 0..n {
        out.push(Buffer {
            input: one("-i", b, &a.input, &p.input)?,
            dtype: one("-t", b, &a.dtype, &p.dtype)?,
            dims: a
                .dims
                .iter()
                .zip(&p.dims)
                .filter(|(_, &k)| k == b)
                .map(|(d, _)| *d)
                .collect(),
            write_compressed: one("-w", b, &a.write_compressed, &p.write_compressed)?,
            write_decompressed: one("-W", b, &a.write_decompressed, &p.write_decompressed)?,
        });
    }
    let (dtype, dims) = (out[0].dtype, out[0].dims.clone());
    for b in out.iter_mut().skip(1) {
        if b.dtype.is_none() {
            b.dtype = dtype;
        }
        if b.dims.is_empty() {
            b.dims = dims.clone();
        }
    }
    if out.iter().any(|b| b.input.is_none()) && out.iter().any(|b| b.input.is_some()) {
        return Err(CliError::usage(
            "every buffer started with -p needs its own -i",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Cli;
    use clap::{CommandFactory, FromArgMatches};

    fn parse(line: &str) -> CliResult<Vec<Buffer>> {
        let m = Cli::command()
            .try_get_matches_from(line.split_whitespace())
            .unwrap();
        let mut cli = Cli::from_arg_matches(&m).unwrap();
        cli.run.positions = BufferPositions::from_matches(&m);
        buffers(&cli.run)
    }

    #[test]
    fn repeated_inputs_share_type_and_dims() {
        let b = parse("pressio-ml -i a -i b -t float -d 4 -d 3 -w a.s -w b.s -W a.o cfnn").unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b[1].input, Some("b".into()));
        assert_eq!(b[1].dims, vec![4, 3]);
        assert_eq!(b[1].dtype, Some(DType::Float));
        assert_eq!(b[1].write_compressed, Some("b.s".into()));
        assert_eq!(b[0].write_decompressed, Some("a.o".into()));
        assert_eq!(b[1].write_decompressed, None);
        assert!(parse("pressio-ml -i a -w x -w y cfnn").is_err());
        assert!(parse("pressio-ml -i a -i b -t float -t double cfnn").is_err());
    }

    #[test]
    fn p_starts_the_next_buffer() {
        let b = parse(
            "pressio-ml -i a -t float -d 4 -d 3 -w a.s -p -i b -t double -d 12 -W b.o -p -i c cfnn",
        )
        .unwrap();
        assert_eq!(b.len(), 3);
        assert_eq!(b[0].dims, vec![4, 3]);
        assert_eq!(b[1].dims, vec![12]);
        assert_eq!(b[1].dtype, Some(DType::Double));
        assert_eq!(b[1].write_decompressed, Some("b.o".into()));
        assert_eq!(b[1].write_compressed, None);
        // the third inherits the first's type and dims
        assert_eq!(b[2].dims, vec![4, 3]);
        assert_eq!(b[2].dtype, Some(DType::Float));
        assert!(parse("pressio-ml -i a -i b -p -i c cfnn").is_err());
        assert!(parse("pressio-ml -i a -p -t float cfnn").is_err());
    }
}
