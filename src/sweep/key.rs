//! The key of a sweep point: a hash of everything that decides its result.
//!
//! The key covers the build identity of the binary ([`crate::provenance::BUILD_ID`]), the
//! resolved board configuration (after `--set`), the command and its options (as sorted pairs,
//! so reordering axes in a spec does not change keys), the bytes of the kernel programs in use
//! (an override folder or the embedded ones), the bytes of every file the point's arguments
//! name (a `kernel PROGRAM.elf`, a board or manifest path, a `--weights` GGUF file) and of the
//! manifest the point runs (the default one when it names none). A change to any of them gives
//! a new key, so `--resume` re-runs exactly the points whose inputs changed, and results of
//! another build are never taken for this one's.

use sha2::{Digest, Sha256};
use std::path::Path;

/// The hashed inputs of a sweep: computed once per sweep, shared by its points.
#[derive(Debug, Clone)]
pub struct KeyContext {
    programs_digest: String,
}

impl Default for KeyContext {
    fn default() -> Self {
        Self::new()
    }
}

impl KeyContext {
    /// Hashes the kernel programs in use (see [`crate::assets`]).
    pub fn new() -> Self {
        let mut h = Sha256::new();
        for (name, bytes) in crate::assets::kernel_programs() {
            h.update(name.as_bytes());
            h.update([0]);
            h.update(&bytes);
        }
        Self {
            programs_digest: hex(&h.finalize()),
        }
    }

    /// The digest of the kernel programs.
    pub fn programs_digest(&self) -> &str {
        &self.programs_digest
    }

    /// The key of the point with these emulate arguments.
    pub fn key(&self, argv: &[String]) -> String {
        let mut board = "innerjib7ea".to_string();
        let mut sets = Vec::new();
        let mut words = Vec::new();
        let mut options: Vec<(String, String)> = Vec::new();
        let mut i = 0;
        while i < argv.len() {
            let a = &argv[i];
            let next = argv.get(i + 1).filter(|n| !n.starts_with("--"));
            match (a.as_str(), next) {
                ("--board", Some(v)) => {
                    board = v.clone();
                    i += 1;
                }
                ("--set", Some(v)) => {
                    sets.push(v.clone());
                    i += 1;
                }
                (o, Some(v)) if o.starts_with("--") => {
                    options.push((o.to_string(), v.clone()));
                    i += 1;
                }
                (o, None) if o.starts_with("--") => options.push((o.to_string(), String::new())),
                _ => words.push(a.clone()),
            }
            i += 1;
        }
        options.sort();
        let config = match crate::config::load_board(&board, &sets) {
            Ok(b) => serde_yaml::to_string(&b.board).unwrap_or_default(),
            Err(e) => format!("invalid board: {e}"),
        };
        let option = |name: &str| options.iter().find(|(o, _)| o == name).map(|(_, v)| v);
        // Every file the arguments name, whatever the option: programs, boards, manifests,
        // weights.
        let files: Vec<String> = words
            .iter()
            .chain(options.iter().map(|(_, v)| v))
            .chain(std::iter::once(&board))
            .filter(|w| crate::assets::exists(Path::new(w.as_str())))
            .map(|w| format!("{w}={}", file_digest(Path::new(w))))
            .collect();
        let manifest = match (option("--manifest"), option("--weights")) {
            (Some(m), _) => manifest_digest(m),
            // The run takes the GGUF file's own manifest (hashed with the file).
            (None, Some(_)) => String::new(),
            (None, None) => manifest_digest(crate::experiment::model_run::DEFAULT_MANIFEST),
        };
        let workload = format!("{manifest}:{}", files.join(";"));
        let canonical = serde_json::json!({
            "config": config,
            "command": words,
            "options": options,
            "programs": self.programs_digest,
            "build": crate::provenance::BUILD_ID,
            "workload": workload,
        });
        let mut h = Sha256::new();
        h.update(canonical.to_string().as_bytes());
        hex(&h.finalize())[..16].to_string()
    }
}

/// The digest of a manifest given by name or path, as the run would load it.
fn manifest_digest(name: &str) -> String {
    let path = if crate::assets::exists(Path::new(name)) {
        Some(Path::new(name).to_path_buf())
    } else {
        crate::assets::find(crate::assets::Kind::Manifests, name, &["yaml", "json"])
    };
    match path {
        Some(p) => file_digest(&p),
        None => format!("missing:{name}"),
    }
}

/// The SHA-256 of a file (disk or embedded), streamed: a weights file can be gigabytes.
fn file_digest(path: &Path) -> String {
    if !path.is_file() {
        return match crate::assets::read(path) {
            Ok(b) => hex(&Sha256::digest(&b)),
            Err(e) => format!("unreadable:{}:{e}", path.display()),
        };
    }
    let mut h = Sha256::new();
    let digest = std::fs::File::open(path).and_then(|mut f| {
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = std::io::Read::read(&mut f, &mut buf)?;
            if n == 0 {
                return Ok(());
            }
            h.update(&buf[..n]);
        }
    });
    match digest {
        Ok(()) => hex(&h.finalize()),
        Err(e) => format!("unreadable:{}:{e}", path.display()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> KeyContext {
        KeyContext::new()
    }

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn key_is_stable_and_order_independent() {
        let c = ctx();
        let a = c.key(&v(&[
            "--board",
            "innerjib7ea",
            "membench",
            "--pattern",
            "stream",
            "--bytes",
            "4096",
        ]));
        let b = c.key(&v(&[
            "--board",
            "innerjib7ea",
            "membench",
            "--bytes",
            "4096",
            "--pattern",
            "stream",
        ]));
        assert_eq!(a, b);
        assert_eq!(
            a,
            ctx().key(&v(&[
                "--board",
                "innerjib7ea",
                "membench",
                "--pattern",
                "stream",
                "--bytes",
                "4096"
            ]))
        );
        assert_eq!(a.len(), 16);
    }

    #[test]
    fn key_follows_the_resolved_config_not_the_spelling() {
        let c = ctx();
        let base = c.key(&v(&["boards", "show"]));
        // The default board spelled out, and an override to the value it already has.
        assert_eq!(
            base,
            c.key(&v(&["--board", "innerjib7ea", "boards", "show"]))
        );
        assert_eq!(
            base,
            c.key(&v(&["--set", "memory.capacity=4GiB", "boards", "show"]))
        );
        assert_ne!(
            base,
            c.key(&v(&["--set", "memory.capacity=2GiB", "boards", "show"]))
        );
        assert_ne!(
            base,
            c.key(&v(&["--board", "innerjib7ea-x16", "boards", "show"]))
        );
    }
}
