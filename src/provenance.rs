//! What produced a result: tool version, git commit (with a dirty flag), build identity,
//! command line and seed. Every report, sweep record, regress result and run folder carries
//! one, so a figure can be traced to the binary and the invocation that made it.
//!
//! The commit and build identity are fixed at build time by `build.rs`: the build identity is a
//! hash of the version, the commit (and the uncommitted diff of a dirty tree) and every
//! embedded program ELF, so two binaries with the same identity time the same kernels with
//! the same code. Sweep keys include it (see [`crate::sweep::key`]).

use serde::{Deserialize, Serialize};

/// The tool's name in provenance records.
pub const TOOL: &str = "sail-emu";
/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit the binary was built from, or `unknown` outside a checkout.
pub const COMMIT: &str = env!("SAIL_GIT_COMMIT");
/// `true` when the tree had uncommitted changes, `false` when clean, `unknown` outside git.
pub const DIRTY: &str = env!("SAIL_GIT_DIRTY");
/// 16 hex digits identifying the build (version, commit, diff, embedded ELFs).
pub const BUILD_ID: &str = env!("SAIL_BUILD_ID");

/// The provenance of one result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// Always `sail-emu`.
    pub tool: String,
    /// Crate version.
    pub version: String,
    /// Git commit hash, or `unknown`.
    pub commit: String,
    /// Uncommitted changes at build time (`None` outside git).
    pub dirty: Option<bool>,
    /// Build identity (see the module doc).
    pub build: String,
    /// The command line, program name first.
    pub command_line: Vec<String>,
    /// The seed of the run's random inputs, when it has one.
    pub seed: Option<u64>,
}

impl Provenance {
    /// The provenance of this binary running `command_line`.
    pub fn new(command_line: Vec<String>, seed: Option<u64>) -> Self {
        Self {
            tool: TOOL.into(),
            version: VERSION.into(),
            commit: COMMIT.into(),
            dirty: match DIRTY {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            build: BUILD_ID.into(),
            command_line,
            seed,
        }
    }

    /// The provenance of this process: its own command line.
    pub fn of_process(seed: Option<u64>) -> Self {
        Self::new(std::env::args().collect(), seed)
    }

    /// The provenance of an in-process `emulate ARGS` (a sweep point or regress case).
    pub fn of_args(args: &[String], seed: Option<u64>) -> Self {
        let mut line = vec!["emulate".to_string()];
        line.extend(args.iter().cloned());
        Self::new(line, seed)
    }

    /// The command line as one shell-quoted string.
    pub fn command_text(&self) -> String {
        self.command_line
            .iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// As JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// `--version` text: version, commit, dirty flag and build identity.
pub const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SAIL_GIT_COMMIT"),
    ", dirty ",
    env!("SAIL_GIT_DIRTY"),
    ", build ",
    env!("SAIL_BUILD_ID"),
    ")"
);

/// Quotes a word for a POSIX shell when it needs it.
pub fn shell_quote(w: &str) -> String {
    let plain = !w.is_empty()
        && w.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

/// Adds `provenance` to a JSON report object (other values are left alone).
pub fn stamp(report: &mut serde_json::Value, p: &Provenance) {
    if let Some(m) = report.as_object_mut() {
        m.insert("provenance".into(), p.to_json());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_identity_is_16_hex_digits_and_commit_is_known_in_a_checkout() {
        assert_eq!(BUILD_ID.len(), 16);
        assert!(BUILD_ID.bytes().all(|b| b.is_ascii_hexdigit()));
        // Tests run from the source tree, which is a git checkout in development and CI.
        if std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(".git")
            .exists()
        {
            assert_eq!(COMMIT.len(), 40, "{COMMIT}");
            assert!(DIRTY == "true" || DIRTY == "false");
        }
    }

    #[test]
    fn stamps_reports_with_the_command_line_and_seed() {
        let mut v = serde_json::json!({"cycles": 3});
        let p = Provenance::of_args(&["membench".into(), "--seed".into(), "7".into()], Some(7));
        stamp(&mut v, &p);
        assert_eq!(v["provenance"]["command_line"][0], "emulate");
        assert_eq!(v["provenance"]["seed"], 7);
        assert_eq!(v["provenance"]["build"], BUILD_ID);
        assert_eq!(v["cycles"], 3);
    }

    #[test]
    fn quotes_words_with_spaces() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("memory.capacity=1GiB"), "memory.capacity=1GiB");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
