//! Parameter sweeps: a grid of emulate runs on a rayon pool, one JSON line per point,
//! resumable, shardable across machines, with a summary table and plots.
//!
//! Each point is an emulate command line. The sweep runs it in-process through a runner
//! (`cli::run_json` in the binary), records `{key, index, axes, argv, ok, result | error}`
//! in `results.jsonl` as soon as it finishes, and writes the resolved board of each point to
//! `configs/<key>.yaml`. A failing point records its error and the sweep goes on.

pub mod key;
pub mod plot;
pub mod results;
pub mod spec;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use key::KeyContext;
use rayon::prelude::*;
use results::{Record, RecordWriter};
use spec::{Point, SweepSpec};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Which points of the grid this invocation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Every point.
    All,
    /// One point by grid index.
    Point(usize),
    /// Points whose index is `k` modulo `n`.
    Shard {
        /// This shard, 0-based.
        k: usize,
        /// Number of shards.
        n: usize,
    },
}

impl std::str::FromStr for Selection {
    type Err = String;
    /// Parses a shard as `K/N` (0-based K).
    fn from_str(s: &str) -> Result<Self, String> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("shard `{s}`: expected K/N, e.g. 0/4"))?;
        let k: usize = k
            .trim()
            .parse()
            .map_err(|_| format!("shard `{s}`: K is not a number"))?;
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("shard `{s}`: N is not a number"))?;
        if n == 0 || k >= n {
            return Err(format!("shard `{s}`: need 0 <= K < N"));
        }
        Ok(Selection::Shard { k, n })
    }
}

impl Selection {
    fn includes(self, index: usize) -> bool {
        match self {
            Selection::All => true,
            Selection::Point(i) => i == index,
            Selection::Shard { k, n } => index % n == k,
        }
    }
}

/// How to run a sweep.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Worker threads.
    pub jobs: usize,
    /// Output directory.
    pub out: PathBuf,
    /// Skip points whose key is already in `results.jsonl`.
    pub resume: bool,
    /// Which points to run.
    pub selection: Selection,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

/// What a sweep did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepOutcome {
    /// Points in the grid.
    pub grid: usize,
    /// Points selected by `--point`/`--shard`.
    pub selected: usize,
    /// Points run now.
    pub ran: usize,
    /// Points skipped because a record existed.
    pub skipped: usize,
    /// Points (run now or before) that failed.
    pub failed: usize,
    /// Selected points that failed (run now or before): a non-zero count is a non-zero exit.
    pub failed_selected: usize,
    /// Records dropped on `--resume` because their key is no longer one of the grid's (their
    /// inputs or the build changed).
    pub stale: usize,
    /// Files written (results, summary, plots).
    pub files: Vec<PathBuf>,
    /// Plot problems, reported but not fatal.
    pub warnings: Vec<String>,
}

/// A point runner: emulate arguments in, JSON report out.
pub type Runner<'a> = dyn Fn(&[String]) -> Result<serde_json::Value> + Sync + 'a;

/// The points of a spec with their keys, as `--plan` prints them.
pub fn plan(spec: &SweepSpec, ctx: &KeyContext) -> Vec<(Point, String)> {
    spec.points()
        .into_iter()
        .map(|p| {
            let k = ctx.key(&p.argv);
            (p, k)
        })
        .collect()
}

/// Runs the selected points of `spec` and writes results, summary and plots into `opts.out`.
pub fn run(
    spec: &SweepSpec,
    opts: &SweepOptions,
    ctx: &KeyContext,
    runner: &Runner,
) -> Result<SweepOutcome> {
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("cannot create {}", opts.out.display()))?;
    let results_path = opts.out.join("results.jsonl");
    let existing = results::read_records(&results_path)?;
    if !existing.is_empty() && !opts.resume {
        bail!(
            "{} already holds {} results: pass --resume to continue that sweep, or choose another --out",
            results_path.display(),
            existing.len()
        );
    }
    let planned = plan(spec, ctx);
    let grid = planned.len();
    // Records whose key is not one of the grid's are stale: their inputs or the build changed.
    // They are dropped, so a point has one record, of the inputs it has now.
    let current: BTreeSet<&str> = planned.iter().map(|(_, k)| k.as_str()).collect();
    let (fresh, stale): (Vec<Record>, Vec<Record>) = existing
        .into_iter()
        .partition(|r| current.contains(r.key.as_str()));
    let fresh = results::merge([fresh]);
    if !stale.is_empty() {
        results::rewrite(&results_path, &fresh)?;
    }
    let done: BTreeSet<String> = fresh.iter().map(|r| r.key.clone()).collect();
    if let Selection::Point(i) = opts.selection {
        if i >= grid {
            bail!(
                "--point {i}: the grid has {grid} points (0..{})",
                grid.saturating_sub(1)
            );
        }
    }
    let selected: Vec<(Point, String)> = planned
        .into_iter()
        .filter(|(p, _)| opts.selection.includes(p.index))
        .collect();
    let selected_keys: BTreeSet<String> = selected.iter().map(|(_, k)| k.clone()).collect();
    let n_selected = selected.len();
    let pending: Vec<(Point, String)> = selected
        .into_iter()
        .filter(|(_, k)| !done.contains(k))
        .collect();
    let skipped = n_selected - pending.len();

    let configs = opts.out.join("configs");
    std::fs::create_dir_all(&configs)?;
    let writer = Mutex::new(RecordWriter::append(&results_path)?);
    let bar = ProgressBar::new(pending.len() as u64);
    if opts.progress {
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {pos}/{len} points  {elapsed} (eta {eta})  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let spec_digest = spec.digest();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .build()
        .context("cannot start the worker pool")?;
    let write_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    pool.install(|| {
        pending.par_iter().for_each(|(p, k)| {
            let record = run_point(p, k, runner, &configs, &spec_digest);
            if let Err(e) = writer
                .lock()
                .map_err(|_| anyhow::anyhow!("writer poisoned"))
                .and_then(|mut w| w.write(&record))
            {
                write_error.lock().expect("error slot").get_or_insert(e);
            }
            bar.set_message(if record.ok {
                String::new()
            } else {
                format!("point {} failed", p.index)
            });
            bar.inc(1);
        });
    });
    bar.finish_and_clear();
    if let Some(e) = write_error.into_inner().expect("error slot") {
        return Err(e.context("writing results"));
    }
    let all = results::merge([results::read_records(&results_path)?]);
    let mut outcome = finish(spec, &opts.out, &all)?;
    outcome.grid = grid;
    outcome.selected = n_selected;
    outcome.ran = pending.len();
    outcome.skipped = skipped;
    outcome.stale = stale.len();
    outcome.failed_selected = all
        .iter()
        .filter(|r| !r.ok && selected_keys.contains(&r.key))
        .count();
    Ok(outcome)
}

/// Writes the summary and plots for `records` into `out`.
pub fn finish(spec: &SweepSpec, out: &Path, records: &[Record]) -> Result<SweepOutcome> {
    let summary = out.join("summary.csv");
    std::fs::write(&summary, results::summary_csv(records))?;
    let mut files = vec![out.join("results.jsonl"), summary];
    let mut warnings = Vec::new();
    for p in &spec.plots {
        match plot::write_plot(out, p, records) {
            Ok(f) => files.extend(f),
            Err(e) => warnings.push(format!("plot `{}`: {e:#}", p.file)),
        }
    }
    Ok(SweepOutcome {
        grid: records.len(),
        selected: records.len(),
        ran: 0,
        skipped: 0,
        failed: records.iter().filter(|r| !r.ok).count(),
        failed_selected: 0,
        stale: 0,
        files,
        warnings,
    })
}

fn run_point(p: &Point, key: &str, runner: &Runner, configs: &Path, spec: &str) -> Record {
    let start = std::time::Instant::now();
    // A point that panics is recorded as failed like any other error.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runner(&p.argv)))
        .unwrap_or_else(|panic| {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(anyhow::anyhow!("the point panicked: {msg}"))
        });
    if let Some(cfg) = resolved_config(&p.argv) {
        let _ = std::fs::write(configs.join(format!("{key}.yaml")), cfg);
    }
    let host_seconds = start.elapsed().as_secs_f64();
    match outcome {
        Ok(result) => Record {
            key: key.to_string(),
            index: p.index,
            axes: p.axes.clone(),
            argv: p.argv.clone(),
            ok: true,
            result: Some(result),
            error: None,
            host_seconds,
            spec: spec.to_string(),
            build: crate::provenance::BUILD_ID.to_string(),
        },
        Err(e) => Record {
            key: key.to_string(),
            index: p.index,
            axes: p.axes.clone(),
            argv: p.argv.clone(),
            ok: false,
            result: None,
            error: Some(format!("{e:#}")),
            host_seconds,
            spec: spec.to_string(),
            build: crate::provenance::BUILD_ID.to_string(),
        },
    }
}

/// What a merge found wrong with a set of shards, against the spec.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MergeCheck {
    /// The records kept: one per grid point, of this spec, build and inputs.
    pub kept: Vec<Record>,
    /// Grid indices without a record.
    pub missing: Vec<usize>,
    /// Records of indices outside the grid.
    pub extra: Vec<usize>,
    /// Indices with more than one record.
    pub duplicate: Vec<usize>,
    /// Records of another spec: (index, their spec digest).
    pub other_spec: Vec<(usize, String)>,
    /// Records of another build: (index, their build).
    pub other_build: Vec<(usize, String)>,
    /// Records of this spec and build whose key differs from the point's (inputs changed).
    pub stale: Vec<usize>,
    /// Kept records of points that failed (`ok: false`): part of the grid (their error
    /// records are the sweep's outcome for them, as in a local sweep), not a merge problem.
    pub failed: Vec<usize>,
}

impl MergeCheck {
    /// True when the shards hold exactly the grid.
    pub fn complete(&self) -> bool {
        self.problems().is_empty()
    }

    /// One line per kind of problem, naming the points.
    pub fn problems(&self) -> Vec<String> {
        let list = |v: &[usize]| {
            v.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let pairs = |v: &[(usize, String)]| {
            v.iter()
                .map(|(i, x)| format!("{i} ({x})"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut p = Vec::new();
        if !self.missing.is_empty() {
            p.push(format!("missing points: {}", list(&self.missing)));
        }
        if !self.extra.is_empty() {
            p.push(format!("points outside the grid: {}", list(&self.extra)));
        }
        if !self.duplicate.is_empty() {
            p.push(format!("duplicate points: {}", list(&self.duplicate)));
        }
        if !self.other_spec.is_empty() {
            p.push(format!(
                "points of another spec: {}",
                pairs(&self.other_spec)
            ));
        }
        if !self.other_build.is_empty() {
            p.push(format!(
                "points of another build (this is {}): {}",
                crate::provenance::BUILD_ID,
                pairs(&self.other_build)
            ));
        }
        if !self.stale.is_empty() {
            p.push(format!(
                "points whose inputs changed since they ran (key differs): {}",
                list(&self.stale)
            ));
        }
        p
    }
}

/// Checks shard records against the spec's grid: each point must have exactly one record,
/// of this spec, this build and its current key.
pub fn check_shards(spec: &SweepSpec, ctx: &KeyContext, records: Vec<Record>) -> MergeCheck {
    let planned = plan(spec, ctx);
    let digest = spec.digest();
    let mut c = MergeCheck::default();
    let mut seen = vec![0usize; planned.len()];
    for r in records {
        if r.index >= planned.len() {
            c.extra.push(r.index);
            continue;
        }
        seen[r.index] += 1;
        if seen[r.index] == 2 {
            c.duplicate.push(r.index);
        }
        if r.spec != digest {
            c.other_spec
                .push((r.index, format!("spec {}", or_unknown(&r.spec))));
        } else if r.build != crate::provenance::BUILD_ID {
            c.other_build
                .push((r.index, format!("build {}", or_unknown(&r.build))));
        } else if r.key != planned[r.index].1 {
            c.stale.push(r.index);
        } else if !c.kept.iter().any(|k| k.index == r.index) {
            c.kept.push(r);
        }
    }
    let kept: BTreeSet<usize> = c.kept.iter().map(|r| r.index).collect();
    c.missing = (0..planned.len()).filter(|i| !kept.contains(i)).collect();
    for v in [&mut c.extra, &mut c.duplicate] {
        v.sort_unstable();
        v.dedup();
    }
    c.kept.sort_by_key(|r| r.index);
    c.failed = c.kept.iter().filter(|r| !r.ok).map(|r| r.index).collect();
    c
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() {
        "unknown"
    } else {
        s
    }
}

/// The resolved board of a point's arguments, when they name a loadable board.
fn resolved_config(argv: &[String]) -> Option<String> {
    let mut board = "innerjib7ea".to_string();
    let mut sets = Vec::new();
    for w in argv.windows(2) {
        match w[0].as_str() {
            "--board" => board = w[1].clone(),
            "--set" => sets.push(w[1].clone()),
            _ => {}
        }
    }
    crate::config::load_board(&board, &sets)
        .ok()
        .map(|b| b.resolved_yaml())
}
