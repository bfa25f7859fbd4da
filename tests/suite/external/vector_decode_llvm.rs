//! Decode round-trip against LLVM: words assembled or disassembled by llvm-mc-19 /
//! llvm-objdump-19 must decode to the same text (or both be rejected).
//!
//! Needs llvm-mc-19 and llvm-objdump-19 (`support::tools::require`).

use crate::support::tools::require;
use sail_emu::isa::vector::decode;
use std::path::Path;
use std::process::Command;

/// Assembles `src` and returns (raw word, llvm-objdump text) for every instruction.
fn objdump(dir: &Path, src: &str) -> Vec<(u32, String)> {
    let s = dir.join("t.s");
    let o = dir.join("t.o");
    std::fs::write(&s, src).unwrap();
    let st = Command::new("llvm-mc-19")
        .args(["-triple=riscv64", "-mattr=+v,+zfh", "-filetype=obj", "-o"])
        .arg(&o)
        .arg(&s)
        .status()
        .unwrap();
    assert!(st.success(), "llvm-mc failed");
    let out = Command::new("llvm-objdump-19")
        .args(["-d", "--mattr=+v,+zfh"])
        .arg(&o)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut v = Vec::new();
    for line in text.lines() {
        // "       0: 0c05f557     \tvsetvli\ta0, a1, e8, m1, ta, ma"
        let Some((addr, rest)) = line.split_once(':') else {
            continue;
        };
        if addr.trim().is_empty() || !addr.trim().chars().all(|c| c.is_ascii_hexdigit()) {
            continue;
        }
        let rest = rest.trim_start();
        let Some((hex, dis)) = rest.split_once(char::is_whitespace) else {
            continue;
        };
        let Ok(raw) = u32::from_str_radix(hex, 16) else {
            continue;
        };
        v.push((raw, dis.trim().to_string()));
    }
    v
}

fn ours(raw: u32) -> String {
    match decode(raw) {
        Ok(i) => i.to_string(),
        Err(_) => "<unknown>".into(),
    }
}

/// llvm-objdump pads mnemonics with a tab; normalise runs of whitespace after the mnemonic.
fn norm(s: &str) -> String {
    let s = s.trim();
    match s.split_once(char::is_whitespace) {
        Some((m, rest)) => format!("{m} {}", rest.trim()),
        None => s.to_string(),
    }
}

/// The RVV instructions GGML's kernels use (TOOLCHAIN.md section 2), plus forms around them.
const GGML_SUBSET: &str = "
vsetvli a0, a1, e8, m1, ta, ma
vsetvli zero, zero, e32, m4, ta, ma
vsetivli zero, 16, e8, m1, ta, ma
vsetvli t0, zero, e16, mf2, ta, ma
vle8.v v8, (a0)
vle32.v v8, (a0), v0.t
vlse16.v v8, (a0), a1
vse8.v v8, (a0)
vse16.v v8, (a0)
vsse32.v v8, (a0), a1
vl1r.v v8, (a0)
vl8r.v v8, (a0)
vs1r.v v8, (a0)
vs8r.v v8, (a0)
vadd.vi v8, v16, -8
vadd.vv v8, v16, v24
vsub.vx v8, v16, a0
vand.vi v8, v16, 15
vand.vx v8, v16, a0
vor.vv v8, v16, v24
vsll.vi v8, v16, 4
vsrl.vi v8, v16, 4
vsrl.vv v8, v16, v24
vmul.vx v8, v16, a0
vmacc.vx v8, a0, v16
vwmul.vv v8, v16, v24
vwmul.vx v8, v16, a0
vwmacc.vv v8, v16, v24
vzext.vf2 v8, v16
vnsrl.wi v8, v16, 0
vnclip.wi v8, v16, 0
vredsum.vs v8, v16, v24
vwredsum.vs v8, v16, v24
vfredmax.vs v8, v16, v24
vfredmin.vs v8, v16, v24
vfredusum.vs v8, v16, v24
vfredosum.vs v8, v16, v24
vfwredosum.vs v8, v16, v24
vmv.v.i v8, 0
vmv.v.x v8, a0
vmv.s.x v8, a0
vmv.x.s a0, v8
vmv1r.v v8, v16
vfmv.f.s fa0, v8
vslideup.vi v8, v16, 1
vslidedown.vi v8, v16, 2
vslide1up.vx v8, v16, a0
vslide1down.vx v8, v16, a0
vfadd.vv v8, v16, v24
vfmul.vf v8, v16, fa0
vfmacc.vv v8, v16, v24
vfabs.v v8, v16
vfmax.vv v8, v16, v24
vfmin.vv v8, v16, v24
vfcvt.f.x.v v8, v16
vfcvt.x.f.v v8, v16
vfncvt.x.f.w v8, v16
vfwcvt.f.f.v v8, v16
vmslt.vx v0, v8, a0
vmseq.vi v0, v8, 0
vmflt.vf v0, v8, fa0
vmerge.vvm v8, v16, v24, v0
vfmerge.vfm v8, v16, fa0, v0
";

#[test]
fn ggml_subset_matches_llvm_objdump() {
    if !require(&["llvm-mc-19", "llvm-objdump-19"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let got = objdump(dir.path(), GGML_SUBSET);
    let n = GGML_SUBSET.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(
        got.len(),
        n,
        "objdump returned a different instruction count"
    );
    for (raw, text) in got {
        assert_eq!(norm(&ours(raw)), norm(&text), "raw {raw:#010x}");
    }
}

/// Random words in the vector opcode space: every word LLVM decodes, we must decode to the
/// same text; every word LLVM rejects, we must reject.
#[test]
fn random_vector_words_match_llvm_objdump() {
    if !require(&["llvm-mc-19", "llvm-objdump-19"]) {
        return;
    }
    let mut seed: u64 = 0x5eed_cafe_f00d_1234;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut src = String::new();
    for k in 0..20000 {
        let r = next() as u32;
        let word = match k % 4 {
            0 | 1 => (r & !0x7f) | 0x57,
            2 => {
                let width = [0u32, 5, 6, 7][(r >> 3) as usize & 3];
                (r & !0x707f) | (width << 12) | 0x07
            }
            _ => {
                let width = [0u32, 5, 6, 7][(r >> 3) as usize & 3];
                (r & !0x707f) | (width << 12) | 0x27
            }
        };
        src.push_str(&format!(".word {word:#x}\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let got = objdump(dir.path(), &src);
    assert_eq!(got.len(), 20000);
    let mut bad = Vec::new();
    for (raw, text) in got {
        let theirs = if text.starts_with("<unknown>") {
            "<unknown>".to_string()
        } else {
            norm(&text)
        };
        let mine = norm(&ours(raw));
        if mine != theirs {
            bad.push(format!("{raw:#010x}: llvm `{theirs}` ours `{mine}`"));
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches, first ones:\n{}",
        bad.len(),
        bad[..bad.len().min(40)].join("\n")
    );
}
