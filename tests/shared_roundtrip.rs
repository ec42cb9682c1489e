//! Every registered compressor keeps its bound on every real field of `../shared/data`
//! (including the fill-value and near-constant fields), at `pressio:rel` 1e-2, 1e-3, 1e-4 and at
//! an equivalent `pressio:abs`, with the error computed in f64.

use pressio_ml::{keys, registry, DType, Data, Options};
use pressio_ml_testdata::{fields, max_abs_error, value_range};

fn check_compressor(id: &str) {
    let reg = registry();
    assert!(reg.has_compressor(id), "{id} is not registered");
    let fields = fields();
    let mut worst_ratio = f64::INFINITY;
    for field in &fields {
        let input = field.load();
        let values = input.as_slice::<f32>().unwrap();
        let range = value_range(values);
        let mut cases: Vec<(String, Options, f64)> = [1e-2, 1e-3, 1e-4]
            .iter()
            .map(|&r| {
                (
                    format!("rel={r:e}"),
                    Options::new().with(keys::REL, r),
                    r * range,
                )
            })
            .collect();
        let abs = 1e-3 * range;
        cases.push((
            format!("abs={abs:e}"),
            Options::new().with(keys::ABS, abs),
            abs,
        ));
        for (label, opts, bound) in cases {
            let mut c = reg.compressor(id).unwrap();
            c.set_options(&opts).unwrap();
            let mut comp = Data::empty(DType::Byte, &[]);
            c.compress(&input, &mut comp)
                .unwrap_or_else(|e| panic!("{id} {} {label}: compress: {e}", field.name));
            let mut out = Data::empty(DType::Float, &field.dims);
            c.decompress(&comp, &mut out)
                .unwrap_or_else(|e| panic!("{id} {} {label}: decompress: {e}", field.name));
            let err = max_abs_error(values, out.as_slice::<f32>().unwrap());
            assert!(
                err <= bound,
                "{id} {} {label}: max error {err:e} > bound {bound:e}",
                field.name
            );
            worst_ratio = worst_ratio.min(input.num_bytes() as f64 / comp.num_bytes() as f64);
        }
    }
    eprintln!(
        "{id}: {} fields x 4 bounds within bound (lowest ratio {worst_ratio:.2})",
        fields.len()
    );
}

#[test]
fn classic_keeps_the_bound_on_real_fields() {
    check_compressor("classic");
}

#[test]
fn sz3_keeps_the_bound_on_real_fields() {
    check_compressor("sz3");
}

#[test]
fn zfp_keeps_the_bound_on_real_fields() {
    check_compressor("zfp");
}

#[test]
fn sperr_keeps_the_bound_on_real_fields() {
    check_compressor("sperr");
}

#[test]
fn aesz_keeps_the_bound_on_real_fields() {
    check_compressor("aesz");
}
