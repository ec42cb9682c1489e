//! `pressio-ml bench --threads 1,2,...`: how compression and decompression throughput scale
//! with `pressio:nthreads`, per compressor, on the timed buffer (tiled with `--tile-to-mb`), at
//! the first bound of `--bounds`.
//!
//! For every thread count the stream of the timed buffer is compared with the one-thread stream
//! (byte-identical or not); for plugins that chunk big fields (`<prefix>:chunk_values`), the
//! serial stream of an uncut field (`chunk_values = 0`) is measured too, so the table shows what
//! the chunking that makes the threads useful costs in ratio. Ratios are those of the field
//! itself, not of its tiled copy: a tiled copy repeats itself, which an uncut compressor
//! exploits and chunks cannot, so its ratios would overstate the cost. Writes `scaling.md`,
//! `scaling.csv` and `scaling.png` (throughput against threads).

use super::measure::{compress_once, configure, decompress_once, mbps, median, quality, Spec};
use super::plot::{draw_legend, panel, Line};
use super::Field;
use crate::error::{CliError, CliResult};
use plotters::prelude::*;
use pressio_ml::{Data, Registry};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// Label suffix of the uncut serial reference.
const UNCUT: &str = "uncut";

/// One measurement of the scaling table.
#[derive(Debug, Clone)]
pub struct ScalingRow {
    /// Field name.
    pub field: String,
    /// Compressor label.
    pub label: String,
    /// `pressio:nthreads`, or 0 for the uncut serial reference.
    pub threads: u32,
    /// Bytes of the timed buffer.
    pub timed_bytes: usize,
    /// Compression ratio of the field (not of its tiled copy).
    pub ratio: f64,
    /// Median compression throughput (MB/s).
    pub compress_mbps: f64,
    /// Median decompression throughput (MB/s).
    pub decompress_mbps: f64,
    /// Stream identical to the one-thread stream.
    pub same_stream: bool,
    /// Every value within the bound after decompression.
    pub within_bound: bool,
    /// Why the measurement failed, if it did.
    pub error: Option<String>,
}

fn with_option(spec: &Spec, key: &str, value: String) -> Spec {
    let mut s = spec.clone();
    s.options.push((key.to_string(), value));
    s
}

struct Timed {
    stream: Data,
    ratio: f64,
    compress: Duration,
    decompress: Duration,
    within_bound: bool,
}

fn time_one(
    registry: &Registry,
    spec: &Spec,
    (field, data): (&Data, &Data),
    bound: f64,
    range: f64,
    repeats: usize,
) -> CliResult<Timed> {
    let mut c = configure(registry, spec, bound, range)?;
    let mut ct = Vec::with_capacity(repeats);
    let mut dt = Vec::with_capacity(repeats);
    let mut stream = None;
    for _ in 0..repeats {
        let (s, t) = compress_once(&mut c, data)?;
        ct.push(t);
        stream = Some(s);
    }
    let stream = stream.ok_or_else(|| CliError::usage("--repeats must be at least 1"))?;
    let mut decoded = None;
    for _ in 0..repeats {
        let (d, t) = decompress_once(&mut c, &stream, data)?;
        dt.push(t);
        decoded = Some(d);
    }
    let decoded = decoded.ok_or_else(|| CliError::usage("--repeats must be at least 1"))?;
    let q = quality(data, &decoded)?;
    let ratio = if std::ptr::eq(field, data) {
        data.num_bytes() as f64 / stream.num_bytes().max(1) as f64
    } else {
        let own = compress_once(&mut c, field)?.0;
        field.num_bytes() as f64 / own.num_bytes().max(1) as f64
    };
    Ok(Timed {
        stream,
        ratio,
        compress: median(ct),
        decompress: median(dt),
        within_bound: q.max_error <= bound * range && q.nonfinite_mismatches == 0,
    })
}

/// Measure every spec at every thread count (and uncut, where the plugin chunks): throughput on
/// `timed` (`data` or its tiled copy), ratio on `data`.
#[allow(clippy::too_many_arguments)]
pub fn measure_scaling(
    registry: &Registry,
    field: &Field,
    (data, timed): (&Data, &Data),
    specs: &[Spec],
    threads: &[u32],
    bound: f64,
    repeats: usize,
    progress: &dyn Fn(&str),
) -> Vec<ScalingRow> {
    let range = quality(timed, timed).map(|q| q.range).unwrap_or(f64::NAN);
    let mut rows = Vec::new();
    for spec in specs {
        let row = |threads: u32, r: CliResult<Timed>, first: Option<&Data>| match r {
            Ok(t) => ScalingRow {
                field: field.name.clone(),
                label: spec.label.clone(),
                threads,
                timed_bytes: timed.num_bytes(),
                ratio: t.ratio,
                compress_mbps: mbps(timed.num_bytes(), t.compress),
                decompress_mbps: mbps(timed.num_bytes(), t.decompress),
                same_stream: first.is_none_or(|f| f.bytes() == t.stream.bytes()),
                within_bound: t.within_bound,
                error: None,
            },
            Err(e) => ScalingRow {
                field: field.name.clone(),
                label: spec.label.clone(),
                threads,
                timed_bytes: timed.num_bytes(),
                ratio: f64::NAN,
                compress_mbps: f64::NAN,
                decompress_mbps: f64::NAN,
                same_stream: false,
                within_bound: false,
                error: Some(e.to_string()),
            },
        };
        let mut first: Option<Data> = None;
        for &n in threads {
            progress(&format!("{} {} nthreads={n}", field.name, spec.label));
            let s = with_option(spec, "pressio:nthreads", n.to_string());
            let r = time_one(registry, &s, (data, timed), bound, range, repeats);
            let stream = r.as_ref().ok().map(|t| t.stream.clone());
            rows.push(row(n, r, first.as_ref()));
            if first.is_none() {
                first = stream;
            }
        }
        let chunks_key = registry.compressor(&spec.id).ok().and_then(|c| {
            let key = format!("{}:chunk_values", c.prefix());
            c.get_options().contains(&key).then_some(key)
        });
        if let Some(key) = chunks_key {
            progress(&format!("{} {} uncut", field.name, spec.label));
            let s = with_option(spec, &key, "0".into());
            let r = time_one(registry, &s, (data, timed), bound, range, repeats);
            let mut uncut = row(0, r, None);
            uncut.same_stream = false;
            rows.push(uncut);
        }
    }
    rows
}

fn fmt(v: f64, digits: usize) -> String {
    if v.is_finite() {
        format!("{v:.digits$}")
    } else {
        "-".into()
    }
}

fn base<'a>(rows: &'a [ScalingRow], r: &ScalingRow, threads: u32) -> Option<&'a ScalingRow> {
    rows.iter()
        .find(|b| b.field == r.field && b.label == r.label && b.threads == threads)
}

/// The scaling table: throughput and speed-up over one thread, ratio and its change against one
/// thread and against the uncut serial stream.
pub fn markdown(rows: &[ScalingRow], bound: f64, repeats: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## Thread scaling (pressio:rel {bound:e}, median of {repeats} repeats{})\n",
        if cfg!(debug_assertions) {
            ", debug build"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "`threads` {UNCUT}: one thread, `chunk_values = 0` (the field is not cut into chunks). \
         Speed-ups are over `pressio:nthreads = 1`; `ratio vs 1` is the ratio change against \
         it, `ratio vs {UNCUT}` against the uncut stream.\n"
    );
    s.push_str(
        "| field | compressor | threads | MB | compress MB/s | speed-up | decompress MB/s | \
         speed-up | ratio | ratio vs 1 | ratio vs uncut | same stream as 1 | within bound |\n",
    );
    s.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let threads = if r.threads == 0 {
            UNCUT.to_string()
        } else {
            r.threads.to_string()
        };
        if let Some(e) = &r.error {
            let _ = writeln!(
                s,
                "| {} | {} | {threads} | | failed: {} | | | | | | | | |",
                r.field,
                r.label,
                e.replace('|', "/")
            );
            continue;
        }
        let one = base(rows, r, 1);
        let uncut = base(rows, r, 0);
        let speed = |f: fn(&ScalingRow) -> f64| one.map_or(f64::NAN, |b| f(r) / f(b));
        let change = |b: Option<&ScalingRow>| {
            b.map_or("-".into(), |b| {
                format!("{:+.2}%", 100.0 * (r.ratio / b.ratio - 1.0))
            })
        };
        let _ = writeln!(
            s,
            "| {} | {} | {threads} | {:.0} | {} | {}x | {} | {}x | {} | {} | {} | {} | {} |",
            r.field,
            r.label,
            r.timed_bytes as f64 / 1e6,
            fmt(r.compress_mbps, 1),
            fmt(speed(|r| r.compress_mbps), 2),
            fmt(r.decompress_mbps, 1),
            fmt(speed(|r| r.decompress_mbps), 2),
            fmt(r.ratio, 2),
            change(one),
            change(uncut),
            if r.threads == 0 {
                "-"
            } else if r.same_stream {
                "yes"
            } else {
                "no"
            },
            if r.within_bound { "yes" } else { "NO" },
        );
    }
    s
}

/// The scaling rows as CSV.
pub fn csv(rows: &[ScalingRow]) -> String {
    let mut s = String::from(
        "field,compressor,threads,timed_bytes,ratio,compress_mbps,decompress_mbps,same_stream,within_bound,error\n",
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{}",
            r.field,
            r.label,
            r.threads,
            r.timed_bytes,
            r.ratio,
            r.compress_mbps,
            r.decompress_mbps,
            r.same_stream,
            r.within_bound,
            r.error.as_deref().unwrap_or("").replace([',', '\n'], ";")
        );
    }
    s
}

/// Throughput against threads: compression and decompression panels, one line per compressor
/// and field.
pub fn draw(path: &Path, rows: &[ScalingRow]) -> CliResult<()> {
    draw_inner(path, rows).map_err(|message| CliError::Plot {
        path: path.to_path_buf(),
        message,
    })
}

fn draw_inner(path: &Path, rows: &[ScalingRow]) -> Result<(), String> {
    let mut keys: Vec<(String, String)> = Vec::new();
    for r in rows {
        let k = (r.field.clone(), r.label.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let many_fields = keys.iter().any(|k| k.0 != keys[0].0);
    let names: Vec<String> = keys
        .iter()
        .map(|(f, l)| {
            if many_fields {
                format!("{l} {f}")
            } else {
                l.clone()
            }
        })
        .collect();
    let lines = |f: fn(&ScalingRow) -> f64| -> Vec<Line> {
        keys.iter()
            .zip(&names)
            .map(|((field, label), name)| {
                let pts = rows
                    .iter()
                    .filter(|r| &r.field == field && &r.label == label && r.threads > 0)
                    .map(|r| (f64::from(r.threads), f(r)))
                    .filter(|p| p.1.is_finite())
                    .collect();
                (name.clone(), pts)
            })
            .collect()
    };
    let root = BitMapBackend::new(path, (1600, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let root = root
        .titled(
            "pressio-ml: throughput against pressio:nthreads",
            ("sans-serif", 28),
        )
        .map_err(|e| e.to_string())?;
    let (legend, grid) = root.split_vertically(50);
    draw_legend(&legend, &names)?;
    let areas = grid.split_evenly((1, 2));
    panel(
        &areas[0],
        "Compression",
        "pressio:nthreads",
        "MB/s",
        &lines(|r| r.compress_mbps),
        false,
        false,
        true,
        None,
    )?;
    panel(
        &areas[1],
        "Decompression",
        "pressio:nthreads",
        "MB/s",
        &lines(|r| r.decompress_mbps),
        false,
        false,
        true,
        None,
    )?;
    root.present().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &str, threads: u32, mbps: f64, ratio: f64) -> ScalingRow {
        ScalingRow {
            field: "f".into(),
            label: label.into(),
            threads,
            timed_bytes: 100_000_000,
            ratio,
            compress_mbps: mbps,
            decompress_mbps: 2.0 * mbps,
            same_stream: true,
            within_bound: true,
            error: None,
        }
    }

    #[test]
    fn table_reports_speedups_and_ratio_costs() {
        let rows = vec![
            row("zfp", 1, 100.0, 10.0),
            row("zfp", 2, 190.0, 10.0),
            row("zfp", 0, 110.0, 10.1),
        ];
        let md = markdown(&rows, 1e-3, 3);
        assert!(md.contains("| f | zfp | 2 | 100 | 190.0 | 1.90x | 380.0 | 1.90x | 10.00 | +0.00% | -0.99% | yes | yes |"), "{md}");
        assert!(md.contains("| f | zfp | uncut |"), "{md}");
        assert!(csv(&rows).lines().count() == 4);
    }
}
