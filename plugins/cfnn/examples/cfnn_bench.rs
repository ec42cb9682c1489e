//! Benchmark of `cfnn` on timesteps its models never saw: for each multi-field case, train a
//! model on the early slices (time steps), then compress the later ones with `cfnn` (network
//! hybrid), its dual-quantized Lorenzo baseline (`cfnn:use_network=false`), and `classic`,
//! `sz3`, `zfp` and `sperr`, in the same run, at `pressio:rel` 5e-3, 1e-3, 5e-4, 2e-4 and 1e-4.
//!
//! ```text
//! cargo run -p pressio-ml-cfnn --release --example cfnn_bench -- [OUT_DIR] [EPOCHS]
//! ```
//!
//! Writes `OUT_DIR/cfnn_bench.md` and `.csv` (case, compressor, bound, ratio, max error over
//! the bound, compress and decompress MB/s) and `OUT_DIR/cfnn_ratio_<case>.png` (ratio against
//! the bound). Models and the held-out anchors go to `OUT_DIR/models` and `OUT_DIR/anchors`.
//! `OUT_DIR` defaults to `target/cfnn-bench`, `EPOCHS` to 6.

use plotters::prelude::*;
use pressio_ml_cfnn::train::{train, TrainField, TrainOptions};
use pressio_ml_core::{DType, Data, Options, Registry, RegistryBuilder};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One case: a target and anchors on one grid, dims fastest first, split by slices.
struct Case {
    name: &'static str,
    target: Vec<f32>,
    anchors: Vec<Vec<f32>>,
    /// Dims of one slice, fastest first (the model's axes).
    slice: Vec<usize>,
    /// Slices used for training; the rest are the test set.
    train: usize,
    tile: usize,
}

fn read(dir: &Path, rel: &str) -> Option<Vec<f32>> {
    let b = std::fs::read(dir.join(rel)).ok()?;
    Some(
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

/// WRF Katrina, 4 steps x 14 levels of 48x48: W (averaged to mass levels) from U, V (averaged
/// to mass points) and P; train on steps 0-2, test on step 3 (the paper's Hurricane Wf case).
fn wrf(dir: &Path) -> Option<Case> {
    let (t, z, y, x) = (4usize, 14usize, 48usize, 48usize);
    let u = read(dir, "wrf_python/U_4x14x48x49.f32")?;
    let v = read(dir, "wrf_python/V_4x14x49x48.f32")?;
    let w = read(dir, "wrf_python/W_4x15x48x48.f32")?;
    let p = read(dir, "wrf_python/P_4x14x48x48.f32")?;
    let (mut uu, mut vv, mut ww, mut pp) = (vec![], vec![], vec![], vec![]);
    for s in 0..t {
        for k in 0..z {
            for j in 0..y {
                for i in 0..x {
                    let ui = ((s * z + k) * y + j) * (x + 1) + i;
                    uu.push(0.5 * (u[ui] + u[ui + 1]));
                    let vi = ((s * z + k) * (y + 1) + j) * x + i;
                    vv.push(0.5 * (v[vi] + v[vi + x]));
                    let wi = ((s * (z + 1) + k) * y + j) * x + i;
                    ww.push(0.5 * (w[wi] + w[wi + y * x]));
                    pp.push(p[((s * z + k) * y + j) * x + i]);
                }
            }
        }
    }
    Some(Case {
        name: "wrf-W-from-U-V-P",
        target: ww,
        anchors: vec![uu, vv, pp],
        slice: vec![x, y],
        train: 3 * z,
        tile: 36,
    })
}

/// MPI monthly surface fields, 12 x 96x192: tas from uas and vas; train on months 0-8.
fn mpi(dir: &Path) -> Option<Case> {
    Some(Case {
        name: "mpi-tas-from-uas-vas",
        target: read(dir, "geocat/mpi_tas_12x96x192.f32")?,
        anchors: vec![
            read(dir, "geocat/mpi_uas_12x96x192.f32")?,
            read(dir, "geocat/mpi_vas_12x96x192.f32")?,
        ],
        slice: vec![192, 96],
        train: 9,
        tile: 52,
    })
}

/// NASA blunt-fin CFD, 32 slices of 40x32: energy from density and x/y momentum; train on
/// slices 0-23.
fn bluntfin(dir: &Path) -> Option<Case> {
    let f = |n: &str| read(dir, &format!("vtk_data/bluntfin_{n}_32x32x40.f32"));
    Some(Case {
        name: "bluntfin-energy-from-density-momentum",
        target: f("energy")?,
        anchors: vec![f("density")?, f("momentum_x")?, f("momentum_y")?],
        slice: vec![40, 32],
        train: 24,
        tile: 20,
    })
}

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
    comp_mbs: f64,
    decomp_mbs: f64,
}

fn write_f32(path: &Path, v: &[f32]) {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, bytes).expect("write");
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
    for d in ["models", "anchors"] {
        std::fs::create_dir_all(out.join(d)).expect("output directory");
    }
    let reg = registry();
    let rels = [5e-3, 1e-3, 5e-4, 2e-4, 1e-4];
    let mut points = Vec::new();
    for case in [wrf(&data), mpi(&data), bluntfin(&data)]
        .into_iter()
        .flatten()
    {
        let per: usize = case.slice.iter().product();
        let n_slices = case.target.len() / per;
        let f64s = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
        let mut dims = case.slice.clone();
        dims.push(case.train);
        eprintln!(
            "{}: training on {} of {n_slices} slices",
            case.name, case.train
        );
        let started = Instant::now();
        let report = train(
            &TrainField {
                target: f64s(&case.target[..case.train * per]),
                anchors: case
                    .anchors
                    .iter()
                    .map(|a| f64s(&a[..case.train * per]))
                    .collect(),
                dims,
                sources: vec![],
            },
            &TrainOptions {
                dims: 2,
                tile: case.tile,
                epochs,
                windows: 384,
                batch: 8,
                lr: 2e-3,
                seed: 7,
                validation: 0.2,
                name: format!("cfnn-bench-{}", case.name),
                out_dir: out.join("models"),
                description: format!("cfnn_bench model for {}", case.name),
                anchor_names: vec![],
                target_name: case.name.into(),
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
        let test = &case.target[case.train * per..];
        let mut tdims = case.slice.clone();
        tdims.push(n_slices - case.train);
        let input = Data::from_vec(test.to_vec(), &tdims).expect("data");
        let anchor_files: Vec<String> = case
            .anchors
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let p = out.join("anchors").join(format!("{}-{i}.f32", case.name));
                write_f32(&p, &a[case.train * per..]);
                p.display().to_string()
            })
            .collect();
        let range = pressio_ml_testdata::value_range(test);
        let configs: Vec<(&str, &str, Options)> = vec![
            (
                "cfnn",
                "cfnn",
                Options::new()
                    .with("cfnn:model", report.manifest_path.display().to_string())
                    .with("cfnn:anchor_files", anchor_files.clone()),
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
            for &rel in &rels {
                let mut c = reg.compressor(id).expect("compressor");
                c.set_options(&opts.clone().with("pressio:rel", rel))
                    .expect("options");
                let mut s = Data::empty(DType::Byte, &[]);
                let t0 = Instant::now();
                c.compress(&input, &mut s).expect("compress");
                let tc = t0.elapsed().as_secs_f64();
                let mut d = Data::empty(DType::Float, input.dims());
                let t0 = Instant::now();
                c.decompress(&s, &mut d).expect("decompress");
                let td = t0.elapsed().as_secs_f64();
                let mb = input.num_bytes() as f64 / 1e6;
                let p = Point {
                    case: case.name.into(),
                    comp: label.to_string(),
                    rel,
                    ratio: input.num_bytes() as f64 / s.num_bytes() as f64,
                    max_over_bound: pressio_ml_testdata::max_abs_error(
                        test,
                        d.as_slice::<f32>().expect("f32"),
                    ) / (rel * range),
                    comp_mbs: mb / tc,
                    decomp_mbs: mb / td,
                };
                eprintln!(
                    "  {:<14} rel {:7.0e}: ratio {:7.2}, max err / bound {:.3}",
                    p.comp, p.rel, p.ratio, p.max_over_bound
                );
                points.push(p);
            }
        }
    }
    let mut csv = String::from(
        "case,compressor,rel,ratio,max_err_over_bound,compress_mb_s,decompress_mb_s\n",
    );
    let mut md = String::from(
        "| case | compressor | rel | ratio | vs baseline | max err / bound | compress MB/s | decompress MB/s |\n|---|---|---|---|---|---|---|---|\n",
    );
    for p in &points {
        let base = points
            .iter()
            .find(|b| b.case == p.case && b.comp == "cfnn-baseline" && b.rel == p.rel)
            .map_or(f64::NAN, |b| b.ratio);
        let _ = writeln!(
            csv,
            "{},{},{:e},{:.4},{:.4},{:.2},{:.2}",
            p.case, p.comp, p.rel, p.ratio, p.max_over_bound, p.comp_mbs, p.decomp_mbs
        );
        let _ = writeln!(
            md,
            "| {} | {} | {:.0e} | {:.2} | {:+.1}% | {:.3} | {:.1} | {:.1} |",
            p.case,
            p.comp,
            p.rel,
            p.ratio,
            (p.ratio / base - 1.0) * 100.0,
            p.max_over_bound,
            p.comp_mbs,
            p.decomp_mbs
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
    let root = BitMapBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let ymax = pts.iter().map(|p| p.ratio).fold(0.0, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{title}: ratio vs bound (held-out slices)"),
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((-4.1f64)..(-2.2f64), 0.0..ymax)?;
    chart
        .configure_mesh()
        .x_desc("log10(pressio:rel)")
        .y_desc("compression ratio")
        .draw()?;
    let comps = ["cfnn-baseline", "classic", "sz3", "zfp", "sperr", "cfnn"];
    let colors = [BLACK, BLUE, GREEN, MAGENTA, CYAN, RED];
    for (c, color) in comps.iter().zip(colors) {
        let mut line: Vec<(f64, f64)> = pts
            .iter()
            .filter(|p| p.comp == *c)
            .map(|p| (p.rel.log10(), p.ratio))
            .collect();
        if line.is_empty() {
            continue;
        }
        line.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?
            .label(*c)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        chart.draw_series(line.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()?;
    root.present()?;
    Ok(())
}
