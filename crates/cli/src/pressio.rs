//! The `pressio`-compatible path: read a raw file, configure a compressor from `-b`/`-o`/`-n`,
//! attach `-m` metrics, compress and decompress, and print `-C`/`-O`/`-N`/`-M`.

use crate::args::{Action, RunArgs};
use crate::buffers::{buffers, Buffer};
use crate::catalog::{list_or_none, write_compressor_doc};
use crate::error::{CliError, CliResult, Context};
use crate::input::{dtype_from_extension, read_raw, write_file};
use crate::opts::{cast_through_template, group_key_values, KeyFilter};
use crate::stream::read_stream;
use pressio_ml::{keys, Compressor, DType, Data, Metrics, Options, Registry};
use std::io::Write;
use std::path::PathBuf;

/// The key `-b compressor=ID` sets (the `pressio` meta-compressor's child id).
pub const COMPRESSOR_KEY: &str = "pressio:compressor";

/// Pick the compressor id from the positional argument and `-b compressor=ID`.
fn choose_compressor(
    positional: Option<&str>,
    early: &mut Vec<(String, Vec<String>)>,
) -> CliResult<Option<String>> {
    let mut from_b = None;
    if let Some(pos) = early.iter().position(|(k, _)| k == COMPRESSOR_KEY) {
        let (_, values) = early.remove(pos);
        if values.len() > 1 {
            return Err(CliError::usage(format!(
                "-b compressor was given {} times ({}); give it once",
                values.len(),
                values.join(", ")
            )));
        }
        from_b = values.into_iter().next();
    }
    // "pressio" names LibPressio's default meta-compressor, whose role -b compressor=ID plays.
    let positional = positional.filter(|p| *p != "pressio").map(str::to_string);
    match (positional, from_b) {
        (Some(p), Some(b)) if p != b => Err(CliError::usage(format!(
            "two compressors requested: `{p}` (positional) and `{b}` (-b compressor); give one"
        ))),
        (Some(p), _) => Ok(Some(p)),
        (None, b) => Ok(b),
    }
}

/// Build the compressor handle, with a helpful message for unknown ids.
pub fn new_compressor(registry: &Registry, id: &str) -> CliResult<Compressor> {
    if !registry.has_compressor(id) {
        return Err(CliError::usage(format!(
            "unknown compressor id `{id}` (available: {})",
            list_or_none(&registry.compressor_ids())
        )));
    }
    Ok(registry.compressor(id)?)
}

/// Build the metrics for `-m` ids: a composite of them (as `pressio_new_metrics`), or the single
/// metric itself when no composite is registered.
pub fn new_metrics(registry: &Registry, ids: &[String]) -> CliResult<Metrics> {
    let available = registry.metric_ids();
    for id in ids {
        if !available.iter().any(|a| a == id) {
            return Err(CliError::usage(format!(
                "unknown metric id `{id}` (available: {})",
                list_or_none(&available)
            )));
        }
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    if available.iter().any(|a| a == "composite") {
        registry
            .metrics(&refs)
            .context(|| format!("cannot build the metrics {}", ids.join(", ")))
    } else if let [one] = refs.as_slice() {
        Ok(registry.metrics_by_id(one)?)
    } else {
        Err(CliError::usage(
            "several -m metrics need the `composite` metric, which is not registered",
        ))
    }
}

/// Range (max - min) of the finite values of `data`, if any.
fn finite_range(data: &Data) -> Option<f64> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in data.to_f64_vec() {
        if v.is_finite() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    (lo <= hi).then_some(hi - lo)
}

/// Emulate the `pressio` meta-compressor for children that declare `pressio:abs` but not
/// `pressio:rel`: a relative bound becomes `abs = rel * value range` of the input.
fn rel_to_abs(
    template: &Options,
    groups: &mut [(String, Vec<String>)],
    input: Option<&Data>,
) -> CliResult<()> {
    if template.contains(keys::REL) || !template.contains(keys::ABS) {
        return Ok(());
    }
    for (key, values) in groups.iter_mut() {
        if key != keys::REL {
            continue;
        }
        let [text] = values.as_slice() else {
            return Err(CliError::usage("pressio:rel was given several values"));
        };
        let rel: f64 = text.trim().parse().map_err(|_| {
            CliError::usage(format!(
                "pressio:rel: `{text}` is not a number (expected a double)"
            ))
        })?;
        let data = input.ok_or_else(|| {
            CliError::usage("this compressor takes pressio:rel only with an input (-i)")
        })?;
        let range = finite_range(data).unwrap_or(0.0);
        *key = keys::ABS.to_string();
        *values = vec![format!("{:?}", rel * range)];
    }
    Ok(())
}

/// Apply `key=value` groups to `c`, each cast through its `get_options()` template.
fn apply_options(
    c: &mut Compressor,
    mut groups: Vec<(String, Vec<String>)>,
    input: Option<&Data>,
) -> CliResult<()> {
    if groups.is_empty() {
        return Ok(());
    }
    let template = c.get_options();
    rel_to_abs(&template, &mut groups, input)?;
    let options = cast_through_template(&template, &groups)?;
    let id = c.id().to_string();
    c.set_options(&options)
        .context(|| format!("{id}: the options were refused"))
}

fn print_filtered(out: &mut dyn Write, patterns: &[String], options: &Options) -> CliResult<()> {
    if let Some(f) = KeyFilter::new(patterns)? {
        write!(out, "{}", f.apply(options))?;
    }
    Ok(())
}

/// Where the data to work on comes from.
enum Work {
    /// Nothing to run (only printing was asked for).
    Nothing,
    /// Raw inputs to compress (and decompress), one per buffer.
    Raw(Vec<Data>),
    /// Streams to decompress (`-a decompress` alone), each with the output dtype and dims.
    Streams(Vec<(Data, DType, Vec<usize>)>),
}

/// Extensions of compressed-stream file names in pressio-ml's documentation and tests.
const STREAM_EXTENSIONS: [&str; 2] = ["prml", "pml"];

/// Check `-w` (compressed stream) and `-W` (decompressed data), whose meanings are LibPressio
/// `pressio`'s since this release and were swapped before it. Refused, each with a message that
/// names the change:
/// * `-w` when nothing is compressed, `-W` when nothing is decompressed;
/// * during the transition, the old use where the file name shows it: `-w FILE` whose extension
///   names a raw type (`.f32`, `.f64`, `.i32`, ...: decompressed data) and `-W FILE` with a
///   stream extension (`.prml`, `.pml`).
pub fn check_write_flags(a: &Buffer, compress: bool, decompress: bool) -> CliResult<()> {
    const CHANGED: &str = "(-w and -W are swapped against earlier pressio-ml releases, as in \
                           LibPressio's pressio: -w FILE is the compressed stream, -W FILE the \
                           decompressed data)";
    if let Some(p) = &a.write_compressed {
        if !compress {
            return Err(CliError::usage(format!(
                "-w writes the compressed stream: it needs -a compress; use -W for the \
                 decompressed data {CHANGED}"
            )));
        }
        if let Some(t) = dtype_from_extension(p) {
            return Err(CliError::usage(format!(
                "-w {}: -w writes the compressed stream, but the name says raw {t} values; \
                 use -W for the decompressed data, or another extension {CHANGED}",
                p.display()
            )));
        }
    }
    if let Some(p) = &a.write_decompressed {
        if !decompress {
            return Err(CliError::usage(format!(
                "-W writes the decompressed data: it needs -a decompress; use -w for the \
                 compressed stream {CHANGED}"
            )));
        }
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        if STREAM_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()) {
            return Err(CliError::usage(format!(
                "-W {}: -W writes the decompressed data, but the name says a compressed stream; \
                 use -w for the stream, or another extension {CHANGED}",
                p.display()
            )));
        }
    }
    Ok(())
}

/// Write each buffer's decompressed data where its `-W` says.
fn write_decompressed(bufs: &[&Buffer], outs: &[Data]) -> CliResult<()> {
    for (b, d) in bufs.iter().zip(outs) {
        if let Some(p) = &b.write_decompressed {
            write_file(p, d.bytes())?;
        }
    }
    Ok(())
}

/// Run the `pressio`-style path.
pub fn run_pressio(registry: &Registry, a: &RunArgs, out: &mut dyn Write) -> CliResult<()> {
    let mut early = group_key_values(&a.early, 'b')?;
    let late = group_key_values(&a.options, 'o')?;
    let metric_opts = group_key_values(&a.metric_options, 'n')?;
    let mut chosen = choose_compressor(a.compressor.as_deref(), &mut early)?;

    let explicit_actions = !a.actions.is_empty();
    let actions: Vec<Action> = if explicit_actions {
        a.actions.clone()
    } else {
        vec![Action::Compress, Action::Decompress]
    };
    let compress = actions.contains(&Action::Compress);
    let decompress = actions.contains(&Action::Decompress);
    let bufs = buffers(a)?;
    for b in &bufs {
        check_write_flags(b, compress, decompress)?;
    }
    let prints_something = !(a.print_options.is_empty()
        && a.print_configuration.is_empty()
        && a.print_metric_options.is_empty()
        && a.print_metrics.is_empty());
    let informational = actions
        .iter()
        .any(|x| matches!(x, Action::Help | Action::Versions));

    let inputs: Vec<(&PathBuf, &Buffer)> = bufs
        .iter()
        .filter_map(|b| b.input.as_ref().map(|p| (p, b)))
        .collect();
    let work = if inputs.is_empty() {
        let runs = compress || decompress;
        if runs && (explicit_actions || !(prints_something || informational)) {
            return Err(CliError::usage(
                "no input: give -i FILE (with -t TYPE and -d N per dimension); see --help",
            ));
        }
        Work::Nothing
    } else if decompress && !compress {
        let mut streams = Vec::with_capacity(inputs.len());
        for (path, b) in &inputs {
            let (stream, header) = read_stream(path)?;
            if chosen.is_none() {
                chosen = Some(header.plugin_id.clone());
            }
            let dtype = b.dtype.unwrap_or(header.dtype);
            let dims = if b.dims.is_empty() {
                header.dims.clone()
            } else {
                b.dims.clone()
            };
            streams.push((stream, dtype, dims));
        }
        Work::Streams(streams)
    } else if compress || decompress {
        Work::Raw(
            inputs
                .iter()
                .map(|(path, b)| read_raw(path, b.dtype, &b.dims))
                .collect::<CliResult<_>>()?,
        )
    } else {
        Work::Nothing
    };

    let Some(id) = chosen else {
        return Err(CliError::usage(format!(
            "no compressor: give -b compressor=ID or a positional ID (available: {})",
            list_or_none(&registry.compressor_ids())
        )));
    };
    let mut c = new_compressor(registry, &id)?;
    // a relative bound turned absolute (for compressors without pressio:rel) is relative to
    // the first buffer, the one the bound is about (a cfnn target)
    let raw = match &work {
        Work::Raw(d) => d.first(),
        _ => None,
    };
    apply_options(&mut c, early, raw)?;
    if !a.metrics.is_empty() {
        let m = new_metrics(registry, &a.metrics)?;
        c.set_metrics(&m);
    }
    let mut rest = late;
    rest.extend(metric_opts);
    apply_options(&mut c, rest, raw)?;

    print_filtered(out, &a.print_configuration, &c.get_configuration())?;
    print_filtered(out, &a.print_options, &c.get_options())?;
    if !a.print_metric_options.is_empty() {
        let mo = c.get_metrics().map(|m| m.get_options()).unwrap_or_default();
        print_filtered(out, &a.print_metric_options, &mo)?;
    }
    for action in &actions {
        match action {
            Action::Help => write_compressor_doc(&c, out)?,
            Action::Versions => {
                writeln!(out, "pressio-ml {}", pressio_ml::VERSION)?;
                writeln!(out, "{} {}", c.id(), c.version())?;
            }
            Action::Compress | Action::Decompress => {}
        }
    }

    let with_input: Vec<&Buffer> = bufs.iter().filter(|b| b.input.is_some()).collect();
    match work {
        Work::Nothing => {}
        Work::Raw(inputs) => {
            let refs: Vec<&Data> = inputs.iter().collect();
            let mut compressed: Vec<Data> = inputs
                .iter()
                .map(|_| Data::empty(DType::Byte, &[]))
                .collect();
            if compress {
                c.compress_many(&refs, &mut compressed)
                    .context(|| format!("{id}: compression failed"))?;
                for (b, s) in with_input.iter().zip(&compressed) {
                    if let Some(p) = &b.write_compressed {
                        write_file(p, s.bytes())?;
                    }
                }
            }
            // Work::Raw is only built when compressing, so the streams exist here.
            if decompress {
                let mut outs: Vec<Data> = inputs
                    .iter()
                    .map(|d| Data::empty(d.dtype(), d.dims()))
                    .collect();
                let srefs: Vec<&Data> = compressed.iter().collect();
                c.decompress_many(&srefs, &mut outs)
                    .context(|| format!("{id}: decompression failed"))?;
                write_decompressed(&with_input, &outs)?;
            }
        }
        Work::Streams(streams) => {
            let mut outs: Vec<Data> = streams
                .iter()
                .map(|(_, dtype, dims)| Data::empty(*dtype, dims))
                .collect();
            let srefs: Vec<&Data> = streams.iter().map(|s| &s.0).collect();
            c.decompress_many(&srefs, &mut outs)
                .context(|| format!("{id}: decompression failed"))?;
            write_decompressed(&with_input, &outs)?;
        }
    }
    print_filtered(out, &a.print_metrics, &c.get_metrics_results())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressor_choice() {
        let mut e = vec![(COMPRESSOR_KEY.to_string(), vec!["sz3".to_string()])];
        assert_eq!(
            choose_compressor(None, &mut e).unwrap().as_deref(),
            Some("sz3")
        );
        assert!(e.is_empty());
        let mut e = vec![(COMPRESSOR_KEY.to_string(), vec!["sz3".to_string()])];
        assert_eq!(
            choose_compressor(Some("pressio"), &mut e)
                .unwrap()
                .as_deref(),
            Some("sz3")
        );
        let mut e = vec![(COMPRESSOR_KEY.to_string(), vec!["sz3".to_string()])];
        assert!(choose_compressor(Some("zfp"), &mut e).is_err());
        assert_eq!(
            choose_compressor(Some("zfp"), &mut vec![])
                .unwrap()
                .as_deref(),
            Some("zfp")
        );
        assert_eq!(choose_compressor(None, &mut vec![]).unwrap(), None);
    }

    #[test]
    fn rel_becomes_abs_only_without_rel() {
        let d = Data::from_vec(vec![1.0f32, f32::NAN, 5.0], &[3]).unwrap();
        let mut t = Options::new();
        t.set_type(keys::ABS, pressio_ml::OptionType::F64);
        let mut g = vec![(keys::REL.to_string(), vec!["0.5".to_string()])];
        rel_to_abs(&t, &mut g, Some(&d)).unwrap();
        assert_eq!(g[0], (keys::ABS.to_string(), vec!["2.0".to_string()]));
        t.set_type(keys::REL, pressio_ml::OptionType::F64);
        let mut g = vec![(keys::REL.to_string(), vec!["0.5".to_string()])];
        rel_to_abs(&t, &mut g, Some(&d)).unwrap();
        assert_eq!(g[0].0, keys::REL);
    }
}
