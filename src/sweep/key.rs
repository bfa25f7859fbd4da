//! The key of a sweep point: a hash of everything that decides its result.
//!
//! The key covers the resolved board configuration (after `--set`), the command and its
//! options (as sorted pairs, so reordering axes in a spec does not change keys), the bytes of
//! every program ELF under `programs/`, the bytes of the manifest the point names (the default
//! one when it names none) and of its `--weights` GGUF file. A
//! change to any of them gives a new key, so `--resume` re-runs exactly the points whose
//! inputs changed.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The hashed inputs of a sweep: computed once per sweep, shared by its points.
#[derive(Debug, Clone)]
pub struct KeyContext {
    programs_digest: String,
    root: PathBuf,
}

impl KeyContext {
    /// Hashes the programs found under `root/programs` (the source tree by default).
    pub fn new(root: &Path) -> Self {
        let mut files = Vec::new();
        collect_elfs(&root.join("programs"), &mut files);
        files.sort();
        let mut h = Sha256::new();
        for f in &files {
            h.update(
                f.strip_prefix(root)
                    .unwrap_or(f)
                    .to_string_lossy()
                    .as_bytes(),
            );
            h.update([0]);
            h.update(std::fs::read(f).unwrap_or_default());
        }
        Self {
            programs_digest: hex(&h.finalize()),
            root: root.to_path_buf(),
        }
    }

    /// The digest of all program binaries.
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
        let weights = option("--weights").map(|w| self.file_digest(w, ".", "gguf"));
        let manifest = match (option("--manifest"), &weights) {
            (Some(m), _) => self.file_digest(m, "manifests", "yaml"),
            // The run takes the GGUF file's own manifest.
            (None, Some(_)) => String::new(),
            (None, None) => {
                self.file_digest(crate::system::llm::DEFAULT_MANIFEST, "manifests", "yaml")
            }
        };
        let workload = format!("{manifest}:{}", weights.unwrap_or_default());
        let canonical = serde_json::json!({
            "config": config,
            "command": words,
            "options": options,
            "programs": self.programs_digest,
            "workload": workload,
        });
        let mut h = Sha256::new();
        h.update(canonical.to_string().as_bytes());
        hex(&h.finalize())[..16].to_string()
    }

    fn file_digest(&self, name: &str, dir: &str, ext: &str) -> String {
        let candidates = [
            PathBuf::from(name),
            self.root.join(dir).join(format!("{name}.{ext}")),
        ];
        match candidates.iter().find(|p| p.is_file()) {
            Some(p) => {
                // Streamed: a weights file can be gigabytes.
                let mut h = Sha256::new();
                let digest = std::fs::File::open(p).and_then(|mut f| {
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
                    Err(e) => format!("unreadable:{name}:{e}"),
                }
            }
            None => format!("missing:{name}"),
        }
    }
}

fn collect_elfs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_elfs(&p, out);
        } else if p.extension().is_some_and(|x| x == "elf") {
            out.push(p);
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> KeyContext {
        KeyContext::new(Path::new(env!("CARGO_MANIFEST_DIR")))
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
