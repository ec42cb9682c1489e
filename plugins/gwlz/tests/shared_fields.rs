//! `gwlz` in strict mode keeps the bound on every real field of `../shared/data` with `sz3`,
//! `zfp`, `sperr` and `classic` inside, at `pressio:rel` 1e-2 to 1e-5, with `pressio:nthreads`
//! 1 and 2, the error computed in f64. Streams must not depend on the thread count.
//!
//! Enhancers are kept whether or not they pay (`gwlz:step_aside = false`), and fitted on 256
//! samples per group (networks: one epoch): the bound must hold however good the enhancers are
//! (poor ones exercise the strict-mode rejection more), and CI runs this on two cores. Fields
//! above 2^20 values are cut to their leading slices.

mod common;

use pressio_ml_core::{keys, Options};
use pressio_ml_testdata::{fields, max_abs_error, value_range};

const CAP: usize = 1 << 20;

fn check_inner(inner: &str) {
    let reg = common::registry();
    let mut runs = 0;
    let mut enhanced = 0;
    let mut rejected = 0u64;
    for field in fields() {
        let plane: usize = field.dims[..field.dims.len() - 1].iter().product();
        let input = if field.len() > CAP {
            field.load_leading((CAP / plane).max(1))
        } else {
            field.load()
        };
        let x = input.as_slice::<f32>().unwrap();
        let range = value_range(x);
        for rel in [1e-2, 1e-3, 1e-4, 1e-5] {
            let mut streams = Vec::new();
            for nthreads in [1u32, 2] {
                let opts = Options::new()
                    .with(keys::REL, rel)
                    .with(keys::NTHREADS, nthreads)
                    .with("gwlz:compressor", inner)
                    // keep the enhancers even where they do not pay, so strict mode is
                    // exercised on every inner compressor
                    .with("gwlz:step_aside", false)
                    .with("gwlz:epochs", 1u32)
                    .with("gwlz:max_samples", 256u32)
                    .with("gwlz:time_budget", 0.0);
                let mut c = common::gwlz(&reg, &opts);
                let stream = common::compress(&mut c, &input);
                let m = c.get_metrics_results();
                if nthreads == 1 {
                    if m.get_typed::<u32>("gwlz:models").unwrap().unwrap_or(0) > 0 {
                        enhanced += 1;
                    }
                    rejected += m.get_typed::<u64>("gwlz:rejected").unwrap().unwrap_or(0);
                }
                let out = common::decompress(&mut c, &stream, &input);
                let err = max_abs_error(x, out.as_slice::<f32>().unwrap());
                let bound = rel * range;
                assert!(
                    err <= bound,
                    "gwlz({inner}) {} rel={rel:e} nthreads={nthreads}: max error {err:e} > {bound:e}",
                    field.name
                );
                streams.push(stream);
                runs += 1;
            }
            assert!(
                streams[0].bytes() == streams[1].bytes(),
                "gwlz({inner}) {} rel={rel:e}: the stream depends on pressio:nthreads",
                field.name
            );
        }
    }
    eprintln!(
        "gwlz({inner}): {runs} round trips within bound; {enhanced} of {} used enhancers, \
         {rejected} points kept the inner value",
        runs / 2
    );
    assert!(enhanced > 0, "gwlz({inner}) never enhanced anything");
}

#[test]
fn strict_gwlz_over_sz3_keeps_the_bound() {
    check_inner("sz3");
}

#[test]
fn strict_gwlz_over_zfp_keeps_the_bound() {
    check_inner("zfp");
}

#[test]
fn strict_gwlz_over_sperr_keeps_the_bound() {
    check_inner("sperr");
}

#[test]
fn strict_gwlz_over_classic_keeps_the_bound() {
    check_inner("classic");
}
