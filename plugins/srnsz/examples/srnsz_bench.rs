//! Benchmark of `srnsz` (shipped `srnsz-general` family) against `classic` (its own
//! interpolation path without the network), `sz3`, `zfp` and `sperr`, in one run, on fields and
//! timesteps the networks never saw, at `pressio:rel` 1e-2, 1e-3, 1e-4 and 1e-5.
//!
//! ```text
//! cargo run -p pressio-ml-srnsz --release --example srnsz_bench -- [OUT_DIR] [MODEL] [FIELD]
//! ```
//!
//! `MODEL` (default `srnsz-general`) is the `srnsz:model` to benchmark, e.g. a fine-tuned
//! family; `FIELD` restricts the run to the held-out field of that name (e.g. `cesm_trefht`).
//!
//! Writes `OUT_DIR/srnsz_bench.md` and `.csv` (field, compressor, bound, ratio, bit rate, PSNR,
//! max error over the bound, network levels, compress and decompress MB/s; per srnsz point the
//! gain in ratio over classic and over the better of sz3 and sperr, and the PSNR gain at equal
//! bit rate) and `OUT_DIR/srnsz_rd_<field>.png` (bit rate against PSNR). `OUT_DIR` defaults to
//! `target/srnsz-bench`.

use pressio_ml_core::{DType, Data, Options, Registry, RegistryBuilder};
use pressio_ml_testdata::plot::{line_chart, series_by, Chart};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

const COMPRESSORS: [&str; 5] = ["srnsz", "classic", "sz3", "zfp", "sperr"];
const BOUNDS: [f64; 4] = [1e-2, 1e-3, 1e-4, 1e-5];

/// A held-out field: file, C-order shape, and the slowest-axis range used.
struct Case {
    name: &'static str,
    file: &'static str,
    shape: &'static [usize],
    slowest: std::ops::Range<usize>,
}

/// Fields the family never saw, and the held-out timesteps (last 20%) of a training field.
const CASES: &[Case] = &[
    Case {
        name: "cesm_trefht",
        file: "geocat/cesm_trefht_ens_8x110x64x128.f32",
        shape: &[8, 110, 64, 128],
        slowest: 6..8,
    },
    Case {
        name: "field999",
        file: "sperr/field999_999x999.f32",
        shape: &[999, 999],
        slowest: 0..999,
    },
    Case {
        name: "vorticity2d",
        file: "sperr/vorticity2d_512x512.f32",
        shape: &[512, 512],
        slowest: 0..512,
    },
    Case {
        name: "wmag91",
        file: "sperr/wmag91_91x91x91.f32",
        shape: &[91, 91, 91],
        slowest: 0..91,
    },
    Case {
        name: "ipsl_tos",
        file: "vtk_data/ipsl_tos_24x170x180.f32",
        shape: &[24, 170, 180],
        slowest: 0..24,
    },
    Case {
        name: "ccsm_ts_t80-99",
        file: "geocat/ccsm_b003_ts_100x64x128.f32",
        shape: &[100, 64, 128],
        slowest: 80..100,
    },
];

fn registry() -> Registry {
    let mut b = RegistryBuilder::new();
    pressio_ml_srnsz::register(&mut b).expect("srnsz");
    pressio_ml_classic::register(&mut b).expect("classic");
    pressio_ml_sz3::register(&mut b).expect("sz3");
    pressio_ml_zfp::register(&mut b).expect("zfp");
    pressio_ml_sperr::register(&mut b).expect("sperr");
    b.build()
}

fn load(dir: &Path, c: &Case) -> Option<(Vec<f32>, Vec<usize>)> {
    let bytes = std::fs::read(dir.join(c.file)).ok()?;
    let slice: usize = c.shape[1..].iter().product();
    let v: Vec<f32> = bytes[c.slowest.start * slice * 4..c.slowest.end * slice * 4]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let mut dims: Vec<usize> = c.shape.iter().rev().copied().collect();
    *dims.last_mut()? = c.slowest.len();
    Some((v, dims))
}

struct Point {
    field: String,
    comp: String,
    rel: f64,
    ratio: f64,
    bitrate: f64,
    psnr: f64,
    over: f64,
    levels: Option<u32>,
    comp_mbs: f64,
    decomp_mbs: f64,
}

/// Valid values: finite and not a conventional fill (|x| >= 1e19).
fn valid(x: f32) -> bool {
    x.is_finite() && x.abs() < 1e19
}

/// PSNR over the valid values and the largest error over the bound.
fn quality(a: &[f32], b: &[f32], bound: f64) -> (f64, f64) {
    let (mut lo, mut hi, mut se, mut n, mut worst) = (f64::MAX, f64::MIN, 0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        if valid(x) {
            let (x, y) = (f64::from(x), f64::from(y));
            lo = lo.min(x);
            hi = hi.max(x);
            se += (x - y) * (x - y);
            n += 1.0;
            worst = worst.max((x - y).abs());
        }
    }
    let mse = se / n.max(1.0);
    let psnr = if mse > 0.0 {
        20.0 * (hi - lo).log10() - 10.0 * mse.log10()
    } else {
        f64::INFINITY
    };
    (psnr, worst / bound)
}

/// PSNR of `comp` on `field` at bit rate `b`, linear between its points (None outside them).
fn psnr_at(pts: &[Point], field: &str, comp: &str, b: f64) -> Option<f64> {
    let mut line: Vec<(f64, f64)> = pts
        .iter()
        .filter(|p| p.field == field && p.comp == comp && p.psnr.is_finite())
        .map(|p| (p.bitrate, p.psnr))
        .collect();
    line.sort_by(|x, y| x.0.total_cmp(&y.0));
    line.windows(2).find_map(|w| {
        let ((b0, p0), (b1, p1)) = (w[0], w[1]);
        (b0 <= b && b <= b1 && b1 > b0).then(|| p0 + (p1 - p0) * (b - b0) / (b1 - b0))
    })
}

fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/srnsz-bench".into()),
    );
    std::fs::create_dir_all(&out).expect("output directory");
    let model = std::env::args()
        .nth(2)
        .unwrap_or_else(|| pressio_ml_srnsz::DEFAULT_MODEL.into());
    let only = std::env::args().nth(3);
    let cases: Vec<&Case> = CASES
        .iter()
        .filter(|c| only.as_deref().is_none_or(|o| o == c.name))
        .collect();
    let Some(dir) = pressio_ml_testdata::data_dir() else {
        eprintln!("../shared/data not found (set PRESSIO_ML_DATA)");
        return;
    };
    let reg = registry();
    let mut pts: Vec<Point> = Vec::new();
    for &case in &cases {
        let Some((values, dims)) = load(&dir, case) else {
            eprintln!("skipped {} (missing)", case.file);
            continue;
        };
        let range = {
            let v = values.iter().copied().filter(|&x| valid(x));
            let (lo, hi) = v.fold((f64::MAX, f64::MIN), |(l, h), x| {
                (l.min(f64::from(x)), h.max(f64::from(x)))
            });
            hi - lo
        };
        let input = Data::from_vec(values.clone(), &dims).expect("input");
        let mb = input.num_bytes() as f64 / 1e6;
        for &rel in &BOUNDS {
            for comp in COMPRESSORS {
                let mut c = reg.compressor(comp).expect("registered");
                let mut o = Options::new().with("pressio:rel", rel);
                if comp == "srnsz" {
                    o.set("srnsz:model", model.clone());
                }
                c.set_options(&o).expect("options");
                let mut s = Data::empty(DType::Byte, &[]);
                let t = Instant::now();
                if let Err(e) = c.compress(&input, &mut s) {
                    eprintln!("{} {comp} {rel:e}: {e}", case.name);
                    continue;
                }
                let ct = t.elapsed().as_secs_f64();
                let levels = (comp == "srnsz").then(|| {
                    c.get_metrics_results()
                        .get_typed::<u32>("srnsz:network_levels")
                        .ok()
                        .flatten()
                        .unwrap_or(0)
                });
                let mut d = Data::empty(DType::Float, &dims);
                let t = Instant::now();
                c.decompress(&s, &mut d).expect("decompress");
                let dt = t.elapsed().as_secs_f64();
                let (psnr, over) = quality(&values, d.as_slice::<f32>().expect("f32"), rel * range);
                let ratio = input.num_bytes() as f64 / s.num_bytes() as f64;
                eprintln!(
                    "{:>16} {comp:>7} rel {rel:.0e}: ratio {ratio:8.2} psnr {psnr:6.2} \
                     {:.2} MB/s{}",
                    case.name,
                    mb / ct,
                    levels
                        .map(|l| format!(", {l} network levels"))
                        .unwrap_or_default()
                );
                pts.push(Point {
                    field: case.name.into(),
                    comp: comp.into(),
                    rel,
                    ratio,
                    bitrate: 32.0 / ratio,
                    psnr,
                    over,
                    levels,
                    comp_mbs: mb / ct,
                    decomp_mbs: mb / dt,
                });
            }
        }
        let field_pts: Vec<&Point> = pts.iter().filter(|p| p.field == case.name).collect();
        if let Err(e) = plot(
            &out.join(format!("srnsz_rd_{}.png", case.name)),
            case.name,
            &field_pts,
        ) {
            eprintln!("plot {}: {e}", case.name);
        }
    }

    let mut md = String::from(
        "| field | bound | srnsz | classic | sz3 | zfp | sperr | srnsz vs classic | srnsz vs best(sz3, sperr) | PSNR gain vs classic at equal bit rate | network levels | srnsz MB/s (c/d) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut csv = String::from(
        "field,compressor,rel,ratio,bitrate,psnr,max_error_over_bound,network_levels,compress_mbs,decompress_mbs\n",
    );
    for p in &pts {
        let _ = writeln!(
            csv,
            "{},{},{:e},{:.4},{:.4},{:.3},{:.4},{},{:.3},{:.3}",
            p.field,
            p.comp,
            p.rel,
            p.ratio,
            p.bitrate,
            p.psnr,
            p.over,
            p.levels.map(|l| l.to_string()).unwrap_or_default(),
            p.comp_mbs,
            p.decomp_mbs
        );
    }
    for &case in &cases {
        for &rel in &BOUNDS {
            let get = |c: &str| {
                pts.iter()
                    .find(|p| p.field == case.name && p.comp == c && p.rel == rel)
            };
            let Some(s) = get("srnsz") else { continue };
            let ratio = |c: &str| get(c).map_or(f64::NAN, |p| p.ratio);
            let best = ratio("sz3").max(ratio("sperr"));
            let dpsnr = psnr_at(&pts, case.name, "classic", s.bitrate)
                .map_or("-".to_string(), |p| format!("{:+.2} dB", s.psnr - p));
            let _ = writeln!(
                md,
                "| {} | {rel:.0e} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:+.1}% | {:+.1}% | {dpsnr} | {} | {:.2} / {:.2} |",
                case.name,
                s.ratio,
                ratio("classic"),
                ratio("sz3"),
                ratio("zfp"),
                ratio("sperr"),
                100.0 * (s.ratio / ratio("classic") - 1.0),
                100.0 * (s.ratio / best - 1.0),
                s.levels.unwrap_or(0),
                s.comp_mbs,
                s.decomp_mbs
            );
        }
    }
    let mut thr = String::from(
        "\n| compressor | compress MB/s (median) | decompress MB/s (median) |\n|---|---|---|\n",
    );
    for comp in COMPRESSORS {
        let med = |f: fn(&Point) -> f64| {
            let mut v: Vec<f64> = pts.iter().filter(|p| p.comp == comp).map(f).collect();
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
        };
        let _ = writeln!(
            thr,
            "| {comp} | {:.2} | {:.2} |",
            med(|p| p.comp_mbs),
            med(|p| p.decomp_mbs)
        );
    }
    md.push_str(&thr);
    std::fs::write(out.join("srnsz_bench.md"), &md).expect("write md");
    std::fs::write(out.join("srnsz_bench.csv"), &csv).expect("write csv");
    println!("{md}");
    println!("wrote {}", out.display());
}

fn plot(path: &Path, title: &str, pts: &[&Point]) -> Result<(), Box<dyn std::error::Error>> {
    let series = series_by(&COMPRESSORS, pts, |p| &p.comp, |p| (p.bitrate, p.psnr));
    let title = format!("{title}: rate-distortion (held out from training)");
    line_chart(
        path,
        Chart {
            title: &title,
            x: "bit rate (bits per value)",
            y: "PSNR (dB)",
        },
        &series,
    )
}
