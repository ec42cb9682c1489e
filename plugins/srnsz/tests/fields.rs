//! `srnsz` on every shared field (cut to at most `CAP` values, whole slowest slices) at
//! `pressio:rel` 1e-2 to 1e-5 with the shipped family: the bound holds in f64, streams are
//! bit-identical at `pressio:nthreads` 1 and 2, and the network predicts levels where the
//! fields are large enough.

use pressio_ml_core::{Compressor, DType, Data, Options, RegistryBuilder};
use pressio_ml_testdata::{fields, max_abs_error};

/// Values per field (whole slowest slices; at least one slice).
const CAP: usize = 1 << 17;

fn plugin(rel: f64, threads: u32) -> Compressor {
    let mut b = RegistryBuilder::new();
    pressio_ml_srnsz::register(&mut b).unwrap();
    let mut c = b.build().compressor("srnsz").unwrap();
    c.set_options(
        &Options::new()
            .with("pressio:rel", rel)
            .with("pressio:nthreads", threads),
    )
    .unwrap();
    c
}

/// Range of the valid values (finite, not a conventional fill value of magnitude >= 1e19).
fn valid_range(v: &[f32]) -> f64 {
    let (lo, hi) = v
        .iter()
        .filter(|x| x.is_finite() && x.abs() < 1e19)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
            (l.min(f64::from(x)), h.max(f64::from(x)))
        });
    hi - lo
}

fn compress(c: &mut Compressor, input: &Data) -> Data {
    let mut s = Data::empty(DType::Byte, &[]);
    c.compress(input, &mut s).unwrap();
    s
}

#[test]
fn every_shared_field_keeps_the_bound_and_threads_agree() {
    let fields = fields();
    if fields.is_empty() {
        return;
    }
    let mut network_runs = 0;
    let mut runs = 0;
    for f in &fields {
        let slowest = *f.dims.last().unwrap();
        let slice: usize = f.len() / slowest;
        let data = f.load_leading((CAP / slice).max(1));
        let values: Vec<f32> = data.as_slice::<f32>().unwrap().to_vec();
        let range = valid_range(&values);
        for rel in [1e-2, 1e-3, 1e-4, 1e-5] {
            let mut one = plugin(rel, 1);
            let stream = compress(&mut one, &data);
            let levels = one
                .get_metrics_results()
                .get_typed::<u32>("srnsz:network_levels")
                .unwrap()
                .unwrap();
            network_runs += usize::from(levels > 0);
            runs += 1;
            let mut two = plugin(rel, 2);
            let stream2 = compress(&mut two, &data);
            assert!(
                stream.bytes() == stream2.bytes(),
                "{} at {rel}: the stream depends on pressio:nthreads",
                f.name
            );
            let mut out = Data::empty(data.dtype(), data.dims());
            two.decompress(&stream2, &mut out)
                .unwrap_or_else(|e| panic!("{} at {rel}: {e}", f.name));
            let err = max_abs_error(&values, out.as_slice::<f32>().unwrap());
            assert!(
                err <= rel * range,
                "{} at rel {rel}: max error {err} > {}",
                f.name,
                rel * range
            );
        }
    }
    eprintln!("srnsz: the network predicted levels in {network_runs} of {runs} runs");
    assert!(
        network_runs > 0,
        "the network never predicted a level on the shared fields"
    );
}
