//! Finding where a key sits in a YAML file, and applying `--set key.path=value` overrides.

use super::ConfigError;
use serde_yaml::Value;

/// The 1-based line where the dotted `key` (`memory.timing.tRC`) is written in block-style
/// YAML `text`, or `None` when it is not written there.
pub fn line_of_key(text: &str, key: &str) -> Option<usize> {
    if key.is_empty() {
        return None;
    }
    let want: Vec<&str> = key.split('.').collect();
    // Stack of (indent, key) for the mapping keys enclosing the current line.
    let mut stack: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split(" #").next().unwrap_or("");
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('-') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let Some((k, _)) = trimmed.split_once(':') else {
            continue;
        };
        let k = k.trim().trim_matches('"').trim_matches('\'').to_string();
        while stack.last().is_some_and(|(ind, _)| *ind >= indent) {
            stack.pop();
        }
        stack.push((indent, k));
        if stack.len() == want.len() && stack.iter().zip(&want).all(|((_, a), b)| a == b) {
            return Some(i + 1);
        }
    }
    None
}

/// The dotted key a serde message starts with (`memory.timing: unknown field ...`), plus the
/// field it names when the message is about a single field.
pub fn key_in_serde_message(msg: &str) -> String {
    let (prefix, rest) = match msg.split_once(": ") {
        Some((p, r)) if !p.contains(' ') => (p.to_string(), r),
        _ => (String::new(), msg),
    };
    let field = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|pat| rest.split_once(pat))
        .and_then(|(_, after)| after.split_once('`'))
        .map(|(f, _)| f.to_string());
    match (prefix.is_empty(), field) {
        (true, Some(f)) => f,
        (false, Some(f)) => format!("{prefix}.{f}"),
        (_, None) => prefix,
    }
}

/// Turns a serde_yaml error into a [`ConfigError`] with the file, line and key.
pub fn yaml_error(text: &str, file: &str, e: &serde_yaml::Error) -> ConfigError {
    let full = e.to_string();
    // Drop serde_yaml's own " at line L column C" suffix: the line goes in front.
    let message = match full.rfind(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full.clone(),
    };
    let key = key_in_serde_message(&message);
    // A missing key has no line of its own: point at the section that lacks it.
    let parent = key.rsplit_once('.').map(|(p, _)| p).unwrap_or("");
    let line = line_of_key(text, &key)
        .or_else(|| line_of_key(text, parent))
        .or_else(|| e.location().map(|l| l.line()));
    let message = match message.split_once(": ") {
        Some((p, r)) if !p.contains(' ') => r.to_string(),
        _ => message,
    };
    ConfigError {
        file: file.to_string(),
        line,
        key,
        message,
    }
}

/// Applies `key.path=value` to a YAML tree. The key must already exist (an override cannot
/// invent a key); the value is parsed as a YAML scalar, so `64b66b`, `2 GiB` and `8` all work.
pub fn apply_override(tree: &mut Value, assignment: &str) -> Result<(), String> {
    let (key, value) = assignment
        .split_once('=')
        .ok_or_else(|| "expected key.path=value".to_string())?;
    let key = key.trim();
    let mut node = tree;
    let mut walked = Vec::new();
    for part in key.split('.') {
        let map = node
            .as_mapping_mut()
            .ok_or_else(|| format!("`{}` is not a section", walked.join(".")))?;
        let k = Value::String(part.to_string());
        if !map.contains_key(&k) {
            let mut known: Vec<String> = map
                .keys()
                .filter_map(|k| k.as_str().map(String::from))
                .collect();
            known.sort();
            let at = if walked.is_empty() {
                "the top level".to_string()
            } else {
                format!("`{}`", walked.join("."))
            };
            return Err(format!(
                "unknown key `{part}` in {at} (known: {})",
                known.join(", ")
            ));
        }
        walked.push(part);
        node = map.get_mut(&k).expect("checked above");
    }
    if node.is_mapping() {
        return Err(format!("`{key}` is a section, not a value"));
    }
    let parsed: Value = serde_yaml::from_str(value.trim())
        .map_err(|e| format!("value `{value}` is not valid YAML: {e}"))?;
    *node = parsed;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name: x\nmemory:\n  base: 1  # c\n  timing:\n    tRC: 48 ns\n    tRP: 1 ns\ncore:\n  timing: 3\n";

    #[test]
    fn finds_nested_keys() {
        assert_eq!(line_of_key(TEXT, "memory.timing.tRC"), Some(5));
        assert_eq!(line_of_key(TEXT, "memory.timing.tRP"), Some(6));
        assert_eq!(line_of_key(TEXT, "core.timing"), Some(8));
        assert_eq!(line_of_key(TEXT, "memory.timing.tRAS"), None);
    }

    #[test]
    fn override_requires_existing_key() {
        let mut v: Value = serde_yaml::from_str(TEXT).unwrap();
        apply_override(&mut v, "memory.timing.tRC=50 ns").unwrap();
        assert_eq!(v["memory"]["timing"]["tRC"].as_str(), Some("50 ns"));
        let e = apply_override(&mut v, "memory.timng.tRC=1 ns").unwrap_err();
        assert!(e.contains("unknown key `timng`"), "{e}");
    }

    #[test]
    fn serde_message_key() {
        assert_eq!(
            key_in_serde_message("memory.timing: unknown field `tFOO`, expected one of"),
            "memory.timing.tFOO"
        );
        assert_eq!(
            key_in_serde_message("memory.capacity: `3 MHz` is a frequency"),
            "memory.capacity"
        );
    }
}
