//! A C program that uses only LibPressio's public C API (`tests/c/classic_roundtrip.c`) gets the
//! pressio-ml `classic` compressor from LibPressio and round-trips a real field within
//! `pressio:abs`: with the plugin linked in (plain linking, load-time registration), with the
//! plugin preloaded, and, as a control, without it (LibPressio reports an invalid compressor id).

mod common;

use std::path::{Path, PathBuf};

use std::process::Command;

/// The plugin library cargo built next to this test executable.
fn plugin_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?.to_path_buf();
    let up = deps.parent()?.to_path_buf();
    [deps, up]
        .into_iter()
        .find(|d| d.join("libpressio_ml_plugin.so").exists())
}

fn compile(out: &Path, link_plugin: Option<&Path>) -> bool {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/classic_roundtrip.c");
    let libdir = pressio_ml_plugin::LIBPRESSIO_LIBDIR;
    let mut cmd = Command::new(cc);
    cmd.arg("-std=c99")
        .arg("-Wall")
        .arg("-Wextra")
        .arg("-Werror")
        .arg("-O2")
        .arg("-o")
        .arg(out)
        .arg(&src)
        .arg(format!("-I{}", pressio_ml_plugin::LIBPRESSIO_INCLUDEDIR))
        .arg(format!("-L{libdir}"))
        .arg("-llibpressio")
        .arg(format!("-Wl,-rpath,{libdir}"));
    if let Some(dir) = link_plugin {
        // the program references no symbol of the plugin: keep it as a dependency anyway
        cmd.arg(format!("-L{}", dir.display()))
            .arg("-Wl,--no-as-needed")
            .arg("-lpressio_ml_plugin")
            .arg("-Wl,--as-needed")
            .arg(format!("-Wl,-rpath,{}", dir.display()));
    }
    cmd.arg("-lm");
    let o = cmd.output().expect("run the C compiler");
    if !o.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&o.stderr));
    }
    o.status.success()
}

#[test]
fn c_program_uses_classic_through_libpressio() {
    if common::skip_without_libpressio() {
        return;
    }
    let Some(dir) = plugin_dir() else {
        common::skipped("libpressio_ml_plugin.so was not built next to the tests");
        return;
    };
    let Some(data) = pressio_ml_testdata::data_dir() else {
        common::skipped("../shared/data not found (set PRESSIO_ML_DATA to run on real fields)");
        return;
    };
    let field = data.join("geocat/ncep06_T_17x64x128.f32");
    let tmp = std::env::temp_dir().join(format!("pressio_ml_bridge_c_{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let linked = tmp.join("classic_roundtrip_linked");
    let plain = tmp.join("classic_roundtrip");
    assert!(
        compile(&linked, Some(&dir)),
        "compiling the C program failed"
    );
    assert!(compile(&plain, None), "compiling the C program failed");

    let args = [field.to_str().unwrap(), "0.01", "128", "64", "17"];
    // plain linking: registered when the library is loaded
    let o = Command::new(&linked).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("OK: within pressio:abs"), "{stdout}");
    assert!(stdout.contains("thread_safe: 2"), "{stdout}");

    // preloading: same program without the plugin, LD_PRELOAD'ed
    let o = Command::new(&plain)
        .args(args)
        .env("LD_PRELOAD", dir.join("libpressio_ml_plugin.so"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // control: without the plugin LibPressio has no "classic"
    let o = Command::new(&plain)
        .args(args)
        .env_remove("LD_PRELOAD")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("invalid compressor id classic"), "{err}");
    let _ = std::fs::remove_dir_all(&tmp);
}
