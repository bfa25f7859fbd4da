#!/usr/bin/env bash
# The project's test command (README "Tests"; .ci/run calls it).
#
#   testbench/run-tests.sh          full tier: formatting, lints, the committed program ELFs
#                                   against their sources, every test (unit, CLI, API, oracle,
#                                   QEMU and LLVM differential), `emulate regress`. Every outside
#                                   tool (clang-19, ld.lld-19, llvm-mc-19, llvm-objdump-19,
#                                   qemu-riscv64, a Python with gguf + numpy in $SAIL_PYTHON or
#                                   python3) is required: a missing one fails the run.
#   testbench/run-tests.sh --quick  fast tier, for editing: the library's unit tests and the
#                                   `cli` and `api` integration tests (no outside tools).
#
# Both build with the lean `test-release` profile (Cargo.toml), so tests and the regress run
# share one build and a one-line change relinks instead of re-running LTO.
set -euo pipefail
cd "$(dirname "$0")/.."

tier=full
case "${1:-}" in
    "") ;;
    --quick) tier=quick ;;
    *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac

profile=test-release
target="${CARGO_TARGET_DIR:-$PWD/target}"
mkdir -p "$target"

# Tests that skip for a missing tool append "test: reason" here; printed in the summary.
skip_log="$(mktemp)"
trap 'rm -f "$skip_log"' EXIT
export SAIL_SKIP_LOG="$skip_log"

step() { printf '\n== %s\n' "$*"; }

if [ "$tier" = quick ]; then
    step "unit, cli and api tests (fast tier)"
    # TinyLlama runs (cli::run) and the large collectives take minutes: full tier only.
    cargo test --profile "$profile" --lib --bins --test suite -- --skip external:: \
        --skip cli::run:: --skip cli::collective::large_
else
    export SAIL_REQUIRE_TOOLS=1

    step "formatting"
    cargo fmt --check
    step "lints"
    cargo clippy --all-targets -- -D warnings

    # The committed program ELFs must match a rebuild of their sources. The rebuild is skipped
    # when programs/ and the toolchain are unchanged since the last check that passed (stamp
    # in the target dir, keyed on a hash of every file under programs/ and the tool versions).
    step "programs: committed ELFs against their sources"
    stamp="$target/programs-check.stamp"
    key="$( { find programs -type f -print0 | sort -z | xargs -0 sha256sum
             clang-19 --version; ld.lld-19 --version; } 2>&1 | sha256sum | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
        echo "programs/ unchanged since the last passing check ($stamp); not rebuilt"
    else
        rm -f "$stamp"
        make -C programs check
        echo "$key" > "$stamp"
    fi

    step "every test (outside tools required)"
    cargo test --profile "$profile"

    # Latency regression against the committed golden numbers.
    step "emulate regress"
    cargo run --profile "$profile" --quiet -- regress
fi

step "summary ($tier tier)"
if [ -s "$skip_log" ]; then
    echo "SKIPPED $(wc -l < "$skip_log") test(s) for missing tools (the full tier runs them):"
    sed 's/^/  /' "$skip_log"
else
    echo "no test skipped"
fi
echo "$tier tier passed"
