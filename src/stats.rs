//! The statistics tree: counters named by instance path, each with a unit.
//!
//! A path reads from the system down to the counter: `card0.ddr.bank3.row_hits`,
//! `card1.link.east.tx_bytes`. Components fill a [`Stats`] of their own with paths relative
//! to themselves and the owner mounts it under a prefix with [`Stats::merge_under`], so the
//! tree of a many-card system is built without any component knowing where it sits.
//! Iteration order is the sorted path order, never hash order, so output is deterministic.

use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The unit of a counter. A closed set: a counter cannot be given a misspelt unit, and two
/// counters of one quantity cannot disagree on its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unit {
    /// Memory accesses.
    Accesses,
    /// Write-buffer drain batches.
    Batches,
    /// DRAM bursts.
    Bursts,
    /// Bytes.
    Bytes,
    /// DRAM commands.
    Commands,
    /// Clock cycles.
    Cycles,
    /// Link frames.
    Frames,
    /// Instructions.
    Instructions,
    /// Matrix-unit jobs (descriptors).
    Jobs,
    /// Kernel invocations.
    Kernels,
    /// Multiply-accumulates.
    Macs,
    /// Nanoseconds.
    Nanoseconds,
    /// Memory pages.
    Pages,
    /// A dimensionless ratio (utilisation), which [`Stats::add`] does not sum.
    Ratio,
    /// Memory requests.
    Requests,
    /// Matrix-unit tiles.
    Tiles,
    /// Link or host transfers.
    Transfers,
}

impl Unit {
    /// The unit's name in JSON and CSV output (`cycles`, `bytes`, `ns`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Unit::Accesses => "accesses",
            Unit::Batches => "batches",
            Unit::Bursts => "bursts",
            Unit::Bytes => "bytes",
            Unit::Commands => "commands",
            Unit::Cycles => "cycles",
            Unit::Frames => "frames",
            Unit::Instructions => "instructions",
            Unit::Jobs => "jobs",
            Unit::Kernels => "kernels",
            Unit::Macs => "macs",
            Unit::Nanoseconds => "ns",
            Unit::Pages => "pages",
            Unit::Ratio => "ratio",
            Unit::Requests => "requests",
            Unit::Tiles => "tiles",
            Unit::Transfers => "transfers",
        }
    }
}

impl std::fmt::Display for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Unit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One counter: a value and its unit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Counter {
    /// The value. Integer counters are stored exactly up to 2^53.
    pub value: f64,
    /// The unit.
    pub unit: Unit,
}

/// A counter read back by a path the tree does not hold (a misspelt path, or a component
/// that did not report): an error, never a silent zero.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no statistics counter `{path}`{near}")]
pub struct MissingCounter {
    /// The path asked for.
    pub path: String,
    /// Counters under the longest prefix of the path the tree does hold, for the message.
    near: String,
}

/// A flat map from dotted path to counter, ordered by path.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    counters: BTreeMap<String, Counter>,
}

/// The unit of dimensionless ratios (utilisations), which [`Stats::add`] does not sum.
pub const RATIO: Unit = Unit::Ratio;

impl Stats {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a counter, replacing any earlier value.
    pub fn set(&mut self, path: impl Into<String>, value: f64, unit: Unit) {
        self.counters.insert(path.into(), Counter { value, unit });
    }

    /// Adds to a counter, creating it at zero. A second value added to a [`RATIO`] counter
    /// makes it NaN (ratios do not add up; the merger recomputes them).
    ///
    /// Adding to an existing counter with another unit is a programming error and panics in
    /// debug builds.
    pub fn add(&mut self, path: impl Into<String>, value: f64, unit: Unit) {
        use std::collections::btree_map::Entry;
        match self.counters.entry(path.into()) {
            Entry::Vacant(v) => {
                v.insert(Counter { value, unit });
            }
            Entry::Occupied(mut o) => {
                let c = o.get_mut();
                debug_assert_eq!(c.unit, unit, "counter unit changed");
                if unit == RATIO {
                    // A ratio is not additive: whoever merges trees recomputes it from the
                    // counters it is a ratio of. Until then it reads as not-a-number, never
                    // as a wrong sum.
                    c.value = f64::NAN;
                } else {
                    c.value += value;
                }
            }
        }
    }

    /// The value at `path`, if present.
    pub fn get(&self, path: &str) -> Option<f64> {
        self.counters.get(path).map(|c| c.value)
    }

    /// The value at `path`; a path the tree does not hold is an error naming it and the
    /// nearest counters that do exist.
    pub fn value(&self, path: &str) -> Result<f64, MissingCounter> {
        self.get(path).ok_or_else(|| {
            let mut prefix = path;
            let near: Vec<&str> = loop {
                let Some((head, _)) = prefix.rsplit_once('.') else {
                    break Vec::new();
                };
                prefix = head;
                let under: Vec<&str> = self
                    .counters
                    .range(format!("{prefix}.")..)
                    .map(|(k, _)| k.as_str())
                    .take_while(|k| k.starts_with(&format!("{prefix}.")))
                    .take(4)
                    .collect();
                if !under.is_empty() {
                    break under;
                }
            };
            MissingCounter {
                path: path.to_string(),
                near: if near.is_empty() {
                    String::new()
                } else {
                    format!(" (the tree has {}, ...)", near.join(", "))
                },
            }
        })
    }

    /// The counter at `path`, if present.
    pub fn counter(&self, path: &str) -> Option<&Counter> {
        self.counters.get(path)
    }

    /// Number of counters.
    pub fn len(&self) -> usize {
        self.counters.len()
    }

    /// True when no counter is set.
    pub fn is_empty(&self) -> bool {
        self.counters.is_empty()
    }

    /// Counters in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Counter)> {
        self.counters.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Mounts every counter of `other` under `prefix` (`"card0"` turns `ddr.reads` into
    /// `card0.ddr.reads`), adding to counters that already exist.
    pub fn merge_under(&mut self, prefix: &str, other: &Stats) {
        for (k, c) in &other.counters {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            self.add(path, c.value, c.unit);
        }
    }

    /// Sums counters that share a path after removing one instance level: the totals over
    /// cards of `card0.ddr.reads`, `card1.ddr.reads` ... land in `total.ddr.reads`.
    pub fn total_over(&self, instance_prefix: &str) -> Stats {
        let mut out = Stats::new();
        for (k, c) in &self.counters {
            if let Some(rest) = k.strip_prefix(instance_prefix) {
                if let Some((idx, tail)) = rest.split_once('.') {
                    if idx.chars().all(|ch| ch.is_ascii_digit()) && !idx.is_empty() {
                        out.add(format!("total.{tail}"), c.value, c.unit);
                    }
                }
            }
        }
        out
    }

    /// A nested JSON object: each path segment becomes a level, each leaf
    /// `{"value": v, "unit": u}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut root = serde_json::Map::new();
        for (path, c) in &self.counters {
            let mut node = &mut root;
            let mut parts = path.split('.').peekable();
            while let Some(part) = parts.next() {
                if parts.peek().is_none() {
                    node.insert(
                        part.to_string(),
                        serde_json::json!({"value": c.value, "unit": c.unit.name()}),
                    );
                } else {
                    let entry = node
                        .entry(part.to_string())
                        .or_insert_with(|| serde_json::Value::Object(Default::default()));
                    if !entry.is_object() {
                        // A path that is both a leaf and a branch keeps the leaf under "_".
                        let leaf = entry.take();
                        let mut m = serde_json::Map::new();
                        m.insert("_".into(), leaf);
                        *entry = serde_json::Value::Object(m);
                    }
                    node = entry.as_object_mut().expect("made an object above");
                }
            }
        }
        serde_json::Value::Object(root)
    }

    /// CSV with the header `path,value,unit`, one row per counter in path order.
    pub fn to_csv(&self) -> String {
        let mut s = String::from("path,value,unit\n");
        for (path, c) in &self.counters {
            let _ = writeln!(s, "{path},{},{}", c.value, c.unit);
        }
        s
    }
}

impl Serialize for Stats {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_are_not_summed() {
        let mut kernel = Stats::new();
        kernel.set("matmul.utilisation", 0.5, RATIO);
        let mut run = Stats::new();
        run.merge_under("card0", &kernel);
        assert_eq!(run.get("card0.matmul.utilisation"), Some(0.5));
        run.merge_under("card0", &kernel);
        assert!(run.get("card0.matmul.utilisation").unwrap().is_nan());
    }

    #[test]
    fn merge_prefixes_and_sums() {
        let mut card = Stats::new();
        card.add("ddr.bank3.row_hits", 5.0, Unit::Requests);
        card.add("ddr.bank3.row_hits", 2.0, Unit::Requests);
        let mut sys = Stats::new();
        sys.merge_under("card0", &card);
        sys.merge_under("card1", &card);
        assert_eq!(sys.get("card0.ddr.bank3.row_hits"), Some(7.0));
        let t = sys.total_over("card");
        assert_eq!(t.get("total.ddr.bank3.row_hits"), Some(14.0));
    }

    #[test]
    fn json_and_csv_are_in_path_order() {
        let mut s = Stats::new();
        s.set("b.x", 1.0, Unit::Cycles);
        s.set("a.y", 2.0, Unit::Bytes);
        assert_eq!(s.to_csv(), "path,value,unit\na.y,2,bytes\nb.x,1,cycles\n");
        let j = s.to_json();
        assert_eq!(j["a"]["y"]["value"], 2.0);
        assert_eq!(j["b"]["x"]["unit"], "cycles");
    }

    #[test]
    fn a_missing_counter_is_an_error_naming_it() {
        let mut s = Stats::new();
        s.set("matmul.busy_cycles", 3.0, Unit::Cycles);
        assert_eq!(s.value("matmul.busy_cycles"), Ok(3.0));
        let e = s.value("matmul.busy_cylces").unwrap_err();
        assert_eq!(e.path, "matmul.busy_cylces");
        let text = e.to_string();
        assert!(text.contains("`matmul.busy_cylces`"), "{text}");
        assert!(text.contains("matmul.busy_cycles"), "{text}");
        assert!(s.value("vpu.busy_cycles").is_err());
    }
}
