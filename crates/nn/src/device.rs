//! Device selection: `auto`, `cpu`, `cuda` or `cuda:N`.
//!
//! libtorch's CUDA support lives in `libtorch_cuda`, which needs the full CUDA runtime (cuBLAS,
//! cuDNN, ...). Binaries built with this crate link only the CPU part (the linker drops
//! `libtorch_cuda` as unneeded), so they start on machines without those libraries; CUDA is
//! loaded on demand, once, the first time a device is resolved, before anything asks libtorch
//! whether CUDA is available (libtorch caches that answer). `auto` quietly falls back to the CPU
//! when loading fails; an explicit `cuda` request fails with the loader's message.

use pressio_ml_core::{PressioError, Result};
use std::path::PathBuf;
use std::sync::OnceLock;
use tch::Device;

/// A requested device, as written in a `<prefix>:device` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceSpec {
    /// The first CUDA device if one is usable, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// A CUDA device: `None` for the first one, `Some(n)` for device `n`.
    Cuda(Option<usize>),
}

impl DeviceSpec {
    /// Parse `auto`, `cpu`, `cuda` or `cuda:N` (case-insensitive); `key` names the option in
    /// the error.
    pub fn parse(key: &str, text: &str) -> Result<DeviceSpec> {
        let t = text.trim().to_ascii_lowercase();
        match t.as_str() {
            "" | "auto" => Ok(DeviceSpec::Auto),
            "cpu" => Ok(DeviceSpec::Cpu),
            "cuda" | "gpu" => Ok(DeviceSpec::Cuda(None)),
            _ => {
                if let Some(n) = t.strip_prefix("cuda:") {
                    let n: usize = n.parse().map_err(|_| {
                        PressioError::invalid_option(
                            key,
                            format!("`{text}`: the device index after cuda: must be a number"),
                        )
                    })?;
                    Ok(DeviceSpec::Cuda(Some(n)))
                } else {
                    Err(PressioError::invalid_option(
                        key,
                        format!("`{text}` is not auto, cpu, cuda or cuda:N"),
                    ))
                }
            }
        }
    }

    /// The canonical spelling (`auto`, `cpu`, `cuda`, `cuda:N`).
    pub fn name(&self) -> String {
        match self {
            DeviceSpec::Auto => "auto".into(),
            DeviceSpec::Cpu => "cpu".into(),
            DeviceSpec::Cuda(None) => "cuda".into(),
            DeviceSpec::Cuda(Some(n)) => format!("cuda:{n}"),
        }
    }

    /// Resolve to a concrete device. `auto` picks CUDA device 0 when CUDA is usable, else the
    /// CPU; `cuda` / `cuda:N` fail with a clear message when CUDA (or device N) is absent.
    pub fn resolve(&self) -> Result<Device> {
        match *self {
            DeviceSpec::Cpu => Ok(Device::Cpu),
            DeviceSpec::Auto => Ok(if cuda_device_count() > 0 {
                Device::Cuda(0)
            } else {
                Device::Cpu
            }),
            DeviceSpec::Cuda(index) => {
                if let Err(why) = load_cuda() {
                    return Err(PressioError::Unsupported(format!(
                        "CUDA was requested ({}) but libtorch's CUDA support cannot be loaded: \
                         {why}",
                        self.name()
                    )));
                }
                let count = cuda_device_count();
                let n = index.unwrap_or(0);
                if count == 0 {
                    return Err(PressioError::Unsupported(format!(
                        "CUDA was requested ({}) but no CUDA device is available",
                        self.name()
                    )));
                }
                if n >= count {
                    return Err(PressioError::Unsupported(format!(
                        "CUDA device {n} was requested but only {count} device(s) are available"
                    )));
                }
                Ok(Device::Cuda(n))
            }
        }
    }
}

/// The kind of a device, as recorded in streams (predictions are only bit-reproducible on the
/// same kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// Any CPU.
    Cpu,
    /// Any CUDA device.
    Cuda,
}

impl DeviceKind {
    /// The kind of `device`.
    pub fn of(device: Device) -> DeviceKind {
        match device {
            Device::Cuda(_) => DeviceKind::Cuda,
            _ => DeviceKind::Cpu,
        }
    }

    /// Stream code: 0 for CPU, 1 for CUDA.
    pub fn code(self) -> u8 {
        match self {
            DeviceKind::Cpu => 0,
            DeviceKind::Cuda => 1,
        }
    }

    /// Inverse of [`DeviceKind::code`].
    pub fn from_code(code: u8) -> Option<DeviceKind> {
        match code {
            0 => Some(DeviceKind::Cpu),
            1 => Some(DeviceKind::Cuda),
            _ => None,
        }
    }

    /// `cpu` or `cuda`.
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Cpu => "cpu",
            DeviceKind::Cuda => "cuda",
        }
    }
}

/// A readable name of a concrete device (`cpu`, `cuda:0`).
pub fn device_name(device: Device) -> String {
    match device {
        Device::Cuda(n) => format!("cuda:{n}"),
        Device::Cpu => "cpu".into(),
        other => format!("{other:?}").to_ascii_lowercase(),
    }
}

/// The directory holding the libtorch libraries: `$LIBTORCH/lib` at run time when set, else the
/// one this crate was built against.
pub fn libtorch_lib_dir() -> PathBuf {
    if let Ok(p) = std::env::var("LIBTORCH") {
        let p = PathBuf::from(p).join("lib");
        if p.is_dir() {
            return p;
        }
    }
    PathBuf::from(env!("PRESSIO_ML_LIBTORCH_LIB"))
}

static CUDA: OnceLock<std::result::Result<(), String>> = OnceLock::new();

/// Load libtorch's CUDA support (`libtorch_cuda`) once, globally. Returns why it failed, e.g.
/// a missing CUDA library; later calls return the first answer.
pub fn load_cuda() -> std::result::Result<(), String> {
    CUDA.get_or_init(|| {
        // Deterministic cuBLAS needs a fixed workspace configuration, set before the first
        // cuBLAS handle exists (only when the user has not chosen one).
        if std::env::var_os("CUBLAS_WORKSPACE_CONFIG").is_none() {
            std::env::set_var("CUBLAS_WORKSPACE_CONFIG", ":4096:8");
        }
        let mut errors = Vec::new();
        let mut candidates = vec![libtorch_lib_dir().join("libtorch_cuda.so")];
        candidates.push(PathBuf::from("libtorch_cuda.so"));
        for path in candidates {
            // SAFETY: loading libtorch_cuda runs its static initializers, which register the
            // CUDA backend with the already-loaded libtorch_cpu of the same build; the library
            // is never unloaded.
            let flags = libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_GLOBAL;
            match unsafe { libloading::os::unix::Library::open(Some(&path), flags) } {
                Ok(lib) => {
                    std::mem::forget(lib);
                    return Ok(());
                }
                Err(e) => errors.push(format!("{}: {e}", path.display())),
            }
        }
        Err(errors.join("; "))
    })
    .clone()
}

/// Number of usable CUDA devices (0 when CUDA support cannot be loaded). Always use this rather
/// than `tch::Cuda::device_count`, which would fix libtorch's answer before CUDA is loaded.
pub fn cuda_device_count() -> usize {
    if load_cuda().is_err() {
        return 0;
    }
    usize::try_from(tch::Cuda::device_count()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_specs() {
        assert_eq!(DeviceSpec::parse("k", "auto").unwrap(), DeviceSpec::Auto);
        assert_eq!(DeviceSpec::parse("k", "").unwrap(), DeviceSpec::Auto);
        assert_eq!(DeviceSpec::parse("k", "CPU").unwrap(), DeviceSpec::Cpu);
        assert_eq!(
            DeviceSpec::parse("k", "cuda").unwrap(),
            DeviceSpec::Cuda(None)
        );
        assert_eq!(
            DeviceSpec::parse("k", "cuda:3").unwrap(),
            DeviceSpec::Cuda(Some(3))
        );
        assert!(DeviceSpec::parse("k", "cuda:x").is_err());
        assert!(DeviceSpec::parse("k", "tpu").is_err());
        assert_eq!(DeviceSpec::Cuda(Some(2)).name(), "cuda:2");
    }

    #[test]
    fn kinds() {
        assert_eq!(DeviceKind::of(Device::Cpu), DeviceKind::Cpu);
        assert_eq!(DeviceKind::of(Device::Cuda(1)), DeviceKind::Cuda);
        for k in [DeviceKind::Cpu, DeviceKind::Cuda] {
            assert_eq!(DeviceKind::from_code(k.code()), Some(k));
        }
        assert_eq!(DeviceKind::from_code(7), None);
    }

    #[test]
    fn cpu_always_resolves_and_missing_cuda_is_an_error() {
        assert_eq!(DeviceSpec::Cpu.resolve().unwrap(), Device::Cpu);
        let auto = DeviceSpec::Auto.resolve().unwrap();
        assert!(matches!(auto, Device::Cpu | Device::Cuda(0)));
        let count = cuda_device_count();
        if count == 0 {
            assert_eq!(auto, Device::Cpu);
            for spec in [DeviceSpec::Cuda(None), DeviceSpec::Cuda(Some(1))] {
                let e = spec.resolve().unwrap_err();
                assert!(matches!(e, PressioError::Unsupported(_)), "{e}");
                assert!(e.to_string().contains("CUDA"), "{e}");
            }
        } else {
            let e = DeviceSpec::Cuda(Some(count)).resolve().unwrap_err();
            assert!(e.to_string().contains("only"), "{e}");
        }
    }
}
