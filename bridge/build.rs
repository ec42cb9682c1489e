//! Build script of the LibPressio bridge.
//!
//! Detects an installed LibPressio and, when found, compiles the C++ shim against its headers,
//! generates Rust bindings of its C API with bindgen, links `liblibpressio.so` dynamically and
//! sets an rpath to its library directory. When LibPressio is not found the crate builds to an
//! empty library (and its tests report that they were skipped), unless the `libpressio` feature
//! asks for it, in which case the build fails with an explanation.
//!
//! Detection order (the first that applies wins):
//! 1. `PRESSIO_ML_LIBPRESSIO=0|off|no`: never use LibPressio;
//! 2. `LIBPRESSIO_PREFIX=<prefix>`: `<prefix>/include/libpressio/libpressio.h` and
//!    `<prefix>/lib{,64}/liblibpressio.so`;
//! 3. `LibPressio_DIR=<dir>` (CMake package dir, e.g. `<prefix>/lib/cmake/LibPressio`): the
//!    nearest ancestor that holds `include/libpressio/libpressio.h`;
//! 4. `pkg-config libpressio` (honours `PKG_CONFIG_PATH`).
//!
//! std_compat (a LibPressio dependency whose headers LibPressio's C++ headers include) is looked
//! up next to LibPressio, in `STD_COMPAT_PREFIX`, or through `pkg-config std_compat`.

use std::env;
use std::path::{Path, PathBuf};

/// What the build found.
struct Found {
    /// How it was found (printed in the generated constants).
    how: String,
    /// Include directories for the C and C++ compilers.
    includes: Vec<PathBuf>,
    /// Library directories (linked and added to the rpath).
    libdirs: Vec<PathBuf>,
    /// Directory of `libpressio.h`.
    header_dir: PathBuf,
}

fn truthy_off(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "0" | "off" | "no" | "false"
    )
}

fn libdir_of(prefix: &Path) -> Option<PathBuf> {
    ["lib", "lib64", "lib/x86_64-linux-gnu"]
        .iter()
        .map(|l| prefix.join(l))
        .find(|d| d.join("liblibpressio.so").exists())
}

fn from_prefix(prefix: &Path, how: String) -> Option<Found> {
    let header_dir = prefix.join("include/libpressio");
    if !header_dir.join("libpressio.h").exists() {
        return None;
    }
    let libdir = libdir_of(prefix)?;
    let mut includes = vec![header_dir.clone(), prefix.join("include")];
    let mut libdirs = vec![libdir];
    add_std_compat(&mut includes, &mut libdirs);
    Some(Found {
        how,
        includes,
        libdirs,
        header_dir,
    })
}

/// std_compat's headers (`std_compat/*.h`) and library, if not already on the include path.
fn add_std_compat(includes: &mut Vec<PathBuf>, libdirs: &mut Vec<PathBuf>) {
    let has = |incs: &[PathBuf]| {
        incs.iter()
            .any(|i| i.join("std_compat/std_compat.h").exists())
    };
    if has(includes) {
        return;
    }
    if let Ok(p) = env::var("STD_COMPAT_PREFIX") {
        let p = PathBuf::from(p);
        includes.push(p.join("include"));
        if let Some(l) = ["lib", "lib64"]
            .iter()
            .map(|l| p.join(l))
            .find(|d| d.is_dir())
        {
            libdirs.push(l);
        }
        if has(includes) {
            return;
        }
    }
    if let Ok(lib) = pkg_config::Config::new()
        .cargo_metadata(false)
        .probe("std_compat")
    {
        includes.extend(lib.include_paths);
        libdirs.extend(lib.link_paths);
    }
}

fn detect() -> Option<Found> {
    for v in [
        "PRESSIO_ML_LIBPRESSIO",
        "LIBPRESSIO_PREFIX",
        "LibPressio_DIR",
        "STD_COMPAT_PREFIX",
        "PKG_CONFIG_PATH",
    ] {
        println!("cargo:rerun-if-env-changed={v}");
    }
    if env::var("PRESSIO_ML_LIBPRESSIO").is_ok_and(|v| truthy_off(&v)) {
        return None;
    }
    if let Ok(p) = env::var("LIBPRESSIO_PREFIX") {
        return from_prefix(Path::new(&p), format!("LIBPRESSIO_PREFIX={p}"));
    }
    if let Ok(d) = env::var("LibPressio_DIR") {
        let mut cur = Some(Path::new(&d));
        while let Some(c) = cur {
            if let Some(f) = from_prefix(c, format!("LibPressio_DIR={d}")) {
                return Some(f);
            }
            cur = c.parent();
        }
        return None;
    }
    let lib = pkg_config::Config::new()
        .cargo_metadata(false)
        .probe("libpressio")
        .ok()?;
    let header_dir = lib
        .include_paths
        .iter()
        .find(|p| p.join("libpressio.h").exists())?
        .clone();
    let mut includes = lib.include_paths.clone();
    let mut libdirs = lib.link_paths.clone();
    if !libdirs.iter().any(|d| d.join("liblibpressio.so").exists()) {
        return None;
    }
    add_std_compat(&mut includes, &mut libdirs);
    Some(Found {
        how: format!("pkg-config libpressio {}", lib.version),
        includes,
        libdirs,
        header_dir,
    })
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/shim/pressio_ml_shim.cc");
    println!("cargo:rerun-if-changed=src/shim/pressio_ml_shim.h");
    println!("cargo:rustc-check-cfg=cfg(pressio_ml_libpressio)");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let required = env::var_os("CARGO_FEATURE_LIBPRESSIO").is_some();
    let linux = env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    // The served learned plugins link libtorch: find it at run time without LD_LIBRARY_PATH.
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if let Ok(t) = env::var("LIBTORCH") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{t}/lib");
    }

    let found = if linux { detect() } else { None };
    let Some(found) = found else {
        if required {
            panic!(
                "feature `libpressio` is enabled but LibPressio was not found: set \
                 LIBPRESSIO_PREFIX=<install prefix>, LibPressio_DIR=<prefix>/lib/cmake/LibPressio \
                 or PKG_CONFIG_PATH so that `pkg-config libpressio` works (Linux only)"
            );
        }
        std::fs::write(
            out.join("found.rs"),
            "/// True when the build found LibPressio and compiled the bridge.\n\
             pub const LIBPRESSIO_FOUND: bool = false;\n\
             /// How LibPressio was found (empty when it was not).\n\
             pub const LIBPRESSIO_HOW: &str = \"\";\n\
             /// LibPressio's library directory (empty when it was not found).\n\
             pub const LIBPRESSIO_LIBDIR: &str = \"\";\n\
             /// LibPressio's header directory (empty when it was not found).\n\
             pub const LIBPRESSIO_INCLUDEDIR: &str = \"\";\n",
        )
        .expect("write found.rs");
        return;
    };

    println!("cargo:rustc-cfg=pressio_ml_libpressio");
    println!(
        "cargo:rerun-if-changed={}",
        found.header_dir.join("libpressio.h").display()
    );
    let libdir = found
        .libdirs
        .iter()
        .find(|d| d.join("liblibpressio.so").exists())
        .cloned()
        .unwrap_or_else(|| found.libdirs[0].clone());
    std::fs::write(
        out.join("found.rs"),
        format!(
            "/// True when the build found LibPressio and compiled the bridge.\n\
             pub const LIBPRESSIO_FOUND: bool = true;\n\
             /// How LibPressio was found (empty when it was not).\n\
             pub const LIBPRESSIO_HOW: &str = {:?};\n\
             /// LibPressio's library directory (empty when it was not found).\n\
             pub const LIBPRESSIO_LIBDIR: &str = {:?};\n\
             /// LibPressio's header directory (empty when it was not found).\n\
             pub const LIBPRESSIO_INCLUDEDIR: &str = {:?};\n",
            found.how,
            libdir.display().to_string(),
            found.header_dir.display().to_string(),
        ),
    )
    .expect("write found.rs");

    // The C++ shim: subclasses of LibPressio's plugin base classes, and the registration.
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .std("c++17")
        .file("src/shim/pressio_ml_shim.cc")
        .include("src/shim")
        .warnings(true)
        .extra_warnings(true)
        .flag_if_supported("-Wno-unused-parameter")
        .flag_if_supported("-Wno-deprecated-declarations")
        .link_lib_modifier("+whole-archive");
    for i in &found.includes {
        build.include(i);
    }
    build.compile("pressio_ml_shim");

    // Bindings of LibPressio's C API (the stable, C-compatible headers).
    let mut bg = bindgen::Builder::default()
        .header(found.header_dir.join("libpressio.h").display().to_string())
        .allowlist_function("pressio_.*")
        .allowlist_type("pressio_.*")
        .allowlist_var("pressio_.*")
        .default_enum_style(bindgen::EnumVariation::Consts)
        .prepend_enum_name(false)
        .layout_tests(false)
        .generate_comments(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    for i in &found.includes {
        bg = bg.clang_arg(format!("-I{}", i.display()));
    }
    bg.generate()
        .expect("bindgen could not parse libpressio.h")
        .write_to_file(out.join("libpressio_sys.rs"))
        .expect("write bindings");

    for d in &found.libdirs {
        println!("cargo:rustc-link-search=native={}", d.display());
    }
    println!("cargo:rustc-link-lib=dylib=libpressio");
    if found
        .libdirs
        .iter()
        .any(|d| d.join("libstd_compat.so").exists())
    {
        println!("cargo:rustc-link-lib=dylib=std_compat");
    }
    println!("cargo:rustc-link-lib=dylib=stdc++");
    // Find liblibpressio.so at run time without LD_LIBRARY_PATH (plugin, tests, examples).
    let mut rpaths: Vec<&PathBuf> = Vec::new();
    for d in &found.libdirs {
        if !rpaths.contains(&d) {
            rpaths.push(d);
        }
    }
    for d in rpaths {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", d.display());
    }
    // The plugin's file name is libpressio_ml_plugin.so; give it that soname too.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libpressio_ml_plugin.so");
}
