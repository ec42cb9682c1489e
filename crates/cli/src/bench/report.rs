//! Benchmark reports: CSV, markdown and the text summary.

use super::Row;
use crate::error::{CliError, CliResult};
use std::fmt::Write as _;

/// What the run was configured with (printed in the report).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The data folder.
    pub data_dir: String,
    /// Timed repeats per measurement.
    pub repeats: usize,
    /// Relative bounds.
    pub bounds: Vec<f64>,
    /// Compressor labels, in run order.
    pub labels: Vec<String>,
    /// Tiling target in MB, if any.
    pub tile_to_mb: Option<f64>,
    /// Files of the data folder that were skipped, with the reason.
    pub skipped: Vec<String>,
}

/// Geometric mean of the positive, finite values (`None` if there is none).
pub fn geomean(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (mut sum, mut n) = (0.0, 0usize);
    for v in values {
        if v.is_finite() && v > 0.0 {
            sum += v.ln();
            n += 1;
        }
    }
    (n > 0).then(|| (sum / n as f64).exp())
}

/// The `(candidate, baseline)` labels of the summary comparison: `--compare A,B`, or by default
/// the classic interpolation variant (or classic) against sz3, when both ran.
pub fn comparison_labels(
    labels: &[String],
    compare: Option<&str>,
) -> CliResult<Option<(String, String)>> {
    if let Some(text) = compare {
        let Some((a, b)) = text.split_once(',') else {
            return Err(CliError::usage(format!(
                "--compare {text}: expected CANDIDATE,BASELINE"
            )));
        };
        for l in [a, b] {
            if !labels.iter().any(|x| x == l) {
                return Err(CliError::usage(format!(
                    "--compare: `{l}` is not one of the benchmarked compressors ({})",
                    labels.join(", ")
                )));
            }
        }
        return Ok(Some((a.to_string(), b.to_string())));
    }
    let candidate = labels
        .iter()
        .find(|l| *l == "classic:interp")
        .or_else(|| {
            labels
                .iter()
                .find(|l| l.starts_with("classic") && l.contains("interp"))
        })
        .or_else(|| labels.iter().find(|l| *l == "classic"))
        .or_else(|| labels.iter().find(|l| l.starts_with("classic")));
    let baseline = labels
        .iter()
        .find(|l| *l == "sz3")
        .or_else(|| labels.iter().find(|l| l.starts_with("sz3")));
    Ok(candidate.zip(baseline).map(|(a, b)| (a.clone(), b.clone())))
}

fn fmt_num(v: f64) -> String {
    if v.is_nan() {
        "-".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.to_string()
    } else if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e6) {
        format!("{v:.3e}")
    } else {
        format!("{v:.3}")
    }
}

fn fmt_bound(b: f64) -> String {
    format!("{b:e}")
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn dims_text(dims: &[usize]) -> String {
    dims.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("x")
}

/// The CSV: one line per (field, compressor, bound). Floats are written with full precision.
pub fn csv(rows: &[Row]) -> String {
    let mut s = String::from(
        "field,dims_fastest_first,dtype,bytes,compressor,rel_bound,abs_bound,compressed_bytes,\
         ratio,psnr_db,max_abs_error,max_error_over_bound,within_bound,compress_mb_per_s,\
         decompress_mb_per_s,timed_bytes,error\n",
    );
    for r in rows {
        let cells = [
            csv_field(&r.field),
            dims_text(&r.dims),
            r.dtype.to_string(),
            r.bytes.to_string(),
            csv_field(&r.label),
            format!("{:?}", r.bound),
            format!("{:?}", r.abs_bound),
            r.compressed_bytes.to_string(),
            format!("{:?}", r.ratio),
            format!("{:?}", r.psnr),
            format!("{:?}", r.max_error),
            format!("{:?}", r.max_error / r.abs_bound),
            if r.ok() {
                r.within_bound.to_string()
            } else {
                String::new()
            },
            format!("{:?}", r.compress_mbps),
            format!("{:?}", r.decompress_mbps),
            r.timed_bytes.to_string(),
            csv_field(r.error.as_deref().unwrap_or("")),
        ];
        s.push_str(&cells.join(","));
        s.push('\n');
    }
    s
}

/// Aggregates of one compressor at one bound.
#[derive(Debug, Clone)]
pub struct Aggregate {
    /// Compressor label.
    pub label: String,
    /// Relative bound.
    pub bound: f64,
    /// Successful measurements.
    pub ok: usize,
    /// Failed measurements.
    pub failed: usize,
    /// Successful measurements that broke the bound.
    pub violations: usize,
    /// Geometric mean compression ratio.
    pub ratio: Option<f64>,
    /// Mean PSNR (finite values only).
    pub psnr: Option<f64>,
    /// Geometric mean compression throughput (MB/s).
    pub compress_mbps: Option<f64>,
    /// Geometric mean decompression throughput (MB/s).
    pub decompress_mbps: Option<f64>,
}

/// Aggregate rows per (label, bound), in the settings' order.
pub fn aggregates(rows: &[Row], settings: &Settings) -> Vec<Aggregate> {
    let mut out = Vec::new();
    for bound in &settings.bounds {
        for label in &settings.labels {
            let sel: Vec<&Row> = rows
                .iter()
                .filter(|r| &r.label == label && r.bound == *bound)
                .collect();
            let ok: Vec<&Row> = sel.iter().copied().filter(|r| r.ok()).collect();
            let psnrs: Vec<f64> = ok
                .iter()
                .map(|r| r.psnr)
                .filter(|p| p.is_finite())
                .collect();
            out.push(Aggregate {
                label: label.clone(),
                bound: *bound,
                ok: ok.len(),
                failed: sel.len() - ok.len(),
                violations: ok.iter().filter(|r| !r.within_bound).count(),
                ratio: geomean(ok.iter().map(|r| r.ratio)),
                psnr: (!psnrs.is_empty()).then(|| psnrs.iter().sum::<f64>() / psnrs.len() as f64),
                compress_mbps: geomean(ok.iter().map(|r| r.compress_mbps)),
                decompress_mbps: geomean(ok.iter().map(|r| r.decompress_mbps)),
            });
        }
    }
    out
}

fn opt(v: Option<f64>) -> String {
    v.map(fmt_num).unwrap_or_else(|| "-".to_string())
}

/// The text summary (also the first section of the markdown): per-bound aggregates and the
/// candidate-vs-baseline comparison.
pub fn summary(rows: &[Row], settings: &Settings, compare: Option<&(String, String)>) -> String {
    let mut s = String::new();
    let fields: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.field.as_str()).collect();
    let _ = writeln!(
        s,
        "{} fields x {} compressors x {} bounds, median of {} repeats{}",
        fields.len(),
        settings.labels.len(),
        settings.bounds.len(),
        settings.repeats,
        if cfg!(debug_assertions) {
            " (DEBUG BUILD: throughput is not representative; use --release)"
        } else {
            ""
        }
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "| compressor | rel bound | ok | failed | bound violations | geomean ratio | mean PSNR (dB) \
         | compress MB/s | decompress MB/s |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
    for a in aggregates(rows, settings) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            a.label,
            fmt_bound(a.bound),
            a.ok,
            a.failed,
            a.violations,
            opt(a.ratio),
            opt(a.psnr),
            opt(a.compress_mbps),
            opt(a.decompress_mbps)
        );
    }
    let _ = writeln!(s);
    match compare {
        None => {
            let _ = writeln!(
                s,
                "No comparison: classic (interp) and sz3 did not both run (use --compare A,B)."
            );
        }
        Some((a, b)) => {
            let _ = writeln!(
                s,
                "{a} vs {b} (geometric means over the fields where both succeeded):"
            );
            let _ = writeln!(s);
            for bound in &settings.bounds {
                let mut ratio = Vec::new();
                let mut comp = Vec::new();
                let mut decomp = Vec::new();
                for ra in rows
                    .iter()
                    .filter(|r| &r.label == a && r.bound == *bound && r.ok())
                {
                    let Some(rb) = rows.iter().find(|r| {
                        &r.label == b && r.bound == *bound && r.field == ra.field && r.ok()
                    }) else {
                        continue;
                    };
                    ratio.push(ra.ratio / rb.ratio);
                    comp.push(ra.compress_mbps / rb.compress_mbps);
                    decomp.push(ra.decompress_mbps / rb.decompress_mbps);
                }
                let _ = writeln!(
                    s,
                    "- rel {}: ratio {a}/{b} = {}x, compress throughput = {}x, decompress \
                     throughput = {}x ({} fields)",
                    fmt_bound(*bound),
                    opt(geomean(ratio.iter().copied())),
                    opt(geomean(comp)),
                    opt(geomean(decomp)),
                    ratio.len()
                );
            }
        }
    }
    s
}

/// The markdown report: settings, notes on input sizes, the summary, every measurement and the
/// failures.
pub fn markdown(rows: &[Row], settings: &Settings, summary: &str) -> String {
    let mut s = String::from("# pressio-ml benchmark\n\n");
    let _ = writeln!(s, "- data: `{}`", settings.data_dir);
    let _ = writeln!(s, "- compressors: {}", settings.labels.join(", "));
    let _ = writeln!(
        s,
        "- bounds (`pressio:rel`, value-range relative): {}",
        settings
            .bounds
            .iter()
            .map(|b| fmt_bound(*b))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        s,
        "- timing: median of {} repeats, one thread (default `pressio:nthreads`), MB = 10^6 \
         bytes of uncompressed data, {} build",
        settings.repeats,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    let mut sizes: Vec<usize> = rows.iter().map(|r| r.bytes).collect();
    sizes.sort_unstable();
    sizes.dedup();
    if let (Some(lo), Some(hi)) = (sizes.first(), sizes.last()) {
        let median = sizes[sizes.len() / 2];
        let _ = writeln!(
            s,
            "- input sizes: {} to {} MB (median {} MB).{}",
            fmt_num(*lo as f64 / 1e6),
            fmt_num(*hi as f64 / 1e6),
            fmt_num(median as f64 / 1e6),
            match settings.tile_to_mb {
                Some(mb) => format!(
                    " Throughput was timed on copies tiled along the slowest dimension to at \
                     least {mb} MB; ratio and errors are measured on the original fields."
                ),
                None => " These fields are small: throughput on inputs under a few MB includes \
                          fixed per-call costs (allocation, headers, tables) and understates \
                          steady-state speed; use --tile-to-mb to time larger tiled copies."
                    .to_string(),
            }
        );
    }
    let _ = writeln!(
        s,
        "- within bound: every valid value (finite and not a fill point under the default \
         `pressio:fill_mode=auto`) satisfies |x - x'| <= rel x (max - min of the valid input \
         values), and NaN/Inf and fill points come back unchanged; PSNR and max error are over \
         the valid values.\n"
    );
    let _ = writeln!(s, "## Summary\n\n{summary}");
    let _ = writeln!(s, "## Measurements\n");
    let _ = writeln!(
        s,
        "| field | dims (fastest first) | MB | compressor | rel | ratio | PSNR (dB) | max error | \
         abs bound | within | compress MB/s | decompress MB/s |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows.iter().filter(|r| r.ok()) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.field,
            dims_text(&r.dims),
            fmt_num(r.bytes as f64 / 1e6),
            r.label,
            fmt_bound(r.bound),
            fmt_num(r.ratio),
            fmt_num(r.psnr),
            fmt_num(r.max_error),
            fmt_num(r.abs_bound),
            if r.within_bound { "yes" } else { "**NO**" },
            fmt_num(r.compress_mbps),
            fmt_num(r.decompress_mbps)
        );
    }
    let failed: Vec<&Row> = rows.iter().filter(|r| !r.ok()).collect();
    if !failed.is_empty() {
        let _ = writeln!(s, "\n## Failures\n");
        let _ = writeln!(s, "| field | compressor | rel | error |");
        let _ = writeln!(s, "|---|---|---|---|");
        for r in failed {
            let msg = r
                .error
                .as_deref()
                .unwrap_or("")
                .replace('|', "\\|")
                .replace('\n', " ");
            let _ = writeln!(
                s,
                "| {} | {} | {} | {msg} |",
                r.field,
                r.label,
                fmt_bound(r.bound)
            );
        }
    }
    if !settings.skipped.is_empty() {
        let _ = writeln!(s, "\n## Skipped files\n");
        for k in &settings.skipped {
            let _ = writeln!(s, "- {k}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(geomean([1.0, 4.0]), Some(2.0));
        assert_eq!(geomean([f64::NAN, 0.0]), None);
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(fmt_num(f64::NAN), "-");
        let labels: Vec<String> = ["classic", "sz3", "zfp"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            comparison_labels(&labels, None).unwrap(),
            Some(("classic".to_string(), "sz3".to_string()))
        );
        assert!(comparison_labels(&labels, Some("zfp,nope")).is_err());
        assert_eq!(comparison_labels(&labels[1..], None).unwrap(), None);
    }
}
