//! Round trips of every real field at pressio:rel 1e-2, 1e-3, 1e-4 and one pressio:abs.

mod common;

#[test]
fn every_field_honours_the_bound() {
    common::real_data_roundtrips(pressio_ml_sz3::register, "sz3", common::max_values());
}
