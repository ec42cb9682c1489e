//! Build script: binaries and tests of this package get an rpath to libtorch's library
//! directory (found by pressio-ml-nn, or `$LIBTORCH/lib`), so they run without
//! `LD_LIBRARY_PATH`.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_PRESSIO_ML_NN_LIBTORCH_LIB");
    let dir = std::env::var("DEP_PRESSIO_ML_NN_LIBTORCH_LIB")
        .or_else(|_| std::env::var("LIBTORCH").map(|t| t + "/lib"))
        .expect("pressio-ml-gwlz: set LIBTORCH (see pressio-ml-nn)");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
}
