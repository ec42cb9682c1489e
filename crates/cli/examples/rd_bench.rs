//! Rate-distortion benchmark of the learned plugins against the plain compressors they build
//! on, on fields and timesteps the shipped models never saw (small cuts of 33 K to 260 K values,
//! and whole fields of 0.8 M to 1.2 M values), in one run: `gwlz` (over `sz3`),
//! `aesz` (interpolation pipeline), `aesz-sz2` (the paper's SZ2.1-style pipeline), `classic`,
//! `sz3`, `zfp` and `sperr` at `pressio:rel` 1e-1 .. 1e-5.
//!
//! ```text
//! cargo run --release -p pressio-ml-cli --example rd_bench -- [--out DIR] [--quick]
//!     [--compressors gwlz,sz3] [--fields cesm,wrf]
//! ```
//!
//! Every point is one fresh compressor handle; PSNR (`20 log10(range) - 10 log10(MSE)`) and the
//! largest error are computed here in f64 against the original. Gains at equal rate are read
//! off the reference compressor's curve, interpolated linearly in (log ratio, PSNR) between its
//! measured bounds, the way rate-distortion papers compare:
//!
//! * `gwlz`: PSNR gain (dB) over `sz3` at `gwlz`'s own ratio, read three ways: off `sz3`'s
//!   curve through a dense sweep of bounds (8 per decade, `sz3-sweep` in the CSV, plus the
//!   nine), off its curve through the nine bounds alone, and off the best `sz3` can do at any
//!   of those bounds (their Pareto front). Between two sparse bounds the straight line misses
//!   `sz3`'s curvature, which makes the nine-bound reading unreliable at tight bounds; `sz3`
//!   also has bumps where a slightly tighter bound costs fewer bytes, which the Pareto reading
//!   charges even to `sz3`'s own stream (a stepped-aside `gwlz` stream is that stream);
//! * `aesz`, `aesz-sz2`: ratio at `aesz`'s own PSNR over `classic`'s (and `sz3`'s).
//!
//! Writes to `DIR` (default `target/rd-bench`): `rd.csv` (every point), `rd.md` (the points
//! and the gain tables, also printed), `rd_<field>.png` (PSNR against log2 bit rate per field) and
//! `rd_gain.png` (gwlz's gain over sz3 against the bound, one line per field).

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use pressio_ml::{DType, Data, Options};
use pressio_ml_testdata::plot::{line_chart, series_by, Chart, Series};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(about = "Rate-distortion of the learned plugins against the plain compressors")]
struct Args {
    /// Output directory.
    #[arg(long, default_value = "target/rd-bench")]
    out: PathBuf,
    /// Bounds 1e-1 .. 1e-3 only (the learned plugins' regime) and the first three fields.
    #[arg(long)]
    quick: bool,
    /// Comma-separated labels of the compressors to run (default: all).
    #[arg(long)]
    compressors: Option<String>,
    /// Comma-separated substrings; only fields whose name contains one run (default: all).
    #[arg(long)]
    fields: Option<String>,
}

/// A held-out field: a cut of a shared data file.
struct Field {
    name: &'static str,
    file: &'static str,
    /// Dims, fastest first.
    dims: Vec<usize>,
    /// First 2-D plane (dims[0] * dims[1] values) of the cut.
    first: usize,
    /// The `aesz` model whose training data excludes this cut.
    model: &'static str,
}

fn fields() -> Vec<Field> {
    vec![
        Field {
            name: "cesm-trefht-run7-y0-9",
            file: "geocat/cesm_trefht_ens_8x110x64x128.f32",
            dims: vec![128, 64, 10],
            first: 7 * 110,
            model: "aesz-2d",
        },
        Field {
            name: "wrf-U-step3",
            file: "wrf_python/U_4x14x48x49.f32",
            dims: vec![49, 48, 14],
            first: 3 * 14,
            model: "aesz-3d",
        },
        Field {
            name: "ncep-U",
            file: "geocat/ncep06_U_17x64x128.f32",
            dims: vec![128, 64, 17],
            first: 0,
            model: "aesz-3d",
        },
        Field {
            name: "cesm-trefht-run6-y50-59",
            file: "geocat/cesm_trefht_ens_8x110x64x128.f32",
            dims: vec![128, 64, 10],
            first: 6 * 110 + 50,
            model: "aesz-2d",
        },
        Field {
            name: "wrf-QVAPOR-step3",
            file: "wrf_python/QVAPOR_4x14x48x48.f32",
            dims: vec![48, 48, 14],
            first: 3 * 14,
            model: "aesz-3d",
        },
        Field {
            name: "wrf-T-step3",
            file: "wrf_python/T_4x14x48x48.f32",
            dims: vec![48, 48, 14],
            first: 3 * 14,
            model: "aesz-3d",
        },
        Field {
            name: "ncep-T",
            file: "geocat/ncep06_T_17x64x128.f32",
            dims: vec![128, 64, 17],
            first: 0,
            model: "aesz-3d",
        },
        Field {
            name: "cesm-trefht-run7-full",
            file: "geocat/cesm_trefht_ens_8x110x64x128.f32",
            dims: vec![128, 64, 110],
            first: 7 * 110,
            model: "aesz-2d",
        },
        Field {
            name: "era5-t2m",
            file: "xarray_data/era5_t2m_uk_hourly_744x33x49.f32",
            dims: vec![49, 33, 744],
            first: 0,
            model: "aesz-3d",
        },
        Field {
            name: "field999",
            file: "sperr/field999_999x999.f32",
            dims: vec![999, 999],
            first: 0,
            model: "aesz-2d",
        },
        Field {
            name: "wmag91",
            file: "sperr/wmag91_91x91x91.f32",
            dims: vec![91, 91, 91],
            first: 0,
            model: "aesz-3d",
        },
        Field {
            name: "ccsm-ts",
            file: "geocat/ccsm_b003_ts_100x64x128.f32",
            dims: vec![128, 64, 100],
            first: 0,
            model: "aesz-2d",
        },
        Field {
            name: "vorticity2d-512",
            file: "sperr/vorticity2d_512x512.f32",
            dims: vec![512, 512],
            first: 0,
            model: "aesz-2d",
        },
    ]
}

/// Compressor labels, drawing order (learned plugins last, on top).
const LABELS: [&str; 7] = ["zfp", "sperr", "sz3", "classic", "aesz-sz2", "aesz", "gwlz"];
const RELS: [f64; 9] = [1e-1, 5e-2, 3e-2, 2e-2, 1e-2, 3e-3, 1e-3, 1e-4, 1e-5];
const QUICK_RELS: [f64; 6] = [1e-1, 5e-2, 3e-2, 2e-2, 1e-2, 1e-3];
/// Label of `sz3`'s dense sweep.
const SWEEP: &str = "sz3-sweep";
/// Bounds per decade of the dense sweep.
const SWEEP_PER_DECADE: i32 = 8;

/// The dense sweep's bounds from the loosest to the tightest of `rels`, without `rels`
/// themselves.
fn sweep_rels(rels: &[f64]) -> Vec<f64> {
    let (hi, lo) = (rels[0].log10(), rels[rels.len() - 1].log10());
    let steps = ((hi - lo) * SWEEP_PER_DECADE as f64).round() as i32;
    (0..=steps)
        .map(|k| 10f64.powf(hi - k as f64 / SWEEP_PER_DECADE as f64))
        .filter(|r| rels.iter().all(|q| (q / r - 1.0).abs() > 1e-3))
        .collect()
}

/// The compressor id and options of a label on a field.
fn config(label: &str, f: &Field) -> (&'static str, Options) {
    match label {
        "gwlz" => ("gwlz", Options::new().with("gwlz:compressor", "sz3")),
        "aesz" => (
            "aesz",
            Options::new()
                .with("aesz:model", f.model)
                .with("aesz:pipeline", "interp"),
        ),
        "aesz-sz2" => (
            "aesz",
            Options::new()
                .with("aesz:model", f.model)
                .with("aesz:pipeline", "sz2"),
        ),
        "classic" => ("classic", Options::new()),
        "sz3" => ("sz3", Options::new()),
        "zfp" => ("zfp", Options::new()),
        _ => ("sperr", Options::new()),
    }
}

fn load(dir: &Path, f: &Field) -> Option<Data> {
    let bytes = std::fs::read(dir.join(f.file)).ok()?;
    let n: usize = f.dims.iter().product();
    let start = f.first * f.dims[0] * f.dims[1] * 4;
    Data::from_bytes(DType::Float, &f.dims, bytes.get(start..start + n * 4)?).ok()
}

/// One measured point.
#[derive(Debug, Clone)]
struct Point {
    field: String,
    label: String,
    rel: f64,
    bitrate: f64,
    psnr: f64,
    ratio: f64,
    max_over_bound: f64,
}

fn measure(label: &str, f: &Field, input: &Data, rel: f64) -> Result<Point, String> {
    let (id, opts) = config(label, f);
    let mut c = pressio_ml::registry()
        .compressor(id)
        .map_err(|e| e.to_string())?;
    c.set_options(&opts.with("pressio:rel", rel))
        .map_err(|e| e.to_string())?;
    let mut s = Data::empty(DType::Byte, &[]);
    c.compress(input, &mut s).map_err(|e| e.to_string())?;
    let mut d = Data::empty(DType::Float, input.dims());
    c.decompress(&s, &mut d).map_err(|e| e.to_string())?;
    let v = input.as_slice::<f32>().map_err(|e| e.to_string())?;
    let dv = d.as_slice::<f32>().map_err(|e| e.to_string())?;
    let range = pressio_ml_testdata::value_range(v);
    let mse = v
        .iter()
        .zip(dv)
        .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
        .sum::<f64>()
        / v.len() as f64;
    Ok(Point {
        field: f.name.into(),
        label: label.into(),
        rel,
        bitrate: s.num_bytes() as f64 * 8.0 / v.len() as f64,
        psnr: 20.0 * range.log10() - 10.0 * mse.log10(),
        ratio: input.num_bytes() as f64 / s.num_bytes() as f64,
        max_over_bound: pressio_ml_testdata::max_abs_error(v, dv) / (rel * range),
    })
}

/// The reference curve's PSNR at `ratio` (linear in log ratio between its neighbouring
/// points), if `ratio` lies within its measured span.
fn psnr_at_ratio(curve: &[&Point], ratio: f64) -> Option<f64> {
    let mut c: Vec<(f64, f64)> = curve.iter().map(|p| (p.ratio.ln(), p.psnr)).collect();
    c.sort_by(|a, b| a.0.total_cmp(&b.0));
    let x = ratio.ln();
    c.windows(2).find_map(|w| {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        (x0 <= x && x <= x1).then(|| {
            if x1 > x0 {
                y0 + (x - x0) / (x1 - x0) * (y1 - y0)
            } else {
                y0.max(y1)
            }
        })
    })
}

/// The reference curve's ratio at `psnr` (log ratio linear in PSNR between neighbouring
/// points), if `psnr` lies within its measured span.
fn ratio_at_psnr(curve: &[&Point], psnr: f64) -> Option<f64> {
    let mut c: Vec<(f64, f64)> = curve.iter().map(|p| (p.psnr, p.ratio.ln())).collect();
    c.sort_by(|a, b| a.0.total_cmp(&b.0));
    c.windows(2).find_map(|w| {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        (x0 <= psnr && psnr <= x1).then(|| {
            if x1 > x0 {
                (y0 + (psnr - x0) / (x1 - x0) * (y1 - y0)).exp()
            } else {
                y0.max(y1).exp()
            }
        })
    })
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

fn main() {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out).expect("output directory");
    let Some(data) = pressio_ml_testdata::data_dir() else {
        eprintln!("no shared data (set PRESSIO_ML_DATA)");
        return;
    };
    let wanted: Vec<String> = args
        .compressors
        .as_deref()
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect())
        .unwrap_or_else(|| LABELS.iter().map(|s| s.to_string()).collect());
    let labels: Vec<&str> = LABELS
        .iter()
        .copied()
        .filter(|l| wanted.iter().any(|w| w == l))
        .collect();
    let mut fs: Vec<Field> = fields();
    if let Some(sel) = &args.fields {
        let subs: Vec<&str> = sel.split(',').map(str::trim).collect();
        fs.retain(|f| subs.iter().any(|s| f.name.contains(s)));
    } else if args.quick {
        fs.truncate(3);
    }
    let rels: &[f64] = if args.quick { &QUICK_RELS } else { &RELS };
    let loaded: Vec<(Field, Data)> = fs
        .into_iter()
        .filter_map(|f| match load(&data, &f) {
            Some(d) => Some((f, d)),
            None => {
                eprintln!("skipped {} (file missing)", f.name);
                None
            }
        })
        .collect();
    let sweep = if labels.contains(&"gwlz") && labels.contains(&"sz3") {
        sweep_rels(rels)
    } else {
        Vec::new()
    };
    let bar = ProgressBar::new((loaded.len() * (labels.len() * rels.len() + sweep.len())) as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed_precise} {msg}")
            .expect("style"),
    );
    let mut points = Vec::new();
    for (f, input) in &loaded {
        for label in &labels {
            for &rel in rels {
                bar.set_message(format!("{} {label} {rel:.0e}", f.name));
                match measure(label, f, input, rel) {
                    Ok(p) => points.push(p),
                    Err(e) => bar.println(format!("{} {label} {rel:.0e}: {e}", f.name)),
                }
                bar.inc(1);
            }
        }
        for &rel in &sweep {
            bar.set_message(format!("{} {SWEEP} {rel:.1e}", f.name));
            match measure("sz3", f, input, rel) {
                Ok(p) => points.push(Point {
                    label: SWEEP.into(),
                    ..p
                }),
                Err(e) => bar.println(format!("{} {SWEEP} {rel:.1e}: {e}", f.name)),
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let md = report(&points, &loaded, &labels, rels);
    print!("{md}");
    std::fs::write(args.out.join("rd.md"), &md).expect("rd.md");
    let mut csv = String::from("field,compressor,rel,bitrate,psnr_db,ratio,max_err_over_bound\n");
    for p in &points {
        let _ = writeln!(
            csv,
            "{},{},{:e},{:.5},{:.3},{:.3},{:.4}",
            p.field, p.label, p.rel, p.bitrate, p.psnr, p.ratio, p.max_over_bound
        );
    }
    std::fs::write(args.out.join("rd.csv"), csv).expect("rd.csv");
    for (f, _) in &loaded {
        let pts: Vec<&Point> = points.iter().filter(|p| p.field == f.name).collect();
        let title = format!("{}: PSNR against bit rate", f.name);
        let series = series_by(&labels, &pts, |p| &p.label, |p| (p.bitrate.log2(), p.psnr));
        let path = args.out.join(format!("rd_{}.png", f.name));
        if let Err(e) = line_chart(
            &path,
            Chart {
                title: &title,
                x: "log2 bit rate (bits/value)",
                y: "PSNR (dB)",
            },
            &series,
        ) {
            eprintln!("plot {}: {e}", path.display());
        }
    }
    let gains: Vec<Series> = loaded
        .iter()
        .map(|(f, _)| Series {
            label: f.name.to_string(),
            points: rels
                .iter()
                .filter_map(|&r| gwlz_gain_swept(&points, f.name, r).map(|g| (r.log10(), g)))
                .collect(),
        })
        .collect();
    if gains.iter().any(|s| !s.points.is_empty()) {
        if let Err(e) = line_chart(
            &args.out.join("rd_gain.png"),
            Chart {
                title: "gwlz over sz3 (dense sweep): PSNR gain at equal ratio",
                x: "log10 pressio:rel",
                y: "gain (dB)",
            },
            &gains,
        ) {
            eprintln!("plot rd_gain.png: {e}");
        }
    }
    eprintln!("wrote {}", args.out.display());
}

fn point<'a>(points: &'a [Point], field: &str, label: &str, rel: f64) -> Option<&'a Point> {
    points
        .iter()
        .find(|p| p.field == field && p.label == label && p.rel == rel)
}

fn curve<'a>(points: &'a [Point], field: &str, label: &str) -> Vec<&'a Point> {
    points
        .iter()
        .filter(|p| p.field == field && p.label == label)
        .collect()
}

/// gwlz's PSNR gain over sz3's curve through the nine bounds at gwlz's ratio on `field` at
/// `rel`.
fn gwlz_gain(points: &[Point], field: &str, rel: f64) -> Option<f64> {
    let g = point(points, field, "gwlz", rel)?;
    Some(g.psnr - psnr_at_ratio(&curve(points, field, "sz3"), g.ratio)?)
}

/// gwlz's PSNR gain at gwlz's ratio over sz3's curve through every sz3 point on `field` (the
/// nine bounds and the dense sweep).
fn gwlz_gain_swept(points: &[Point], field: &str, rel: f64) -> Option<f64> {
    let g = point(points, field, "gwlz", rel)?;
    let mut all = curve(points, field, "sz3");
    all.extend(curve(points, field, SWEEP));
    Some(g.psnr - psnr_at_ratio(&all, g.ratio)?)
}

/// gwlz's PSNR gain at gwlz's ratio over the Pareto front of every sz3 point on `field` (the
/// nine bounds and the dense sweep): no other sz3 point has both a higher ratio and a higher
/// PSNR than a front point.
fn gwlz_gain_front(points: &[Point], field: &str, rel: f64) -> Option<f64> {
    let g = point(points, field, "gwlz", rel)?;
    let mut all = curve(points, field, "sz3");
    all.extend(curve(points, field, SWEEP));
    let front: Vec<&Point> = all
        .iter()
        .copied()
        .filter(|p| {
            !all.iter().any(|q| {
                q.ratio >= p.ratio && q.psnr > p.psnr || q.ratio > p.ratio && q.psnr >= p.psnr
            })
        })
        .collect();
    Some(g.psnr - psnr_at_ratio(&front, g.ratio)?)
}

/// `label`'s ratio over `reference`'s curve at `label`'s PSNR on `field` at `rel`.
fn ratio_gain(
    points: &[Point],
    field: &str,
    label: &str,
    reference: &str,
    rel: f64,
) -> Option<f64> {
    let a = point(points, field, label, rel)?;
    Some(a.ratio / ratio_at_psnr(&curve(points, field, reference), a.psnr)?)
}

fn report(points: &[Point], loaded: &[(Field, Data)], labels: &[&str], rels: &[f64]) -> String {
    let mut md = String::from("# Rate-distortion on held-out fields\n\n");
    let _ = writeln!(
        md,
        "Gains at equal rate are read off the reference's curve (linear in log ratio and PSNR \
         between its bounds); `-` where the point lies outside the reference's measured span.\n"
    );
    let has = |l: &str| labels.contains(&l);
    let fmt =
        |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |x| format!("{x:+.digits$}"));
    let header = |md: &mut String, title: &str| {
        let _ = writeln!(md, "## {title}\n");
        let _ = write!(md, "| field |");
        for r in rels {
            let _ = write!(md, " {r:.0e} |");
        }
        let _ = write!(md, "\n|---|");
        for _ in rels {
            let _ = write!(md, "---|");
        }
        md.push('\n');
    };
    type Gain = fn(&[Point], &str, f64) -> Option<f64>;
    let gains: [(&str, Gain); 3] = [
        (
            "gwlz over sz3: PSNR gain (dB) at gwlz's ratio, over sz3's curve through its dense \
             sweep",
            gwlz_gain_swept,
        ),
        (
            "gwlz over sz3: PSNR gain (dB) at gwlz's ratio, over the Pareto front of sz3's dense \
             sweep",
            gwlz_gain_front,
        ),
        (
            "gwlz over sz3: PSNR gain (dB) at gwlz's ratio, over sz3's curve through the nine \
             bounds",
            gwlz_gain,
        ),
    ];
    for (title, gain) in gains.into_iter().filter(|_| has("gwlz") && has("sz3")) {
        header(&mut md, title);
        let mut by_rel: Vec<Vec<f64>> = vec![Vec::new(); rels.len()];
        for (f, _) in loaded {
            let _ = write!(md, "| {} |", f.name);
            for (i, &r) in rels.iter().enumerate() {
                let g = gain(points, f.name, r);
                if let Some(g) = g {
                    by_rel[i].push(g);
                }
                let _ = write!(md, " {} |", fmt(g, 2));
            }
            md.push('\n');
        }
        let _ = write!(md, "| **median** |");
        for v in &by_rel {
            let _ = write!(md, " **{}** |", fmt(median(v.clone()), 2));
        }
        let _ = write!(md, "\n| **worst** |");
        for v in &by_rel {
            let _ = write!(md, " {} |", fmt(v.iter().copied().reduce(f64::min), 2));
        }
        md.push_str("\n\n");
    }
    for (label, reference) in [
        ("aesz", "classic"),
        ("aesz-sz2", "classic"),
        ("aesz", "sz3"),
    ] {
        if !(has(label) && has(reference)) {
            continue;
        }
        header(
            &mut md,
            &format!("{label} over {reference}: ratio at {label}'s PSNR (x)"),
        );
        for (f, _) in loaded {
            let _ = write!(md, "| {} |", f.name);
            for &r in rels {
                let g = ratio_gain(points, f.name, label, reference, r);
                let _ = write!(md, " {} |", g.map_or("-".into(), |x| format!("{x:.3}")));
            }
            md.push('\n');
        }
        md.push('\n');
    }
    let _ = writeln!(md, "## Points\n");
    let _ = writeln!(
        md,
        "| field | compressor | rel | bit rate | PSNR (dB) | ratio | max err / bound |\n\
         |---|---|---|---|---|---|---|"
    );
    for p in points.iter().filter(|p| p.label != SWEEP) {
        let _ = writeln!(
            md,
            "| {} | {} | {:.0e} | {:.4} | {:.2} | {:.2} | {:.3} |",
            p.field, p.label, p.rel, p.bitrate, p.psnr, p.ratio, p.max_over_bound
        );
    }
    md
}
