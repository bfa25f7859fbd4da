//! The shipped data files (boards, manifests, program ELFs), embedded in the binary at build
//! time, with folders on disk as overrides.
//!
//! Lookup order for a file named by the tool (a board name, a manifest name, a kernel
//! program), first hit wins:
//! 1. the folder named by the kind's environment variable (`SAIL_BOARDS_DIR`,
//!    `SAIL_MANIFESTS_DIR`, `SAIL_KERNELS_DIR`, `SAIL_PROGRAMS_DIR`);
//! 2. the folder of that name under the current directory (`boards/`, `manifests/`,
//!    `programs/kernels/elf/`, `programs/`), which is the source tree when run from it;
//! 3. the copy embedded in the binary.
//!
//! So an installed `emulate` works from any directory and on any node, and a checkout's edited
//! files win over the embedded ones. An embedded file's path reads `<embedded>/<relative path>`
//! in messages and keys.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The prefix of an embedded file's path.
pub const EMBEDDED_PREFIX: &str = "<embedded>";

/// A kind of shipped file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Board YAML files (`boards/`).
    Boards,
    /// Weight manifests (`manifests/`).
    Manifests,
    /// GGML kernel programs (`programs/kernels/elf/`).
    Kernels,
    /// Example bare-metal programs (`programs/`).
    Programs,
}

impl Kind {
    /// The folder, relative to the source tree or the current directory.
    pub fn folder(self) -> &'static str {
        match self {
            Kind::Boards => "boards",
            Kind::Manifests => "manifests",
            Kind::Kernels => "programs/kernels/elf",
            Kind::Programs => "programs",
        }
    }

    /// The environment variable naming an override folder.
    pub fn env_var(self) -> &'static str {
        match self {
            Kind::Boards => "SAIL_BOARDS_DIR",
            Kind::Manifests => "SAIL_MANIFESTS_DIR",
            Kind::Kernels => "SAIL_KERNELS_DIR",
            Kind::Programs => "SAIL_PROGRAMS_DIR",
        }
    }

    /// The embedded folder, as it appears in paths.
    pub fn embedded_folder(self) -> PathBuf {
        Path::new(EMBEDDED_PREFIX).join(self.folder())
    }

    /// The folders on disk searched before the embedded copy, in order (existing or not).
    pub fn disk_folders(self) -> Vec<PathBuf> {
        let mut v = Vec::new();
        if let Some(d) = std::env::var_os(self.env_var()) {
            v.push(PathBuf::from(d));
        }
        v.push(PathBuf::from(self.folder()));
        v
    }

    /// The folder files of this kind are taken from: the first disk folder that exists, else
    /// the embedded one.
    pub fn folder_in_use(self) -> PathBuf {
        self.disk_folders()
            .into_iter()
            .find(|d| d.is_dir())
            .unwrap_or_else(|| self.embedded_folder())
    }
}

/// The embedded file at `relative` (`boards/innerjib7ea.yaml`).
pub fn embedded(relative: &str) -> Option<&'static [u8]> {
    ASSETS
        .binary_search_by(|(n, _)| n.cmp(&relative))
        .ok()
        .map(|i| ASSETS[i].1)
}

/// The embedded files of a kind: (file name, bytes), sorted by name.
pub fn embedded_files(kind: Kind) -> Vec<(&'static str, &'static [u8])> {
    let prefix = format!("{}/", kind.folder());
    ASSETS
        .iter()
        .filter_map(|(n, b)| {
            let rest = n.strip_prefix(&prefix)?;
            (!rest.contains('/')).then_some((rest, *b))
        })
        .collect()
}

/// The embedded bytes behind a path of the form `<embedded>/...`.
pub fn embedded_path(path: &Path) -> Option<&'static [u8]> {
    let rel = path.strip_prefix(EMBEDDED_PREFIX).ok()?;
    embedded(&rel.to_string_lossy())
}

/// Reads a file: from disk, or from the embedded copy when `path` is an embedded path or a
/// relative path of a shipped file that is not on disk (`programs/hello.elf` outside a
/// checkout).
pub fn read(path: &Path) -> std::io::Result<Cow<'static, [u8]>> {
    if let Some(b) = embedded_path(path) {
        return Ok(Cow::Borrowed(b));
    }
    match std::fs::read(path) {
        Ok(b) => Ok(Cow::Owned(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && path.is_relative() => {
            let rel = path.to_string_lossy();
            let rel = rel.strip_prefix("./").unwrap_or(&rel);
            embedded(rel).map(Cow::Borrowed).ok_or(e)
        }
        Err(e) => Err(e),
    }
}

/// True when `path` names a file that [`read`] can read.
pub fn exists(path: &Path) -> bool {
    path.is_file()
        || embedded_path(path).is_some()
        || (path.is_relative()
            && embedded(path.to_string_lossy().trim_start_matches("./")).is_some())
}

/// Finds `NAME.EXT` of a kind, for each extension in turn, through the lookup order.
pub fn find(kind: Kind, name: &str, exts: &[&str]) -> Option<PathBuf> {
    for d in kind.disk_folders() {
        for ext in exts {
            let f = d.join(format!("{name}.{ext}"));
            if f.is_file() {
                return Some(f);
            }
        }
    }
    exts.iter().find_map(|ext| {
        let rel = format!("{}/{name}.{ext}", kind.folder());
        embedded(&rel).map(|_| Path::new(EMBEDDED_PREFIX).join(rel))
    })
}

/// The files of a kind with these extensions, from the first disk folder that has any, else
/// the embedded ones: (stem, path), sorted by stem.
pub fn list(kind: Kind, exts: &[&str]) -> Vec<(String, PathBuf)> {
    let has_ext = |p: &Path| {
        p.extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| exts.contains(&x))
    };
    for d in kind.disk_folders() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut v: Vec<(String, PathBuf)> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file() && has_ext(p))
            .filter_map(|p| Some((p.file_stem()?.to_string_lossy().into_owned(), p)))
            .collect();
        if !v.is_empty() {
            v.sort();
            return v;
        }
    }
    embedded_files(kind)
        .into_iter()
        .map(|(n, _)| Path::new(n).to_path_buf())
        .filter(|p| has_ext(p))
        .filter_map(|p| {
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            Some((stem, kind.embedded_folder().join(p)))
        })
        .collect()
}

/// The kernel programs in use, in name order, with their bytes: what a run's kernels are
/// (for keys and build identities).
pub fn kernel_programs() -> Vec<(String, Vec<u8>)> {
    let dir = Kind::Kernels.folder_in_use();
    let mut v: Vec<(String, Vec<u8>)> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "elf"))
            .filter_map(|p| {
                let bytes = std::fs::read(&p).ok()?;
                Some((p.file_name()?.to_string_lossy().into_owned(), bytes))
            })
            .collect(),
        Err(_) => embedded_files(Kind::Kernels)
            .into_iter()
            .map(|(n, b)| (n.to_string(), b.to_vec()))
            .collect(),
    };
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_kind_is_embedded() {
        assert!(embedded("boards/innerjib7ea.yaml").is_some());
        assert!(embedded_files(Kind::Manifests)
            .iter()
            .any(|(n, _)| *n == "tinyllama-1.1b-q4_k_m.yaml"));
        assert!(embedded("programs/kernels/elf/k_eltwise.elf")
            .is_some_and(|b| b.starts_with(b"\x7fELF")));
        assert!(embedded("programs/hello.elf").is_some());
        // Sorted, as the binary search needs.
        assert!(ASSETS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn embedded_files_match_the_source_tree() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for (name, bytes) in ASSETS {
            assert_eq!(std::fs::read(root.join(name)).unwrap(), *bytes, "{name}");
        }
    }

    #[test]
    fn embedded_paths_read_back() {
        let p = Kind::Kernels.embedded_folder().join("k_eltwise.elf");
        assert_eq!(
            &*read(&p).unwrap(),
            embedded("programs/kernels/elf/k_eltwise.elf").unwrap()
        );
        // The bytes parse as the program (Program::load_asset, program layer).
        assert!(crate::program::Program::parse(&read(&p).unwrap(), &p).is_ok());
    }
}
