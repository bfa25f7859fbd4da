//! Shared helpers of the workload tests: the tiny llama GGUF written by the `gguf` package.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub use super::tools::python;
pub use super::{emulate, stderr, stdout};

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
