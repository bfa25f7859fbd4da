//! The outside tools the `external` tests need, and what a test does when one is missing.
//!
//! A test asks with [`require`] (or [`python`] for the oracle's interpreter). When the tool
//! runs, the test goes on. When it does not:
//! - under the full tier (`SAIL_REQUIRE_TOOLS=1`, which `testbench/run-tests.sh` sets) or in
//!   CI (`CI` set), the test fails, naming the tool;
//! - otherwise the test is skipped, never silently: the skip (test, reason) is printed and
//!   appended to the file named by `SAIL_SKIP_LOG` when set, which `testbench/run-tests.sh`
//!   prints in its summary.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// True when every tool in `tools` runs (`TOOL --version` succeeds). Otherwise fails the
/// test under the full tier or CI, or records and reports a skip and returns false.
pub fn require(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !runs(t)).collect();
    if missing.is_empty() {
        return true;
    }
    skip(&format!("{} not found on PATH", missing.join(", ")));
    false
}

/// The Python interpreter the oracles use: `$SAIL_PYTHON`, else `python3`; it must import
/// `gguf` and `numpy`. `None` (after [`require`]'s fail-or-skip) when it does not.
pub fn python() -> Option<PathBuf> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        let (py, from) = match std::env::var_os("SAIL_PYTHON") {
            Some(p) => (PathBuf::from(p), "$SAIL_PYTHON"),
            None => (PathBuf::from("python3"), "python3 (SAIL_PYTHON is not set)"),
        };
        let ok = Command::new(&py)
            .args(["-c", "import gguf, numpy"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            Ok(py)
        } else {
            Err(format!(
                "{} from {from} cannot import gguf and numpy; set SAIL_PYTHON to a Python \
                 that can (`python3 -m venv .venv && .venv/bin/pip install gguf numpy`)",
                py.display()
            ))
        }
    });
    match found {
        Ok(py) => Some(py.clone()),
        Err(why) => {
            skip(why);
            None
        }
    }
}

/// The oracle's interpreter ([`python`]) when it can also import `module` (the
/// `hyperqueue` package for the HyperQueue recipe); `None` after a fail-or-skip otherwise.
pub fn python_with(module: &str) -> Option<PathBuf> {
    let py = python()?;
    let ok = Command::new(&py)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some(py)
    } else {
        skip(&format!(
            "{} cannot import {module} (`{} -m pip install {module}`)",
            py.display(),
            py.display()
        ));
        None
    }
}

/// Whether `tool --version` succeeds; asked once per tool and test binary.
fn runs(tool: &str) -> bool {
    static SEEN: OnceLock<Mutex<BTreeMap<String, bool>>> = OnceLock::new();
    let seen = SEEN.get_or_init(Default::default);
    if let Some(&ok) = seen.lock().unwrap().get(tool) {
        return ok;
    }
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    seen.lock().unwrap().insert(tool.to_string(), ok);
    ok
}

/// True when a missing tool must fail the test rather than skip it.
fn required() -> bool {
    std::env::var_os("SAIL_REQUIRE_TOOLS").is_some_and(|v| v != "0")
        || std::env::var_os("CI").is_some()
}

/// Fails the current test (full tier, CI) or reports it skipped with `reason`.
fn skip(reason: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    if required() {
        panic!("{test}: {reason} (the full tier and CI require every tool)");
    }
    eprintln!("SKIPPED {test}: {reason}");
    if let Some(log) = std::env::var_os("SAIL_SKIP_LOG") {
        let line = format!("{test}: {reason}\n");
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = appended {
            panic!("{test}: skipped ({reason}), and the skip log {log:?} cannot be written: {e}");
        }
    }
}
