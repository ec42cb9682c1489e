//! Compressed streams on disk: reading their header and the `decompress` subcommand.

use crate::args::DecompressArgs;
use crate::error::{CliError, CliResult, Context};
use crate::input::{read_file, write_file};
use pressio_ml::{DType, Data, Registry};
use pressio_ml_codec::container::{peek_header, StreamHeader};
use std::io::Write;
use std::path::Path;

/// Read a compressed stream file and verify its header (magic, version, checksum).
pub fn read_stream(path: &Path) -> CliResult<(Data, StreamHeader)> {
    let bytes = read_file(path)?;
    if bytes.is_empty() {
        return Err(CliError::input(format!(
            "{}: the stream file is empty",
            path.display()
        )));
    }
    let header = peek_header(&bytes)
        .context(|| format!("{}: not a readable pressio-ml stream", path.display()))?;
    Ok((Data::from_byte_vec(bytes), header))
}

/// Decompress `stream` with the compressor `id` into a buffer of `dtype` and `dims`.
pub fn decompress_with(
    registry: &Registry,
    id: &str,
    stream: &Data,
    dtype: DType,
    dims: &[usize],
) -> CliResult<Data> {
    let mut c = registry.compressor(id).map_err(|e| {
        CliError::step(
            format!(
                "the stream was written by `{id}`, which this build does not provide \
                 (available: {})",
                registry.compressor_ids().join(", ")
            ),
            e,
        )
    })?;
    let mut outs = [Data::empty(dtype, dims)];
    c.decompress_many(&[stream], &mut outs)
        .context(|| format!("{id}: decompression failed"))?;
    let [out] = outs;
    Ok(out)
}

/// `pressio-ml decompress STREAM -o FILE`.
pub fn run_decompress(
    registry: &Registry,
    args: &DecompressArgs,
    out: &mut dyn Write,
) -> CliResult<()> {
    let (stream, header) = read_stream(&args.stream)?;
    let data = decompress_with(
        registry,
        &header.plugin_id,
        &stream,
        header.dtype,
        &header.dims,
    )?;
    write_file(&args.output, data.bytes())?;
    let dims: Vec<String> = data.dims().iter().map(|d| d.to_string()).collect();
    writeln!(
        out,
        "{}: {} {} values ({} bytes, dims {} fastest first) decompressed by {} into {}",
        args.stream.display(),
        data.num_elements(),
        data.dtype(),
        data.num_bytes(),
        dims.join("x"),
        header.plugin_id,
        args.output.display()
    )?;
    Ok(())
}
