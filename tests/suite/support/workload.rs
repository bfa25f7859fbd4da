//! Shared helpers of the workload tests: the Python interpreter with the `gguf` package,
//! the tiny llama GGUF written by it, and running the `emulate` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The Python that has `gguf` and `numpy`: `$SAIL_PYTHON`, else /work/venv/bin/python, else
/// python3. `None` (with a note) when none works locally; a panic when `CI` is set, because
/// the oracle tests must run there.
pub fn python() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("SAIL_PYTHON") {
        candidates.push(PathBuf::from(p));
    } else {
        candidates.push(PathBuf::from("/work/venv/bin/python"));
        candidates.push(PathBuf::from("python3"));
    }
    for c in &candidates {
        let ok = Command::new(c)
            .args(["-c", "import gguf, numpy"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(c.clone());
        }
    }
    let msg = format!(
        "no Python with the `gguf` and `numpy` packages (tried {candidates:?}; set SAIL_PYTHON)"
    );
    if std::env::var_os("CI").is_some() {
        panic!("{msg}: the GGUF oracle tests must run in CI");
    }
    eprintln!("note: skipping a GGUF oracle test: {msg}");
    None
}

/// testbench/gguf/<script>.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testbench/gguf")
        .join(name)
}

/// Writes the tiny llama GGUF into `dir` with extra script flags; returns its path.
pub fn write_tiny(py: &Path, dir: &Path, file: &str, flags: &[&str]) -> PathBuf {
    let out = dir.join(file);
    let o = Command::new(py)
        .arg(script("write_tiny_llama.py"))
        .arg(&out)
        .args(flags)
        .output()
        .expect("run write_tiny_llama.py");
    assert!(
        o.status.success(),
        "write_tiny_llama.py failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// What gguf's GGUFReader sees in `file` (testbench/gguf/describe.py), as JSON.
pub fn describe(py: &Path, file: &Path) -> serde_json::Value {
    let o = Command::new(py)
        .arg(script("describe.py"))
        .arg(file)
        .output()
        .expect("run describe.py");
    assert!(
        o.status.success(),
        "describe.py failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("describe.py prints JSON")
}

/// Runs the `emulate` binary with `args`.
pub fn emulate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emulate"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run emulate")
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
