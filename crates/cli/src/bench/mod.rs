//! `pressio-ml bench`: compression ratio, PSNR, max error and throughput of every compressor on
//! the shared fields, written as a markdown table, a CSV and a PNG plot.

mod fill;
mod measure;
mod plot;
mod report;
mod scaling;

use crate::catalog::list_or_none;
use crate::error::{CliError, CliResult};
use crate::input::{dims_from_name, dtype_from_extension};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use pressio_ml::{DType, Registry, Value};
use regex::Regex;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use measure::{measure, Quality, Row, Spec};

/// Arguments of `bench`.
#[derive(Debug, Args, Clone)]
pub struct BenchArgs {
    /// Folder searched (recursively) for raw fields named `name_AxBxC.f32` (C-order shape).
    /// Default: `../shared/data` relative to the working directory, else to the repository root.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Output folder for results.md, results.csv and bench.png.
    #[arg(long, value_name = "DIR", default_value = "bench-out")]
    pub out: PathBuf,
    /// Comma-separated compressors: `ID`, or `ID/KEY=VALUE/...` for a configured variant
    /// (labelled `ID:VALUE...`; bare keys get the plugin's prefix). Default: every registered
    /// compressor.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub compressors: Vec<String>,
    /// Comma-separated value-range-relative bounds (`pressio:rel`).
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "1e-2,1e-3,1e-4",
        allow_negative_numbers = true
    )]
    pub bounds: Vec<f64>,
    /// Timed repeats per measurement (the median is reported).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub repeats: usize,
    /// Only fields whose path (relative to the data folder) matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub fields: Option<String>,
    /// At most this many fields (after --fields), in path order.
    #[arg(long, value_name = "N")]
    pub max_fields: Option<usize>,
    /// Time on copies tiled along the slowest dimension to at least this many MB (ratio and
    /// errors are still measured on the original field).
    #[arg(long, value_name = "MB")]
    pub tile_to_mb: Option<f64>,
    /// The two labels compared in the summary, `CANDIDATE,BASELINE` (default: the classic
    /// interpolation variant, or classic, against sz3).
    #[arg(long, value_name = "A,B")]
    pub compare: Option<String>,
    /// Comma-separated `pressio:nthreads` values: also measure throughput at each on the timed
    /// buffer at the first bound, with the ratio cost of chunking, into scaling.md, scaling.csv
    /// and scaling.png (e.g. `1,2` or `1,2,4,8,16`).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub threads: Vec<u32>,
}

/// A field found in the data folder.
#[derive(Debug, Clone)]
pub struct Field {
    /// Path relative to the data folder (the field's name in reports).
    pub name: String,
    /// Full path.
    pub path: PathBuf,
    /// Element type.
    pub dtype: DType,
    /// Dims, fastest first.
    pub dims: Vec<usize>,
}

/// The default data folder: `../shared/data` from the working directory, else from the
/// repository root this binary was built in.
fn default_data_dir() -> CliResult<PathBuf> {
    let candidates = [
        PathBuf::from("../shared/data"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    ];
    candidates
        .iter()
        .find(|p| p.is_dir())
        .cloned()
        .ok_or_else(|| {
            CliError::usage(format!(
                "no data folder: none of {} exists; pass --data-dir DIR",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> CliResult<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| CliError::file(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| CliError::file(dir, e))?;
        let path = entry.path();
        let ty = entry.file_type().map_err(|e| CliError::file(&path, e))?;
        if ty.is_dir() {
            walk(&path, out)?;
        } else if ty.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// Every raw field under `dir` whose name gives its shape and whose size matches, sorted by
/// path; the second list holds the skipped candidates with the reason.
pub fn discover_fields(dir: &Path) -> CliResult<(Vec<Field>, Vec<String>)> {
    if !dir.is_dir() {
        return Err(CliError::usage(format!(
            "data folder {} does not exist",
            dir.display()
        )));
    }
    let mut paths = Vec::new();
    walk(dir, &mut paths)?;
    paths.sort();
    let mut fields = Vec::new();
    let mut skipped = Vec::new();
    for path in paths {
        let Some(dtype) = dtype_from_extension(&path) else {
            continue;
        };
        let name = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        let Some(dims) = dims_from_name(&path) else {
            skipped.push(format!("{name}: no _AxBxC shape in the name"));
            continue;
        };
        let len = std::fs::metadata(&path)
            .map_err(|e| CliError::file(&path, e))?
            .len();
        let want = dims
            .iter()
            .try_fold(dtype.size() as u64, |a, &d| a.checked_mul(d as u64));
        if want != Some(len) {
            skipped.push(format!("{name}: {len} bytes do not match its shape"));
            continue;
        }
        fields.push(Field {
            name,
            path,
            dtype,
            dims,
        });
    }
    Ok((fields, skipped))
}

/// Resolve the fields to run: discovery, `--fields`, `--max-fields`.
fn select_fields(args: &BenchArgs, dir: &Path) -> CliResult<(Vec<Field>, Vec<String>)> {
    let (mut fields, skipped) = discover_fields(dir)?;
    if let Some(p) = &args.fields {
        let re = Regex::new(p).map_err(|e| CliError::Pattern {
            pattern: p.clone(),
            source: e,
        })?;
        fields.retain(|f| re.is_match(&f.name));
    }
    if let Some(n) = args.max_fields {
        fields.truncate(n);
    }
    if fields.is_empty() {
        return Err(CliError::usage(format!(
            "no field to benchmark in {} (files must be named like name_17x64x128.f32{})",
            dir.display(),
            if args.fields.is_some() {
                ", and match --fields"
            } else {
                ""
            }
        )));
    }
    Ok((fields, skipped))
}

/// The default spec of a registered compressor: its id, with its default predictor pinned and
/// named in the label when it declares a `<prefix>:predictor` string option (so that the classic
/// compressor appears as `classic:interp`).
fn default_spec(registry: &Registry, id: &str) -> Spec {
    let plain = Spec {
        id: id.to_string(),
        options: Vec::new(),
        label: id.to_string(),
    };
    let Ok(c) = registry.compressor(id) else {
        return plain;
    };
    let key = format!("{}:predictor", c.prefix());
    match c.get_options().value(&key) {
        Some(Value::Str(v)) if !v.is_empty() => Spec {
            id: id.to_string(),
            options: vec![(key, v.clone())],
            label: format!("{id}:{v}"),
        },
        _ => plain,
    }
}

/// Resolve `--compressors` into specs (default: every registered compressor), checking each one
/// can be configured before anything runs.
fn select_specs(registry: &Registry, args: &BenchArgs) -> CliResult<Vec<Spec>> {
    let specs: Vec<Spec> = if args.compressors.is_empty() {
        registry
            .compressor_ids()
            .iter()
            .map(|id| default_spec(registry, id))
            .collect()
    } else {
        args.compressors
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(Spec::parse)
            .collect::<CliResult<Vec<_>>>()?
    };
    if specs.is_empty() {
        return Err(CliError::usage("no compressor is registered in this build"));
    }
    for (i, s) in specs.iter().enumerate() {
        if !registry.has_compressor(&s.id) {
            return Err(CliError::usage(format!(
                "unknown compressor id `{}` (available: {})",
                s.id,
                list_or_none(&registry.compressor_ids())
            )));
        }
        if specs[..i].iter().any(|o| o.label == s.label) {
            return Err(CliError::usage(format!(
                "compressor `{}` is listed twice",
                s.label
            )));
        }
        measure::configure(registry, s, 1e-3, 1.0).map_err(|e| {
            CliError::usage(format!(
                "compressor spec `{}` cannot be configured: {e}",
                s.label
            ))
        })?;
    }
    Ok(specs)
}

/// Run the benchmark.
pub fn run_bench(registry: &Registry, args: &BenchArgs, out: &mut dyn Write) -> CliResult<()> {
    if args.repeats == 0 {
        return Err(CliError::usage("--repeats must be at least 1"));
    }
    if args.bounds.is_empty() || args.bounds.iter().any(|b| !b.is_finite() || *b <= 0.0) {
        return Err(CliError::usage("--bounds must be positive, finite numbers"));
    }
    if let Some(mb) = args.tile_to_mb {
        if !mb.is_finite() || mb <= 0.0 {
            return Err(CliError::usage("--tile-to-mb must be a positive number"));
        }
    }
    if args.threads.contains(&0) {
        return Err(CliError::usage("--threads values must be at least 1"));
    }
    let mut threads = args.threads.clone();
    if !threads.is_empty() && !threads.contains(&1) {
        threads.insert(0, 1);
    }
    let specs = select_specs(registry, args)?;
    let dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => default_data_dir()?,
    };
    let (fields, skipped) = select_fields(args, &dir)?;
    std::fs::create_dir_all(&args.out).map_err(|e| CliError::file(&args.out, e))?;

    let total = (fields.len() * specs.len() * (args.bounds.len() + threads.len())) as u64;
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} (eta {eta}) {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    let mut rows = Vec::new();
    let mut fill_pairs = Vec::new();
    let mut scaling_rows = Vec::new();
    for field in &fields {
        bar.set_message(format!("reading {}", field.name));
        let data = match crate::input::read_raw(&field.path, Some(field.dtype), &field.dims) {
            Ok(d) => d,
            Err(e) => {
                for spec in &specs {
                    for &bound in &args.bounds {
                        rows.push(Row::failed(field, spec, bound, e.to_string()));
                        bar.inc(1);
                    }
                }
                continue;
            }
        };
        let tiled = args.tile_to_mb.and_then(|mb| measure::tile(&data, mb));
        let has_fill = measure::quality(&data, &data).is_ok_and(|q| q.fill_points > 0);
        if has_fill {
            for spec in &specs {
                bar.set_message(format!(
                    "{} {} with and without fill handling",
                    field.name, spec.label
                ));
                fill_pairs.extend(fill::measure_pairs(
                    registry,
                    field,
                    &data,
                    spec,
                    &args.bounds,
                    1,
                ));
            }
        }
        for spec in &specs {
            for &bound in &args.bounds {
                bar.set_message(format!("{} {} rel={bound:e}", field.name, spec.label));
                rows.push(measure(
                    registry,
                    field,
                    &data,
                    tiled.as_ref(),
                    spec,
                    bound,
                    args.repeats,
                ));
                bar.inc(1);
            }
        }
        if !threads.is_empty() {
            let before = scaling_rows.len();
            scaling_rows.extend(scaling::measure_scaling(
                registry,
                field,
                (&data, tiled.as_ref().unwrap_or(&data)),
                &specs,
                &threads,
                args.bounds[0],
                args.repeats,
                &|m| bar.set_message(m.to_string()),
            ));
            let done = scaling_rows[before..]
                .iter()
                .filter(|r| r.threads > 0)
                .count();
            bar.inc(done as u64);
        }
    }
    bar.finish_and_clear();

    let settings = report::Settings {
        data_dir: dir.display().to_string(),
        repeats: args.repeats,
        bounds: args.bounds.clone(),
        labels: specs.iter().map(|s| s.label.clone()).collect(),
        tile_to_mb: args.tile_to_mb,
        skipped,
    };
    let compare = report::comparison_labels(&settings.labels, args.compare.as_deref())?;
    let csv = args.out.join("results.csv");
    crate::input::write_file(&csv, report::csv(&rows).as_bytes())?;
    let summary = report::summary(&rows, &settings, compare.as_ref());
    let md = args.out.join("results.md");
    crate::input::write_file(&md, report::markdown(&rows, &settings, &summary).as_bytes())?;
    let png = args.out.join("bench.png");
    plot::draw(&png, &rows, &settings)?;
    if !scaling_rows.is_empty() {
        let table = scaling::markdown(&scaling_rows, args.bounds[0], args.repeats);
        crate::input::write_file(&args.out.join("scaling.md"), table.as_bytes())?;
        let csv = scaling::csv(&scaling_rows);
        crate::input::write_file(&args.out.join("scaling.csv"), csv.as_bytes())?;
        scaling::draw(&args.out.join("scaling.png"), &scaling_rows)?;
        write!(out, "{table}")?;
    }
    if !fill_pairs.is_empty() {
        let table = fill::markdown(&fill_pairs);
        crate::input::write_file(&args.out.join("fill.md"), table.as_bytes())?;
        write!(out, "{table}")?;
    }
    write!(out, "{summary}")?;
    writeln!(
        out,
        "wrote {}, {} and {}",
        md.display(),
        csv.display(),
        png.display()
    )?;
    Ok(())
}
