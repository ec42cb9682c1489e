#!/usr/bin/env bash
# Installs what pressio-ml needs to build on a fresh Debian machine: the system packages the
# SZ3/ZFP/SPERR crates compile against, a Rust toolchain if none is present, and libtorch
# (PyTorch 2.13.0 in a repo-local .venv) for the learned plugins.
# Safe to run repeatedly; it only installs what is missing.
set -euo pipefail

need_pkgs=()
command -v cmake >/dev/null 2>&1 || need_pkgs+=(cmake)
command -v clang >/dev/null 2>&1 || need_pkgs+=(clang)
[ -e /usr/include/zstd.h ] || need_pkgs+=(libzstd-dev)
ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || need_pkgs+=(libclang-dev)
command -v pkg-config >/dev/null 2>&1 || need_pkgs+=(pkg-config)
command -v cc >/dev/null 2>&1 || need_pkgs+=(build-essential)
command -v valgrind >/dev/null 2>&1 || need_pkgs+=(valgrind)
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3 python3-venv)
# Libraries a host process may load before pressio-ml (the system reference BLAS and LLVM's
# OpenMP runtime): the host-independence tests preload them and check that streams do not change.
ls /usr/lib/*/blas/libblas.so.3 /usr/lib/*/libblas.so.3 >/dev/null 2>&1 || need_pkgs+=(libblas3)
ls /usr/lib/*/libomp.so.5 /usr/lib/llvm-*/lib/libomp.so.5 >/dev/null 2>&1 || need_pkgs+=(libomp5-14)

if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${need_pkgs[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: installing the Rust toolchain with rustup"
  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
# libtorch for the learned plugins (tch 0.26 expects PyTorch 2.13.0). The CPU build needs only
# the torch wheel and the two small CUDA runtime wheels it loads; with an NVIDIA driver present,
# the full install (its CUDA wheels, about 4.7 GB) enables the CUDA path. PRESSIO_ML_TORCH=cpu or
# =cuda overrides the automatic choice; an exported LIBTORCH skips this step.
if [ -z "${LIBTORCH:-}" ]; then
  mode="${PRESSIO_ML_TORCH:-auto}"
  if [ "$mode" = auto ]; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then mode=cuda; else mode=cpu; fi
  fi
  if [ ! -e .venv/torch/lib/libtorch_cpu.so ] || [ ! -e ".venv/.torch-$mode" ]; then
    echo "setup: installing PyTorch 2.13.0 ($mode) into .venv (about 1.2 GB for cpu)"
    python3 -m venv .venv
    if [ "$mode" = cuda ]; then
      .venv/bin/pip install -q torch==2.13.0
    else
      .venv/bin/pip install -q --no-deps torch==2.13.0 nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85
    fi
    ln -sfn "$(ls -d "$PWD"/.venv/lib/python3*/site-packages/torch | head -n 1)" .venv/torch
    rm -f .venv/.torch-*
    touch ".venv/.torch-$mode"
  fi
fi
echo "setup: system dependencies and libtorch present"
