//! Deterministic inference.
//!
//! When a network's output feeds quantization, the compressor and the decompressor must compute
//! bit-identical predictions. libtorch gives that on one device kind and one libtorch build when
//! the same kernels see the same shapes in the same order with the same threading. This module
//! fixes everything it can:
//!
//! * [`inference`] runs a closure under a process-wide lock, with gradients off, libtorch's
//!   intra-op threads set to [`INFERENCE_THREADS`] (libtorch's thread count is global, so the
//!   lock keeps concurrent callers from changing it mid-run; the previous count is restored
//!   afterwards), deterministic algorithms on, cuDNN benchmarking and TF32 off. Results
//!   therefore never depend on `pressio:nthreads` or on other threads.
//! * [`run_batched`] feeds samples in a fixed order in batches of a fixed size (the last one
//!   shorter), so both sides run identical kernel shapes, provided they pass the same samples.
//! * [`prediction_checksum`] hashes predictions so that a decoder can detect that it would not
//!   reproduce the encoder's predictions (another device kind, libtorch build or CPU) and refuse
//!   instead of decoding garbage.

use crate::tch_error;
use pressio_ml_core::{PressioError, Result};
use std::sync::{Mutex, Once};
use tch::{Device, Kind, Tensor};

/// libtorch intra-op threads used for every inference (fixed, so that results do not depend on
/// the caller's thread count).
pub const INFERENCE_THREADS: i32 = 1;

extern "C" {
    fn pmlnn_set_deterministic(on: i32, warn_only: i32) -> i32;
    fn pmlnn_deterministic() -> i32;
    fn pmlnn_set_interop_threads(n: i32) -> i32;
    fn pmlnn_version_major() -> i32;
    fn pmlnn_version_minor() -> i32;
    fn pmlnn_version_patch() -> i32;
}

static LOCK: Mutex<()> = Mutex::new(());
static INIT: Once = Once::new();

/// One-time global libtorch set-up: one inter-op thread (eager inference never needs more) and
/// strict deterministic algorithms. Idempotent; called by [`inference`] and by training code.
pub fn init_runtime() {
    INIT.call_once(|| {
        // SAFETY: plain C functions of the shim; they catch every C++ exception.
        unsafe {
            let _ = pmlnn_set_interop_threads(1);
        }
        set_deterministic(true);
    });
}

/// Set libtorch's global deterministic-algorithms flag (with cuDNN benchmarking and TF32 off).
/// `strict`: an operation without a deterministic implementation is an error (inference);
/// otherwise it only warns (training, where run-to-run reproducibility is a nicety and some
/// CUDA backward kernels have no deterministic version). [`inference`] always sets strict mode.
pub fn set_deterministic(strict: bool) {
    // SAFETY: plain C function of the shim; it catches every C++ exception.
    unsafe {
        let _ = pmlnn_set_deterministic(1, if strict { 0 } else { 1 });
    }
}

/// True when libtorch's deterministic-algorithms flag is on.
pub fn deterministic_algorithms() -> bool {
    // SAFETY: see init_runtime.
    unsafe { pmlnn_deterministic() == 1 }
}

/// The libtorch version this crate was built against, e.g. `2.13.0`.
pub fn libtorch_version() -> String {
    // SAFETY: constant-returning C functions.
    unsafe {
        format!(
            "{}.{}.{}",
            pmlnn_version_major(),
            pmlnn_version_minor(),
            pmlnn_version_patch()
        )
    }
}

/// Set libtorch's intra-op thread count (global to the process; >= 1).
pub fn set_threads(n: usize) {
    let n = i32::try_from(n.max(1)).unwrap_or(i32::MAX);
    tch::set_num_threads(n);
}

struct Restore {
    previous: i32,
}

impl Drop for Restore {
    fn drop(&mut self) {
        tch::set_num_threads(self.previous.max(1));
    }
}

/// Run `f` as a deterministic inference: under the global inference lock, without gradients,
/// with [`INFERENCE_THREADS`] intra-op threads and deterministic algorithms.
pub fn inference<R>(f: impl FnOnce() -> Result<R>) -> Result<R> {
    init_runtime();
    let _lock = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    set_deterministic(true);
    let _restore = Restore {
        previous: tch::get_num_threads(),
    };
    tch::set_num_threads(INFERENCE_THREADS);
    let _grad = tch::no_grad_guard();
    f()
}

/// Run `f` as a training session under the same process-wide lock as [`inference`], with
/// `threads` intra-op threads (restored afterwards) and deterministic algorithms in warn-only
/// mode (some CUDA backward kernels have no deterministic version). Compression-time training
/// (GWLZ) uses it so that its thread settings never race with an inference elsewhere; `f` may
/// fan work out to other threads, which then see the same global settings.
pub fn training<R>(threads: usize, f: impl FnOnce() -> Result<R>) -> Result<R> {
    init_runtime();
    let _lock = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    set_deterministic(false);
    let _restore = Restore {
        previous: tch::get_num_threads(),
    };
    set_threads(threads);
    f()
}

/// A float tensor of shape `shape` from `values` on `device`.
pub fn tensor_from_f32(values: &[f32], shape: &[i64], device: Device) -> Result<Tensor> {
    let numel: i64 = shape.iter().product();
    if numel < 0 || numel as usize != values.len() {
        return Err(PressioError::InvalidArgument(format!(
            "{} values do not fill a tensor of shape {shape:?}",
            values.len()
        )));
    }
    let t = Tensor::f_from_slice(values)
        .and_then(|t| t.f_reshape(shape))
        .map_err(|e| tch_error("building a tensor", e))?;
    if device == Device::Cpu {
        Ok(t)
    } else {
        t.f_to(device)
            .map_err(|e| tch_error("moving a tensor to the device", e))
    }
}

/// The values of a float tensor (any device, any shape), in C order.
pub fn tensor_to_f32(t: &Tensor) -> Result<Vec<f32>> {
    let t = t
        .f_to(Device::Cpu)
        .and_then(|t| t.f_to_kind(Kind::Float))
        .and_then(|t| t.f_contiguous())
        .map_err(|e| tch_error("reading a tensor", e))?;
    let n = t.numel();
    let mut out = vec![0f32; n];
    t.f_copy_data(&mut out, n)
        .map_err(|e| tch_error("reading a tensor", e))?;
    Ok(out)
}

/// Run `f` over `count` samples of shape `sample_shape` stored back to back in `input`, in
/// batches of `batch` samples (the last one shorter), in order, on `device`. `f` maps a batch
/// tensor `[b, sample_shape...]` to `[b, ...]`; the outputs are concatenated. Call it inside
/// [`inference`] for deterministic results.
pub fn run_batched(
    input: &[f32],
    sample_shape: &[i64],
    batch: usize,
    device: Device,
    mut f: impl FnMut(&Tensor) -> Result<Tensor>,
) -> Result<Vec<f32>> {
    if batch == 0 {
        return Err(PressioError::InvalidArgument("batch size 0".into()));
    }
    let per: usize = sample_shape
        .iter()
        .map(|&d| usize::try_from(d).unwrap_or(0))
        .product();
    if per == 0 || input.len() % per != 0 {
        return Err(PressioError::InvalidArgument(format!(
            "{} values are not a whole number of samples of shape {sample_shape:?}",
            input.len()
        )));
    }
    let count = input.len() / per;
    let mut out = Vec::new();
    let mut start = 0usize;
    while start < count {
        let b = batch.min(count - start);
        let mut shape = vec![b as i64];
        shape.extend_from_slice(sample_shape);
        let x = tensor_from_f32(&input[start * per..(start + b) * per], &shape, device)?;
        let y = f(&x)?;
        let size = y.size();
        if size.first().copied() != Some(b as i64) {
            return Err(PressioError::Internal(format!(
                "a batch of {b} samples gave an output of shape {size:?}"
            )));
        }
        out.extend(tensor_to_f32(&y)?);
        start += b;
    }
    Ok(out)
}

/// A checksum of predictions: xxh3-64 of their little-endian IEEE bits. Equal predictions give
/// equal checksums; any bit difference almost surely changes it.
pub fn prediction_checksum(values: &[f32]) -> u64 {
    let mut bytes = Vec::with_capacity(values.len() * 4);
    for v in values {
        bytes.extend_from_slice(&v.to_bits().to_le_bytes());
    }
    xxhash_rust::xxh3::xxh3_64(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_facts() {
        init_runtime();
        assert!(deterministic_algorithms());
        assert_eq!(libtorch_version().split('.').count(), 3);
    }

    #[test]
    fn batched_matches_whole_and_restores_threads() {
        let input: Vec<f32> = (0..70).map(|i| i as f32 * 0.5).collect();
        let before = tch::get_num_threads();
        let whole = inference(|| {
            assert_eq!(tch::get_num_threads(), INFERENCE_THREADS);
            run_batched(&input, &[7], 3, Device::Cpu, |x| {
                x.f_mul_scalar(2.0).map_err(|e| tch_error("mul", e))
            })
        })
        .unwrap();
        assert_eq!(tch::get_num_threads(), before);
        assert_eq!(whole.len(), 70);
        assert!(whole.iter().zip(&input).all(|(a, b)| *a == 2.0 * b));
        assert!(run_batched(&input, &[8], 3, Device::Cpu, |x| Ok(x.shallow_clone())).is_err());
        assert!(run_batched(&input, &[7], 0, Device::Cpu, |x| Ok(x.shallow_clone())).is_err());
    }

    #[test]
    fn checksums() {
        let a = [1.0f32, 2.0, 3.0];
        let mut b = a;
        assert_eq!(prediction_checksum(&a), prediction_checksum(&b));
        b[1] = f32::from_bits(b[1].to_bits() ^ 1);
        assert_ne!(prediction_checksum(&a), prediction_checksum(&b));
    }

    #[test]
    fn tensor_roundtrip_and_bad_shapes() {
        let v = [1.0f32, -2.0, 3.5, 4.0, 5.0, 6.0];
        let t = tensor_from_f32(&v, &[2, 3], Device::Cpu).unwrap();
        assert_eq!(t.size(), vec![2, 3]);
        assert_eq!(tensor_to_f32(&t).unwrap(), v.to_vec());
        assert!(tensor_from_f32(&v, &[4, 2], Device::Cpu).is_err());
    }
}
