#!/usr/bin/env bash
# Runs the whole pressio-ml test suite on a fresh machine: set-up, formatting and lint checks,
# then every test of the workspace (unit, integration, C/C++ ABI, CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export CARGO_TERM_COLOR=never
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace --no-fail-fast
