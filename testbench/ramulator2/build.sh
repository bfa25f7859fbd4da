#!/usr/bin/env bash
# Builds Ramulator 2 (CMU-SAFARI/ramulator2) at the pinned commit, as a C++ library without
# its Python bindings, plus this project's trace driver (driver.cc) against it, into a folder
# outside the repository. Nothing of Ramulator 2 is kept in the repository.
#
#   testbench/ramulator2/build.sh                                  # clones from GitHub
#   RAMULATOR2_SRC=/path/to/clone testbench/ramulator2/build.sh    # offline: an existing clone
#
# Ramulator 2's CMakeLists fetches yaml-cpp 0.9.0 and fmt 10.2.1 from GitHub at configure
# time. Offline, this script replaces that block with the Debian packages (apt-get install
# libyaml-cpp-dev libfmt-dev: yaml-cpp 0.7.0, fmt 9.1.0 on Debian 12), which the sources
# build against unchanged.
#
# Output: $RAMULATOR2_DIR/driver; $RAMULATOR2_DIR/src/python holds Ramulator's Python
# configuration package (pure Python, used only to export the YAML configs: see config.py).
set -euo pipefail
COMMIT=38c51d40a976c6b07fbc09de869a7e08dc187d29   # tag v2.1.0 (2026-06-27)
here="$(cd "$(dirname "$0")" && pwd)"
DIR="${RAMULATOR2_DIR:-/tmp/sail-ramulator2}"
mkdir -p "$DIR"
if [ ! -d "$DIR/src/.done-$COMMIT" ]; then
    rm -rf "$DIR/src" "$DIR/build"
    mkdir -p "$DIR/src"
    if [ -n "${RAMULATOR2_SRC:-}" ]; then
        # A work tree or a bare mirror (git -C works in both).
        git -C "$RAMULATOR2_SRC" archive "$COMMIT" | tar -x -C "$DIR/src"
    else
        git clone --quiet https://github.com/CMU-SAFARI/ramulator2 "$DIR/clone"
        git -C "$DIR/clone" archive "$COMMIT" | tar -x -C "$DIR/src"
    fi
    # The dependencies from the system instead of FetchContent (see above).
    python3 - "$DIR/src/CMakeLists.txt" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
start = s.index("message(\"Configuring yaml-cpp...\")")
end = s.index("message(\"Done configuring fmt.\")") + len("message(\"Done configuring fmt.\")")
s = s[:start] + ("find_package(yaml-cpp REQUIRED)\nfind_package(fmt REQUIRED)\n"
                 "if(NOT TARGET yaml-cpp::yaml-cpp)\n"
                 "  add_library(yaml-cpp::yaml-cpp ALIAS yaml-cpp)\nendif()\n") + s[end:]
open(p, "w").write(s)
PY
    mkdir -p "$DIR/src/.done-$COMMIT"
fi
cmake -S "$DIR/src" -B "$DIR/build" -DCMAKE_BUILD_TYPE=Release \
    -DRAMULATOR_PYTHON_BINDINGS=OFF >/dev/null
cmake --build "$DIR/build" --target ramulator -j "${JOBS:-2}" >/dev/null
# The shared library lands in the source folder (LIBRARY_OUTPUT_DIRECTORY = PROJECT_SOURCE_DIR).
lib="$DIR/src/libramulator.so"
[ -f "$lib" ] || { echo "libramulator.so not built" >&2; exit 1; }
${CXX:-g++} -O2 -std=c++20 -I "$DIR/src/src" "$here/driver.cc" "$lib" -lyaml-cpp -lfmt \
    -Wl,-rpath,"$(dirname "$lib")" -o "$DIR/driver"
echo "$DIR/driver"
