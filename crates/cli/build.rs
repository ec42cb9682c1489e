//! Build script of the `pressio-ml` command line: adds an rpath to the libtorch library
//! directory (the learned plugins link libtorch), so the binary runs without `LD_LIBRARY_PATH`.

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    match std::env::var("LIBTORCH") {
        Ok(t) => println!("cargo:rustc-link-arg=-Wl,-rpath,{t}/lib"),
        Err(_) => panic!("pressio-ml-cli: LIBTORCH is not set; run ./scripts/setup.sh"),
    }
}
