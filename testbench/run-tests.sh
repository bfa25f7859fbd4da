#!/usr/bin/env bash
# The project's test command (the README's second set-up command; .ci/run calls it).
# Formatting, lints, and every test: unit, CLI, oracle and differential.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --check
cargo clippy --all-targets -- -D warnings
# The committed program ELFs must match a rebuild of their sources.
make -C programs check
cargo test --release
# Latency regression against the committed golden numbers.
cargo run --release --quiet -- regress
