//! Ratio, PSNR and block choices of `aesz` with and without the autoencoder on one raw f32
//! field: `compare FILE DIMS(fastest first, comma-separated) [MODEL] [SKIP_VALUES]`.
use pressio_ml_core::{DType, Data, Options, RegistryBuilder};
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let path = &a[1];
    let dims: Vec<usize> = a[2].split(',').map(|s| s.parse().unwrap()).collect();
    let model = a.get(3).cloned().unwrap_or_default();
    let skip: usize = a.get(4).map(|s| s.parse().unwrap()).unwrap_or(0);
    let bytes = std::fs::read(path).unwrap();
    let n: usize = dims.iter().product();
    let input = Data::from_bytes(DType::Float, &dims, &bytes[skip * 4..skip * 4 + n * 4]).unwrap();
    let mut b = RegistryBuilder::new();
    pressio_ml_aesz::register(&mut b).unwrap();
    let reg = b.build();
    let v = input.as_slice::<f32>().unwrap();
    let (lo, hi) = v.iter().fold((f64::MAX, f64::MIN), |(l, h), &x| {
        (l.min(x as f64), h.max(x as f64))
    });
    for rel in [1e-2, 3e-3, 1e-3, 1e-4] {
        for use_ae in [true, false] {
            let mut c = reg.compressor("aesz").unwrap();
            c.set_options(
                &Options::new()
                    .with("pressio:rel", rel)
                    .with("aesz:use_ae", use_ae)
                    .with("aesz:model", model.as_str()),
            )
            .unwrap();
            let t0 = std::time::Instant::now();
            let mut out = Data::empty(DType::Byte, &[]);
            c.compress(&input, &mut out).unwrap();
            let tc = t0.elapsed().as_secs_f64();
            let r = c.plugin().metrics_results();
            let mut dec = Data::empty(DType::Float, &dims);
            let t1 = std::time::Instant::now();
            c.decompress(&out, &mut dec).unwrap();
            let td = t1.elapsed().as_secs_f64();
            let d = dec.as_slice::<f32>().unwrap();
            let mut mse = 0f64;
            let mut maxe = 0f64;
            for (x, y) in v.iter().zip(d) {
                let e = (*x as f64 - *y as f64).abs();
                mse += e * e;
                maxe = maxe.max(e);
            }
            mse /= n as f64;
            let psnr = 20.0 * (hi - lo).log10() - 10.0 * mse.log10();
            println!("rel {rel:e} ae {use_ae}: ratio {:.2} bitrate {:.3} psnr {:.2} maxerr/bound {:.3} latent {} B, comp {:.2}s dec {:.2}s",
                (n * 4) as f64 / out.num_bytes() as f64, out.num_bytes() as f64 * 8.0 / n as f64, psnr, maxe / (rel * (hi - lo)),
                r.value("aesz:latent_bytes").map(|v| v.to_string()).unwrap_or_default(), tc, td);
            println!(
                "    blocks ae {} lorenzo {} mean {}",
                r.value("aesz:ae_blocks").unwrap(),
                r.value("aesz:lorenzo_blocks").unwrap(),
                r.value("aesz:mean_blocks").unwrap()
            );
        }
    }
}
