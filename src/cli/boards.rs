//! `emulate boards` and `emulate boards show NAME`.

use super::BoardArgs;
use crate::config::{list_boards, load_board};
use anyhow::Context;
use clap::{Args, Subcommand};

/// `emulate boards [show NAME [--json]]`.
#[derive(Args, Debug)]
pub struct BoardsCmd {
    #[command(subcommand)]
    action: Option<BoardsAction>,
}

#[derive(Subcommand, Debug)]
enum BoardsAction {
    /// Print a board's resolved configuration and the figures derived from it.
    Show {
        /// Board name or path (defaults to --board).
        name: Option<String>,
        /// Print JSON: {"board": {...}, "derived": {...}}.
        #[arg(long)]
        json: bool,
    },
}

/// The JSON report of `boards show`: the resolved board, its derived figures, and the three
/// headline figures at the top level.
fn show_json(loaded: &crate::config::LoadedBoard) -> serde_json::Value {
    let d = loaded.board.derived();
    serde_json::json!({
        "board": loaded.board,
        "derived": d,
        "ddr_peak_bytes_per_s": d.ddr_peak_bytes_per_s,
        "intercard_payload_bytes_per_s": d.intercard_payload_bytes_per_s,
        "host_link_bytes_per_s": d.host_link_bytes_per_s,
    })
}

/// `boards show` as JSON, for sweeps and regressions; `boards` alone has no report.
pub(super) fn json(cmd: &BoardsCmd, common: &BoardArgs) -> anyhow::Result<serde_json::Value> {
    match &cmd.action {
        Some(BoardsAction::Show { name, .. }) => {
            let name = name.clone().unwrap_or_else(|| common.board.clone());
            let loaded = load_board(&name, &common.overrides)
                .with_context(|| format!("loading board `{name}`"))?;
            Ok(show_json(&loaded))
        }
        None => anyhow::bail!("`boards` lists boards and has no JSON report; use `boards show`"),
    }
}

pub(super) fn run(cmd: BoardsCmd, common: &BoardArgs) -> anyhow::Result<()> {
    match cmd.action {
        None => {
            let boards = list_boards();
            anyhow::ensure!(
                !boards.is_empty(),
                "no board files found (looked in boards/)"
            );
            for (name, path) in boards {
                let line = match load_board(path.to_str().unwrap_or_default(), &[]) {
                    Ok(b) => b.board.description,
                    Err(e) => format!("(invalid: {e})"),
                };
                println!("{name:<20} {line}");
            }
            Ok(())
        }
        Some(BoardsAction::Show { name, json }) => {
            let name = name.unwrap_or_else(|| common.board.clone());
            let loaded = load_board(&name, &common.overrides)
                .with_context(|| format!("loading board `{name}`"))?;
            let d = loaded.board.derived();
            if json {
                println!("{}", serde_json::to_string_pretty(&show_json(&loaded))?);
            } else {
                print!("{}", loaded.resolved_yaml());
                println!("# derived figures (first principles)");
                println!(
                    "#   DDR peak:              {:>10.3} MB/s  (bus bytes x transfers/s)",
                    d.ddr_peak_bytes_per_s / 1e6
                );
                println!(
                    "#   inter-card payload:    {:>10.3} MB/s per direction (lanes x rate x coding)",
                    d.intercard_payload_bytes_per_s / 1e6
                );
                println!(
                    "#   inter-card goodput:    {:>10.3} MB/s per direction (after framing)",
                    d.intercard_goodput_bytes_per_s / 1e6
                );
                println!(
                    "#   host link effective:   {:>10.3} MB/s per direction",
                    d.host_link_bytes_per_s / 1e6
                );
                println!(
                    "#   refresh overhead:      {:>10.2} %   (tRFC / tREFI)",
                    d.refresh_overhead * 100.0
                );
            }
            Ok(())
        }
    }
}
