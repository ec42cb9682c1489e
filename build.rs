//! Build script of the `pressio_ml` library: gives the shared library its soname so that C and
//! C++ programs link against `libpressio_ml.so` by name.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libpressio_ml.so");
    }
}
