//! Build script: embeds the shipped data (boards, manifests, program ELFs) and records what the
//! binary was built from (git commit, dirty flag, build identity) for `src/provenance.rs`.
//!
//! Outputs, read with `env!`/`include!`:
//! - `SAIL_GIT_COMMIT`: the commit hash, or `unknown` outside a git checkout;
//! - `SAIL_GIT_DIRTY`: `true`, `false`, or `unknown`;
//! - `SAIL_BUILD_ID`: 16 hex digits of SHA-256 over the crate version, the commit, the
//!   uncommitted diff (when dirty) and every embedded program ELF;
//! - `$OUT_DIR/assets.rs`: `ASSETS`, the embedded files as `(relative path, bytes)`, sorted.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The folders whose files are embedded, with the extensions taken from each.
const EMBEDDED: &[(&str, &[&str])] = &[
    ("boards", &["yaml"]),
    ("manifests", &["yaml", "json"]),
    ("programs", &["elf"]),
    ("programs/kernels/elf", &["elf"]),
];

fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));

    // What was built: commit and dirty flag, re-read when HEAD, the branch or the sources move.
    let commit = git(&root, &["rev-parse", "HEAD"]);
    let status = git(&root, &["status", "--porcelain", "--untracked-files=no"]);
    let dirty = match (&commit, &status) {
        (Some(_), Some(s)) => Some(!s.is_empty()),
        _ => None,
    };
    for p in ["HEAD", "index", "packed-refs"] {
        if let Some(f) = git(&root, &["rev-parse", "--git-path", p]) {
            println!("cargo:rerun-if-changed={}", root.join(f).display());
        }
    }
    if let Some(r) = git(&root, &["symbolic-ref", "-q", "HEAD"]) {
        if let Some(f) = git(&root, &["rev-parse", "--git-path", &r]) {
            println!("cargo:rerun-if-changed={}", root.join(f).display());
        }
    }
    for p in [
        "src",
        "Cargo.toml",
        "build.rs",
        "boards",
        "manifests",
        "programs",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }

    // The embedded files, in a fixed order.
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for (dir, exts) in EMBEDDED {
        let Ok(rd) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let ext_ok = p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| exts.contains(&x));
            if p.is_file() && ext_ok {
                let name = format!("{dir}/{}", p.file_name().unwrap().to_string_lossy());
                files.push((name, p));
            }
        }
    }
    files.sort();

    let mut id = Sha256::new();
    id.update(env!("CARGO_PKG_VERSION").as_bytes());
    id.update([0]);
    id.update(commit.as_deref().unwrap_or("unknown").as_bytes());
    id.update([0]);
    if dirty == Some(true) {
        // A dirty build differs from its commit by the uncommitted changes: hash them.
        id.update(git(&root, &["diff", "HEAD"]).unwrap_or_default().as_bytes());
    }
    let mut table = String::from(
        "/// Files embedded at build time: (path relative to the source tree, bytes), sorted.\n\
         pub static ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for (name, path) in &files {
        let bytes = std::fs::read(path).expect("read an embedded file");
        if name.ends_with(".elf") {
            id.update(name.as_bytes());
            id.update([0]);
            id.update(&bytes);
        }
        table.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    table.push_str("];\n");
    std::fs::write(out_dir.join("assets.rs"), table).expect("write assets.rs");

    println!(
        "cargo:rustc-env=SAIL_GIT_COMMIT={}",
        commit.as_deref().unwrap_or("unknown")
    );
    println!(
        "cargo:rustc-env=SAIL_GIT_DIRTY={}",
        dirty.map_or("unknown".to_string(), |d| d.to_string())
    );
    println!(
        "cargo:rustc-env=SAIL_BUILD_ID={}",
        &hex(&id.finalize())[..16]
    );
}
