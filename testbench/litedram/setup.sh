#!/bin/sh
# Makes a venv with LiteDRAM and what it needs, at the versions reference.json was written
# with (from PyPI; nothing of LiteDRAM is kept in this repository).
#
#   VENV=/work/venv-litedram testbench/litedram/setup.sh
#   $VENV/bin/python testbench/litedram/reference.py --emulate $CARGO_TARGET_DIR/test-release/emulate
set -eu
VENV=${VENV:-/work/venv-litedram}
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet migen==0.10.0 litex==2024.12 litedram==2024.12
"$VENV/bin/python" -c 'import migen, litex, litedram.core.controller; print("litedram venv ready:", "'"$VENV"'")'
