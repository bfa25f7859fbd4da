#!/usr/bin/env python3
"""Compare two logits files (`emulate run --logits` / llama_ref.py format: rows of n_vocab
little-endian f32, shape in FILE.json).

usage: compare_logits.py REF.logits TEST.logits [--max TOL] [--mean TOL]

REF is the reference (its top1-top2 margin decides which rows' argmax is checked). Prints JSON:
rows, max_abs, mean_abs, argmax_equal_rows (over all rows), argmax_checked_rows (rows whose
reference margin exceeds --max), argmax_mismatch_checked (row indices), worst_row (index,
position, max_abs), per_row_max_abs, and ok. Exits 1 when max_abs > --max, mean_abs > --mean,
or a checked row's argmax differs; 2 when the files do not line up (shape, positions, tokens).
"""
import argparse
import json
import sys

import numpy as np


def load(path):
    with open(path + ".json") as f:
        meta = json.load(f)
    rows, n_vocab = meta["shape"]
    x = np.fromfile(path, dtype="<f4")
    if x.size != rows * n_vocab:
        raise SystemExit(f"{path}: {x.size} floats, shape says {rows}x{n_vocab}")
    return x.reshape(rows, n_vocab), meta


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ref")
    ap.add_argument("test")
    ap.add_argument("--max", type=float, default=0.15, help="max |delta logit| (default 0.15)")
    ap.add_argument("--mean", type=float, default=0.01, help="mean |delta logit| (default 0.01)")
    a = ap.parse_args()
    r, rm = load(a.ref)
    t, tm = load(a.test)
    problems = []
    if r.shape != t.shape:
        problems.append(f"shape {list(r.shape)} vs {list(t.shape)}")
    for key in ("positions", "tokens"):
        if key in rm and key in tm and rm[key] != tm[key]:
            problems.append(f"{key} differ: {rm[key]} vs {tm[key]}")
    if problems:
        print(json.dumps({"ok": False, "mismatch": problems}, indent=2))
        return 2
    if not (np.isfinite(r).all() and np.isfinite(t).all()):
        print(json.dumps({"ok": False, "mismatch": ["non-finite logits"],
                          "ref_nonfinite": int((~np.isfinite(r)).sum()),
                          "test_nonfinite": int((~np.isfinite(t)).sum())}, indent=2))
        return 1
    d = np.abs(r.astype(np.float64) - t.astype(np.float64))
    per_row = d.max(axis=1)
    srt = np.sort(r, axis=1)
    margin = srt[:, -1] - srt[:, -2]
    am_r, am_t = r.argmax(axis=1), t.argmax(axis=1)
    checked = margin > a.max
    mism = [int(i) for i in np.nonzero(checked & (am_r != am_t))[0]]
    worst = int(per_row.argmax())
    pos = rm.get("positions", list(range(r.shape[0])))
    out = {
        "rows": int(r.shape[0]),
        "n_vocab": int(r.shape[1]),
        "max_abs": float(d.max()),
        "mean_abs": float(d.mean()),
        "argmax_equal_rows": int((am_r == am_t).sum()),
        "argmax_checked_rows": int(checked.sum()),
        "argmax_mismatch_checked": mism,
        "worst_row": {"index": worst, "position": pos[worst], "max_abs": float(per_row[worst])},
        "ref_logit_std": float(r.std()),
        "ref_margin_min": float(margin.min()),
        "per_row_max_abs": [round(float(v), 6) for v in per_row],
        "tolerance": {"max": a.max, "mean": a.mean},
    }
    out["ok"] = bool(out["max_abs"] <= a.max and out["mean_abs"] <= a.mean and not mism)
    print(json.dumps(out, indent=2))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
