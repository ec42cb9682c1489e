//! Crash isolation for tests that drive C/C++ backends: a test re-executes its own binary
//! (`std::env::current_exe()`) with `--exact <test name>` and an environment variable that names
//! the job, so that a segfault or an abort inside the backend kills only the child. The parent
//! then fails with the job's name, the signal and the last case the child announced.
//!
//! A test using it looks like this:
//!
//! ```no_run
//! use pressio_ml_testdata::isolate;
//!
//! #[test]
//! fn every_backend() {
//!     if let Some(job) = isolate::job() {
//!         // child: announce each case before running it, panic on a broken promise
//!         isolate::announce(&format!("{job}: case 1"));
//!         return;
//!     }
//!     let report = isolate::run("every_backend", "sperr", std::time::Duration::from_secs(60));
//!     assert!(report.passed(), "{}", report.describe());
//! }
//! ```

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Environment variable that carries the job name to the child.
pub const JOB_ENV: &str = "PRESSIO_ML_ISOLATED_JOB";

/// Prefix of the lines a child prints (to stderr) before each case.
pub const CASE_PREFIX: &str = "isolate-case: ";

/// The job this process runs as a child, or `None` in the parent.
pub fn job() -> Option<String> {
    std::env::var(JOB_ENV).ok().filter(|j| !j.is_empty())
}

/// Announce (on stderr, flushed) the case about to run, so that the parent can name it when the
/// child dies.
pub fn announce(case: &str) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "{CASE_PREFIX}{case}");
    let _ = e.flush();
}

/// How a child ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Exit status 0.
    Passed,
    /// A non-zero exit code (a failed assertion panics with 101).
    Failed(i32),
    /// Killed by a signal (11 SIGSEGV, 6 SIGABRT, 8 SIGFPE, ...).
    Signal(i32),
    /// Still running after the time limit; it was killed.
    TimedOut(Duration),
    /// The child could not be started or waited for.
    NotRun(String),
}

/// What the parent learns from one child.
#[derive(Debug, Clone)]
pub struct Report {
    /// The job name.
    pub job: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
    /// Wall time.
    pub elapsed: Duration,
}

/// Conventional name of a signal number (Linux numbering).
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        _ => "signal",
    }
}

impl Report {
    /// True when the child exited with status 0.
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }

    /// The last case the child announced before it ended.
    pub fn last_case(&self) -> Option<&str> {
        self.stderr
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix(CASE_PREFIX))
    }

    /// The child's output lines that are not case announcements (panic messages and the like),
    /// at most the last `n`.
    pub fn messages(&self, n: usize) -> Vec<&str> {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .chain(self.stdout.lines())
            .filter(|l| {
                !l.starts_with(CASE_PREFIX)
                    && !l.trim().is_empty()
                    && !l.starts_with("running ")
                    && !l.starts_with("test ")
                    && !l.starts_with("test result")
            })
            .collect();
        lines[lines.len().saturating_sub(n)..].to_vec()
    }

    /// A one-paragraph account: the job, how it ended, the last case and the child's last
    /// messages.
    pub fn describe(&self) -> String {
        let how = match &self.outcome {
            Outcome::Passed => "passed".to_string(),
            Outcome::Failed(code) => format!("failed (exit code {code})"),
            Outcome::Signal(s) => format!("CRASHED with {} ({s})", signal_name(*s)),
            Outcome::TimedOut(d) => format!("TIMED OUT after {:.0} s (killed)", d.as_secs_f64()),
            Outcome::NotRun(e) => format!("could not run: {e}"),
        };
        let mut s = format!(
            "[{}] {how} after {:.1} s; last case: {}",
            self.job,
            self.elapsed.as_secs_f64(),
            self.last_case().unwrap_or("(none announced)")
        );
        for m in self.messages(12) {
            s.push_str("\n    ");
            s.push_str(m);
        }
        s
    }
}

fn outcome_of(status: ExitStatus) -> Outcome {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return Outcome::Signal(sig);
        }
    }
    match status.code() {
        Some(0) => Outcome::Passed,
        Some(c) => Outcome::Failed(c),
        None => Outcome::Failed(-1),
    }
}

/// Drain a child's pipe on a thread (so a chatty child never blocks on a full pipe).
fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut s);
        }
        String::from_utf8_lossy(&s).into_owned()
    })
}

/// Run the test `test_name` of the current test binary as a child with [`JOB_ENV`] = `job`,
/// single-threaded and with its output captured; kill it after `limit`.
pub fn run(test_name: &str, job: &str, limit: Duration) -> Report {
    let start = Instant::now();
    let not_run = |e: String| Report {
        job: job.to_string(),
        outcome: Outcome::NotRun(e),
        stdout: String::new(),
        stderr: String::new(),
        elapsed: start.elapsed(),
    };
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => return not_run(format!("current_exe: {e}")),
    };
    let child = Command::new(exe)
        .args([
            test_name,
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "--include-ignored",
        ])
        .env(JOB_ENV, job)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return not_run(format!("spawn: {e}")),
    };
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let outcome = loop {
        match child.try_wait() {
            Ok(Some(status)) => break outcome_of(status),
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                break Outcome::TimedOut(start.elapsed());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => break Outcome::NotRun(format!("wait: {e}")),
        }
    };
    Report {
        job: job.to_string(),
        outcome,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        elapsed: start.elapsed(),
    }
}

/// Run every job as a child of `test_name`, at most `parallel` at a time, and return the reports
/// in the order of `jobs`.
pub fn run_all(test_name: &str, jobs: &[String], parallel: usize, limit: Duration) -> Vec<Report> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let reports = std::sync::Mutex::new(vec![None; jobs.len()]);
    std::thread::scope(|s| {
        for _ in 0..parallel.clamp(1, jobs.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(job) = jobs.get(i) else { break };
                let r = run(test_name, job, limit);
                if let Ok(mut v) = reports.lock() {
                    v[i] = Some(r);
                }
            });
        }
    });
    reports
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .zip(jobs)
        .map(|(r, job)| {
            r.unwrap_or_else(|| Report {
                job: job.clone(),
                outcome: Outcome::NotRun("no report".into()),
                stdout: String::new(),
                stderr: String::new(),
                elapsed: Duration::ZERO,
            })
        })
        .collect()
}

/// Parallelism for [`run_all`]: `PRESSIO_ML_ISOLATE_JOBS` when set, else the available cores
/// (at most 4).
pub fn default_parallelism() -> usize {
    std::env::var("PRESSIO_ML_ISOLATE_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get().min(4))
                .unwrap_or(1)
        })
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The child announces a case and aborts; the parent sees SIGABRT and the case.
    #[test]
    fn a_crashing_child_is_reported_with_its_signal_and_last_case() {
        if let Some(job) = job() {
            announce(&format!("{job}: the case before the crash"));
            if job == "abort" {
                std::process::abort();
            }
            return;
        }
        let name = "isolate::tests::a_crashing_child_is_reported_with_its_signal_and_last_case";
        let limit = Duration::from_secs(60);
        let reports = run_all(name, &["abort".into(), "fine".into()], 2, limit);
        assert_eq!(reports[0].outcome, Outcome::Signal(6), "{reports:?}");
        assert_eq!(
            reports[0].last_case(),
            Some("abort: the case before the crash")
        );
        assert!(reports[0].describe().contains("SIGABRT"));
        assert!(reports[1].passed(), "{}", reports[1].describe());
    }
}
