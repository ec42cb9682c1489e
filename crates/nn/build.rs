//! Build script of pressio-ml-nn.
//!
//! * finds the libtorch library directory (from torch-sys, else `$LIBTORCH/lib`) and fails with a
//!   clear message when neither is available;
//! * compiles `csrc/shim.cpp` (deterministic-algorithm flags and version, which tch does not
//!   expose) against the libtorch headers;
//! * bakes the library directory into the crate (`PRESSIO_ML_LIBTORCH_LIB`, used to load
//!   `libtorch_cuda` on demand), hands it to direct dependents as
//!   `DEP_PRESSIO_ML_NN_LIBTORCH_LIB`, and adds an rpath to this crate's own test binaries so
//!   that no `LD_LIBRARY_PATH` is needed.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    println!("cargo:rerun-if-changed=csrc/shim.cpp");
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB")
        .map(PathBuf::from)
        .ok()
        .or_else(|| {
            std::env::var("LIBTORCH")
                .ok()
                .map(|p| PathBuf::from(p).join("lib"))
        });
    let Some(lib) = lib else {
        panic!(
            "pressio-ml-nn: libtorch not found. Set LIBTORCH to a libtorch or PyTorch 2.13.0 \
             install, e.g. `export LIBTORCH=$PWD/.venv/lib/python3.11/site-packages/torch`, and \
             rebuild."
        );
    };
    let root = lib
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| lib.clone());
    let include = root.join("include");
    if !include.join("ATen/Context.h").exists() {
        panic!(
            "pressio-ml-nn: no libtorch headers under {} (LIBTORCH must point at the directory \
             holding lib/ and include/)",
            include.display()
        );
    }
    let abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".to_owned());
    cc::Build::new()
        .cpp(true)
        .pic(true)
        .warnings(false)
        .include(&include)
        .include(include.join("torch/csrc/api/include"))
        .flag("-std=c++17")
        .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={abi}"))
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .file("csrc/shim.cpp")
        .compile("pmlnn_shim");
    println!("cargo:rustc-env=PRESSIO_ML_LIBTORCH_LIB={}", lib.display());
    println!("cargo:libtorch_lib={}", lib.display());
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
}
