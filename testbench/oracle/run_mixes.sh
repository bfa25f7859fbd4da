#!/usr/bin/env bash
# Write every oracle mix, run it on the emulator (default, --exact, --no-matrix-unit) with a
# 1-token prompt and forced decode ids, and compare against llama_ref.py.
# usage: run_mixes.sh [EMULATE] [OUTDIR] [MIX...]   (env: VOCAB LAYERS TOKENS PY)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
EMU=${1:-/work/helper-bin/emulate}
OUT=${2:-/tmp/oracle-mixes}
shift 2 2>/dev/null || shift $#
MIXES=${*:-q4_k_m f16 f32_f16 tied q4_0 q8_0 bf16}
PY=${PY:-/work/venv/bin/python}
VOCAB=${VOCAB:-32000}; LAYERS=${LAYERS:-3}; TOKENS=${TOKENS:-24}
mkdir -p "$OUT"
FORCE=$(seq -s, 5 $((4 + TOKENS)))     # ids 5..: teacher-forced decode inputs
IDS=1,$FORCE
for mix in $MIXES; do
  case $mix in f16|f32_f16|bf16) TOL="--max 5e-3 --mean 5e-3";; *) TOL="--max 0.15 --mean 0.01";; esac
  [ "$mix" = bf16 ] && TOL="--max 5e-3 --mean 5e-3"
  g=$OUT/$mix.gguf
  $PY "$HERE/../gguf/write_tiny_llama.py" "$g" --mix $mix --vocab $VOCAB --layers $LAYERS
  $PY "$HERE/llama_ref.py" "$g" --ids $IDS --out $OUT/$mix.ref.logits
  for mode in default exact no-matrix-unit; do
    case $mode in default) F="";; exact) F="--exact";; no-matrix-unit) F="--no-matrix-unit";; esac
    L=$OUT/$mix.$mode.logits
    if ! "$EMU" run --weights "$g" --context 64 --prompt-ids 1 --tokens $TOKENS --force-ids $FORCE \
        --logits "$L" $F > $OUT/$mix.$mode.txt 2>&1; then
      echo "$mix $mode EMULATOR-FAILED: $(tail -3 $OUT/$mix.$mode.txt | tr '\n' ' ')"; continue
    fi
    $PY "$HERE/compare_logits.py" $OUT/$mix.ref.logits "$L" $TOL > $OUT/$mix.$mode.cmp.json
    rc=$?
    $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[2], sys.argv[3], 'rc=%s'%sys.argv[4], 'max=%.3g mean=%.3g argmax=%d/%d checked=%d mism=%s worst=%s' % (d.get('max_abs',-1), d.get('mean_abs',-1), d.get('argmax_equal_rows',-1), d.get('rows',-1), d.get('argmax_checked_rows',-1), d.get('argmax_mismatch_checked', d.get('mismatch')), d.get('worst_row')))" $OUT/$mix.$mode.cmp.json $mix $mode $rc
  done
done
