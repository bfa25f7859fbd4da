//! `emulate regress [--suite FILE] [--bless]`.

use crate::regress;
use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;

/// Run the latency regression suite against its golden numbers.
#[derive(Args, Debug)]
pub struct RegressCmd {
    /// The suite (TOML).
    #[arg(long, default_value = "testbench/regress.toml")]
    suite: PathBuf,
    /// Rewrite the golden file with the values measured now.
    #[arg(long)]
    bless: bool,
    /// Print every comparison, not only the failing ones.
    #[arg(long)]
    all: bool,
    /// Print the comparisons as JSON (with the provenance of the build that measured them).
    #[arg(long, conflicts_with = "bless")]
    json: bool,
    /// Write the run folder (report.json with every comparison, stats.csv, board.resolved.yaml,
    /// command.txt).
    #[arg(long, conflicts_with = "bless")]
    out: Option<PathBuf>,
}

/// The comparisons as a JSON report: one entry per figure, and the counts.
fn report_json(suite: &regress::Suite, results: &[regress::Comparison]) -> serde_json::Value {
    let figures: Vec<serde_json::Value> = results
        .iter()
        .map(|c| {
            serde_json::json!({
                "case": c.case,
                "metric": c.metric,
                "golden": c.old,
                "now": c.new.as_ref().ok(),
                "error": c.new.as_ref().err(),
                "tolerance": c.tolerance,
                "passes": c.passes(),
            })
        })
        .collect();
    let failing = results.iter().filter(|c| !c.passes()).count();
    serde_json::json!({
        "golden_file": suite.golden.display().to_string(),
        "cases": suite.cases.len(),
        "figures": figures,
        "passed": results.len() - failing,
        "failed": failing,
    })
}

pub(super) fn run(cmd: RegressCmd, common: &super::BoardArgs) -> Result<()> {
    let suite = regress::Suite::load(&cmd.suite)?;
    let goldens = regress::read_goldens(&suite.golden)?;
    let results = regress::run(&suite, &goldens, &super::run_json);
    if cmd.json || cmd.out.is_some() {
        let mut j = report_json(&suite, &results);
        super::output::finish(&mut j, None, cmd.out.as_deref(), common)?;
        if cmd.json {
            println!("{}", serde_json::to_string_pretty(&j)?);
        }
    }
    let stale = regress::unwatched(&suite, &goldens);
    if !stale.is_empty() && !cmd.bless {
        eprintln!(
            "note: {} golden figures belong to no case of the suite (a --bless drops them): {}",
            stale.len(),
            stale
                .iter()
                .map(|(c, m)| format!("{c}/{m}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if cmd.bless {
        let g = regress::blessed(&results)?;
        regress::write_goldens(&suite.golden, &g)?;
        println!(
            "blessed {} figures of {} cases into {} (emulate {})",
            results.len(),
            suite.cases.len(),
            suite.golden.display(),
            crate::provenance::VERSION_LINE
        );
        return Ok(());
    }
    let failing = results.iter().filter(|c| !c.passes()).count();
    if failing == 0 {
        if cmd.all && !cmd.json {
            print!("{}", regress::table(&results, true));
        }
        if !cmd.json {
            println!(
                "regress: {} figures of {} cases match their golden values (emulate {})",
                results.len(),
                suite.cases.len(),
                crate::provenance::VERSION_LINE
            );
        }
        return Ok(());
    }
    if !cmd.json {
        print!("{}", regress::table(&results, cmd.all));
        println!("measured by emulate {}", crate::provenance::VERSION_LINE);
    }
    bail!(
        "{failing} of {} figures differ from {} (if the change is intended, run `emulate regress --bless` and commit the golden file)",
        results.len(),
        suite.golden.display()
    )
}
