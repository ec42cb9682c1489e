//! Benchmark of `gwlz` against its inner compressor at the same error bound on real fields of
//! the shared data, in the shape of the GWLZ paper's Table 2 (PSNR gain and size overhead per
//! field and bound) and Table 3 (PSNR against the number of groups).
//!
//! ```text
//! cargo run --release -p pressio-ml-gwlz --example gwlz_bench -- [OUT_DIR] [--quick]
//! ```
//!
//! Every run uses a fresh compressor handle; compression and decompression are timed with
//! `std::time::Instant`, and PSNR (`20 log10(range) - 10 log10(MSE)`) and the largest error are
//! computed here in `f64` against the original, not taken from plugin metrics. The absolute
//! bound of a row is `pressio:rel * (max - min)` of the input.
//!
//! * Table A (paper Table 2 shape): fields `field999_999x999`, `vorticity2d_512x512`,
//!   `rect3d_t_17x96x192`, `ncep06_T_17x64x128`, `era5_t2m_uk_hourly_744x33x49` and
//!   `wmag91_91x91x91`; `sz3` alone against `gwlz` over `sz3` (default options) at
//!   `pressio:rel` 1e-2, 1e-3, 1e-4 and 1e-5.
//! * Table B: the same fields at `pressio:rel` 1e-3 with `zfp`, `sperr` and `classic` inside.
//! * Table C (paper Table 3 shape): `field999` and `rect3d_t`, inner `sz3`, rel 1e-2 and 1e-3,
//!   `gwlz:groups` 1, 5, 10 and 20, with `gwlz:max_overhead = 1.0` so that the size budget does
//!   not shrink the group count.
//! * Table D: `field999` and `rect3d_t` at rel 1e-2 and 1e-3, inner `sz3`, `gwlz:strict` x
//!   `gwlz:mask` (strict off may exceed the bound; that is reported, not an error).
//!
//! `--quick` keeps the first two fields of each table and rel 1e-2 and 1e-3 (a smoke run of a
//! few minutes on a small machine).
//!
//! Writes to `OUT_DIR` (default `target/gwlz-bench`): `gwlz_bench.csv` (every row, with a
//! `table` column), `gwlz_bench.md` (the four tables, also printed to stdout at the end),
//! `gwlz_gain.png` (PSNR gain and size overhead against rel for inner `sz3`, one line per
//! field) and `gwlz_groups.png` (PSNR against the number of groups, one panel and line per
//! field x rel, with the inner compressor's PSNR dashed).

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use pressio_ml_core::{DType, Data, Options, Registry, RegistryBuilder, Value};
use std::collections::hash_map::{Entry, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Fields of tables A and B (matched by substring of the file stem).
const FIELDS_AB: [&str; 6] = [
    "field999_999x999",
    "vorticity2d_512x512",
    "rect3d_t_17x96x192",
    "ncep06_T_17x64x128",
    "era5_t2m_uk_hourly_744x33x49",
    "wmag91_91x91x91",
];
/// Fields of tables C and D.
const FIELDS_CD: [&str; 2] = ["field999_999x999", "rect3d_t_17x96x192"];
/// Bounds of table A.
const RELS: [f64; 4] = [1e-2, 1e-3, 1e-4, 1e-5];
/// Bounds of tables C and D.
const RELS_CD: [f64; 2] = [1e-2, 1e-3];
/// Bound of table B.
const REL_B: f64 = 1e-3;
/// Inner compressors of table B.
const OTHER_INNERS: [&str; 3] = ["zfp", "sperr", "classic"];
/// `gwlz:groups` of table C.
const GROUPS: [u32; 4] = [1, 5, 10, 20];
/// `gwlz:max_overhead` of table C.
const TABLE_C_OVERHEAD: f64 = 1.0;

#[derive(Parser)]
#[command(about = "GWLZ against its inner compressor at equal bound on real fields")]
struct Args {
    /// Output directory.
    #[arg(default_value = "target/gwlz-bench")]
    out_dir: PathBuf,
    /// Smoke run: the first two fields of each table and rel 1e-2 and 1e-3 only.
    #[arg(long)]
    quick: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    A,
    B,
    C,
    D,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::A => "A",
            Table::B => "B",
            Table::C => "C",
            Table::D => "D",
        }
    }
}

/// One `gwlz` run (and the inner run it is compared with).
#[derive(Debug, Clone)]
struct Spec {
    table: Table,
    /// Index into the loaded fields.
    field: usize,
    inner: &'static str,
    rel: f64,
    groups: Option<u32>,
    max_overhead: Option<f64>,
    strict: Option<bool>,
    mask: Option<bool>,
}

impl Spec {
    fn new(table: Table, field: usize, inner: &'static str, rel: f64) -> Spec {
        Spec {
            table,
            field,
            inner,
            rel,
            groups: None,
            max_overhead: None,
            strict: None,
            mask: None,
        }
    }

    fn options(&self) -> Options {
        let mut o = Options::new()
            .with("pressio:rel", self.rel)
            .with("gwlz:compressor", self.inner.to_string());
        if let Some(g) = self.groups {
            o.set("gwlz:groups", g);
        }
        if let Some(m) = self.max_overhead {
            o.set("gwlz:max_overhead", m);
        }
        if let Some(s) = self.strict {
            o.set("gwlz:strict", s);
        }
        if let Some(m) = self.mask {
            o.set("gwlz:mask", m);
        }
        o
    }

    /// Strict mode is the default.
    fn is_strict(&self) -> bool {
        self.strict.unwrap_or(true)
    }

    fn describe(&self, field: &str) -> String {
        let mut s = format!(
            "[{}] {field} gwlz({}) rel {:.0e}",
            self.table.name(),
            self.inner,
            self.rel
        );
        if let Some(g) = self.groups {
            let _ = write!(s, " groups={g}");
        }
        if let Some(m) = self.max_overhead {
            let _ = write!(s, " max_overhead={m}");
        }
        if let Some(v) = self.strict {
            let _ = write!(s, " strict={v}");
        }
        if let Some(v) = self.mask {
            let _ = write!(s, " mask={v}");
        }
        s
    }
}

struct Loaded {
    name: String,
    input: Data,
    /// `max - min` of the finite values, in f64.
    range: f64,
}

/// What one compress/decompress round trip measured.
#[derive(Debug, Clone, Copy)]
struct Run {
    bytes: usize,
    compress_s: f64,
    decompress_s: f64,
    psnr: f64,
    max_over_bound: f64,
}

/// `gwlz` metrics results of one run (NaN where absent).
#[derive(Debug, Clone, Copy)]
struct GwlzStats {
    inner_bytes: f64,
    weight_bytes: f64,
    strict_bytes: f64,
    rejected: f64,
    exact: f64,
    groups_used: f64,
    channels_used: f64,
    models: f64,
    epochs_run: f64,
    train_ms: f64,
    psnr_gain: f64,
}

impl GwlzStats {
    fn from(m: &Options) -> GwlzStats {
        let g = |k: &str| metric(m, k).unwrap_or(f64::NAN);
        GwlzStats {
            inner_bytes: g("gwlz:inner_bytes"),
            weight_bytes: g("gwlz:weight_bytes"),
            strict_bytes: g("gwlz:strict_bytes"),
            rejected: g("gwlz:rejected"),
            exact: g("gwlz:exact"),
            groups_used: g("gwlz:groups_used"),
            channels_used: g("gwlz:channels_used"),
            models: g("gwlz:models"),
            epochs_run: g("gwlz:epochs_run"),
            train_ms: g("gwlz:train_ms"),
            psnr_gain: g("gwlz:psnr_gain"),
        }
    }
}

struct Row {
    spec: Spec,
    field: String,
    n: usize,
    abs_bound: f64,
    inner: Run,
    gwlz: Run,
    stats: GwlzStats,
}

impl Row {
    fn gain(&self) -> f64 {
        self.gwlz.psnr - self.inner.psnr
    }
    fn overhead(&self) -> f64 {
        self.gwlz.bytes as f64 / self.inner.bytes as f64 - 1.0
    }
}

fn metric(m: &Options, key: &str) -> Option<f64> {
    Some(match m.value(key)? {
        Value::U8(v) => *v as f64,
        Value::I8(v) => *v as f64,
        Value::U16(v) => *v as f64,
        Value::I16(v) => *v as f64,
        Value::U32(v) => *v as f64,
        Value::I32(v) => *v as f64,
        Value::U64(v) => *v as f64,
        Value::I64(v) => *v as f64,
        Value::F32(v) => *v as f64,
        Value::F64(v) => *v,
        _ => return None,
    })
}

fn registry() -> Registry {
    let mut b = RegistryBuilder::new();
    pressio_ml_sz3::register(&mut b).expect("register sz3");
    pressio_ml_zfp::register(&mut b).expect("register zfp");
    pressio_ml_sperr::register(&mut b).expect("register sperr");
    pressio_ml_classic::register(&mut b).expect("register classic");
    pressio_ml_gwlz::register(&mut b).expect("register gwlz");
    b.build()
}

/// PSNR over the finite values of `a`, in f64.
fn psnr(a: &[f32], b: &[f32], range: f64) -> f64 {
    let (mut se, mut n) = (0f64, 0usize);
    for (x, y) in a.iter().zip(b) {
        if x.is_finite() {
            let d = *x as f64 - *y as f64;
            se += d * d;
            n += 1;
        }
    }
    if n == 0 {
        return f64::NAN;
    }
    let mse = se / n as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        20.0 * range.log10() - 10.0 * mse.log10()
    }
}

/// Compress and decompress `f` with a fresh `id` handle.
fn round_trip(
    reg: &Registry,
    id: &str,
    opts: &Options,
    f: &Loaded,
    rel: f64,
) -> Result<(Run, Options), String> {
    let mut c = reg.compressor(id).map_err(|e| e.to_string())?;
    c.set_options(opts)
        .map_err(|e| format!("set_options: {e}"))?;
    let mut stream = Data::empty(DType::Byte, &[]);
    let t = Instant::now();
    c.compress(&f.input, &mut stream)
        .map_err(|e| format!("compress: {e}"))?;
    let compress_s = t.elapsed().as_secs_f64();
    let mut out = Data::empty(DType::Float, f.input.dims());
    let t = Instant::now();
    c.decompress(&stream, &mut out)
        .map_err(|e| format!("decompress: {e}"))?;
    let decompress_s = t.elapsed().as_secs_f64();
    let x = f.input.as_slice::<f32>().map_err(|e| e.to_string())?;
    let y = out.as_slice::<f32>().map_err(|e| format!("output: {e}"))?;
    if x.len() != y.len() {
        return Err(format!("output has {} values, not {}", y.len(), x.len()));
    }
    let run = Run {
        bytes: stream.num_bytes(),
        compress_s,
        decompress_s,
        psnr: psnr(x, y, f.range),
        max_over_bound: pressio_ml_testdata::max_abs_error(x, y) / (rel * f.range),
    };
    Ok((run, c.get_metrics_results()))
}

fn main() {
    let args = Args::parse();
    let started = Instant::now();
    std::fs::create_dir_all(&args.out_dir).expect("create the output directory");
    let all = pressio_ml_testdata::fields();
    if all.is_empty() {
        eprintln!("no shared data found (set PRESSIO_ML_DATA); nothing to do");
        return;
    }
    let take = if args.quick { 2 } else { usize::MAX };
    let fields_ab: Vec<&str> = FIELDS_AB.iter().copied().take(take).collect();
    let fields_cd: Vec<&str> = FIELDS_CD.iter().copied().take(take).collect();
    let rels: Vec<f64> = if args.quick {
        RELS_CD.to_vec()
    } else {
        RELS.to_vec()
    };

    // Load every field once.
    let mut loaded: Vec<Loaded> = Vec::new();
    let index = |key: &str, loaded: &mut Vec<Loaded>| -> usize {
        if let Some(i) = loaded.iter().position(|l| l.name.contains(key)) {
            return i;
        }
        let f = all
            .iter()
            .find(|f| f.name.contains(key))
            .unwrap_or_else(|| panic!("field `{key}` is missing from the shared data"));
        let input = f.load();
        let range = pressio_ml_testdata::value_range(
            input.as_slice::<f32>().expect("shared fields are f32"),
        );
        loaded.push(Loaded {
            name: f.name.clone(),
            input,
            range,
        });
        loaded.len() - 1
    };

    let mut specs = Vec::new();
    for key in &fields_ab {
        let fi = index(key, &mut loaded);
        for &rel in &rels {
            specs.push(Spec::new(Table::A, fi, "sz3", rel));
        }
    }
    for key in &fields_ab {
        let fi = index(key, &mut loaded);
        for inner in OTHER_INNERS {
            specs.push(Spec::new(Table::B, fi, inner, REL_B));
        }
    }
    for key in &fields_cd {
        let fi = index(key, &mut loaded);
        for rel in RELS_CD {
            for g in GROUPS {
                let mut s = Spec::new(Table::C, fi, "sz3", rel);
                s.groups = Some(g);
                s.max_overhead = Some(TABLE_C_OVERHEAD);
                specs.push(s);
            }
        }
    }
    for key in &fields_cd {
        let fi = index(key, &mut loaded);
        for rel in RELS_CD {
            for strict in [true, false] {
                for mask in [true, false] {
                    let mut s = Spec::new(Table::D, fi, "sz3", rel);
                    s.strict = Some(strict);
                    s.mask = Some(mask);
                    specs.push(s);
                }
            }
        }
    }

    let key = |s: &Spec| (s.field, s.inner, s.rel.to_bits());
    let mut inner_keys: Vec<(usize, &str, u64)> = specs.iter().map(key).collect();
    inner_keys.sort();
    inner_keys.dedup();
    let total = (inner_keys.len() + specs.len()) as u64;

    let reg = registry();
    let device = pressio_ml_nn::DeviceSpec::Auto
        .resolve()
        .map(pressio_ml_nn::device::device_name)
        .unwrap_or_else(|e| format!("unresolved ({e})"));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!(
        "gwlz_bench: {} fields, {} gwlz runs + {} inner runs, {cores} cores, gwlz device {device}",
        loaded.len(),
        specs.len(),
        inner_keys.len()
    );

    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} {msg}")
            .expect("progress template")
            .progress_chars("=> "),
    );
    let mut inner_runs: HashMap<(usize, &str, u64), Option<Run>> = HashMap::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for spec in &specs {
        let f = &loaded[spec.field];
        let k = key(spec);
        if let Entry::Vacant(slot) = inner_runs.entry(k) {
            pb.set_message(format!("{} {} rel {:.0e}", f.name, spec.inner, spec.rel));
            let opts = Options::new().with("pressio:rel", spec.rel);
            let r = match round_trip(&reg, spec.inner, &opts, f, spec.rel) {
                Ok((r, _)) => {
                    pb.suspend(|| {
                        eprintln!(
                            "{} {} rel {:.0e}: {} B, {:.2} dB, max err/bound {:.4}, {:.2}s + {:.2}s",
                            f.name,
                            spec.inner,
                            spec.rel,
                            r.bytes,
                            r.psnr,
                            r.max_over_bound,
                            r.compress_s,
                            r.decompress_s
                        )
                    });
                    if r.max_over_bound > 1.0 {
                        notes.push(format!(
                            "{} alone on {} at rel {:.0e}: max err / bound = {:.6} > 1",
                            spec.inner, f.name, spec.rel, r.max_over_bound
                        ));
                    }
                    Some(r)
                }
                Err(e) => {
                    pb.suspend(|| {
                        eprintln!("{} {} rel {:.0e} failed: {e}", f.name, spec.inner, spec.rel)
                    });
                    notes.push(format!(
                        "{} alone on {} at rel {:.0e} failed: {e}",
                        spec.inner, f.name, spec.rel
                    ));
                    None
                }
            };
            slot.insert(r);
            pb.inc(1);
        }
        let what = spec.describe(&f.name);
        pb.set_message(what.clone());
        let result = round_trip(&reg, "gwlz", &spec.options(), f, spec.rel);
        pb.inc(1);
        let (g, m) = match result {
            Ok(x) => x,
            Err(e) => {
                pb.suspend(|| eprintln!("{what} failed: {e}"));
                notes.push(format!("{what} failed: {e}"));
                continue;
            }
        };
        let Some(inner) = inner_runs[&k] else {
            notes.push(format!("{what}: no row (the inner run failed)"));
            continue;
        };
        let row = Row {
            spec: spec.clone(),
            field: f.name.clone(),
            n: f.input.num_elements(),
            abs_bound: spec.rel * f.range,
            inner,
            gwlz: g,
            stats: GwlzStats::from(&m),
        };
        pb.suspend(|| {
            eprintln!(
                "{what}: {:.2} -> {:.2} dB ({:+.3}), {} -> {} B ({:+.2}%), max err/bound {:.4}, \
                 {:.2}s + {:.2}s",
                row.inner.psnr,
                row.gwlz.psnr,
                row.gain(),
                row.inner.bytes,
                row.gwlz.bytes,
                100.0 * row.overhead(),
                row.gwlz.max_over_bound,
                row.gwlz.compress_s,
                row.gwlz.decompress_s
            )
        });
        if row.spec.is_strict() && row.gwlz.max_over_bound > 1.0 {
            let msg = format!(
                "BOUND VIOLATION in strict mode: {what}: max err / bound = {:.9}",
                row.gwlz.max_over_bound
            );
            pb.suspend(|| eprintln!("{msg}"));
            notes.push(msg);
        }
        rows.push(row);
    }
    pb.finish_with_message("done");

    // Table D's strict, unmasked rows repeat table A's default configuration: they must match.
    for d in rows.iter().filter(|r| {
        r.spec.table == Table::D && r.spec.strict == Some(true) && r.spec.mask == Some(false)
    }) {
        if let Some(a) = rows.iter().find(|a| {
            a.spec.table == Table::A && a.spec.field == d.spec.field && a.spec.rel == d.spec.rel
        }) {
            if a.gwlz.bytes != d.gwlz.bytes || a.gwlz.psnr.to_bits() != d.gwlz.psnr.to_bits() {
                notes.push(format!(
                    "{} rel {:.0e}: the same configuration gave {} B / {:.4} dB in table A and \
                     {} B / {:.4} dB in table D (not deterministic; a time budget cut?)",
                    d.field, d.spec.rel, a.gwlz.bytes, a.gwlz.psnr, d.gwlz.bytes, d.gwlz.psnr
                ));
            }
        }
    }

    let wall_min = started.elapsed().as_secs_f64() / 60.0;
    let command = format!(
        "cargo run --release -p pressio-ml-gwlz --example gwlz_bench -- {}{}",
        args.out_dir.display(),
        if args.quick { " --quick" } else { "" }
    );
    std::fs::write(args.out_dir.join("gwlz_bench.csv"), csv(&rows)).expect("write the csv");
    let md = markdown(
        &rows, &notes, cores, &device, &command, args.quick, wall_min,
    );
    std::fs::write(args.out_dir.join("gwlz_bench.md"), &md).expect("write the markdown");
    let gain_rows: Vec<&Row> = rows.iter().filter(|r| r.spec.table == Table::A).collect();
    if let Err(e) = plot_gain(&args.out_dir.join("gwlz_gain.png"), &gain_rows, &loaded) {
        eprintln!("plot gwlz_gain.png: {e}");
    }
    let group_rows: Vec<&Row> = rows.iter().filter(|r| r.spec.table == Table::C).collect();
    if let Err(e) = plot_groups(&args.out_dir.join("gwlz_groups.png"), &group_rows, &loaded) {
        eprintln!("plot gwlz_groups.png: {e}");
    }
    println!("{md}");
    eprintln!("wrote {} in {wall_min:.1} min", args.out_dir.display());
}

/// A number, or `-` when it is NaN.
fn num(v: f64, prec: usize) -> String {
    if v.is_nan() {
        "-".into()
    } else {
        format!("{v:.prec$}")
    }
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "default".into(), |v| v.to_string())
}

fn csv(rows: &[Row]) -> String {
    let mut s = String::from(
        "table,field,n,inner,rel,abs_bound,groups,max_overhead,strict,mask,\
         inner_psnr_db,gwlz_psnr_db,gain_db,plugin_gain_db,inner_bytes,gwlz_bytes,overhead,\
         gwlz_inner_bytes,weight_bytes,strict_bytes,rejected,exact,groups_used,channels_used,\
         models,epochs_run,train_ms,inner_compress_s,inner_decompress_s,gwlz_compress_s,\
         gwlz_decompress_s,inner_max_err_over_bound,gwlz_max_err_over_bound\n",
    );
    for r in rows {
        let st = &r.stats;
        let _ = writeln!(
            s,
            "{},{},{},{},{:e},{:e},{},{},{},{},{:.4},{:.4},{:.4},{:.4},{},{},{:.6},{},{},{},{},{},\
             {},{},{},{},{:.1},{:.4},{:.4},{:.4},{:.4},{:.6},{:.6}",
            r.spec.table.name(),
            r.field,
            r.n,
            r.spec.inner,
            r.spec.rel,
            r.abs_bound,
            opt(r.spec.groups),
            opt(r.spec.max_overhead),
            r.spec.is_strict(),
            r.spec.mask.unwrap_or(false),
            r.inner.psnr,
            r.gwlz.psnr,
            r.gain(),
            st.psnr_gain,
            r.inner.bytes,
            r.gwlz.bytes,
            r.overhead(),
            num(st.inner_bytes, 0),
            num(st.weight_bytes, 0),
            num(st.strict_bytes, 0),
            num(st.rejected, 0),
            num(st.exact, 0),
            num(st.groups_used, 0),
            num(st.channels_used, 0),
            num(st.models, 0),
            num(st.epochs_run, 0),
            st.train_ms,
            r.inner.compress_s,
            r.inner.decompress_s,
            r.gwlz.compress_s,
            r.gwlz.decompress_s,
            r.inner.max_over_bound,
            r.gwlz.max_over_bound,
        );
    }
    s
}

fn markdown(
    rows: &[Row],
    notes: &[String],
    cores: usize,
    device: &str,
    command: &str,
    quick: bool,
    wall_min: f64,
) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# GWLZ benchmark{}\n",
        if quick { " (quick)" } else { "" }
    );
    let _ = writeln!(
        md,
        "Machine: {cores} cores; gwlz:device=auto resolved to {device}; {wall_min:.1} min in all. \
         Command: `{command}`\n"
    );
    if !notes.is_empty() {
        md.push_str("Notes:\n\n");
        for n in notes {
            let _ = writeln!(md, "* {n}");
        }
        md.push('\n');
    }
    let of = |t: Table| rows.iter().filter(move |r| r.spec.table == t);
    let gc = |r: &Row| {
        format!(
            "{}x{} ({})",
            num(r.stats.groups_used, 0),
            num(r.stats.channels_used, 0),
            num(r.stats.models, 0)
        )
    };
    let times = |run: &Run| format!("{:.2} / {:.2}", run.compress_s, run.decompress_s);

    let wide_header =
        "| field | inner | rel | inner PSNR | gwlz PSNR | gain dB | inner B | gwlz B | \
                       overhead | weight B | strict B | rejected | groups x ch (models) | \
                       inner c / d s | gwlz c / d s | max err / bound |\n\
                       |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    let wide_row = |md: &mut String, r: &Row| {
        let _ = writeln!(
            md,
            "| {} | {} | {:.0e} | {:.2} | {:.2} | {:+.3} | {} | {} | {:+.2}% | {} | {} | {} | {} \
             | {} | {} | {:.4} |",
            r.field,
            r.spec.inner,
            r.spec.rel,
            r.inner.psnr,
            r.gwlz.psnr,
            r.gain(),
            r.inner.bytes,
            r.gwlz.bytes,
            100.0 * r.overhead(),
            num(r.stats.weight_bytes, 0),
            num(r.stats.strict_bytes, 0),
            num(r.stats.rejected, 0),
            gc(r),
            times(&r.inner),
            times(&r.gwlz),
            r.gwlz.max_over_bound
        );
    };

    md.push_str("## Table A: GWLZ over sz3 against sz3 alone (paper Table 2 shape)\n\n");
    md.push_str(
        "gwlz with default options (20 groups requested, strict, unmasked neighbours, max_overhead 0.1) against \
         the sz3 plugin alone at the same pressio:rel; PSNR in f64 over the input's range; \
         overhead = gwlz bytes / sz3 bytes - 1; groups x ch are what the planner kept (models: \
         enhancers that survived); max err / bound is gwlz's, against rel * (max - min), and \
         must be <= 1.\n\n",
    );
    md.push_str(wide_header);
    for r in of(Table::A) {
        wide_row(&mut md, r);
    }

    md.push_str("\n## Table B: other inner compressors at rel 1e-3\n\n");
    md.push_str(
        "The same comparison with zfp, sperr and classic as gwlz:compressor (each against itself \
         alone at the same pressio:rel), default gwlz options.\n\n",
    );
    md.push_str(wide_header);
    for r in of(Table::B) {
        wide_row(&mut md, r);
    }

    md.push_str("\n## Table C: PSNR against the number of groups (paper Table 3 shape)\n\n");
    let _ = writeln!(
        md,
        "Inner sz3, gwlz:groups requested as shown, with gwlz:max_overhead = {TABLE_C_OVERHEAD} \
         (not the default 0.1) so that the size budget does not shrink the group count; groups \
         x ch (models) is what the planner kept (groups still drop when one would average under \
         256 points).\n"
    );
    md.push_str(
        "| field | rel | groups | groups x ch (models) | inner PSNR | gwlz PSNR | gain dB | \
         gwlz B | overhead | weight B | train s | max err / bound |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in of(Table::C) {
        let _ = writeln!(
            md,
            "| {} | {:.0e} | {} | {} | {:.2} | {:.2} | {:+.3} | {} | {:+.2}% | {} | {} | {:.4} |",
            r.field,
            r.spec.rel,
            opt(r.spec.groups),
            gc(r),
            r.inner.psnr,
            r.gwlz.psnr,
            r.gain(),
            r.gwlz.bytes,
            100.0 * r.overhead(),
            num(r.stats.weight_bytes, 0),
            num(r.stats.train_ms / 1000.0, 2),
            r.gwlz.max_over_bound
        );
    }

    md.push_str("\n## Table D: strict mode and input masking\n\n");
    md.push_str(
        "Inner sz3, default options but gwlz:strict and gwlz:mask as shown; strict=false is the \
         paper's behaviour (every point enhanced) and may exceed the bound (up to 2x); strict B \
         is the rejection and exact lists that strict mode stores.\n\n",
    );
    md.push_str(
        "| field | rel | strict | mask | inner PSNR | gwlz PSNR | gain dB | gwlz B | overhead | \
         strict B | rejected | groups x ch (models) | max err / bound |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in of(Table::D) {
        let _ = writeln!(
            md,
            "| {} | {:.0e} | {} | {} | {:.2} | {:.2} | {:+.3} | {} | {:+.2}% | {} | {} | {} | \
             {:.4} |",
            r.field,
            r.spec.rel,
            r.spec.is_strict(),
            r.spec.mask.unwrap_or(false),
            r.inner.psnr,
            r.gwlz.psnr,
            r.gain(),
            r.gwlz.bytes,
            100.0 * r.overhead(),
            num(r.stats.strict_bytes, 0),
            num(r.stats.rejected, 0),
            gc(r),
            r.gwlz.max_over_bound
        );
    }
    md
}

/// Fields of `rows`, in load order.
fn fields_of(rows: &[&Row], loaded: &[Loaded]) -> Vec<usize> {
    (0..loaded.len())
        .filter(|i| rows.iter().any(|r| r.spec.field == *i))
        .collect()
}

/// `(lo, hi)` of `v` padded by 8% (at least `min_pad`).
fn padded(v: impl Iterator<Item = f64>, min_pad: f64) -> (f64, f64) {
    let (lo, hi) = v
        .filter(|x| x.is_finite())
        .fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    if lo > hi {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(min_pad);
    (lo - pad, hi + pad)
}

fn plot_gain(
    path: &Path,
    rows: &[&Row],
    loaded: &[Loaded],
) -> Result<(), Box<dyn std::error::Error>> {
    if rows.is_empty() {
        return Ok(());
    }
    let root = BitMapBackend::new(path, (1400, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 2));
    let (rlo, rhi) = rows.iter().fold((f64::MAX, f64::MIN), |(a, b), r| {
        (a.min(r.spec.rel), b.max(r.spec.rel))
    });
    let xr = (rlo / 1.5)..(rhi * 1.5);
    let fields = fields_of(rows, loaded);
    type Metric = fn(&Row) -> f64;
    let metrics: [(&str, &str, Metric); 2] = [
        ("PSNR gain over sz3 (dB)", "gain (dB)", |r: &Row| r.gain()),
        ("size overhead over sz3 (%)", "overhead (%)", |r: &Row| {
            100.0 * r.overhead()
        }),
    ];
    for (panel, (title, ydesc, f)) in panels.iter().zip(metrics) {
        let (ylo, yhi) = padded(rows.iter().map(|r| f(r)).chain([0.0]), 0.05);
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("gwlz over sz3: {title}"), ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(xr.clone().log_scale(), ylo..yhi)?;
        chart
            .configure_mesh()
            .x_desc("pressio:rel")
            .y_desc(ydesc)
            .x_label_formatter(&|x| format!("{x:.0e}"))
            .draw()?;
        chart.draw_series(LineSeries::new(
            [(xr.start, 0.0), (xr.end, 0.0)],
            BLACK.mix(0.4).stroke_width(1),
        ))?;
        for (i, &fi) in fields.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let mut line: Vec<(f64, f64)> = rows
                .iter()
                .filter(|r| r.spec.field == fi)
                .map(|r| (r.spec.rel, f(r)))
                .collect();
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
            chart
                .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?
                .label(loaded[fi].name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            chart.draw_series(line.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

fn plot_groups(
    path: &Path,
    rows: &[&Row],
    loaded: &[Loaded],
) -> Result<(), Box<dyn std::error::Error>> {
    if rows.is_empty() {
        return Ok(());
    }
    let fields = fields_of(rows, loaded);
    let mut rels: Vec<f64> = rows.iter().map(|r| r.spec.rel).collect();
    rels.sort_by(|a, b| b.total_cmp(a));
    rels.dedup();
    let (nr, nc) = (fields.len(), rels.len());
    let root = BitMapBackend::new(path, (600 * nc as u32, 420 * nr as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((nr, nc));
    let gmax = GROUPS.iter().copied().max().unwrap_or(20) as f64;
    for (pi, panel) in panels.iter().enumerate() {
        let (fi, rel) = (fields[pi / nc], rels[pi % nc]);
        let mut line: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.spec.field == fi && r.spec.rel == rel)
            .filter_map(|r| Some((r.spec.groups? as f64, r.gwlz.psnr)))
            .collect();
        if line.is_empty() {
            continue;
        }
        line.sort_by(|a, b| a.0.total_cmp(&b.0));
        let inner = rows
            .iter()
            .find(|r| r.spec.field == fi && r.spec.rel == rel)
            .map_or(f64::NAN, |r| r.inner.psnr);
        let (ylo, yhi) = padded(line.iter().map(|p| p.1).chain([inner]), 0.02);
        let color = Palette99::pick(pi).to_rgba();
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!("{} rel {rel:.0e}", loaded[fi].name),
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..gmax + 1.0, ylo..yhi)?;
        chart
            .configure_mesh()
            .x_desc("gwlz:groups (max_overhead 1.0)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc("PSNR (dB)")
            .y_label_formatter(&|y| format!("{y:.2}"))
            .draw()?;
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?
            .label("gwlz over sz3")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        chart.draw_series(line.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        if inner.is_finite() {
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.0, inner), (gmax + 1.0, inner)],
                    8,
                    6,
                    BLACK.stroke_width(2),
                ))?
                .label("sz3 alone")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
    }
    root.present()?;
    Ok(())
}
