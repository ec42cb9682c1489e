//! The bridge serves every pressio-ml plugin that LibPressio does not already have: each id of
//! `pressio_ml::registry()` must be linked into the bridge or deliberately left to LibPressio.
//! (This test needs no LibPressio.)

use pressio_ml_plugin::{
    native_registry, offered_compressor_ids, offered_metric_ids, MIRRORED_IDS,
};

#[test]
fn every_pressio_ml_id_is_served_or_mirrored() {
    let all = pressio_ml::registry();
    let native = native_registry();
    for id in all.compressor_ids() {
        assert!(
            native.has_compressor(&id) || MIRRORED_IDS.contains(&id.as_str()),
            "compressor {id} is in pressio_ml::registry() but neither served by the bridge \
             (add its crate to bridge/Cargo.toml and register_native) nor in MIRRORED_IDS"
        );
    }
    let native_metrics = native.metric_ids();
    for id in all.metric_ids() {
        assert!(
            native_metrics.contains(&id) || MIRRORED_IDS.contains(&id.as_str()),
            "metric {id} is neither served by the bridge nor in MIRRORED_IDS"
        );
    }
}

#[test]
fn offered_ids_never_include_libpressio_ids() {
    let c = offered_compressor_ids();
    assert!(c.contains(&"classic".to_string()), "{c:?}");
    for id in c.iter().chain(offered_metric_ids().iter()) {
        assert!(!MIRRORED_IDS.contains(&id.as_str()), "{id}");
    }
    for id in [
        "sz3",
        "zfp",
        "sperr",
        "size",
        "error_stat",
        "time",
        "ssim",
        "composite",
    ] {
        assert!(MIRRORED_IDS.contains(&id));
        assert!(!c.contains(&id.to_string()));
    }
}
