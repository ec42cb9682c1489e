//! Libraries that a host process may load before pressio-ml, for tests that check that a
//! stream does not depend on them: the system's reference BLAS and an OpenMP runtime other
//! than the one libtorch bundles. `scripts/setup.sh` installs them (Debian's `libblas3` and
//! `libomp5-14`).

use std::path::PathBuf;

/// A library to preload, with a name for messages.
#[derive(Debug, Clone)]
pub struct ForeignLib {
    /// Short name (`reference-blas`, `llvm-openmp`).
    pub name: &'static str,
    /// Its path.
    pub path: PathBuf,
}

const CANDIDATES: [(&str, &str, &[&str]); 2] = [
    (
        "reference-blas",
        "PRESSIO_ML_TEST_BLAS",
        &[
            "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3",
            "/usr/lib/aarch64-linux-gnu/blas/libblas.so.3",
            "/usr/lib/x86_64-linux-gnu/libblas.so.3",
            "/usr/lib/aarch64-linux-gnu/libblas.so.3",
            "/usr/lib64/libblas.so.3",
        ],
    ),
    (
        "llvm-openmp",
        "PRESSIO_ML_TEST_OPENMP",
        &[
            "/usr/lib/x86_64-linux-gnu/libomp.so.5",
            "/usr/lib/aarch64-linux-gnu/libomp.so.5",
            "/usr/lib/llvm-14/lib/libomp.so.5",
            "/usr/lib64/libomp.so",
        ],
    ),
];

/// The foreign libraries, each found through its environment variable
/// (`PRESSIO_ML_TEST_BLAS`, `PRESSIO_ML_TEST_OPENMP`) or at its usual Debian/Fedora path.
///
/// # Panics
/// When one is missing: these tests must not pass by silently testing nothing. Run
/// `scripts/setup.sh`, or point the variables at equivalent libraries.
pub fn foreign_libs() -> Vec<ForeignLib> {
    CANDIDATES
        .iter()
        .map(|(name, var, paths)| {
            let path = std::env::var_os(var)
                .map(PathBuf::from)
                .or_else(|| paths.iter().map(PathBuf::from).find(|p| p.exists()))
                .unwrap_or_else(|| {
                    panic!(
                        "{name} not found (tried ${var} and {paths:?}): run scripts/setup.sh, \
                         which installs Debian's libblas3 and libomp5-14"
                    )
                });
            assert!(path.exists(), "{name}: {} does not exist", path.display());
            ForeignLib { name, path }
        })
        .collect()
}
