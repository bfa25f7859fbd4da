//! Helpers shared by the integration tests.

pub mod ddr;
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

/// Runs `emulate` with `args` (which must ask for `--json`), asserts that it succeeded (the
/// message names the command and its stderr) and parses its report.
pub fn emulate_json(args: &[&str]) -> serde_json::Value {
    let out = emulate(args);
    assert!(
        out.status.success(),
        "emulate {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

/// The number at a dotted `path` of a JSON report; a numeric part indexes an array.
pub fn json_number(v: &serde_json::Value, path: &str) -> f64 {
    let mut x = v;
    for p in path.split('.') {
        x = match p.parse::<usize>() {
            Ok(i) if x.is_array() => &x[i],
            _ => &x[p],
        };
    }
    x.as_f64()
        .unwrap_or_else(|| panic!("no number at {path} in {v}"))
}
