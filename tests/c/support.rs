//! Shared helpers of the C ABI integration tests (`tests/capi_*.rs` include this file with
//! `#[path = "c/support.rs"] mod support;`): locating the built shared and static libraries,
//! compiling C and C++ programs against them with the system compilers, reading the real fields
//! of `../shared/data`, and running programs with a time limit.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How a program links pressio-ml.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// `-lpressio_ml` against `libpressio_ml.so`, with an rpath.
    Shared,
    /// `libpressio_ml.a` plus the system libraries it needs.
    Static,
}

impl Link {
    /// Both kinds.
    pub const ALL: [Link; 2] = [Link::Shared, Link::Static];

    /// A short name for file names and messages.
    pub fn name(self) -> &'static str {
        match self {
            Link::Shared => "shared",
            Link::Static => "static",
        }
    }
}

/// Source language of a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// C99, compiled with `cc`.
    C,
    /// C++17, compiled with `c++`.
    Cxx,
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding `libpressio_ml.so` and `libpressio_ml.a` of this build. `cargo test`
/// builds the root package's lib target with all its crate types (rlib, cdylib, staticlib) into
/// `<target>/<profile>/deps`, next to the test executable, and does not copy them up to
/// `<target>/<profile>` (only `cargo build` does), so `deps` is searched first.
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe
        .parent()
        .expect("test executable directory")
        .to_path_buf();
    let candidates = [
        deps.clone(),
        deps.parent().map(Path::to_path_buf).unwrap_or_default(),
    ];
    for dir in &candidates {
        if dir.join("libpressio_ml.so").exists() && dir.join("libpressio_ml.a").exists() {
            return dir.clone();
        }
    }
    panic!(
        "libpressio_ml.so and libpressio_ml.a are missing from {candidates:?}: they are built with \
         the root package's lib target (`cargo build -p pressio-ml`)"
    );
}

/// Where the test programs are written.
pub fn out_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("capi");
    std::fs::create_dir_all(&d).expect("create the test output directory");
    d
}

/// The shared data directory (`../shared/data` next to the repository, or `PRESSIO_ML_DATA`),
/// if present.
pub fn data_dir() -> Option<PathBuf> {
    let d = std::env::var_os("PRESSIO_ML_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/data"));
    d.is_dir().then_some(d)
}

/// A real field: file path, LibPressio dims (fastest first) and its values.
pub struct Field {
    /// The raw little-endian f32 file.
    pub path: PathBuf,
    /// Dims, fastest varying first (the file name lists them slowest first).
    pub dims: Vec<usize>,
    /// The values.
    pub values: Vec<f32>,
}

impl Field {
    /// Read `rel` (relative to the data directory, e.g. `vtk_data/bluntfin_density_32x32x40.f32`);
    /// `None` when the data directory or the file is missing.
    pub fn load(rel: &str) -> Option<Field> {
        let path = data_dir()?.join(rel);
        let bytes = std::fs::read(&path).ok()?;
        let stem = path.file_stem()?.to_str()?;
        let shape = stem.rsplit('_').next()?;
        let mut dims: Vec<usize> = shape
            .split('x')
            .map(|s| s.parse().expect("dims in the file name"))
            .collect();
        dims.reverse();
        let values: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(
            values.len(),
            dims.iter().product::<usize>(),
            "{}",
            path.display()
        );
        Some(Field { path, dims, values })
    }

    /// Max minus min of the finite values.
    pub fn range(&self) -> f64 {
        let (lo, hi) = self
            .values
            .iter()
            .filter(|v| v.is_finite())
            .fold((f64::MAX, f64::MIN), |(lo, hi), &v| {
                (lo.min(v as f64), hi.max(v as f64))
            });
        hi - lo
    }
}

/// Print a visible skip message.
pub fn skip(why: &str) {
    eprintln!("SKIPPED: {why}");
}

/// Linker arguments for the system libraries the static library needs: the shared objects
/// `libpressio_ml.so` depends on (its DT_NEEDED entries, which are exactly the dynamic native
/// libraries of the Rust build, as `--print native-static-libs` lists them) and its run path.
pub fn static_link_args(lib_dir: &Path) -> Vec<String> {
    let so = lib_dir.join("libpressio_ml.so");
    let mut args = Vec::new();
    let dump = Command::new("readelf").arg("-d").arg(&so).output();
    match dump {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            for line in text.lines() {
                let value = line.split('[').nth(1).and_then(|s| s.split(']').next());
                let Some(value) = value else { continue };
                if line.contains("(NEEDED)") {
                    if !value.starts_with("ld-linux") {
                        args.push(format!("-l:{value}"));
                    }
                } else if line.contains("(RUNPATH)") || line.contains("(RPATH)") {
                    for dir in value.split(':').filter(|d| !d.is_empty()) {
                        let dir = dir.replace("$ORIGIN", &lib_dir.display().to_string());
                        args.push(format!("-L{dir}"));
                        args.push(format!("-Wl,-rpath,{dir}"));
                    }
                }
            }
        }
        _ => {
            eprintln!("readelf is not available: linking the static library with a default list");
            for l in ["stdc++", "gcc_s", "util", "rt", "pthread", "m", "dl", "c"] {
                args.push(format!("-l{l}"));
            }
        }
    }
    args
}

/// Compile `sources` into the program `name` (under [`out_dir`]), linked as `link`. Panics with
/// the compiler's output on failure.
pub fn compile(lang: Lang, sources: &[PathBuf], name: &str, link: Link) -> PathBuf {
    let lib = lib_dir();
    let exe = out_dir().join(format!("{name}-{}", link.name()));
    let mut cmd = match lang {
        Lang::C => {
            let mut c = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()));
            c.arg("-std=c99");
            c
        }
        Lang::Cxx => {
            let mut c = Command::new(std::env::var("CXX").unwrap_or_else(|_| "c++".into()));
            c.arg("-std=c++17");
            c
        }
    };
    cmd.args(["-O1", "-g", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg("-I")
        .arg(repo().join("include"))
        .args(sources)
        .arg("-o")
        .arg(&exe);
    match link {
        Link::Shared => {
            cmd.arg(format!("-L{}", lib.display()))
                .arg("-lpressio_ml")
                .arg(format!("-Wl,-rpath,{}", lib.display()));
        }
        Link::Static => {
            cmd.arg(lib.join("libpressio_ml.a"))
                .args(static_link_args(&lib));
        }
    }
    cmd.args(["-lpthread", "-lm"]);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run the compiler {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "compiling {name} ({}) failed: {cmd:?}\n{}{}",
        link.name(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Run `cmd`, killing it after `limit`; panics on a time-out.
pub fn run_with_limit(cmd: &mut Command, limit: Duration) -> Output {
    // cargo's LD_LIBRARY_PATH would override the programs' rpath and could load a stale
    // libpressio_ml.so from another build; the rpath names the library under test.
    let mut child = cmd
        .env_remove("LD_LIBRARY_PATH")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    // drain the pipes on threads so a chatty child never blocks
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut so, &mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut se, &mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for the child") {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

/// Panic with the program's output unless it exited with status 0.
pub fn expect_success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// True when `prog --version` runs.
pub fn have(prog: &str) -> bool {
    Command::new(prog)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
