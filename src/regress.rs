//! Latency regression: cases (emulate command lines and the result figures to watch) with
//! golden values in a committed file. Runs are deterministic, so the default tolerance is
//! exact; a drift beyond a case's tolerance fails with a table of old, new and change, and
//! `--bless` rewrites the golden file.
//!
//! ```toml
//! golden = "regress.golden.json"          # relative to the suite file
//! [[case]]
//! name = "membench-stream"
//! argv = ["membench", "--pattern", "stream", "--bytes", "1MiB"]
//! metrics = ["bytes_per_s", "mean_latency_ns"]
//! tolerance = 0.0                          # relative; optional
//! ```

use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A regression suite file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// The golden file, relative to the suite file.
    pub golden: PathBuf,
    /// The cases.
    #[serde(rename = "case")]
    pub cases: Vec<Case>,
}

/// One regression case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique name.
    pub name: String,
    /// emulate arguments (without --json).
    pub argv: Vec<String>,
    /// Paths of the figures to compare: dotted keys, `[i]` or `[node name]` in arrays.
    pub metrics: Vec<String>,
    /// Allowed relative change (0 = exact).
    #[serde(default)]
    pub tolerance: f64,
}

/// Golden values: case -> metric -> value, in name order.
pub type Goldens = BTreeMap<String, BTreeMap<String, f64>>;

/// One compared figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Case name.
    pub case: String,
    /// Metric path.
    pub metric: String,
    /// Golden value, if any.
    pub old: Option<f64>,
    /// Value now, or the error that prevented it.
    pub new: Result<f64, String>,
    /// Allowed relative change.
    pub tolerance: f64,
}

impl Comparison {
    /// True when the new value is within tolerance of the golden one.
    pub fn passes(&self) -> bool {
        match (self.old, &self.new) {
            (Some(old), Ok(new)) => {
                if self.tolerance == 0.0 {
                    old == *new
                } else {
                    (new - old).abs() <= self.tolerance * old.abs()
                }
            }
            _ => false,
        }
    }
}

impl Suite {
    /// Reads a suite and checks it.
    pub fn load(path: &Path) -> Result<Suite> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read regression suite {}", path.display()))?;
        let mut suite: Suite = toml::from_str(&text)
            .with_context(|| format!("in regression suite {}", path.display()))?;
        let mut seen = std::collections::BTreeSet::new();
        for c in &suite.cases {
            if !seen.insert(c.name.clone()) {
                bail!("{}: case `{}` is defined twice", path.display(), c.name);
            }
            if c.metrics.is_empty() {
                bail!("{}: case `{}` watches no metric", path.display(), c.name);
            }
            if !c.tolerance.is_finite() || c.tolerance < 0.0 {
                bail!(
                    "{}: case `{}`: tolerance must be a finite number >= 0",
                    path.display(),
                    c.name
                );
            }
        }
        if suite.golden.is_relative() {
            suite.golden = path.parent().unwrap_or(Path::new(".")).join(&suite.golden);
        }
        Ok(suite)
    }
}

/// Reads a golden file (missing = empty).
pub fn read_goldens(path: &Path) -> Result<Goldens> {
    match std::fs::read_to_string(path) {
        Ok(t) => {
            serde_json::from_str(&t).with_context(|| format!("in golden file {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Goldens::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Splits a metric path into `(key, selector)` segments at the dots outside brackets:
/// `kernels[blk.0.attn_q].cycles` -> `("kernels", Some("blk.0.attn_q"))`, `("cycles", None)`.
fn segments(path: &str) -> Option<Vec<(&str, Option<&str>)>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut open = None;
    let bytes = path.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        match c {
            b'[' if open.is_none() => open = Some(i),
            b']' if open.is_some() => {
                let o = open.take()?;
                out.push((&path[start..o], Some(&path[o + 1..i])));
                start = i + 1;
                if bytes.get(i + 1).is_some_and(|&n| n != b'.') {
                    return None;
                }
            }
            b'.' if open.is_none() => {
                if i > start {
                    out.push((&path[start..i], None));
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    if open.is_some() {
        return None;
    }
    if start < path.len() {
        out.push((&path[start..], None));
    }
    Some(out)
}

/// The number at `path` in a report: dotted keys; `[i]` picks an array element by index and
/// `[name]` the element whose `node` or `name` field is `name`; a counter object gives its
/// `value`.
fn metric(v: &serde_json::Value, path: &str) -> Option<f64> {
    let mut x = v;
    for (key, selector) in segments(path)? {
        if !key.is_empty() {
            x = x.get(key)?;
        }
        if let Some(sel) = selector {
            let items = x.as_array()?;
            x = match sel.parse::<usize>() {
                Ok(i) => items.get(i)?,
                Err(_) => items.iter().find(|e| {
                    ["node", "name"]
                        .iter()
                        .any(|f| e.get(*f).and_then(|n| n.as_str()) == Some(sel))
                })?,
            };
        }
    }
    x.as_f64()
        .or_else(|| x.get("value").and_then(|y| y.as_f64()))
}

/// Runs every case (in parallel; results in suite order) and compares with `goldens`.
pub fn run(
    suite: &Suite,
    goldens: &Goldens,
    runner: &(dyn Fn(&[String]) -> Result<serde_json::Value> + Sync),
) -> Vec<Comparison> {
    let per_case: Vec<Vec<Comparison>> = suite
        .cases
        .par_iter()
        .map(|c| {
            let report = runner(&c.argv);
            c.metrics
                .iter()
                .map(|m| Comparison {
                    case: c.name.clone(),
                    metric: m.clone(),
                    old: goldens.get(&c.name).and_then(|g| g.get(m)).copied(),
                    new: match &report {
                        Ok(v) => {
                            metric(v, m).ok_or_else(|| format!("the report has no number at `{m}`"))
                        }
                        Err(e) => Err(format!("{e:#}")),
                    },
                    tolerance: c.tolerance,
                })
                .collect()
        })
        .collect();
    per_case.into_iter().flatten().collect()
}

/// Golden figures that no case of `suite` watches any more (a bless drops them).
pub fn unwatched(suite: &Suite, goldens: &Goldens) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (case, figures) in goldens {
        let watched = suite.cases.iter().find(|c| &c.name == case);
        for metric in figures.keys() {
            if !watched.is_some_and(|c| c.metrics.contains(metric)) {
                out.push((case.clone(), metric.clone()));
            }
        }
    }
    out
}

/// The golden values a bless writes: every new value of the suite's cases. Fails if any
/// case could not produce its figures.
pub fn blessed(comparisons: &[Comparison]) -> Result<Goldens> {
    let mut g = Goldens::new();
    for c in comparisons {
        match &c.new {
            Ok(v) => {
                g.entry(c.case.clone())
                    .or_default()
                    .insert(c.metric.clone(), *v);
            }
            Err(e) => bail!("case `{}`, metric `{}`: {e}", c.case, c.metric),
        }
    }
    Ok(g)
}

/// Writes golden values as pretty JSON (sorted; floats round-trip exactly).
pub fn write_goldens(path: &Path, g: &Goldens) -> Result<()> {
    let text = serde_json::to_string_pretty(g)? + "\n";
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The table of failing comparisons (or all, with `all`).
pub fn table(comparisons: &[Comparison], all: bool) -> String {
    let mut s = format!(
        "{:<32} {:<28} {:>18} {:>18} {:>10}  status\n",
        "case", "metric", "golden", "now", "change"
    );
    for c in comparisons.iter().filter(|c| all || !c.passes()) {
        let old = c.old.map(|v| format!("{v}")).unwrap_or_else(|| "-".into());
        let (new, change) = match (&c.new, c.old) {
            (Ok(n), Some(o)) if o != 0.0 => (
                format!("{n}"),
                format!("{:+.4}%", (n - o) / o.abs() * 100.0),
            ),
            (Ok(n), _) => (format!("{n}"), "-".into()),
            (Err(_), _) => ("error".into(), "-".into()),
        };
        let status = match (&c.new, c.old) {
            (Err(e), _) => format!("ERROR: {e}"),
            (_, None) => "NO GOLDEN (run with --bless)".into(),
            _ if c.passes() => "ok".into(),
            _ => format!("DRIFT (tolerance {})", c.tolerance),
        };
        let _ = writeln!(
            s,
            "{:<32} {:<28} {:>18} {:>18} {:>10}  {status}",
            c.case, c.metric, old, new, change
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suite(tolerance: f64) -> Suite {
        Suite {
            golden: PathBuf::from("unused"),
            cases: vec![Case {
                name: "fake".into(),
                argv: vec!["x".into()],
                metrics: vec!["a.b".into(), "c".into()],
                tolerance,
            }],
        }
    }

    fn runner(_: &[String]) -> Result<serde_json::Value> {
        Ok(serde_json::json!({"a": {"b": 10.0}, "c": {"value": 3.0, "unit": "cycles"}}))
    }

    #[test]
    fn blessed_goldens_pass_and_a_perturbed_one_fails() {
        let s = suite(0.0);
        let first = run(&s, &Goldens::new(), &runner);
        assert!(first.iter().all(|c| !c.passes()), "no goldens yet");
        let mut g = blessed(&first).unwrap();
        assert!(run(&s, &g, &runner).iter().all(Comparison::passes));
        *g.get_mut("fake").unwrap().get_mut("a.b").unwrap() = 10.000001;
        let again = run(&s, &g, &runner);
        assert_eq!(again.iter().filter(|c| !c.passes()).count(), 1);
        let t = table(&again, false);
        assert!(
            t.contains("a.b") && t.contains("10.000001") && t.contains("DRIFT"),
            "{t}"
        );
        // Within a tolerance the same drift passes.
        assert!(run(&suite(1e-3), &g, &runner)
            .iter()
            .all(Comparison::passes));
    }

    #[test]
    fn metric_paths_select_keys_array_elements_and_counter_values() {
        let v = serde_json::json!({
            "cycles": 7,
            "stats": {"ddr": {"reads": {"unit": "requests", "value": 12.0}}},
            "kernels": [
                {"node": "blk.0.attn_q", "cycles": 93785},
                {"node": "blk.0.ffn_gate", "cycles": 230646, "bytes": {"ddr": 5}},
                {"name": "allreduce", "cycles": 1},
            ],
        });
        assert_eq!(metric(&v, "cycles"), Some(7.0));
        assert_eq!(metric(&v, "stats.ddr.reads"), Some(12.0));
        assert_eq!(metric(&v, "kernels[blk.0.attn_q].cycles"), Some(93785.0));
        assert_eq!(metric(&v, "kernels[blk.0.ffn_gate].bytes.ddr"), Some(5.0));
        assert_eq!(metric(&v, "kernels[1].cycles"), Some(230646.0));
        assert_eq!(metric(&v, "kernels[allreduce].cycles"), Some(1.0));
        for missing in [
            "kernels[blk.9.attn_q].cycles",
            "kernels[7].cycles",
            "kernels[blk.0.attn_q.cycles",
            "kernels[blk.0.attn_q]cycles",
            "stats[0]",
            "nope",
            "stats.ddr",
        ] {
            assert_eq!(metric(&v, missing), None, "{missing}");
        }
    }

    #[test]
    fn goldens_round_trip_bit_exact() {
        // Values whose shortest decimal form a fast float parser reads back one ULP off.
        let values = [
            0.030500800000000026,
            1112.8788438095141,
            6638.036342857167,
            100494148.24447334,
            f64::MIN_POSITIVE,
            1.0 / 3.0,
        ];
        let mut g = Goldens::new();
        for (i, v) in values.iter().enumerate() {
            g.entry("c".into()).or_default().insert(format!("m{i}"), *v);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.json");
        write_goldens(&path, &g).unwrap();
        let back = read_goldens(&path).unwrap();
        for (i, v) in values.iter().enumerate() {
            assert_eq!(back["c"][&format!("m{i}")].to_bits(), v.to_bits(), "{v}");
        }
    }

    #[test]
    fn a_missing_metric_is_an_error_not_a_pass() {
        let mut s = suite(0.0);
        s.cases[0].metrics.push("nope".into());
        let r = run(&s, &Goldens::new(), &runner);
        assert!(blessed(&r).is_err());
        let mut g = Goldens::new();
        g.entry("fake".into())
            .or_default()
            .insert("a.b".into(), 1.0);
        g.entry("fake".into())
            .or_default()
            .insert("gone".into(), 1.0);
        g.entry("old-case".into())
            .or_default()
            .insert("x".into(), 1.0);
        assert_eq!(
            unwatched(&s, &g),
            [
                ("fake".to_string(), "gone".to_string()),
                ("old-case".to_string(), "x".to_string())
            ]
        );
        assert!(table(&r, false).contains("no number at `nope`"));
    }
}
