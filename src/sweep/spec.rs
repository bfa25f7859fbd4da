//! Sweep specifications (TOML) and their expansion into a grid of points.
//!
//! ```toml
//! command = ["membench", "--pattern", "stream", "--bytes", "1MiB"]  # emulate args, no --json
//! board = "innerjib7ea"                                             # default board
//! [axes]                                # cartesian product, first axis varies slowest
//! board = ["innerjib7ea", "innerjib7ea-x16"]       # --board
//! "--pattern" = ["stream", "random"]               # any option of the command
//! "set:memory.capacity" = ["1 GiB", "2 GiB"]       # --set memory.capacity=...
//! [[plots]]
//! file = "bw_vs_capacity"      # writes bw_vs_capacity.svg and .png
//! x = "set:memory.capacity"    # an axis or a result path
//! y = "bytes_per_s"            # a result path (dotted)
//! series = "board"             # optional: one line per value of this axis
//! x_unit = "MiB"               # optional: sizes on x in this unit (default bytes)
//! x_log = true                 # optional: logarithmic x axis
//! x_range = [512, 1024]        # optional: only points with x in this range (in x_unit)
//! x_label = "DDR capacity"     # optional axis descriptions (default: the paths)
//! y_label = "bandwidth (B/s)"
//! where = { board = "innerjib7ea" }   # optional: only points with these axis values
//! ```

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The most points a sweep grid may have. Each point is a full emulator run of seconds to
/// minutes, so 100,000 points is already days of a 100-core cluster; larger grids are almost
/// certainly a mistake, and would spend minutes just computing keys before the first run.
pub const MAX_GRID_POINTS: usize = 100_000;

/// A parsed sweep specification.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// The emulate command each point runs (without `--json`).
    pub command: Vec<String>,
    /// The board used when no `board` axis is given.
    #[serde(default = "default_board")]
    pub board: String,
    /// The axes of the grid, in the order written.
    #[serde(default)]
    pub axes: toml::map::Map<String, toml::Value>,
    /// Plots drawn from the results.
    #[serde(default)]
    pub plots: Vec<PlotSpec>,
}

fn default_board() -> String {
    "innerjib7ea".to_string()
}

/// One plot of a result against an axis.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlotSpec {
    /// Output file stem (`.svg` and `.png` are written).
    pub file: String,
    /// The x axis: an axis name or a dotted result path.
    pub x: String,
    /// The y value: a dotted result path.
    pub y: String,
    /// A second result path drawn beside each series as a thin line of the same colour,
    /// labelled `<series> bound` (e.g. `bound.tokens_per_s` beside `decode.tokens_per_s`).
    #[serde(default)]
    pub bound: Option<String>,
    /// Draw each series' ideal linear scaling from its first point (y proportional to x), as
    /// a thin line labelled `<series> ideal` (card-count plots).
    #[serde(default)]
    pub ideal: bool,
    /// An axis whose values each get their own line.
    #[serde(default)]
    pub series: Option<String>,
    /// Plot title.
    #[serde(default)]
    pub title: Option<String>,
    /// A size unit (`MiB`, `GB`, ...) the x values are shown in (byte-valued x only).
    #[serde(default)]
    pub x_unit: Option<String>,
    /// A logarithmic x axis, ticked at the data's own x values when there are at most 12 of
    /// them (a grid such as card counts), else at 1, 2 and 5 times each power of ten.
    #[serde(default)]
    pub x_log: bool,
    /// Draw each series as steps (the value holds until the next x), for quantities that
    /// switch at thresholds, such as the regime a capacity allows.
    #[serde(default)]
    pub step: bool,
    /// Only points whose x (in `x_unit`) lies in `[lo, hi]`.
    #[serde(default)]
    pub x_range: Option<[f64; 2]>,
    /// The x axis description (default: `x`, with the unit).
    #[serde(default)]
    pub x_label: Option<String>,
    /// The y axis description (default: `y`).
    #[serde(default)]
    pub y_label: Option<String>,
    /// Only points whose axes have these values (axis name -> value).
    #[serde(default, rename = "where")]
    pub filter: std::collections::BTreeMap<String, String>,
}

impl PlotSpec {
    /// Bytes per `x_unit` (1 when there is none).
    pub fn x_divisor(&self) -> Result<f64> {
        match &self.x_unit {
            None => Ok(1.0),
            Some(u) => Ok(crate::units::ByteSize::parse(&format!("1 {u}"))
                .map_err(|e| anyhow::anyhow!("plot `{}`: x_unit `{u}`: {e}", self.file))?
                .bytes() as f64),
        }
    }
}

/// One point of the grid.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Point {
    /// Position in the grid (row-major, first axis slowest).
    pub index: usize,
    /// The value of each axis, in axis order.
    pub axes: Vec<(String, String)>,
    /// The emulate arguments, without the program name and without `--json`.
    pub argv: Vec<String>,
}

impl Point {
    /// The value of `axis` at this point.
    pub fn axis(&self, axis: &str) -> Option<&str> {
        self.axes
            .iter()
            .find(|(a, _)| a == axis)
            .map(|(_, v)| v.as_str())
    }
}

impl SweepSpec {
    /// Reads and checks a spec file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read sweep spec {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in sweep spec {}", path.display()))
    }

    /// Parses and checks spec text.
    pub fn parse(text: &str) -> Result<Self> {
        let spec: SweepSpec = toml::from_str(text)?;
        if spec.command.is_empty() {
            bail!("key `command`: the command must name an emulate subcommand");
        }
        if spec.command.iter().any(|a| a == "--json") {
            bail!("key `command`: leave out --json, the sweep adds it");
        }
        for (name, values) in &spec.axes {
            let arr = values
                .as_array()
                .with_context(|| format!("axis `{name}`: expected a list of values"))?;
            if arr.is_empty() {
                bail!("axis `{name}`: the list of values is empty");
            }
            for v in arr {
                axis_value_text(v).with_context(|| format!("axis `{name}`"))?;
            }
            let bools = arr.iter().filter(|v| v.is_bool()).count();
            if bools > 0 && (bools < arr.len() || !name.starts_with("--")) {
                bail!(
                    "axis `{name}`: true/false values make a flag axis (the option present or absent), so every value must be a boolean and the axis an option (`--no-matrix-unit`)"
                );
            }
            if !(name == "board" || name.starts_with("set:") || name.starts_with("--")) {
                bail!("axis `{name}`: name an option (`--tokens`), `board`, or `set:key.path`");
            }
        }
        let mut grid: usize = 1;
        for (name, values) in &spec.axes {
            let n = values.as_array().map_or(0, |a| a.len());
            grid = grid.checked_mul(n).filter(|&g| g <= MAX_GRID_POINTS).with_context(|| {
                format!(
                    "axis `{name}`: the grid would have more than {MAX_GRID_POINTS} points (the limit MAX_GRID_POINTS); split the sweep into several specs"
                )
            })?;
        }
        for p in &spec.plots {
            let plain = !p.file.is_empty()
                && !p.file.starts_with('.')
                && p.file
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !plain {
                bail!(
                    "plot `{}`: `file` must be a plain file name (letters, digits, `-`, `_`, `.`), written inside the output folder",
                    p.file
                );
            }
            p.x_divisor()?;
            if let Some([lo, hi]) = p.x_range {
                let increasing = lo.partial_cmp(&hi) == Some(std::cmp::Ordering::Less);
                if !increasing || (p.x_log && lo <= 0.0) {
                    bail!(
                        "plot `{}`: x_range [{lo}, {hi}] must be increasing (and positive on a log axis)",
                        p.file
                    );
                }
            }
            for (axis, value) in &p.filter {
                let values = spec.axes.get(axis).and_then(|v| v.as_array());
                let listed = values.is_some_and(|vs| {
                    vs.iter()
                        .any(|v| axis_value_text(v).is_ok_and(|t| &t == value))
                });
                if !listed {
                    bail!(
                        "plot `{}`: where {axis} = `{value}`: not a value of that axis",
                        p.file
                    );
                }
            }
            if let Some(s) = &p.series {
                if !spec.axes.contains_key(s) {
                    bail!("plot `{}`: series `{s}` is not an axis", p.file);
                }
            }
        }
        Ok(spec)
    }

    /// A digest of what decides the grid: the command, the default board and the axes (not
    /// the plots). Records carry it, so a merge can tell points of another spec.
    pub fn digest(&self) -> String {
        let canonical = serde_json::json!({
            "command": self.command,
            "board": self.board,
            "axes": self.axes.iter().map(|(k, v)| (k.clone(), v.to_string())).collect::<Vec<_>>(),
        });
        let h = Sha256::digest(canonical.to_string().as_bytes());
        h.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// Expands the grid into points, first axis varying slowest.
    pub fn points(&self) -> Vec<Point> {
        let axes: Vec<(String, Vec<String>)> = self
            .axes
            .iter()
            .map(|(k, v)| {
                let vals = v
                    .as_array()
                    .map(|a| a.iter().filter_map(|x| axis_value_text(x).ok()).collect())
                    .unwrap_or_default();
                (k.clone(), vals)
            })
            .collect();
        let total: usize = axes.iter().map(|(_, v)| v.len()).product();
        (0..total)
            .map(|index| {
                let mut rem = index;
                let mut chosen = vec![(String::new(), String::new()); axes.len()];
                for (i, (name, vals)) in axes.iter().enumerate().rev() {
                    chosen[i] = (name.clone(), vals[rem % vals.len()].clone());
                    rem /= vals.len();
                }
                let argv = self.argv_for(&chosen);
                Point {
                    index,
                    axes: chosen,
                    argv,
                }
            })
            .collect()
    }

    /// Whether `axis` takes booleans: a flag present (true) or absent (false).
    fn is_flag_axis(&self, axis: &str) -> bool {
        self.axes
            .get(axis)
            .and_then(|v| v.as_array())
            .is_some_and(|a| a.iter().all(toml::Value::is_bool))
    }

    fn argv_for(&self, chosen: &[(String, String)]) -> Vec<String> {
        let board = chosen
            .iter()
            .find(|(a, _)| a == "board")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| self.board.clone());
        let mut argv = vec!["--board".to_string(), board];
        for (axis, value) in chosen {
            if let Some(key) = axis.strip_prefix("set:") {
                argv.push("--set".into());
                argv.push(format!("{key}={value}"));
            }
        }
        argv.extend(self.command.iter().cloned());
        for (axis, value) in chosen {
            if axis.starts_with("--") {
                if self.is_flag_axis(axis) {
                    // true: the flag alone; false: left out.
                    if value == "true" {
                        argv.push(axis.clone());
                    }
                } else {
                    argv.push(axis.clone());
                    argv.push(value.clone());
                }
            }
        }
        argv
    }
}

fn axis_value_text(v: &toml::Value) -> Result<String> {
    Ok(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => bail!("value `{other}` must be a string, number or boolean"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_boolean_axis_is_a_flag_present_or_absent() {
        let spec = SweepSpec::parse(
            r#"
command = ["run", "--tokens", "1"]
[axes]
"--no-matrix-unit" = [false, true]
"#,
        )
        .unwrap();
        let pts = spec.points();
        let tail = |i: usize| pts[i].argv[2..].to_vec();
        assert_eq!(tail(0), ["run", "--tokens", "1"]);
        assert_eq!(tail(1), ["run", "--tokens", "1", "--no-matrix-unit"]);
        assert_eq!(pts[1].axis("--no-matrix-unit"), Some("true"));
        for bad in [
            "\"--no-matrix-unit\" = [true, 3]",
            "\"set:matmul.enabled\" = [true, false]",
        ] {
            let e = SweepSpec::parse(&format!("command = [\"run\"]\n[axes]\n{bad}\n")).unwrap_err();
            assert!(format!("{e:#}").contains("flag axis"), "{bad}: {e:#}");
        }
    }

    #[test]
    fn grid_is_row_major_in_written_order() {
        let spec = SweepSpec::parse(
            r#"
command = ["membench", "--pattern", "stream"]
[axes]
"set:memory.capacity" = ["1 GiB", "2 GiB"]
board = ["innerjib7ea", "innerjib7ea-x16"]
"--bytes" = [4096, 8192, 16384]
"#,
        )
        .unwrap();
        let pts = spec.points();
        assert_eq!(pts.len(), 12);
        assert_eq!(pts[0].axis("set:memory.capacity"), Some("1 GiB"));
        assert_eq!(pts[11].axis("set:memory.capacity"), Some("2 GiB"));
        assert_eq!(pts[1].axis("--bytes"), Some("8192"));
        assert_eq!(
            pts[3].argv,
            [
                "--board",
                "innerjib7ea-x16",
                "--set",
                "memory.capacity=1 GiB",
                "membench",
                "--pattern",
                "stream",
                "--bytes",
                "4096"
            ]
        );
    }

    #[test]
    fn card_count_and_strategy_axes_become_run_options() {
        let spec = SweepSpec::parse(
            r#"
command = ["run", "--threads", "1"]
[axes]
"--parallel" = ["tp", "pp"]
"--cards" = [1, 2, 4, 8]
"#,
        )
        .unwrap();
        let pts = spec.points();
        assert_eq!(pts.len(), 8);
        assert_eq!(
            pts[6].argv,
            [
                "--board",
                "innerjib7ea",
                "run",
                "--threads",
                "1",
                "--parallel",
                "pp",
                "--cards",
                "4"
            ]
        );
    }

    #[test]
    fn refuses_bad_specs() {
        assert!(SweepSpec::parse("command = []").is_err());
        assert!(SweepSpec::parse("command = [\"x\", \"--json\"]").is_err());
        let e = SweepSpec::parse("command = [\"x\"]\n[axes]\nfoo = [1]").unwrap_err();
        assert!(format!("{e:#}").contains("axis `foo`"));
        let e = SweepSpec::parse("command = [\"x\"]\n[axes]\nboard = []").unwrap_err();
        assert!(format!("{e:#}").contains("empty"));
        assert!(SweepSpec::parse("command = [\"x\"]\nunknown = 1").is_err());
    }

    /// Issue 16 item 4: 10^21 points panicked with a capacity overflow, 10^12 aborted and
    /// 10^6 took minutes before `--plan` printed.
    #[test]
    fn huge_grids_are_refused_with_the_limit_named() {
        let values: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
        for axes in [2usize, 4, 7] {
            let mut text = String::from("command = [\"boards\", \"show\"]\n[axes]\n");
            for a in 0..axes {
                text.push_str(&format!("\"--a{a}\" = [{}]\n", values.join(",")));
            }
            let e = format!("{:#}", SweepSpec::parse(&text).unwrap_err());
            assert!(e.contains("MAX_GRID_POINTS") && e.contains("100000"), "{e}");
        }
    }

    /// Issue 16 item 7: a plot `file` given as an absolute path wrote outside `--out`.
    #[test]
    fn plot_files_stay_inside_the_output_folder() {
        for file in ["/tmp/x", "../x", "a/b", ".hidden", ""] {
            let text =
                format!("command = [\"x\"]\n[[plots]]\nfile = \"{file}\"\nx = \"a\"\ny = \"b\"\n");
            let e = format!("{:#}", SweepSpec::parse(&text).unwrap_err());
            assert!(e.contains("plain file name"), "{file}: {e}");
        }
    }

    #[test]
    fn digest_follows_the_grid_not_the_plots() {
        let a = SweepSpec::parse("command = [\"x\"]\n[axes]\n\"--n\" = [1, 2]").unwrap();
        let b = SweepSpec::parse(
            "command = [\"x\"]\n[axes]\n\"--n\" = [1, 2]\n[[plots]]\nfile = \"p\"\nx = \"--n\"\ny = \"y\"",
        )
        .unwrap();
        let c = SweepSpec::parse("command = [\"x\"]\n[axes]\n\"--n\" = [1, 3]").unwrap();
        assert_eq!(a.digest(), b.digest());
        assert_ne!(a.digest(), c.digest());
    }
}
