//! Build script: add an rpath to the libtorch library directory to this package's binaries and
//! tests (taken from pressio-ml-nn, which found it), so they run without `LD_LIBRARY_PATH`.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_PRESSIO_ML_NN_LIBTORCH_LIB");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let lib = std::env::var("DEP_PRESSIO_ML_NN_LIBTORCH_LIB")
        .ok()
        .or_else(|| std::env::var("LIBTORCH").ok().map(|p| format!("{p}/lib")));
    match lib {
        Some(l) => println!("cargo:rustc-link-arg=-Wl,-rpath,{l}"),
        None => panic!(
            "pressio-ml-metric-deepcq: libtorch not found; set LIBTORCH (see pressio-ml-nn) and rebuild"
        ),
    }
}
