//! The typed board description.
//!
//! A board file (`boards/*.yaml`) describes one Sail card model and how many of them are
//! connected. Every quantity carries its unit and parses into a type from [`crate::units`].
//! Loading goes: text -> YAML tree -> `--set` overrides applied to the tree -> typed
//! [`Board`] (unknown and missing keys refused) -> [`validate`] (impossible hardware refused).
//! Every error names the file, the line and the dotted key.

pub mod limits;
mod locate;
mod schema;
mod validate;

pub use locate::line_of_key;

/// Base address of the card's MMIO page (console and exit registers), fixed by the card's
/// memory map; board regions must miss it.
pub const MMIO_BASE: u64 = 0x1000_0000;

/// Size of the MMIO page.
pub const MMIO_SIZE: u64 = 0x1000;
pub use schema::*;

use std::fmt;
use std::path::{Path, PathBuf};

/// A configuration error: where it is (file, line, key) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the value came from.
    pub file: String,
    /// 1-based line of the key in the file, when known.
    pub line: Option<usize>,
    /// Dotted key path (`memory.timing.tRC`); empty when the error is about the whole file.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": key `{}`", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// A board loaded from a file, with the overrides applied and validated.
#[derive(Debug, Clone)]
pub struct LoadedBoard {
    /// The typed, validated board.
    pub board: Board,
    /// Where it was read from.
    pub path: PathBuf,
    /// The `--set` overrides applied, in order.
    pub overrides: Vec<String>,
}

impl LoadedBoard {
    /// The fully resolved configuration as YAML: the record written next to every result.
    pub fn resolved_yaml(&self) -> String {
        let mut s = format!(
            "# resolved board configuration\n# source: {}\n",
            self.path.display()
        );
        for o in &self.overrides {
            s.push_str(&format!("# --set {o}\n"));
        }
        s.push_str(&serde_yaml::to_string(&self.board).unwrap_or_default());
        s
    }
}

impl LoadedBoard {
    /// Writes the resolved configuration as `board.resolved.yaml` in `dir` (created if
    /// needed): every command that writes results to disk calls this, so the record of what
    /// was simulated sits next to the figures.
    pub fn write_resolved(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("board.resolved.yaml");
        std::fs::write(&path, self.resolved_yaml())?;
        Ok(path)
    }
}

/// Resolves `NAME` or a path to a board file.
pub fn resolve_board_path(name_or_path: &str) -> Result<PathBuf, ConfigError> {
    let p = Path::new(name_or_path);
    if name_or_path.ends_with(".yaml") || name_or_path.contains('/') {
        if crate::assets::exists(p) {
            return Ok(p.to_path_buf());
        }
        return Err(ConfigError {
            file: name_or_path.into(),
            line: None,
            key: String::new(),
            message: "no such board file".into(),
        });
    }
    if let Some(f) = crate::assets::find(crate::assets::Kind::Boards, name_or_path, &["yaml"]) {
        return Ok(f);
    }
    let known: Vec<String> = list_boards()
        .into_iter()
        .map(|(n, _)| n)
        .collect::<Vec<_>>();
    Err(ConfigError {
        file: name_or_path.into(),
        line: None,
        key: String::new(),
        message: format!(
            "no board of that name (known boards: {})",
            if known.is_empty() {
                "none found".to_string()
            } else {
                known.join(", ")
            }
        ),
    })
}

/// Board names and files (see [`crate::assets`] for where they are looked up), sorted by
/// name.
pub fn list_boards() -> Vec<(String, PathBuf)> {
    crate::assets::list(crate::assets::Kind::Boards, &["yaml"])
}

/// Loads a board by name or path and applies `key.path=value` overrides.
pub fn load_board(name_or_path: &str, overrides: &[String]) -> Result<LoadedBoard, ConfigError> {
    let path = resolve_board_path(name_or_path)?;
    let file = path.display().to_string();
    let bytes = crate::assets::read(&path).map_err(|e| ConfigError {
        file: file.clone(),
        line: None,
        key: String::new(),
        message: format!("cannot read: {e}"),
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let board = parse_board(&text, &file, overrides)?;
    Ok(LoadedBoard {
        board,
        path,
        overrides: overrides.to_vec(),
    })
}

/// Parses board text (named `file` in messages), applies overrides and validates.
pub fn parse_board(text: &str, file: &str, overrides: &[String]) -> Result<Board, ConfigError> {
    let err_at = |key: String, message: String| ConfigError {
        file: file.to_string(),
        line: line_of_key(text, &key),
        key,
        message,
    };
    let board: Board = if overrides.is_empty() {
        // Deserialize from text so serde_yaml can point at the offending line.
        serde_yaml::from_str(text).map_err(|e| locate::yaml_error(text, file, &e))?
    } else {
        let mut tree: serde_yaml::Value =
            serde_yaml::from_str(text).map_err(|e| locate::yaml_error(text, file, &e))?;
        for o in overrides {
            locate::apply_override(&mut tree, o).map_err(|m| ConfigError {
                file: file.to_string(),
                line: None,
                key: o.split('=').next().unwrap_or("").trim().to_string(),
                message: format!("--set {o}: {m}"),
            })?;
        }
        // Round-trip through text so serde_yaml reports the key path of a bad value.
        let resolved = serde_yaml::to_string(&tree).map_err(|e| ConfigError {
            file: file.to_string(),
            line: None,
            key: String::new(),
            message: e.to_string(),
        })?;
        serde_yaml::from_str(&resolved).map_err(|e| {
            let mut err = locate::yaml_error(&resolved, file, &e);
            err.line = line_of_key(text, &err.key);
            err.message
                .push_str(&format!(" (after --set {})", overrides.join(", --set ")));
            err
        })?
    };
    validate::validate(&board).map_err(|(key, message)| {
        let overridden = overrides
            .iter()
            .any(|o| o.split('=').next().map(str::trim) == Some(key.as_str()));
        let mut e = err_at(key, message);
        if overridden {
            e.message.push_str(" (value set by --set)");
        }
        e
    })?;
    Ok(board)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolved_config_round_trips_with_overrides() {
        let lb = load_board("innerjib7ea", &["memory.capacity=1 GiB".into()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = lb.write_resolved(dir.path()).unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains("# --set memory.capacity=1 GiB"));
        // The resolved file is itself a valid board that loads to the same config.
        let again = parse_board(&text, "resolved", &[]).unwrap();
        assert_eq!(again, lb.board);
        assert_eq!(again.memory.capacity.bytes(), 1 << 30);
    }
}
