//! Helpers shared by the command-line tests: running the binary, temporary folders, generated
//! fields, and which plugins this build registers.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The result of one run of the binary.
pub struct Run {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panic with the whole output unless the run succeeded.
    pub fn ok(self) -> Run {
        assert!(
            self.status.success(),
            "expected success, got {:?}\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        assert_no_panic(&self);
        self
    }

    /// Assert a clean failure: non-zero status, a `pressio-ml: error:` or clap error on
    /// stderr containing every one of `needles`, and no panic.
    pub fn fails_with(self, needles: &[&str]) -> Run {
        assert!(
            !self.status.success(),
            "expected failure, got success\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        assert_no_panic(&self);
        assert!(
            self.stderr.contains("error"),
            "stderr does not report an error:\n{}",
            self.stderr
        );
        for n in needles {
            assert!(
                self.stderr.contains(n),
                "stderr lacks `{n}`:\n{}",
                self.stderr
            );
        }
        self
    }
}

fn assert_no_panic(r: &Run) {
    assert!(
        !r.stderr.contains("panicked") && r.status.code() != Some(101),
        "the binary panicked:\n{}",
        r.stderr
    );
}

/// Run the binary with `args`.
pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_pressio-ml"))
        .args(args)
        .output()
        .expect("the pressio-ml binary runs");
    Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A folder removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh, empty folder named after `tag`.
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "pressio-ml-cli-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }

    /// A path inside the folder.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Dims (fastest first) of the generated field.
pub const DIMS: [usize; 3] = [32, 24, 10];

/// A smooth float field with dims [`DIMS`] (fastest first).
pub fn smooth_field() -> Vec<f32> {
    let [nx, ny, nz] = DIMS;
    let mut v = Vec::with_capacity(nx * ny * nz);
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let (x, y, z) = (x as f32, y as f32, z as f32);
                v.push((0.2 * x).sin() * (0.15 * y).cos() * 10.0 + 0.5 * z + 0.01 * x * y);
            }
        }
    }
    v
}

/// Write f32 values as a raw little-endian file.
pub fn write_f32(path: &Path, values: &[f32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).expect("write field");
}

/// Read a raw little-endian f32 file.
pub fn read_f32(path: &Path) -> Vec<f32> {
    let b = std::fs::read(path).expect("read field");
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// `-d` flags for [`DIMS`].
pub fn dim_args() -> Vec<String> {
    DIMS.iter()
        .flat_map(|d| ["-d".to_string(), d.to_string()])
        .collect()
}

/// Compressor and metric ids this build registers, from `pressio-ml list`.
pub fn registered() -> (Vec<String>, Vec<String>) {
    let r = run(&["list"]).ok();
    let (mut comps, mut metrics) = (Vec::new(), Vec::new());
    let mut section = 0;
    for line in r.stdout.lines() {
        match line {
            "compressors:" => section = 1,
            "metrics:" => section = 2,
            l if l.starts_with("  ") && !l.trim_start().starts_with('(') => {
                let id = l.split_whitespace().next().unwrap_or_default().to_string();
                if section == 1 {
                    comps.push(id);
                } else if section == 2 {
                    metrics.push(id);
                }
            }
            _ => {}
        }
    }
    (comps, metrics)
}

/// The compressor the tests use: sz3 or classic when registered (else any), or `None` (the
/// caller then skips visibly).
pub fn test_compressor() -> Option<String> {
    let (comps, _) = registered();
    ["sz3", "classic"]
        .iter()
        .map(|s| s.to_string())
        .find(|c| comps.contains(c))
        .or_else(|| comps.first().cloned())
}

/// `-m` flags for the example: size and error_stat when both can be attached (two
/// metrics need the composite), else error_stat or size alone.
pub fn example_metrics() -> Vec<String> {
    let (_, metrics) = registered();
    let has = |m: &str| metrics.iter().any(|x| x == m);
    let wanted: Vec<&str> = if has("composite") {
        ["size", "error_stat"]
            .into_iter()
            .filter(|m| has(m))
            .collect()
    } else if has("error_stat") {
        vec!["error_stat"]
    } else if has("size") {
        vec!["size"]
    } else {
        vec![]
    };
    wanted
        .iter()
        .flat_map(|m| ["-m".to_string(), m.to_string()])
        .collect()
}

/// Skip message (visible with `--nocapture`, and in the test's captured output on failure).
pub fn skip(why: &str) {
    eprintln!("SKIPPED: {why}");
}

/// The shared data folder (`../shared/data` from the repository root), if present.
pub fn shared_data() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    p.is_dir().then_some(p)
}

/// Parse `key<type> = value` lines; panics on a line of another shape.
pub fn parse_lines(text: &str) -> Vec<(String, String, String)> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (lhs, value) = l
                .split_once(" = ")
                .unwrap_or_else(|| panic!("bad line `{l}`"));
            let (key, ty) = lhs
                .split_once('<')
                .unwrap_or_else(|| panic!("no type in `{l}`"));
            let ty = ty
                .strip_suffix('>')
                .unwrap_or_else(|| panic!("bad type in `{l}`"));
            assert!(!key.is_empty() && !key.contains(' '), "bad key in `{l}`");
            (key.to_string(), ty.to_string(), value.to_string())
        })
        .collect()
}
