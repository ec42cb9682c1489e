#!/usr/bin/env bash
# The main job: compresses a field made on the fly with every registered compressor and prints
# compression ratio, PSNR, max error and speed. Does its own set-up.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo run --release --quiet --example demo -- "$@"
