#!/usr/bin/env bash
# Write every oracle mix, run it on the emulator (default, --exact, --no-matrix-unit) with a
# 1-token prompt and TOKENS forced decode ids, and compare against llama_ref.py.
#
# Each mode is compared with the reference in ggml's RVV-kernel order (llama_ref.py default,
# the verdict, tolerances below) and, for information, with the reference in the order that
# mode's matrix products claim (default/--exact use the Xpop_matmul unit for quantized and
# BF16 weights: llama_ref.py --dot unit; --no-matrix-unit: --dot ggml).
#
# usage: run_mixes.sh [EMULATE] [OUTDIR] [MIX...]   (env: VOCAB LAYERS TOKENS PY)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
EMU=${1:-/work/helper-bin/emulate}
OUT=${2:-/tmp/oracle-mixes}
shift 2 2>/dev/null || shift $#
MIXES=${*:-q4_k_m f16 f32_f16 tied q4_0 q8_0 bf16 bf16_f16emb}
PY=${PY:-/work/venv/bin/python}
VOCAB=${VOCAB:-32000}; LAYERS=${LAYERS:-3}; TOKENS=${TOKENS:-24}
mkdir -p "$OUT"
FORCE=$(seq -s, 5 $((4 + TOKENS)))     # ids 5..: teacher-forced decode inputs
IDS=1,$FORCE
summ() {
  $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[2], 'rc=%s'%sys.argv[3], 'max=%.3g mean=%.3g argmax=%d/%d checked=%d mism=%s worst=%s' % (d.get('max_abs',-1), d.get('mean_abs',-1), d.get('argmax_equal_rows',-1), d.get('rows',-1), d.get('argmax_checked_rows',-1), d.get('argmax_mismatch_checked', d.get('mismatch')), d.get('worst_row')))" "$@"
}
for mix in $MIXES; do
  case $mix in f16|f32_f16) TOL="--max 5e-3 --mean 5e-3";; *) TOL="--max 0.15 --mean 0.01";; esac
  g=$OUT/$mix.gguf
  $PY "$HERE/../gguf/write_tiny_llama.py" "$g" --mix $mix --vocab $VOCAB --layers $LAYERS
  $PY "$HERE/llama_ref.py" "$g" --ids $IDS --out $OUT/$mix.ref.logits
  $PY "$HERE/llama_ref.py" "$g" --ids $IDS --out $OUT/$mix.ref-unit.logits --dot unit
  for mode in default exact no-matrix-unit; do
    case $mode in default) F=""; R=ref-unit;; exact) F="--exact"; R=ref-unit;; no-matrix-unit) F="--no-matrix-unit"; R=;; esac
    L=$OUT/$mix.$mode.logits
    if ! "$EMU" run --weights "$g" --context 64 --prompt-ids 1 --tokens $TOKENS --force-ids $FORCE \
        --logits "$L" $F > $OUT/$mix.$mode.txt 2>&1; then
      echo "$mix $mode EMULATOR-FAILED: $(grep -m1 -i error $OUT/$mix.$mode.txt)"; continue
    fi
    $PY "$HERE/compare_logits.py" $OUT/$mix.ref.logits "$L" $TOL > $OUT/$mix.$mode.cmp.json
    summ $OUT/$mix.$mode.cmp.json "$mix $mode vs ref" $?
    [ -n "$R" ] || continue
    $PY "$HERE/compare_logits.py" $OUT/$mix.$R.logits "$L" $TOL > $OUT/$mix.$mode.cmp-$R.json
    summ $OUT/$mix.$mode.cmp-$R.json "$mix $mode vs $R" $?
  done
done
