//! Rate-distortion benchmark of `aesz` against its own Lorenzo/mean mode (`aesz:use_ae=false`)
//! and the `classic`, `sz3`, `zfp` and `sperr` plugins on held-out fields of the shared data.
//!
//! ```text
//! cargo run -p pressio-ml-aesz --release --example aesz_bench -- [OUT_DIR]
//! ```
//!
//! Writes `OUT_DIR/aesz_rd.csv` (field, compressor, rel, bit rate, PSNR, ratio, max error /
//! bound), `OUT_DIR/aesz_rd.md` (the same as a table) and one `OUT_DIR/aesz_rd_<field>.png`
//! per field (PSNR against bit rate). `OUT_DIR` defaults to `target/aesz-bench`.

use pressio_ml_core::{DType, Data, Options, Registry, RegistryBuilder};
use pressio_ml_testdata::plot::{line_chart, series_by, Chart};
use std::fmt::Write as _;
use std::path::PathBuf;

struct Field {
    name: &'static str,
    file: &'static str,
    dims: Vec<usize>,
    /// First 2-D slice (dims[0] * dims[1] values) to read.
    first: usize,
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
            name: "cesm-trefht-run6-y50",
            file: "geocat/cesm_trefht_ens_8x110x64x128.f32",
            dims: vec![128, 64],
            first: 6 * 110 + 50,
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
            name: "wrf-QVAPOR-step3",
            file: "wrf_python/QVAPOR_4x14x48x48.f32",
            dims: vec![48, 48, 14],
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
    ]
}

fn load(dir: &std::path::Path, f: &Field) -> Option<Data> {
    let bytes = std::fs::read(dir.join(f.file)).ok()?;
    let n: usize = f.dims.iter().product();
    let start = f.first * f.dims[0] * f.dims[1] * 4;
    Data::from_bytes(DType::Float, &f.dims, bytes.get(start..start + n * 4)?).ok()
}

fn registry() -> Registry {
    let mut b = RegistryBuilder::new();
    pressio_ml_aesz::register(&mut b).expect("aesz");
    pressio_ml_classic::register(&mut b).expect("classic");
    pressio_ml_sz3::register(&mut b).expect("sz3");
    pressio_ml_zfp::register(&mut b).expect("zfp");
    pressio_ml_sperr::register(&mut b).expect("sperr");
    b.build()
}

struct Point {
    field: String,
    comp: String,
    rel: f64,
    bitrate: f64,
    psnr: f64,
    ratio: f64,
    max_over_bound: f64,
}

fn main() {
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/aesz-bench"));
    std::fs::create_dir_all(&out).expect("output directory");
    let Some(data) = pressio_ml_testdata::data_dir() else {
        eprintln!("no shared data (set PRESSIO_ML_DATA)");
        return;
    };
    let reg = registry();
    let rels = [3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4];
    let mut points = Vec::new();
    for f in fields() {
        let Some(input) = load(&data, &f) else {
            eprintln!("skipped {}", f.name);
            continue;
        };
        let v = input.as_slice::<f32>().expect("f32");
        let range = pressio_ml_testdata::value_range(v);
        let configs: Vec<(&str, &str, Options)> = vec![
            ("aesz", "aesz", Options::new().with("aesz:model", f.model)),
            (
                "aesz-lorenzo",
                "aesz",
                Options::new().with("aesz:use_ae", false),
            ),
            ("classic", "classic", Options::new()),
            ("sz3", "sz3", Options::new()),
            ("zfp", "zfp", Options::new()),
            ("sperr", "sperr", Options::new()),
        ];
        for (label, id, opts) in &configs {
            for &rel in &rels {
                let mut c = reg.compressor(id).expect("compressor");
                if let Err(e) = c.set_options(&opts.clone().with("pressio:rel", rel)) {
                    eprintln!("{label}: {e}");
                    continue;
                }
                let mut s = Data::empty(DType::Byte, &[]);
                if let Err(e) = c.compress(&input, &mut s) {
                    eprintln!("{} {label} {rel}: {e}", f.name);
                    continue;
                }
                let mut d = Data::empty(DType::Float, input.dims());
                if let Err(e) = c.decompress(&s, &mut d) {
                    eprintln!("{} {label} {rel}: {e}", f.name);
                    continue;
                }
                let dv = d.as_slice::<f32>().expect("f32");
                let mse = v
                    .iter()
                    .zip(dv)
                    .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
                    .sum::<f64>()
                    / v.len() as f64;
                let p = Point {
                    field: f.name.into(),
                    comp: label.to_string(),
                    rel,
                    bitrate: s.num_bytes() as f64 * 8.0 / v.len() as f64,
                    psnr: 20.0 * range.log10() - 10.0 * mse.log10(),
                    ratio: input.num_bytes() as f64 / s.num_bytes() as f64,
                    max_over_bound: pressio_ml_testdata::max_abs_error(v, dv) / (rel * range),
                };
                eprintln!(
                    "{:<24} {:<13} rel {:7.0e}: {:6.3} bits, {:6.2} dB, ratio {:7.2}",
                    p.field, p.comp, p.rel, p.bitrate, p.psnr, p.ratio
                );
                points.push(p);
            }
        }
    }
    let mut csv = String::from("field,compressor,rel,bitrate,psnr_db,ratio,max_err_over_bound\n");
    let mut md = String::from(
        "| field | compressor | rel | bit rate | PSNR (dB) | ratio | max err / bound |\n|---|---|---|---|---|---|---|\n",
    );
    for p in &points {
        let _ = writeln!(
            csv,
            "{},{},{:e},{:.4},{:.3},{:.3},{:.4}",
            p.field, p.comp, p.rel, p.bitrate, p.psnr, p.ratio, p.max_over_bound
        );
        let _ = writeln!(
            md,
            "| {} | {} | {:.0e} | {:.3} | {:.2} | {:.2} | {:.3} |",
            p.field, p.comp, p.rel, p.bitrate, p.psnr, p.ratio, p.max_over_bound
        );
    }
    std::fs::write(out.join("aesz_rd.csv"), csv).expect("csv");
    std::fs::write(out.join("aesz_rd.md"), md).expect("md");
    for f in fields() {
        let pts: Vec<&Point> = points.iter().filter(|p| p.field == f.name).collect();
        if pts.is_empty() {
            continue;
        }
        if let Err(e) = plot(&out.join(format!("aesz_rd_{}.png", f.name)), f.name, &pts) {
            eprintln!("plot {}: {e}", f.name);
        }
    }
    eprintln!("wrote {}", out.display());
}

fn plot(
    path: &std::path::Path,
    title: &str,
    pts: &[&Point],
) -> Result<(), Box<dyn std::error::Error>> {
    // aesz last, so that it is drawn on top of its own Lorenzo mode where they coincide
    let comps = ["aesz-lorenzo", "classic", "sz3", "zfp", "sperr", "aesz"];
    let series = series_by(&comps, pts, |p| &p.comp, |p| (p.bitrate, p.psnr));
    let title = format!("{title}: PSNR vs bit rate");
    line_chart(
        path,
        Chart {
            title: &title,
            x: "bit rate (bits/value)",
            y: "PSNR (dB)",
        },
        &series,
    )
}
