//! The shared plugin conformance helpers (see `pressio_ml_testdata::plugin_suite`).

pub use pressio_ml_testdata::plugin_suite::*;
