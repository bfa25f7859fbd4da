//! The `emulate` command line: argument parsing and one module per subcommand.
//! Errors reach the user as one message with its context chain and a non-zero exit.

mod boards;
mod membench;

use clap::{Args, Parser, Subcommand};
use std::process::ExitCode;

/// Cycle-approximate emulator of PopSolutions Sail accelerator cards.
#[derive(Parser, Debug)]
#[command(name = "emulate", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub common: BoardArgs,
    /// More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

/// Options that choose and adjust the board, shared by every command that runs a model.
#[derive(Args, Debug, Clone)]
pub struct BoardArgs {
    /// Board name (looked up in boards/) or path to a board YAML file.
    #[arg(long, default_value = "innerjib7ea", global = true)]
    pub board: String,
    /// Override any board field: `--set memory.capacity=2GiB` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", global = true)]
    pub overrides: Vec<String>,
}

impl BoardArgs {
    /// Loads the chosen board with the overrides applied.
    pub fn load(&self) -> anyhow::Result<crate::config::LoadedBoard> {
        Ok(crate::config::load_board(&self.board, &self.overrides)?)
    }
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the boards, or show one resolved with its derived figures.
    Boards(boards::BoardsCmd),
    /// Microbenchmarks of the DDR model: stream, random and pointer-chase traces.
    Membench(membench::MembenchCmd),
}

/// Entry point of the binary: parses arguments, sets up logging, runs, maps errors to exit 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Boards(cmd) => boards::run(cmd, &cli.common),
        Command::Membench(cmd) => membench::run(cmd, &cli.common),
    }
}
