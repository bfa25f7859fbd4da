//! The `emulate` command line: argument parsing and one module per subcommand.
//! Errors reach the user as one message with its context chain and a non-zero exit.

mod boards;
mod collective;
mod kernel;
mod manifest;
mod matmul;
mod membench;
mod output;
mod parallel;
mod regress;
mod run;
mod sweep;

use clap::{Args, Parser, Subcommand};
use std::process::ExitCode;

/// Cycle-approximate emulator of PopSolutions Sail accelerator cards.
#[derive(Parser, Debug)]
#[command(name = "emulate", version = crate::provenance::VERSION_LINE, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub common: BoardArgs,
    /// The model run's options (without a subcommand, `emulate` is `emulate run`).
    #[command(flatten)]
    pub run: run::RunArgs,
    /// More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Option<Command>,
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
    /// Run a model: prefill and decode through the kernels on the emulated card (default).
    Run(run::RunArgs),
    /// List the boards, or show one resolved with its derived figures.
    Boards(boards::BoardsCmd),
    /// Run one bare-metal RISC-V program on one card and report its cycles.
    Kernel(kernel::KernelCmd),
    /// Run a grid of emulate commands from a TOML spec; merge sharded results.
    Sweep(sweep::SweepCmd),
    /// Compare latency figures with the committed golden numbers (`--bless` to update).
    Regress(regress::RegressCmd),
    /// Weight manifests: list, show footprints, convert a GGUF header, print op graphs.
    Manifest(manifest::ManifestCmd),
    /// Time one matrix product on the Xpop_matmul unit: tiles, stalls, bytes, roofline.
    Matmul(matmul::MatmulCmd),
    /// Microbenchmarks of the DDR model: stream, random and pointer-chase traces.
    Membench(membench::MembenchCmd),
    /// Run a collective on N cards: time, algbw and busbw beside the ring's floor and the
    /// alpha-beta estimate.
    Collective(collective::CollectiveCmd),
    /// Print a shell completion script: `emulate completions bash > ~/.local/share/bash-completion/completions/emulate`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Entry point of the binary: parses arguments, sets up logging, runs, maps errors to exit 1.
pub fn main() -> ExitCode {
    // Die quietly on a closed pipe (`emulate ... | head`) as command-line tools do, instead
    // of panicking inside println!.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
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
    let Some(command) = cli.command else {
        return run::run(&cli.run, &cli.common);
    };
    match command {
        Command::Run(a) => run::run(&a, &cli.common),
        Command::Boards(cmd) => boards::run(cmd, &cli.common),
        Command::Kernel(cmd) => kernel::run(cmd, &cli.common),
        Command::Sweep(cmd) => sweep::run(cmd),
        Command::Regress(cmd) => regress::run(cmd, &cli.common),
        Command::Manifest(cmd) => manifest::run(cmd),
        Command::Matmul(cmd) => matmul::run(cmd, &cli.common),
        Command::Membench(cmd) => membench::run(cmd, &cli.common),
        Command::Collective(cmd) => collective::run(cmd, &cli.common),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "emulate",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}

/// Runs `emulate ARGS...` in-process and returns the JSON report its `--json` prints.
/// Sweeps and regression cases run their points through this.
pub fn run_json(args: &[String]) -> anyhow::Result<serde_json::Value> {
    let cli =
        Cli::try_parse_from(std::iter::once("emulate".to_string()).chain(args.iter().cloned()))
            .map_err(|e| {
                anyhow::anyhow!(
                    "emulate {}: {}",
                    args.join(" "),
                    e.render().to_string().trim()
                )
            })?;
    let mut report = report_json(&cli)?;
    let seed = match &cli.command {
        None => Some(cli.run.seed),
        Some(Command::Run(a)) => Some(a.seed),
        Some(Command::Membench(m)) => Some(m.seed()),
        Some(_) => None,
    };
    crate::provenance::stamp(
        &mut report,
        &crate::provenance::Provenance::of_args(args, seed),
    );
    Ok(report)
}

fn report_json(cli: &Cli) -> anyhow::Result<serde_json::Value> {
    let Some(command) = &cli.command else {
        return run::json(&cli.run, &cli.common);
    };
    match command {
        Command::Run(a) => run::json(a, &cli.common),
        Command::Boards(cmd) => boards::json(cmd, &cli.common),
        Command::Kernel(cmd) => kernel::json(cmd, &cli.common),
        Command::Sweep(_) | Command::Regress(_) => {
            anyhow::bail!("sweeps and regressions cannot be points of a sweep")
        }
        Command::Manifest(_) => anyhow::bail!("`manifest` has no JSON report to sweep"),
        Command::Matmul(cmd) => matmul::json(cmd, &cli.common),
        Command::Membench(cmd) => membench::json(cmd, &cli.common),
        Command::Collective(cmd) => collective::json(cmd, &cli.common),
        Command::Completions { .. } => anyhow::bail!("`completions` has no JSON report"),
    }
}
