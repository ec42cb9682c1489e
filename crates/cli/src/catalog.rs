//! `list` and `doc`: what the registry holds and how each plugin is configured.

use crate::error::{CliError, CliResult, Context};
use pressio_ml::{keys, Compressor, Metrics, Options, Registry};
use std::io::Write;

fn description(docs: &Options) -> &str {
    docs.get_str(keys::DESCRIPTION)
        .unwrap_or("(no description)")
}

/// `pressio-ml list`: every compressor and metric id with its `pressio:description`.
pub fn run_list(registry: &Registry, out: &mut dyn Write) -> CliResult<()> {
    let comps = registry.compressor_ids();
    let metrics = registry.metric_ids();
    let width = comps
        .iter()
        .chain(metrics.iter())
        .map(|s| s.len())
        .max()
        .unwrap_or(0);
    writeln!(out, "compressors:")?;
    if comps.is_empty() {
        writeln!(out, "  (none registered)")?;
    }
    for id in &comps {
        let c = registry
            .compressor(id)
            .context(|| format!("cannot build compressor {id}"))?;
        writeln!(
            out,
            "  {id:width$}  {}",
            description(&c.get_documentation())
        )?;
    }
    writeln!(out, "metrics:")?;
    if metrics.is_empty() {
        writeln!(out, "  (none registered)")?;
    }
    for id in &metrics {
        let m = registry
            .metrics_by_id(id)
            .context(|| format!("cannot build metric {id}"))?;
        writeln!(
            out,
            "  {id:width$}  {}",
            description(&m.get_documentation())
        )?;
    }
    Ok(())
}

/// Print `key<type> = value` lines, each followed by its documentation (indented) when there
/// is one.
pub fn write_documented(out: &mut dyn Write, values: &Options, docs: &Options) -> CliResult<()> {
    if values.is_empty() {
        writeln!(out, "  (none)")?;
    }
    for (key, slot) in values.iter() {
        let mut one = Options::new();
        one.insert_option(key.clone(), slot.clone());
        write!(out, "{one}")?;
        if let Some(d) = docs.get_str(key) {
            writeln!(out, "    {d}")?;
        }
    }
    Ok(())
}

/// Print the documentation of a compressor handle (also used by `-a help`).
pub fn write_compressor_doc(c: &Compressor, out: &mut dyn Write) -> CliResult<()> {
    let docs = c.get_documentation();
    writeln!(
        out,
        "{} (compressor, version {}): {}",
        c.id(),
        c.version(),
        description(&docs)
    )?;
    writeln!(out, "\noptions:")?;
    write_documented(out, &c.get_options(), &docs)?;
    writeln!(out, "\nconfiguration:")?;
    write_documented(out, &c.get_configuration(), &docs)?;
    Ok(())
}

fn write_metric_doc(id: &str, m: &mut Metrics, out: &mut dyn Write) -> CliResult<()> {
    let docs = m.get_documentation();
    writeln!(out, "{id} (metric): {}", description(&docs))?;
    writeln!(out, "\noptions:")?;
    write_documented(out, &m.get_options(), &docs)?;
    writeln!(out, "\nconfiguration:")?;
    write_documented(out, &m.get_configuration(), &docs)?;
    writeln!(out, "\nresults:")?;
    write_documented(out, &m.get_results(), &docs)?;
    Ok(())
}

/// `pressio-ml doc ID`: options with types, current values and documentation, plus the
/// configuration, of a compressor or metric.
pub fn run_doc(registry: &Registry, id: &str, out: &mut dyn Write) -> CliResult<()> {
    let mut found = false;
    if registry.has_compressor(id) {
        let c = registry.compressor(id)?;
        write_compressor_doc(&c, out)?;
        found = true;
    }
    if registry.metric_ids().iter().any(|m| m == id) {
        if found {
            writeln!(out)?;
        }
        let mut m = registry.metrics_by_id(id)?;
        write_metric_doc(id, &mut m, out)?;
        found = true;
    }
    if !found {
        return Err(CliError::usage(format!(
            "no compressor or metric has id `{id}` (compressors: {}; metrics: {})",
            list_or_none(&registry.compressor_ids()),
            list_or_none(&registry.metric_ids())
        )));
    }
    Ok(())
}

/// Ids joined with commas, or `none`.
pub fn list_or_none(ids: &[String]) -> String {
    if ids.is_empty() {
        "none".to_string()
    } else {
        ids.join(", ")
    }
}
