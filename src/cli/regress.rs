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
}

pub(super) fn run(cmd: RegressCmd) -> Result<()> {
    let suite = regress::Suite::load(&cmd.suite)?;
    let goldens = regress::read_goldens(&suite.golden)?;
    let results = regress::run(&suite, &goldens, &super::run_json);
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
            "blessed {} figures of {} cases into {}",
            results.len(),
            suite.cases.len(),
            suite.golden.display()
        );
        return Ok(());
    }
    let failing = results.iter().filter(|c| !c.passes()).count();
    if failing == 0 {
        if cmd.all {
            print!("{}", regress::table(&results, true));
        }
        println!(
            "regress: {} figures of {} cases match their golden values",
            results.len(),
            suite.cases.len()
        );
        return Ok(());
    }
    print!("{}", regress::table(&results, cmd.all));
    bail!(
        "{failing} of {} figures differ from {} (if the change is intended, run `emulate regress --bless` and commit the golden file)",
        results.len(),
        suite.golden.display()
    )
}
