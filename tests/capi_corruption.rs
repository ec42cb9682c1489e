//! Corrupted streams must be refused with an error by every registered decompressor, never a
//! crash, a hang or a panic, both through the Rust API and through the C interface.
//!
//! For each compressor a real field is compressed, then a few thousand corrupted variants of the
//! stream, drawn from a fixed seed, are decompressed: truncations at (and next to) every section
//! boundary of the stream container, single and multiple random bit flips, overwritten ranges,
//! random bytes and trailing garbage. A watchdog aborts the run (failing the test) when one case
//! takes longer than two minutes.
//!
//! The container's checksum catches all of these before a decoder runs, so a third test also
//! re-seals corrupted streams (recomputes the checksum) to drive each plugin's decoder on
//! corrupted contents: there a stream may decode (its damage is undetectable), but it must never
//! panic, crash or hang.

#[path = "c/support.rs"]
mod support;

use pressio_ml::capi::*;
use pressio_ml::{registry, Compressor, DType, Data, Options, PressioError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::ffi::{c_void, CStr, CString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SEED: u64 = 0x5EED_C0DE;
const BIT_FLIPS: usize = 1500;
const MULTI_FLIPS: usize = 300;
const OVERWRITES: usize = 150;
const RANDOM_STREAMS: usize = 30;
const TAILS: usize = 20;
const RESEALED: usize = 600;

/// The field every compressor encodes: real data when present, a smooth synthetic one otherwise.
fn field() -> (Vec<f32>, Vec<usize>) {
    match support::Field::load("vtk_data/bluntfin_density_32x32x40.f32") {
        Some(f) => (f.values, f.dims),
        None => {
            support::skip("../shared/data is missing: corrupting streams of a synthetic field");
            let dims = vec![32usize, 32, 16];
            let v = (0..32 * 32 * 16)
                .map(|i| {
                    let (x, y, z) = (i % 32, (i / 32) % 32, i / 1024);
                    (x as f32 * 0.2).sin() * (y as f32 * 0.1).cos() + z as f32 * 0.05
                })
                .collect();
            (v, dims)
        }
    }
}

/// Byte offsets where the sections of a pressio-ml container stream begin and end (magic,
/// format version, header length, header, section count, each section's tag, length and bytes,
/// checksum). Streams in another format get evenly spaced offsets instead.
fn section_boundaries(s: &[u8]) -> Vec<usize> {
    let mut b = vec![0usize];
    let parsed = (|| {
        if s.len() < 22 || &s[..4] != b"PRML" {
            return None;
        }
        let u32_at = |o: usize| {
            s.get(o..o + 4)
                .map(|x| u32::from_le_bytes(x.try_into().unwrap()) as usize)
        };
        let u64_at = |o: usize| {
            s.get(o..o + 8)
                .map(|x| u64::from_le_bytes(x.try_into().unwrap()) as usize)
        };
        let mut v = vec![4, 6, 10];
        let hlen = u32_at(6)?;
        let mut o = 10usize.checked_add(hlen)?;
        v.push(o);
        let count = u32_at(o)?;
        o += 4;
        v.push(o);
        for _ in 0..count {
            let len = u64_at(o + 4)?;
            v.extend([o + 4, o + 12]);
            o = o.checked_add(12)?.checked_add(len)?;
            v.push(o);
        }
        (o + 8 == s.len()).then_some(v)
    })();
    match parsed {
        Some(v) => b.extend(v),
        None => {
            eprintln!("stream is not a pressio-ml container: truncating at evenly spaced offsets");
            b.extend((1..64).map(|k| s.len() * k / 64));
        }
    }
    b.push(s.len().saturating_sub(8));
    b.sort_unstable();
    b.dedup();
    b
}

/// Every corrupted variant of `stream`, with a description.
fn corruptions(stream: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut cases = Vec::new();
    let n = stream.len();
    let mut cuts: Vec<usize> = section_boundaries(stream)
        .into_iter()
        .flat_map(|b| [b.saturating_sub(1), b, b + 1])
        .chain(0..16)
        .filter(|&c| c < n)
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    for c in cuts {
        cases.push((
            format!("truncated to {c} of {n} bytes"),
            stream[..c].to_vec(),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    for _ in 0..BIT_FLIPS {
        let (pos, bit) = (rng.gen_range(0..n), rng.gen_range(0..8));
        let mut s = stream.to_vec();
        s[pos] ^= 1 << bit;
        cases.push((format!("bit {bit} of byte {pos} flipped"), s));
    }
    for _ in 0..MULTI_FLIPS {
        let k = rng.gen_range(2..=16);
        let mut s = stream.to_vec();
        for _ in 0..k {
            s[rng.gen_range(0..n)] ^= 1 << rng.gen_range(0..8);
        }
        if s != stream {
            cases.push((format!("{k} random bits flipped"), s));
        }
    }
    for _ in 0..OVERWRITES {
        let start = rng.gen_range(0..n);
        let len = rng.gen_range(1..=(n - start).min(64));
        let mut s = stream.to_vec();
        rng.fill(&mut s[start..start + len]);
        if s != stream {
            cases.push((format!("{len} bytes at {start} overwritten"), s));
        }
    }
    for i in 0..RANDOM_STREAMS {
        let mut s = vec![0u8; rng.gen_range(1..2 * n)];
        rng.fill(&mut s[..]);
        if i % 2 == 0 && s.len() >= 4 {
            s[..4].copy_from_slice(&stream[..4]); // keep the magic
        }
        cases.push((format!("{} random bytes", s.len()), s));
    }
    for _ in 0..TAILS {
        let mut s = stream.to_vec();
        let extra = rng.gen_range(1..32);
        s.extend((0..extra).map(|_| rng.gen::<u8>()));
        cases.push((format!("{extra} bytes appended"), s));
    }
    cases
}

/// Aborts the process when no case completes for `limit` (a hang fails the run instead of
/// blocking it).
struct Watchdog {
    progress: Arc<AtomicU64>,
    current: Arc<Mutex<String>>,
    stop: Arc<AtomicU64>,
}

impl Watchdog {
    fn start(limit: Duration) -> Watchdog {
        let w = Watchdog {
            progress: Arc::new(AtomicU64::new(0)),
            current: Arc::new(Mutex::new(String::new())),
            stop: Arc::new(AtomicU64::new(0)),
        };
        let (progress, current, stop) = (w.progress.clone(), w.current.clone(), w.stop.clone());
        std::thread::spawn(move || {
            let mut last = (0u64, Instant::now());
            while stop.load(Ordering::SeqCst) == 0 {
                std::thread::sleep(Duration::from_millis(200));
                let p = progress.load(Ordering::SeqCst);
                if p != last.0 {
                    last = (p, Instant::now());
                } else if last.1.elapsed() > limit {
                    eprintln!(
                        "HANG: no progress for {limit:?} on {}",
                        current.lock().unwrap()
                    );
                    std::process::abort();
                }
            }
        });
        w
    }

    fn begin(&self, what: String) {
        *self.current.lock().unwrap() = what;
    }

    fn done(&self) {
        self.progress.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.store(1, Ordering::SeqCst);
    }
}

/// Options setting `pressio:abs` when the compressor declares it.
fn bound_options(c: &Compressor, abs: f64) -> Options {
    let mut o = Options::new();
    if c.get_options().contains("pressio:abs") {
        o.set("pressio:abs", abs);
    }
    o
}

fn abs_bound(values: &[f32]) -> f64 {
    let (lo, hi) = values
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    1e-3 * (hi as f64 - lo as f64)
}

/// A valid stream of `id` for the test field.
fn stream_of(id: &str, values: &[f32], dims: &[usize]) -> Vec<u8> {
    let mut c = registry().compressor(id).unwrap();
    c.set_options(&bound_options(&c, abs_bound(values)))
        .unwrap();
    let input = Data::from_vec(values.to_vec(), dims).unwrap();
    let mut out = Data::empty(DType::Byte, &[]);
    c.compress(&input, &mut out)
        .unwrap_or_else(|e| panic!("{id}: compress failed: {e}"));
    out.bytes().to_vec()
}

#[test]
fn corrupted_streams_are_refused_through_rust() {
    let (values, dims) = field();
    let ids = registry().compressor_ids();
    if ids.is_empty() {
        support::skip("no compressor is registered");
    }
    let dog = Watchdog::start(Duration::from_secs(120));
    let mut failures = Vec::new();
    for id in &ids {
        let stream = stream_of(id, &values, &dims);
        let mut c = registry().compressor(id).unwrap();
        // the intact stream decodes
        let mut ok = Data::empty(DType::Float, &dims);
        c.decompress(&Data::from_byte_vec(stream.clone()), &mut ok)
            .unwrap_or_else(|e| panic!("{id}: the intact stream is refused: {e}"));
        let cases = corruptions(&stream);
        let start = Instant::now();
        for (what, bytes) in &cases {
            for template in [
                Data::empty(DType::Float, &dims),
                Data::empty(DType::Float, &[]),
            ] {
                dog.begin(format!("{id} (Rust): {what}"));
                let mut out = template;
                let r = c.decompress(&Data::from_byte_vec(bytes.clone()), &mut out);
                dog.done();
                match r {
                    Ok(()) => failures.push(format!("{id}: {what}: accepted")),
                    Err(PressioError::Internal(m)) => {
                        failures.push(format!("{id}: {what}: panicked: {m}"))
                    }
                    Err(_) => {}
                }
            }
        }
        eprintln!(
            "{id}: {} corrupted streams refused through Rust in {:?}",
            cases.len(),
            start.elapsed()
        );
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn corrupted_streams_are_refused_through_the_c_abi() {
    let (values, dims) = field();
    let dog = Watchdog::start(Duration::from_secs(120));
    let mut failures = Vec::new();
    for id in registry().compressor_ids() {
        let stream = stream_of(&id, &values, &dims);
        let cid = CString::new(id.as_str()).unwrap();
        unsafe {
            let c = pressio_ml_get_compressor(cid.as_ptr());
            assert!(!c.is_null(), "{id}: pressio_ml_get_compressor failed");
            let decode = |bytes: &[u8], with_dims: bool| -> i32 {
                let len = bytes.len();
                let input = if len == 0 {
                    pressio_ml_data_new_empty(DType::Byte as i32, 0, std::ptr::null())
                } else {
                    pressio_ml_data_new_copy(
                        DType::Byte as i32,
                        bytes.as_ptr() as *const c_void,
                        1,
                        &len,
                    )
                };
                let out = if with_dims {
                    pressio_ml_data_new_empty(DType::Float as i32, dims.len(), dims.as_ptr())
                } else {
                    pressio_ml_data_new_empty(DType::Float as i32, 0, std::ptr::null())
                };
                let rc = pressio_ml_compressor_decompress(c, input, out);
                if rc != 0 {
                    assert_eq!(pressio_ml_compressor_error_code(c), rc);
                    assert_eq!(pressio_ml_error_code(), rc);
                    let msg = CStr::from_ptr(pressio_ml_compressor_error_msg(c));
                    assert!(!msg.to_bytes().is_empty());
                }
                pressio_ml_data_free(input);
                pressio_ml_data_free(out);
                rc
            };
            assert_eq!(
                decode(&stream, true),
                0,
                "{id}: the intact stream is refused"
            );
            let cases = corruptions(&stream);
            for (what, bytes) in &cases {
                for with_dims in [true, false] {
                    dog.begin(format!("{id} (C ABI): {what}"));
                    let rc = decode(bytes, with_dims);
                    dog.done();
                    match rc {
                        0 => failures.push(format!("{id}: {what}: accepted")),
                        16 => failures.push(format!("{id}: {what}: internal error (panic)")),
                        _ => {}
                    }
                }
            }
            eprintln!(
                "{id}: {} corrupted streams refused through the C ABI",
                cases.len()
            );
            pressio_ml_compressor_release(c);
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Corrupted streams with a recomputed checksum (container streams only).
fn resealed_corruptions(stream: &[u8]) -> Vec<(String, Vec<u8>)> {
    let n = stream.len();
    if n < 22 || &stream[..4] != b"PRML" {
        return Vec::new();
    }
    let reseal = |s: &mut Vec<u8>| {
        let body = s.len() - 8;
        let sum = xxhash_rust::xxh3::xxh3_64(&s[..body]);
        s[body..].copy_from_slice(&sum.to_le_bytes());
    };
    let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ 0xFFFF);
    let mut cases = Vec::new();
    for i in 0..RESEALED {
        let mut s = stream.to_vec();
        let k = if i % 4 == 0 { rng.gen_range(2..=12) } else { 1 };
        for _ in 0..k {
            // anything after the magic and format version, before the checksum
            s[rng.gen_range(6..n - 8)] ^= 1 << rng.gen_range(0..8);
        }
        reseal(&mut s);
        if s != stream {
            cases.push((format!("{k} bit(s) flipped, checksum re-sealed"), s));
        }
    }
    for _ in 0..RESEALED / 10 {
        let mut s = stream.to_vec();
        let start = rng.gen_range(6..n - 8);
        let len = rng.gen_range(1..=(n - 8 - start).min(32));
        rng.fill(&mut s[start..start + len]);
        reseal(&mut s);
        if s != stream {
            cases.push((
                format!("{len} bytes at {start} overwritten, checksum re-sealed"),
                s,
            ));
        }
    }
    cases
}

/// Environment variable naming the compressor a child run of [`resealed_child`] checks.
const CHILD_ID: &str = "PRESSIO_ML_RESEALED_ID";
/// Environment variable naming the file where the child writes the case it is about to run.
const CHILD_CASE_FILE: &str = "PRESSIO_ML_RESEALED_CASE_FILE";

/// Re-sealed corrupted streams, one child process per compressor (this test binary re-run with
/// [`CHILD_ID`] set), so that a crash of one decoder (an abort, a foreign exception, a
/// segmentation fault) is reported with the case that caused it instead of killing the run.
#[test]
#[ignore = "known failures (reported): the sz3 plugin lets SZ3's C++ exceptions abort the \
            process on re-sealed corrupted streams, and the codec's Huffman decoder panics with \
            a shift overflow; run with `cargo test --test capi_corruption -- --ignored`"]
fn resealed_corrupted_streams_never_panic_crash_or_hang() {
    let exe = std::env::current_exe().unwrap();
    let mut failures = Vec::new();
    for id in registry().compressor_ids() {
        let case_file = support::out_dir().join(format!("resealed-{id}.case"));
        let _ = std::fs::remove_file(&case_file);
        let mut cmd = std::process::Command::new(&exe);
        cmd.args([
            "resealed_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ID, &id)
        .env(CHILD_CASE_FILE, &case_file)
        .env("RUST_BACKTRACE", "0");
        let out = support::run_with_limit(&mut cmd, Duration::from_secs(600));
        let stderr = String::from_utf8_lossy(&out.stderr);
        for line in stderr
            .lines()
            .filter(|l| l.contains("re-sealed corrupted streams"))
        {
            eprintln!("{line}");
        }
        if !out.status.success() {
            let last = std::fs::read_to_string(&case_file).unwrap_or_default();
            let tail: Vec<&str> = stderr.lines().rev().take(12).collect();
            failures.push(format!(
                "{id}: the child run failed ({}) at case `{last}`; its stderr ends with:\n  {}",
                out.status,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n  ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The child half of [`resealed_corrupted_streams_never_panic_crash_or_hang`]: does nothing
/// unless [`CHILD_ID`] is set.
#[test]
fn resealed_child() {
    let Ok(id) = std::env::var(CHILD_ID) else {
        return;
    };
    let case_file = std::env::var(CHILD_CASE_FILE).ok();
    let (values, dims) = field();
    let dog = Watchdog::start(Duration::from_secs(120));
    let mut failures = Vec::new();
    let stream = stream_of(&id, &values, &dims);
    let cases = resealed_corruptions(&stream);
    if cases.is_empty() {
        support::skip(&format!("{id}: not a container stream, no re-sealed cases"));
        return;
    }
    let mut c = registry().compressor(&id).unwrap();
    let cid = CString::new(id.as_str()).unwrap();
    let h = unsafe { pressio_ml_get_compressor(cid.as_ptr()) };
    let (mut refused, mut decoded) = (0, 0);
    for (what, bytes) in &cases {
        if let Some(f) = &case_file {
            let _ = std::fs::write(f, what);
        }
        dog.begin(format!("{id} (Rust, re-sealed): {what}"));
        let mut out = Data::empty(DType::Float, &dims);
        let r = c.decompress(&Data::from_byte_vec(bytes.clone()), &mut out);
        dog.done();
        match r {
            Ok(()) => {
                decoded += 1;
                if out.num_elements() != values.len() {
                    failures.push(format!("{id}: {what}: decoded {:?}", out.dims()));
                }
            }
            Err(PressioError::Internal(m)) => failures.push(format!("{id}: {what}: panicked: {m}")),
            Err(_) => refused += 1,
        }
        dog.begin(format!("{id} (C ABI, re-sealed): {what}"));
        let rc = unsafe {
            let len = bytes.len();
            let input = pressio_ml_data_new_copy(
                DType::Byte as i32,
                bytes.as_ptr() as *const c_void,
                1,
                &len,
            );
            let out = pressio_ml_data_new_empty(DType::Float as i32, dims.len(), dims.as_ptr());
            let rc = pressio_ml_compressor_decompress(h, input, out);
            pressio_ml_data_free(input);
            pressio_ml_data_free(out);
            rc
        };
        dog.done();
        if rc == 16 {
            failures.push(format!(
                "{id}: {what}: internal error (panic) through the C ABI"
            ));
        }
    }
    unsafe { pressio_ml_compressor_release(h) };
    eprintln!(
        "{id}: {} re-sealed corrupted streams: {refused} refused, {decoded} decoded",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
