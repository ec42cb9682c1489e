//! DeepCQ from the command line: `predict` (the whole predicted table for a field), `opt` (pick
//! a bound for a target by prediction, next to a bisection with real compressions) and
//! `deepcq-bench` (MAPE on held-out tiles like the paper's Table V, a predicted-against-actual
//! plot, and the cost of predicting against computing).

use crate::error::{CliError, CliResult};
use crate::input::read_raw;
use plotters::prelude::*;
use pressio_ml::{DType, Data, Registry};
use pressio_ml_metric_deepcq::labels::{log_bounds, measure, read_field, tile_data, Split};
use pressio_ml_metric_deepcq::model::{LoadedModel, Table};
use pressio_ml_metric_deepcq::net::HeadKind;
use pressio_ml_metric_deepcq::search::{bisection, by_prediction, Outcome, Target};
use pressio_ml_metric_deepcq::targets::{mape, Quality, QUALITIES};
use pressio_ml_metric_deepcq::train_cli::{labels, tiles, TrainArgs};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The input flags shared by `predict` and `opt`.
#[derive(Debug, Clone, clap::Args)]
pub struct FieldArgs {
    /// Input file (raw little-endian values).
    #[arg(short = 'i', value_name = "FILE")]
    pub input: PathBuf,
    /// Element type (default: from the extension).
    #[arg(short = 't', value_name = "TYPE", value_parser = |s: &str| DType::parse(s).map_err(|e| e.to_string()))]
    pub dtype: Option<DType>,
    /// One dimension, fastest first; repeat (default: from a `_AxBxC` name suffix).
    #[arg(short = 'd', value_name = "N")]
    pub dims: Vec<usize>,
    /// DeepCQ model (name or path).
    #[arg(long, default_value = pressio_ml_metric_deepcq::DEFAULT_MODEL)]
    pub model: String,
    /// Head variant: auto, mlp or moe.
    #[arg(long, default_value = "auto")]
    pub head: String,
}

impl FieldArgs {
    fn load(&self) -> CliResult<(Data, LoadedModel, HeadKind)> {
        let data = read_raw(&self.input, self.dtype, &self.dims)?;
        let model = LoadedModel::load(&self.model)?;
        let kind = match self.head.as_str() {
            "auto" => model.hyper.default_head,
            other => HeadKind::parse(other).ok_or_else(|| {
                CliError::usage(format!("--head {other}: expected auto, mlp or moe"))
            })?,
        };
        Ok((data, model, kind))
    }
}

/// Arguments of `predict`.
#[derive(Debug, Clone, clap::Args)]
pub struct PredictArgs {
    #[command(flatten)]
    field: FieldArgs,
    /// Compressors (repeat; default: every compressor the model has heads for).
    #[arg(long = "compressor")]
    compressors: Vec<String>,
    /// Relative bounds (repeat; default: 20 log-spaced over the model's trained range).
    #[arg(long = "bound")]
    bounds: Vec<f64>,
}

/// Arguments of `opt`.
#[derive(Debug, Clone, clap::Args)]
pub struct OptArgs {
    #[command(flatten)]
    field: FieldArgs,
    /// Compressor whose bound is searched.
    #[arg(long)]
    compressor: String,
    /// Target compression ratio.
    #[arg(long, group = "target")]
    target_ratio: Option<f64>,
    /// Target PSNR (dB).
    #[arg(long, group = "target")]
    target_psnr: Option<f64>,
    /// Minimum SSIM (the loosest bound that keeps it).
    #[arg(long, group = "target")]
    min_ssim: Option<f64>,
    /// Relative tolerance on the target.
    #[arg(long, default_value_t = 0.05)]
    tolerance: f64,
    /// Most real compressions either search may use.
    #[arg(long, default_value_t = 16)]
    max_compressions: usize,
    /// Skip the bisection baseline.
    #[arg(long)]
    no_bisection: bool,
}

impl OptArgs {
    fn target(&self) -> CliResult<Target> {
        match (self.target_ratio, self.target_psnr, self.min_ssim) {
            (Some(r), None, None) => Ok(Target::Ratio(r)),
            (None, Some(p), None) => Ok(Target::Psnr(p)),
            (None, None, Some(s)) => Ok(Target::MinSsim(s)),
            _ => Err(CliError::usage(
                "give exactly one of --target-ratio, --target-psnr, --min-ssim",
            )),
        }
    }
}

/// Run `predict`.
pub fn run_predict(a: &PredictArgs, out: &mut dyn Write) -> CliResult<()> {
    let (data, model, kind) = a.field.load()?;
    let started = Instant::now();
    let bounds = if a.bounds.is_empty() {
        let [lo, hi] = model.hyper.bound_range;
        log_bounds(lo, hi, 20)
    } else {
        a.bounds.clone()
    };
    let table = predict_table(&model, kind, &data, &bounds)?;
    let seconds = started.elapsed().as_secs_f64();
    let have = model.hyper.compressors();
    for c in &a.compressors {
        if !have.contains(c) {
            return Err(CliError::usage(format!(
                "model `{}` has no heads for compressor `{c}` (it has: {})",
                model.manifest.name,
                have.join(", ")
            )));
        }
    }
    writeln!(
        out,
        "# DeepCQ model {} ({} heads), {} bounds, predicted in {:.3} s",
        model.manifest.name,
        kind.name(),
        bounds.len(),
        seconds
    )?;
    writeln!(out, "compressor,rel_bound,compression_ratio,psnr,ssim")?;
    for (i, b) in bounds.iter().enumerate() {
        for (c, v) in table.compressors.iter().zip(&table.values[i]) {
            if a.compressors.is_empty() || a.compressors.contains(c) {
                writeln!(out, "{c},{b:.4e},{:.4},{:.3},{:.6}", v[0], v[1], v[2])?;
            }
        }
    }
    let [lo, hi] = model.hyper.bound_range;
    if bounds.iter().any(|b| !model.hyper.in_range(*b)) {
        writeln!(
            out,
            "# warning: bounds outside the trained range [{lo:e}, {hi:e}] are extrapolated"
        )?;
    }
    Ok(())
}

/// The predicted table for `data` (fill points under the default rule left out).
fn predict_table(
    model: &LoadedModel,
    kind: HeadKind,
    data: &Data,
    bounds: &[f64],
) -> CliResult<Table> {
    let (features, _) = model.data_features(data, &pressio_ml::FillSpec::default())?;
    Ok(model.table(&features, bounds, kind)?)
}

fn print_outcome(out: &mut dyn Write, what: &str, o: &Outcome) -> CliResult<()> {
    writeln!(
        out,
        "{what}: bound {:.4e}, measured {:.4}, target {}, {} real compressions, {:.3} s",
        o.bound,
        o.actual,
        if o.met { "met" } else { "NOT met" },
        o.compressions,
        o.seconds
    )?;
    for s in &o.steps {
        match s.predicted {
            Some(p) => writeln!(
                out,
                "  tried {:.4e}: predicted {p:.4}, measured {:.4}",
                s.bound, s.actual
            )?,
            None => writeln!(out, "  tried {:.4e}: measured {:.4}", s.bound, s.actual)?,
        }
    }
    Ok(())
}

/// Run `opt`.
pub fn run_opt(registry: &Registry, a: &OptArgs, out: &mut dyn Write) -> CliResult<()> {
    let target = a.target()?;
    if !registry.has_compressor(&a.compressor) {
        return Err(pressio_ml::PressioError::UnknownCompressor(a.compressor.clone()).into());
    }
    let (data, model, kind) = a.field.load()?;
    let p = by_prediction(
        registry,
        &model,
        kind,
        &a.compressor,
        &data,
        target,
        a.tolerance,
        a.max_compressions,
    )?;
    writeln!(
        out,
        "# {} on {}: target {target:?} within {}%",
        a.compressor,
        a.field.input.display(),
        a.tolerance * 100.0
    )?;
    print_outcome(out, "deepcq", &p)?;
    if !a.no_bisection {
        let b = bisection(
            registry,
            &a.compressor,
            &data,
            target,
            a.tolerance,
            model.hyper.bound_range,
            a.max_compressions,
        )?;
        print_outcome(out, "bisection", &b)?;
    }
    Ok(())
}

/// Arguments of `deepcq-bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Output folder (table, CSV, PNG).
    #[arg(long = "dir", default_value = "deepcq-bench")]
    dir: PathBuf,
    /// Model evaluated.
    #[arg(long, default_value = pressio_ml_metric_deepcq::DEFAULT_MODEL)]
    model: String,
    /// Label cache and data settings (as for `train deepcq`).
    #[command(flatten)]
    train: TrainArgs,
    /// Held-out fields for the cost and search measurements (stems; repeat).
    #[arg(long = "cost-field", default_values_t = ["ncep06_V_17x64x128".to_string(), "field999_999x999".to_string(), "wmag91_91x91x91".to_string()])]
    cost_fields: Vec<String>,
    /// Target ratios of the search comparison (repeat).
    #[arg(long = "target-ratio", default_values_t = [10.0, 30.0, 100.0])]
    target_ratios: Vec<f64>,
}

/// One held-out prediction.
struct Pred {
    field: String,
    compressor: String,
    quality: Quality,
    actual: f64,
    predicted: f64,
}

/// Run `deepcq-bench`.
pub fn run_bench(registry: &Registry, a: &BenchArgs, out: &mut dyn Write) -> CliResult<()> {
    std::fs::create_dir_all(&a.dir).map_err(|e| CliError::File {
        path: a.dir.clone(),
        source: e,
    })?;
    let model = LoadedModel::load(&a.model)?;
    let kind = model.hyper.default_head;
    let all_tiles = tiles(&a.train).map_err(CliError::Usage)?;
    let compressors = model.hyper.compressors();
    let [lo, hi] = model.hyper.bound_range;
    let bounds = log_bounds(lo, hi, a.train.bounds);
    let set = labels(
        registry,
        &all_tiles,
        &a.train.compressors,
        &bounds,
        &a.train.cache,
        !a.train.quiet,
    )
    .map_err(CliError::Usage)?;
    // predictions on every held-out tile
    let mut preds = Vec::new();
    let mut field_values: Option<(PathBuf, Vec<f64>)> = None;
    for l in set.tiles.iter().filter(|t| t.tile.split == Split::Test) {
        if field_values.as_ref().is_none_or(|(p, _)| *p != l.tile.path) {
            field_values = Some((l.tile.path.clone(), read_field(&l.tile.path)?.0));
        }
        let values = field_values.as_ref().map_or(&[][..], |f| f.1.as_slice());
        let data = tile_data(&l.tile, values)?;
        let table = predict_table(&model, kind, &data, &set.bounds)?;
        for (ci, c) in set.compressors.iter().enumerate() {
            if !compressors.contains(c) {
                continue;
            }
            for bi in 0..set.bounds.len() {
                let (Some(m), Some(p)) = (l.measured[ci][bi], table.get(bi, c)) else {
                    continue;
                };
                for q in QUALITIES {
                    let actual = m[q as usize];
                    if q.to_target(actual).is_none() {
                        continue;
                    }
                    let actual = q.from_target(q.to_target(actual).unwrap_or(actual));
                    preds.push(Pred {
                        field: l.tile.field.clone(),
                        compressor: c.clone(),
                        quality: q,
                        actual,
                        predicted: p[q as usize],
                    });
                }
            }
        }
    }
    if preds.is_empty() {
        return Err(CliError::input("no held-out tiles with labels"));
    }
    // Table V: MAPE per field, compressor and metric
    let mut cases: BTreeMap<(String, String, Quality), Vec<(f64, f64)>> = BTreeMap::new();
    for p in &preds {
        cases
            .entry((p.field.clone(), p.compressor.clone(), p.quality))
            .or_default()
            .push((p.predicted, p.actual));
    }
    let mut md = String::new();
    md.push_str(&format!(
        "# DeepCQ on held-out data: MAPE (%) per field, compressor and metric\n\nModel `{}` ({} \
         heads), {} held-out tiles, {} bounds {lo:e}..{hi:e}.\n\n| field |",
        model.manifest.name,
        kind.name(),
        set.tiles
            .iter()
            .filter(|t| t.tile.split == Split::Test)
            .count(),
        set.bounds.len()
    ));
    for c in &compressors {
        for q in QUALITIES {
            md.push_str(&format!(" {c} {} |", q.name()));
        }
    }
    md.push_str("\n|---|");
    for _ in 0..compressors.len() * 3 {
        md.push_str("---|");
    }
    md.push('\n');
    let fields: Vec<String> = {
        let mut f: Vec<String> = cases.keys().map(|k| k.0.clone()).collect();
        f.dedup();
        f
    };
    let mut csv = String::from("field,compressor,metric,mape_percent,points\n");
    let (mut under, mut total) = (0usize, 0usize);
    for f in &fields {
        md.push_str(&format!("| {f} |"));
        for c in &compressors {
            for q in QUALITIES {
                match cases.get(&(f.clone(), c.clone(), q)) {
                    Some(v) => {
                        let m = mape(v.iter().copied());
                        total += 1;
                        under += usize::from(m < 10.0);
                        md.push_str(&format!(" {m:.1} |"));
                        csv.push_str(&format!("{f},{c},{},{m:.3},{}\n", q.name(), v.len()));
                    }
                    None => md.push_str(" - |"),
                }
            }
        }
        md.push('\n');
    }
    let per_metric: Vec<String> = QUALITIES
        .iter()
        .map(|&q| {
            let m = mape(
                preds
                    .iter()
                    .filter(|p| p.quality == q)
                    .map(|p| (p.predicted, p.actual)),
            );
            format!("{} {m:.1}%", q.name())
        })
        .collect();
    md.push_str(&format!(
        "\n**{under} of {total} (field, compressor, metric) cases have a MAPE below 10%** \
         (the paper: 272 of 285). Overall MAPE: {}.\n",
        per_metric.join(", ")
    ));
    draw_scatter(
        &a.dir.join("deepcq_predicted_vs_actual.png"),
        &preds,
        &compressors,
    )?;

    // cost: predicting a whole table against computing it, and the searches
    md.push_str(
        "\n## Cost on whole held-out fields\n\n| field | values | predict table (s) | compute \
         table (s) | speed-up |\n|---|---|---|---|---|\n",
    );
    let mut search_md = String::from(
        "\n## Search for a target ratio within 5%\n\n| field | compressor | target | deepcq: \
         compressions | deepcq: s | deepcq: met | bisection: compressions | bisection: s | \
         bisection: met |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    // per search method: compressions, seconds, targets met, searches
    let mut totals = [(0usize, 0.0f64, 0usize, 0usize); 2];
    let dir = a
        .train
        .data_dir
        .clone()
        .unwrap_or_else(pressio_ml_nn::fields::default_data_dir);
    for name in &a.cost_fields {
        let Some(path) = pressio_ml_nn::fields::data_files(&dir)
            .into_iter()
            .find(|p| pressio_ml_nn::fields::stem(p) == *name)
        else {
            writeln!(
                out,
                "skipped cost field {name}: not found under {}",
                dir.display()
            )?;
            continue;
        };
        let data = read_raw(&path, Some(DType::Float), &[])?;
        let t = Instant::now();
        predict_table(&model, kind, &data, &set.bounds)?;
        let predict_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for c in &compressors {
            for b in &set.bounds {
                measure(registry, c, &data, *b)?;
            }
        }
        let compute_s = t.elapsed().as_secs_f64();
        md.push_str(&format!(
            "| {name} | {} | {predict_s:.3} | {compute_s:.1} | {:.0}x |\n",
            data.num_elements(),
            compute_s / predict_s
        ));
        for c in &compressors {
            for &r in &a.target_ratios {
                let target = Target::Ratio(r);
                let p = by_prediction(registry, &model, kind, c, &data, target, 0.05, 16)?;
                let b = bisection(registry, c, &data, target, 0.05, [lo, hi], 16)?;
                search_md.push_str(&format!(
                    "| {name} | {c} | {r} | {} | {:.2} | {} | {} | {:.2} | {} |\n",
                    p.compressions, p.seconds, p.met, b.compressions, b.seconds, b.met
                ));
                for (slot, o) in totals.iter_mut().zip([&p, &b]) {
                    slot.0 += o.compressions;
                    slot.1 += o.seconds;
                    slot.2 += usize::from(o.met);
                    slot.3 += 1;
                }
            }
        }
        writeln!(out, "measured cost and searches on {name}")?;
    }
    md.push_str(&search_md);
    for (what, t) in ["deepcq", "bisection"].iter().zip(&totals) {
        md.push_str(&format!(
            "\n**{what}:** {} real compressions and {:.1} s over {} searches, target met in {}.",
            t.0, t.1, t.3, t.2
        ));
    }
    md.push('\n');
    let write = |name: &str, text: &str| -> CliResult<()> {
        let p = a.dir.join(name);
        std::fs::write(&p, text).map_err(|e| CliError::File { path: p, source: e })
    };
    write("deepcq_mape.md", &md)?;
    write("deepcq_mape.csv", &csv)?;
    out.write_all(md.as_bytes())?;
    Ok(())
}

fn draw_scatter(path: &Path, preds: &[Pred], compressors: &[String]) -> CliResult<()> {
    let err = |e: String| CliError::Plot {
        path: path.to_path_buf(),
        message: e,
    };
    let root = BitMapBackend::new(path, (1500, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let panels = root.split_evenly((1, 3));
    let colors = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(255, 127, 14),
        RGBColor(148, 103, 189),
    ];
    for (panel, q) in panels.iter().zip(QUALITIES) {
        let pts: Vec<&Pred> = preds.iter().filter(|p| p.quality == q).collect();
        let vals = pts.iter().flat_map(|p| [p.actual, p.predicted]);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        let tr = |v: f64| match q {
            Quality::Ratio => v.max(1e-3).log10(),
            Quality::Psnr => v,
            Quality::Ssim => -(1.0 + 1e-4 - v.min(1.0)).log10(),
        };
        for v in vals.filter(|v| v.is_finite()) {
            lo = lo.min(tr(v));
            hi = hi.max(tr(v));
        }
        if lo >= hi {
            continue;
        }
        let pad = (hi - lo) * 0.05;
        let axis = match q {
            Quality::Ratio => "log10 compression ratio",
            Quality::Psnr => "PSNR (dB)",
            Quality::Ssim => "-log10(1 - SSIM)",
        };
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!("{}: predicted vs actual", q.name()),
                ("sans-serif", 20),
            )
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(lo - pad..hi + pad, lo - pad..hi + pad)
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc(format!("actual {axis}"))
            .y_desc(format!("predicted {axis}"))
            .draw()
            .map_err(|e| err(e.to_string()))?;
        chart
            .draw_series(LineSeries::new(
                vec![(lo - pad, lo - pad), (hi + pad, hi + pad)],
                BLACK.mix(0.5),
            ))
            .map_err(|e| err(e.to_string()))?;
        for (i, c) in compressors.iter().enumerate() {
            let col = colors[i % colors.len()];
            chart
                .draw_series(pts.iter().filter(|p| p.compressor == *c).map(|p| {
                    Circle::new((tr(p.actual), tr(p.predicted)), 2, col.mix(0.5).filled())
                }))
                .map_err(|e| err(e.to_string()))?
                .label(c.clone())
                .legend(move |(x, y)| Circle::new((x, y), 4, col.filled()));
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()
            .map_err(|e| err(e.to_string()))?;
    }
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(())
}
