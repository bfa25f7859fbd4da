//! The one writer of reports: every command that reports figures stamps its JSON report with
//! its [`Provenance`] here and, given `--out DIR`, writes the run folder:
//!
//! - `report.json`: the JSON report (what `--json` prints), with `provenance`;
//! - `stats.csv`: `path,value,unit`, one row per numeric figure of the report (a counter's
//!   `{value, unit}` is one row with its unit);
//! - `board.resolved.yaml`: the board after `--set` overrides;
//! - `command.txt`: the command line, shell-quoted, and the build it ran on.

use super::BoardArgs;
use crate::provenance::{self, Provenance};
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::Path;

/// Stamps `report` with this process's provenance and writes the run folder when `out` is
/// given. Call it once per command, before printing.
pub(super) fn finish(
    report: &mut serde_json::Value,
    seed: Option<u64>,
    out: Option<&Path>,
    board: &BoardArgs,
) -> Result<()> {
    let p = Provenance::of_process(seed);
    provenance::stamp(report, &p);
    if let Some(dir) = out {
        write_folder(dir, report, &p, board)
            .with_context(|| format!("writing the run folder {}", dir.display()))?;
    }
    Ok(())
}

fn write_folder(
    dir: &Path,
    report: &serde_json::Value,
    p: &Provenance,
    board: &BoardArgs,
) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(report)? + "\n",
    )?;
    std::fs::write(dir.join("stats.csv"), stats_csv(report))?;
    board.load()?.write_resolved(dir)?;
    let dirty = match p.dirty {
        Some(true) => " (dirty)",
        _ => "",
    };
    std::fs::write(
        dir.join("command.txt"),
        format!(
            "{}\n# {} {} commit {}{dirty} build {}\n",
            p.command_text(),
            p.tool,
            p.version,
            p.commit,
            p.build
        ),
    )?;
    Ok(())
}

/// The numeric figures of a report as `path,value,unit` rows, in the report's key order.
/// The `provenance` subtree is left out (it is in report.json and command.txt).
pub fn stats_csv(report: &serde_json::Value) -> String {
    let mut s = String::from("path,value,unit\n");
    rows("", report, &mut s);
    s
}

fn rows(prefix: &str, v: &serde_json::Value, s: &mut String) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        serde_json::Value::Object(m) => {
            if let (Some(value), Some(unit)) = (
                m.get("value").and_then(|x| x.as_f64()),
                m.get("unit").and_then(|x| x.as_str()),
            ) {
                let _ = writeln!(s, "{},{value},{}", csv_word(prefix), csv_word(unit));
                return;
            }
            for (k, x) in m {
                if prefix.is_empty() && k == "provenance" {
                    continue;
                }
                rows(&join(k), x, s);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                rows(&join(&i.to_string()), x, s);
            }
        }
        serde_json::Value::Number(n) => {
            let _ = writeln!(s, "{},{n},", csv_word(prefix));
        }
        serde_json::Value::Bool(b) => {
            let _ = writeln!(s, "{},{},", csv_word(prefix), u8::from(*b));
        }
        _ => {}
    }
}

fn csv_word(w: &str) -> String {
    if w.contains([',', '"', '\n']) {
        format!("\"{}\"", w.replace('"', "\"\""))
    } else {
        w.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_rows_cover_numbers_counters_and_arrays_but_not_provenance() {
        let v = serde_json::json!({
            "cycles": 10,
            "stats": {"core": {"stalls": {"value": 3.0, "unit": "cycles"}}},
            "kernels": [{"cycles": 4}],
            "ok": true,
            "name": "x",
            "provenance": {"seed": 1},
        });
        assert_eq!(
            stats_csv(&v),
            "path,value,unit\ncycles,10,\nkernels.0.cycles,4,\nok,1,\nstats.core.stalls,3,cycles\n"
        );
    }
}
