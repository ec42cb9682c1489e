#!/usr/bin/env bash
# Installs what pressio-ml needs to build on a fresh Debian machine: the system packages the
# SZ3/ZFP/SPERR crates compile against, and a Rust toolchain if none is present.
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
echo "setup: system dependencies present"
