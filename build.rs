//! Build script of the `pressio_ml` library:
//!
//! * gives the shared library its soname, so C and C++ programs link against
//!   `libpressio_ml.so` by name;
//! * adds an rpath to the libtorch library directory (the learned plugins link libtorch) to the
//!   library, tests and examples, so nothing needs `LD_LIBRARY_PATH`.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libpressio_ml.so");
    }
    match std::env::var("LIBTORCH") {
        Ok(t) => println!("cargo:rustc-link-arg=-Wl,-rpath,{t}/lib"),
        Err(_) => panic!(
            "pressio-ml: LIBTORCH is not set. Run ./scripts/setup.sh (it installs PyTorch 2.13.0 \
             into .venv), which .cargo/config.toml points LIBTORCH at."
        ),
    }
}
