//! Benchmark of `cfnn` on slices its models never saw, for every shared multi-field set
//! (`pressio_ml_testdata::multifield`): with the shipped model where there is one
//! (`cfnn-wrf-w-3d`, `cfnn-mpi-tas-2d`, `cfnn-ncep-t-3d`), else a 2-D model trained here on the
//! set's training slices. On the held-out slices, at `pressio:rel` 5e-3, 1e-3, 5e-4, 2e-4 and
//! 1e-4, in the same run:
//!
//! * `cfnn`: the target's stream from `compress_many([target, anchors...])` (anchors by `sz3`);
//!   timed in single-field mode with the same decompressed anchors (`cfnn:anchors`, the same
//!   stream), so the MB/s are the target's own;
//! * `cfnn+model`: the same with `cfnn:embed_model` (the model counted in the stream, as the
//!   paper counts it);
//! * `cfnn-baseline`: `cfnn:use_network=false`, the dual-quantized Lorenzo baseline;
//! * `classic`, `sz3`, `zfp`, `sperr` on the target alone.
//!
//! ```text
//! cargo run -p pressio-ml-cfnn --release --example cfnn_bench -- [OUT_DIR] [EPOCHS]
//! ```
//!
//! Writes `OUT_DIR/cfnn_bench.md` and `.csv` (set, compressor, bound, ratio, gain over the
//! baseline, max error over the bound, network used, compress and decompress MB/s) and
//! `OUT_DIR/cfnn_ratio_<set>.png` (ratio against the bound). Models trained here go to
//! `OUT_DIR/models`. `OUT_DIR` defaults to `target/cfnn-bench`, `EPOCHS` to 6.

use pressio_ml_cfnn::train::{train, TrainOptions};
use pressio_ml_core::{DType, Data, Options, Registry, RegistryBuilder};
use pressio_ml_testdata::multifield::{self, MultiField};
use pressio_ml_testdata::plot::{line_chart, series_by, Chart};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Shipped models by set.
const SHIPPED: [(&str, &str); 3] = [
    ("wrf", "cfnn-wrf-w-3d"),
    ("mpi", "cfnn-mpi-tas-2d"),
    ("ncep", "cfnn-ncep-t-3d"),
];

fn registry() -> Registry {
    let mut b = RegistryBuilder::new();
    pressio_ml_cfnn::register(&mut b).expect("cfnn");
    pressio_ml_classic::register(&mut b).expect("classic");
    pressio_ml_sz3::register(&mut b).expect("sz3");
    pressio_ml_zfp::register(&mut b).expect("zfp");
    pressio_ml_sperr::register(&mut b).expect("sperr");
    b.build()
}

struct Point {
    case: String,
    comp: String,
    rel: f64,
    ratio: f64,
    max_over_bound: f64,
    network: Option<u32>,
    comp_mbs: f64,
    decomp_mbs: f64,
}

/// The set's model: the shipped one, or one trained on its training slices.
fn model_for(set: &MultiField, out: &Path, epochs: u32) -> String {
    if let Some((_, name)) = SHIPPED.iter().find(|(s, _)| *s == set.name) {
        if pressio_ml_nn::model::resolve(name).is_ok() {
            eprintln!("{}: shipped model {name}", set.name);
            return name.to_string();
        }
    }
    let part = set.train_part();
    eprintln!(
        "{}: training a 2-D model on {} of {} slices",
        set.name,
        part.slices(),
        set.slices()
    );
    let started = Instant::now();
    let report = train(
        &pressio_ml_cfnn::train::TrainField::from_f32(&part.target, &part.anchors, &part.dims),
        &TrainOptions {
            dims: 2,
            tile: 36,
            epochs,
            windows: 384,
            batch: 8,
            lr: 2e-3,
            seed: 7,
            validation: 0.2,
            name: format!("cfnn-bench-{}", set.name),
            out_dir: out.join("models"),
            description: format!("cfnn_bench model for the {} set", set.name),
            anchor_names: set.anchor_names.iter().map(|s| s.to_string()).collect(),
            target_name: set.target_name.into(),
            device: tch::Device::Cpu,
            progress: true,
        },
    )
    .expect("training");
    eprintln!(
        "  {:.0} s, validation mse {:.4} (zero predictor {:.4})",
        started.elapsed().as_secs_f64(),
        report.validation_mse,
        report.zero_mse
    );
    report.manifest_path.display().to_string()
}

/// The decoded anchors `compress_many` gives the target at `rel` (the anchors by `sz3`).
fn decoded_anchors(reg: &Registry, model: &str, inputs: &[Data], rel: f64) -> Vec<Data> {
    let mut c = reg.compressor("cfnn").expect("cfnn");
    c.set_options(
        &Options::new()
            .with("pressio:rel", rel)
            .with("cfnn:model", model),
    )
    .expect("options");
    let refs: Vec<&Data> = inputs.iter().collect();
    let mut streams: Vec<Data> = inputs
        .iter()
        .map(|_| Data::empty(DType::Byte, &[]))
        .collect();
    c.compress_many(&refs, &mut streams).expect("compress_many");
    let srefs: Vec<&Data> = streams.iter().collect();
    let mut outs: Vec<Data> = inputs
        .iter()
        .map(|d| Data::empty(d.dtype(), d.dims()))
        .collect();
    c.decompress_many(&srefs, &mut outs)
        .expect("decompress_many");
    outs.split_off(1)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/cfnn-bench"));
    let epochs: u32 = args.next().and_then(|e| e.parse().ok()).unwrap_or(6);
    let Some(data) = pressio_ml_testdata::data_dir() else {
        eprintln!("no shared data (set PRESSIO_ML_DATA)");
        return;
    };
    std::fs::create_dir_all(out.join("models")).expect("output directory");
    let reg = registry();
    let rels = [5e-3, 1e-3, 5e-4, 2e-4, 1e-4];
    let mut points = Vec::new();
    for set in multifield::sets(&data) {
        let model = model_for(&set, &out, epochs);
        let test = set.test_part();
        let dims = test.dims.clone();
        let inputs: Vec<Data> = std::iter::once(&test.target)
            .chain(&test.anchors)
            .map(|v| Data::from_vec(v.clone(), &dims).expect("data"))
            .collect();
        let input = &inputs[0];
        let range = pressio_ml_testdata::value_range(&test.target);
        eprintln!(
            "{}: {} from {} on {} held-out slices ({} values)",
            set.name,
            set.target_name,
            set.anchor_names.join(", "),
            test.slices(),
            test.len()
        );
        for &rel in &rels {
            let decoded = decoded_anchors(&reg, &model, &inputs, rel);
            let anchors = pressio_ml_cfnn::anchors::stack(&decoded.iter().collect::<Vec<_>>())
                .expect("stacked anchors");
            let configs: Vec<(&str, &str, Options)> = vec![
                (
                    "cfnn",
                    "cfnn",
                    Options::new()
                        .with("cfnn:model", model.clone())
                        .with("cfnn:anchors", anchors.clone()),
                ),
                (
                    "cfnn+model",
                    "cfnn",
                    Options::new()
                        .with("cfnn:model", model.clone())
                        .with("cfnn:anchors", anchors.clone())
                        .with("cfnn:embed_model", true),
                ),
                (
                    "cfnn-baseline",
                    "cfnn",
                    Options::new().with("cfnn:use_network", false),
                ),
                ("classic", "classic", Options::new()),
                ("sz3", "sz3", Options::new()),
                ("zfp", "zfp", Options::new()),
                ("sperr", "sperr", Options::new()),
            ];
            for (label, id, opts) in &configs {
                let mut c = reg.compressor(id).expect("compressor");
                c.set_options(&opts.clone().with("pressio:rel", rel))
                    .expect("options");
                let mut s = Data::empty(DType::Byte, &[]);
                let t0 = Instant::now();
                c.compress(input, &mut s).expect("compress");
                let tc = t0.elapsed().as_secs_f64();
                let network = (*id == "cfnn").then(|| {
                    c.get_metrics_results()
                        .get_typed::<u32>("cfnn:network_used")
                        .ok()
                        .flatten()
                        .unwrap_or(0)
                });
                let mut d = Data::empty(DType::Float, input.dims());
                let t0 = Instant::now();
                c.decompress(&s, &mut d).expect("decompress");
                let td = t0.elapsed().as_secs_f64();
                let mb = input.num_bytes() as f64 / 1e6;
                let p = Point {
                    case: set.name.into(),
                    comp: label.to_string(),
                    rel,
                    ratio: input.num_bytes() as f64 / s.num_bytes() as f64,
                    max_over_bound: pressio_ml_testdata::max_abs_error(
                        &test.target,
                        d.as_slice::<f32>().expect("f32"),
                    ) / (rel * range),
                    network,
                    comp_mbs: mb / tc,
                    decomp_mbs: mb / td,
                };
                eprintln!(
                    "  {:<14} rel {:7.0e}: ratio {:7.2}, max err / bound {:.3}{}",
                    p.comp,
                    p.rel,
                    p.ratio,
                    p.max_over_bound,
                    p.network
                        .map_or(String::new(), |n| format!(", network {n}"))
                );
                points.push(p);
            }
        }
    }
    let mut csv = String::from(
        "set,compressor,rel,ratio,gain_over_baseline,max_err_over_bound,network_used,compress_mb_s,decompress_mb_s\n",
    );
    let mut md = String::from(
        "| set | compressor | rel | ratio | vs baseline | max err / bound | network | compress MB/s | decompress MB/s |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for p in &points {
        let base = points
            .iter()
            .find(|b| b.case == p.case && b.comp == "cfnn-baseline" && b.rel == p.rel)
            .map_or(f64::NAN, |b| b.ratio);
        let gain = (p.ratio / base - 1.0) * 100.0;
        let net = p.network.map_or(String::new(), |n| n.to_string());
        let _ = writeln!(
            csv,
            "{},{},{:e},{:.4},{:.2},{:.4},{},{:.3},{:.3}",
            p.case, p.comp, p.rel, p.ratio, gain, p.max_over_bound, net, p.comp_mbs, p.decomp_mbs
        );
        let _ = writeln!(
            md,
            "| {} | {} | {:.0e} | {:.2} | {:+.1}% | {:.3} | {} | {:.2} | {:.2} |",
            p.case, p.comp, p.rel, p.ratio, gain, p.max_over_bound, net, p.comp_mbs, p.decomp_mbs
        );
    }
    std::fs::write(out.join("cfnn_bench.csv"), csv).expect("csv");
    std::fs::write(out.join("cfnn_bench.md"), md).expect("md");
    let cases: Vec<String> = points
        .iter()
        .map(|p| p.case.clone())
        .fold(vec![], |mut v, c| {
            if !v.contains(&c) {
                v.push(c);
            }
            v
        });
    for c in cases {
        let pts: Vec<&Point> = points.iter().filter(|p| p.case == c).collect();
        if let Err(e) = plot(&out.join(format!("cfnn_ratio_{c}.png")), &c, &pts) {
            eprintln!("plot {c}: {e}");
        }
    }
    eprintln!("wrote {}", out.display());
}

fn plot(path: &Path, title: &str, pts: &[&Point]) -> Result<(), Box<dyn std::error::Error>> {
    let comps = [
        "cfnn-baseline",
        "classic",
        "sz3",
        "zfp",
        "sperr",
        "cfnn",
        "cfnn+model",
    ];
    let series = series_by(&comps, pts, |p| &p.comp, |p| (p.rel.log10(), p.ratio));
    let title = format!("{title}: ratio vs bound (held-out slices)");
    line_chart(
        path,
        Chart {
            title: &title,
            x: "log10(pressio:rel)",
            y: "compression ratio",
        },
        &series,
    )
}
