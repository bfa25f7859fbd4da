//! `emulate sweep SPEC.toml` and `emulate sweep merge`.

use crate::sweep::{self, key::KeyContext, results, spec::SweepSpec, Selection, SweepOptions};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;

/// `emulate sweep SPEC [--jobs N] [--out DIR] [--resume] [--plan | --point I | --shard K/N]`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SweepCmd {
    #[command(subcommand)]
    merge: Option<SweepSub>,
    /// The sweep specification (TOML).
    spec: Option<PathBuf>,
    /// Worker threads (default: the machine's cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Output directory (default: out/<spec name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Skip points already recorded in OUT/results.jsonl.
    #[arg(long)]
    resume: bool,
    /// Print the points as JSON lines (index, key, argv) and run nothing.
    #[arg(long, conflicts_with_all = ["point", "shard"])]
    plan: bool,
    /// Run only the point with this grid index.
    #[arg(long, conflicts_with = "shard")]
    point: Option<usize>,
    /// Run only the points of shard K of N (index % N == K).
    #[arg(long, value_name = "K/N")]
    shard: Option<Selection>,
}

#[derive(Subcommand, Debug)]
enum SweepSub {
    /// Combine results.jsonl files from shards into one result set.
    Merge {
        /// The results files to combine.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output directory for the merged results.jsonl and summary.csv.
        #[arg(long)]
        out: PathBuf,
        /// The spec, to draw its plots from the merged results.
        #[arg(long)]
        spec: Option<PathBuf>,
    },
}

pub(super) fn run(cmd: SweepCmd) -> Result<()> {
    if let Some(SweepSub::Merge { files, out, spec }) = cmd.merge {
        return merge(&files, &out, spec);
    }
    let spec_path = cmd
        .spec
        .context("name a sweep spec: emulate sweep SPEC.toml")?;
    let spec = SweepSpec::load(&spec_path)?;
    let ctx = KeyContext::new(&sweep::default_root());
    if cmd.plan {
        for (p, key) in sweep::plan(&spec, &ctx) {
            let line =
                serde_json::json!({"index": p.index, "key": key, "axes": p.axes, "argv": p.argv});
            println!("{line}");
        }
        return Ok(());
    }
    let stem = spec_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sweep".into());
    let opts = SweepOptions {
        jobs: cmd.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }),
        out: cmd.out.unwrap_or_else(|| PathBuf::from("out").join(stem)),
        resume: cmd.resume,
        selection: match (cmd.point, cmd.shard) {
            (Some(i), _) => Selection::Point(i),
            (None, Some(s)) => s,
            (None, None) => Selection::All,
        },
        progress: std::io::stderr().is_terminal(),
    };
    let o = sweep::run(&spec, &opts, &ctx, &super::run_json)?;
    report(&o);
    Ok(())
}

fn report(o: &sweep::SweepOutcome) {
    println!(
        "grid {} points, selected {}, ran {}, skipped {} (already done), failed {}",
        o.grid, o.selected, o.ran, o.skipped, o.failed
    );
    for f in &o.files {
        println!("wrote {}", f.display());
    }
    for w in &o.warnings {
        eprintln!("warning: {w}");
    }
}

fn merge(files: &[PathBuf], out: &PathBuf, spec: Option<PathBuf>) -> Result<()> {
    let mut sets = Vec::new();
    for f in files {
        sets.push(results::read_records(f)?);
    }
    let merged = results::merge(sets);
    std::fs::create_dir_all(out)?;
    let path = out.join("results.jsonl");
    if path.exists() {
        std::fs::remove_file(&path)?;
    }
    let mut w = results::RecordWriter::append(&path)?;
    for r in &merged {
        w.write(r)?;
    }
    let spec = match spec {
        Some(p) => SweepSpec::load(&p)?,
        None => SweepSpec::parse("command = [\"merge\"]")?,
    };
    let o = sweep::finish(&spec, out, &merged)?;
    report(&o);
    Ok(())
}
