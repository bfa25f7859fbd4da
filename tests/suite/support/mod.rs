//! Helpers shared by the integration tests.

pub mod elf;
pub mod kernels;
pub mod matmul_hart;
pub mod qemu;
pub mod tools;
pub mod workload;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `emulate` binary with `args` from the repository root (`RUST_LOG` cleared, so
/// the output is what a user sees).
pub fn emulate(args: &[&str]) -> Output {
    emulate_in(&root(), args)
}

/// Runs the `emulate` binary with `args` from `cwd`.
pub fn emulate_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emulate"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .output()
        .expect("run emulate")
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
