//! `emulate sweep SPEC.toml` and `emulate sweep merge`.

use crate::sweep::{self, key::KeyContext, results, spec::SweepSpec, Selection, SweepOptions};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

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
    /// Combine the results of shards (`--point`/`--shard` runs) into one result set, after
    /// checking them against the spec: every grid point exactly once, of this spec, this
    /// build and its current inputs.
    Merge {
        /// The shards: results.jsonl files or the folders holding them.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output directory for the merged results.jsonl, summary.csv, configs/ and plots.
        #[arg(long)]
        out: PathBuf,
        /// The spec the shards ran.
        #[arg(long)]
        spec: PathBuf,
        /// Merge what is usable even when points are missing or foreign, with a warning and
        /// a note in OUT/merge-notes.txt.
        #[arg(long)]
        allow_partial: bool,
    },
}

pub(super) fn run(cmd: SweepCmd) -> Result<()> {
    if let Some(SweepSub::Merge {
        files,
        out,
        spec,
        allow_partial,
    }) = cmd.merge
    {
        return merge(&files, &out, &spec, allow_partial);
    }
    let spec_path = cmd
        .spec
        .context("name a sweep spec: emulate sweep SPEC.toml")?;
    let spec = SweepSpec::load(&spec_path)?;
    let ctx = KeyContext::new();
    if cmd.plan {
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        for p in spec.points() {
            let key = ctx.key(&p.argv);
            let line =
                serde_json::json!({"index": p.index, "key": key, "axes": p.axes, "argv": p.argv});
            writeln!(stdout, "{line}")?;
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
    if o.failed_selected > 0 {
        bail!(
            "{} of {} selected points failed; their errors are recorded in {}",
            o.failed_selected,
            o.selected,
            opts.out.join("results.jsonl").display()
        );
    }
    Ok(())
}

fn report(o: &sweep::SweepOutcome) {
    println!(
        "grid {} points, selected {}, ran {}, skipped {} (already done), failed {}",
        o.grid, o.selected, o.ran, o.skipped, o.failed
    );
    if o.stale > 0 {
        println!(
            "dropped {} stale records (their inputs or the build changed; the points re-ran)",
            o.stale
        );
    }
    for f in &o.files {
        println!("wrote {}", f.display());
    }
    for w in &o.warnings {
        eprintln!("warning: {w}");
    }
}

fn merge(files: &[PathBuf], out: &Path, spec_path: &Path, allow_partial: bool) -> Result<()> {
    let spec = SweepSpec::load(spec_path)?;
    let mut records = Vec::new();
    let mut config_dirs = Vec::new();
    for f in files {
        let file = if f.is_dir() {
            f.join("results.jsonl")
        } else {
            f.clone()
        };
        if !file.is_file() {
            bail!("{}: no such results file", file.display());
        }
        records.extend(results::read_records(&file)?);
        config_dirs.push(file.parent().unwrap_or(Path::new(".")).join("configs"));
    }
    let check = sweep::check_shards(&spec, &KeyContext::new(), records);
    let problems = check.problems();
    if !problems.is_empty() && !allow_partial {
        bail!(
            "the shards do not hold the grid of {} exactly:\n  {}\n(pass --allow-partial to merge the usable points anyway)",
            spec_path.display(),
            problems.join("\n  ")
        );
    }
    std::fs::create_dir_all(out)?;
    results::rewrite(&out.join("results.jsonl"), &check.kept)?;
    let configs = out.join("configs");
    std::fs::create_dir_all(&configs)?;
    for r in &check.kept {
        let name = format!("{}.yaml", r.key);
        if let Some(src) = config_dirs
            .iter()
            .map(|d| d.join(&name))
            .find(|p| p.is_file())
        {
            std::fs::copy(&src, configs.join(&name))
                .with_context(|| format!("copying {}", src.display()))?;
        }
    }
    let notes = out.join("merge-notes.txt");
    if problems.is_empty() {
        let _ = std::fs::remove_file(&notes);
    } else {
        for p in &problems {
            eprintln!("warning: {p}");
        }
        std::fs::write(
            &notes,
            format!(
                "partial merge (--allow-partial) of {} of {} points of {}:\n{}\n",
                check.kept.len(),
                spec.points().len(),
                spec_path.display(),
                problems.join("\n")
            ),
        )?;
    }
    let o = sweep::finish(&spec, out, &check.kept)?;
    report(&o);
    if !problems.is_empty() {
        println!(
            "PARTIAL: {} of {} points merged; see {}",
            check.kept.len(),
            spec.points().len(),
            notes.display()
        );
    }
    // As a local sweep: the failed points' error records are merged, and the exit says so
    // (a warning with --allow-partial).
    if !check.failed.is_empty() {
        let msg = format!(
            "{} of {} points failed; their errors are recorded in {}: points {}",
            check.failed.len(),
            check.kept.len(),
            out.join("results.jsonl").display(),
            check
                .failed
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !allow_partial {
            bail!("{msg}");
        }
        eprintln!("warning: {msg}");
    }
    Ok(())
}
