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

/// Compile `tests/c/<source>` against LibPressio into `out`, linking the plugin from
/// `link_plugin` when given.
fn compile(source: &str, out: &Path, link_plugin: Option<&Path>) -> bool {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/c")
        .join(source);
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

/// The plugin's directory, or None (with the skip message) without LibPressio or the plugin.
fn plugin_or_skip() -> Option<PathBuf> {
    if common::skip_without_libpressio() {
        return None;
    }
    let dir = plugin_dir();
    if dir.is_none() {
        common::skipped("libpressio_ml_plugin.so was not built next to the tests");
    }
    dir
}

#[test]
fn c_program_uses_classic_through_libpressio() {
    let Some(dir) = plugin_or_skip() else {
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
        compile("classic_roundtrip.c", &linked, Some(&dir)),
        "compiling the C program failed"
    );
    assert!(
        compile("classic_roundtrip.c", &plain, None),
        "compiling the C program failed"
    );

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

/// `tests/c/datasets.c`: every served plugin over the datasets of LibPressio's integration suite,
/// return codes and bounds checked by a C program that knows only LibPressio's API.
#[test]
fn c_program_keeps_the_bound_on_libpressios_datasets() {
    let Some(dir) = plugin_or_skip() else {
        return;
    };
    let tmp = std::env::temp_dir().join(format!("pressio_ml_bridge_cd_{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let exe = tmp.join("datasets");
    assert!(
        compile("datasets.c", &exe, Some(&dir)),
        "compiling the C program failed"
    );
    #[cfg_attr(not(pressio_ml_libpressio), allow(unused_mut))]
    let mut specs = vec!["classic", "aesz", "gwlz:classic", "gwlz:zfp"];
    #[cfg(pressio_ml_libpressio)]
    for (inner, spec) in [("sz3", "gwlz:sz3"), ("sperr", "gwlz:sperr")] {
        if pressio_ml_plugin::libpressio_has(pressio_ml_plugin::Kind::Compressor, inner) {
            specs.push(spec);
        }
    }
    let o = Command::new(&exe).args(&specs).output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        8 * specs.len()
    );
    assert!(stdout.contains("ALL OK"), "{stdout}");
    let _ = std::fs::remove_dir_all(&tmp);
}
