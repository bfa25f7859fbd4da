//! Sweep results: one JSON line per finished point in `results.jsonl`, appended and flushed
//! as each point ends, so an interrupted sweep loses no finished point; a summary CSV.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// The record of one finished point.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// The point's key (see [`super::key`]).
    pub key: String,
    /// The point's grid index.
    pub index: usize,
    /// Axis values.
    pub axes: Vec<(String, String)>,
    /// The emulate arguments it ran.
    pub argv: Vec<String>,
    /// Whether it succeeded.
    pub ok: bool,
    /// Its JSON report, when it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// Its error message, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Host wall time of the point (not part of any comparison).
    pub host_seconds: f64,
    /// The digest of the spec the point belongs to ([`super::spec::SweepSpec::digest`]).
    #[serde(default)]
    pub spec: String,
    /// The build identity of the binary that ran it ([`crate::provenance::BUILD_ID`]).
    #[serde(default)]
    pub build: String,
}

impl Record {
    /// The number at a dotted path of the result (`decode.tokens_per_s`).
    pub fn number(&self, path: &str) -> Option<f64> {
        let mut v = self.result.as_ref()?;
        for part in path.split('.') {
            v = v.get(part)?;
        }
        v.as_f64()
            .or_else(|| v.get("value").and_then(|x| x.as_f64()))
    }
}

/// Reads a results file. A last line cut short by an interruption is ignored; any other
/// unreadable line is an error naming the line.
pub fn read_records(path: &Path) -> Result<Vec<Record>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(r) => out.push(r),
            Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => {
                tracing::warn!("{}: ignoring a last line cut short", path.display());
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("{}:{}: not a result record", path.display(), i + 1))
            }
        }
    }
    Ok(out)
}

/// Appends records to a results file, one flushed line each.
pub struct RecordWriter {
    file: std::fs::File,
}

impl RecordWriter {
    /// Opens `path` for appending (creating it). A last line cut short by an interruption
    /// is not a finished point: it is cut off, so the next record starts a clean line.
    pub fn append(path: &Path) -> Result<Self> {
        if let Ok(bytes) = std::fs::read(path) {
            if !bytes.is_empty() && !bytes.ends_with(b"\n") {
                let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                let f = std::fs::OpenOptions::new().write(true).open(path)?;
                f.set_len(keep as u64)?;
            }
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        Ok(Self { file })
    }

    /// Writes one record and flushes it to the OS.
    pub fn write(&mut self, r: &Record) -> Result<()> {
        let mut line = serde_json::to_string(r)?;
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.flush()?;
        Ok(())
    }
}

/// Replaces a results file with `records` (written beside it, then renamed over it, so an
/// interruption leaves the old file or the new one).
pub fn rewrite(path: &Path, records: &[Record]) -> Result<()> {
    let tmp = path.with_extension("jsonl.tmp");
    let _ = std::fs::remove_file(&tmp);
    {
        let mut w = RecordWriter::append(&tmp)?;
        for r in records {
            w.write(r)?;
        }
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

/// Combines record sets: one record per key (the first seen), sorted by grid index.
pub fn merge(sets: impl IntoIterator<Item = Vec<Record>>) -> Vec<Record> {
    let mut by_key: BTreeMap<String, Record> = BTreeMap::new();
    for set in sets {
        for r in set {
            by_key.entry(r.key.clone()).or_insert(r);
        }
    }
    let mut v: Vec<Record> = by_key.into_values().collect();
    v.sort_by(|a, b| a.index.cmp(&b.index).then_with(|| a.key.cmp(&b.key)));
    v
}

/// Flattens the scalar leaves of a result, skipping the bulky `stats` and `board` subtrees.
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                if prefix.is_empty() && (k == "stats" || k == "board") {
                    continue;
                }
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, x, out);
            }
        }
        serde_json::Value::Array(_) | serde_json::Value::Null => {}
        serde_json::Value::String(s) => {
            out.insert(prefix.to_string(), csv_field(s));
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\"").replace('\n', " "))
    } else {
        s.to_string()
    }
}

/// The summary table: index, key, each axis, ok, error, then every scalar result field.
pub fn summary_csv(records: &[Record]) -> String {
    let axes: Vec<String> = records
        .first()
        .map(|r| r.axes.iter().map(|(a, _)| a.clone()).collect())
        .unwrap_or_default();
    let rows: Vec<BTreeMap<String, String>> = records
        .iter()
        .map(|r| {
            let mut m = BTreeMap::new();
            if let Some(res) = &r.result {
                flatten("", res, &mut m);
            }
            m
        })
        .collect();
    let mut columns: Vec<String> = rows.iter().flat_map(|m| m.keys().cloned()).collect();
    columns.sort();
    columns.dedup();
    let mut s = String::from("index,key");
    for a in &axes {
        s.push(',');
        s.push_str(&csv_field(a));
    }
    s.push_str(",ok,error");
    for c in &columns {
        s.push(',');
        s.push_str(c);
    }
    s.push('\n');
    for (r, m) in records.iter().zip(&rows) {
        s.push_str(&format!("{},{}", r.index, r.key));
        for a in &axes {
            let v = r
                .axes
                .iter()
                .find(|(k, _)| k == a)
                .map(|(_, v)| v.as_str())
                .unwrap_or("");
            s.push(',');
            s.push_str(&csv_field(v));
        }
        s.push_str(&format!(
            ",{},{}",
            r.ok,
            csv_field(r.error.as_deref().unwrap_or(""))
        ));
        for c in &columns {
            s.push(',');
            s.push_str(m.get(c).map(String::as_str).unwrap_or(""));
        }
        s.push('\n');
    }
    s
}
