#!/usr/bin/env bash
# Builds DRAMsim3 (umd-memsys/DRAMsim3) at the pinned commit, plus this project's small trace
# driver (driver.cc) against it, into a folder outside the repository. Nothing of DRAMsim3 is
# kept in the repository.
#
#   testbench/dramsim3/build.sh            # clones from GitHub into $DRAMSIM3_DIR
#   DRAMSIM3_SRC=/path/to/clone testbench/dramsim3/build.sh   # offline: use an existing clone
#
# Output: $DRAMSIM3_DIR/build/libdramsim3.so and $DRAMSIM3_DIR/driver.
set -euo pipefail
COMMIT=29817593b3389f1337235d63cac515024ab8fd6e   # master of 2021-04-05
here="$(cd "$(dirname "$0")" && pwd)"
DIR="${DRAMSIM3_DIR:-/tmp/sail-dramsim3}"
mkdir -p "$DIR"
if [ ! -d "$DIR/src/.done-$COMMIT" ]; then
    rm -rf "$DIR/src"
    mkdir -p "$DIR/src"
    if [ -n "${DRAMSIM3_SRC:-}" ]; then
        # A work tree or a bare mirror (git -C works in both).
        git -C "$DRAMSIM3_SRC" archive "$COMMIT" | tar -x -C "$DIR/src"
    else
        git clone --quiet https://github.com/umd-memsys/DRAMsim3 "$DIR/clone"
        git -C "$DIR/clone" archive "$COMMIT" | tar -x -C "$DIR/src"
    fi
    mkdir -p "$DIR/src/.done-$COMMIT"
fi
cmake -S "$DIR/src" -B "$DIR/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$DIR/build" --target dramsim3 -j "${JOBS:-2}" >/dev/null
# The shared library lands in the source folder (LIBRARY_OUTPUT_DIRECTORY = PROJECT_SOURCE_DIR).
lib=""
for l in "$DIR"/src/libdramsim3.so "$DIR"/build/libdramsim3.so; do
    if [ -z "$lib" ] && [ -f "$l" ]; then lib="$l"; fi
done
[ -n "$lib" ] || { echo "libdramsim3.so not built" >&2; exit 1; }
${CXX:-g++} -O2 -std=c++17 -I "$DIR/src/src" "$here/driver.cc" "$lib" \
    -Wl,-rpath,"$(dirname "$lib")" -o "$DIR/driver"
echo "$DIR/driver"
