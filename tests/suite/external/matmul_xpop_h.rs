//! programs/xpop.h assembles, with clang-19, to the encodings `isa::xpop::decode` accepts.
//!
//! Needs clang-19 (`support::tools::require`).

use crate::support::tools::require;
use object::{Object, ObjectSection};
use sail_emu::isa::xpop::{decode, InfoSel, XInst, OPCODE_CUSTOM_0};
use std::path::Path;
use std::process::Command;

const SOURCE: &str = r#"
#include "xpop.h"
struct xpop_desc D[2];
uint64_t go(void) {
    xpop_desc_packed(&D[0], XPOP_TYPE_Q4_K, (void *)0x80100000, (void *)0x80200000,
                     (float *)0x80300000, 1, 14, 2048, 1152, 2336);
    xpop_mm(D, 2);
    return xpop_info(XPOP_INFO_INT8_MACS) + xpop_info(XPOP_INFO_JOBS)
         + xpop_info(XPOP_INFO_TYPES);
}
"#;

/// The 32-bit instructions of a RISC-V text section, walking 16-bit parcels (RVC aware).
fn words(text: &[u8]) -> Vec<u32> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 2 <= text.len() {
        let lo = u16::from_le_bytes([text[i], text[i + 1]]);
        if lo & 3 == 3 && i + 4 <= text.len() {
            out.push(u32::from_le_bytes(text[i..i + 4].try_into().unwrap()));
            i += 4;
        } else {
            i += 2;
        }
    }
    out
}

#[test]
fn xpop_h_assembles_to_decodable_instructions() {
    if !require(&["clang-19"]) {
        return;
    }
    let cc = "clang-19";
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("t.c");
    let obj = dir.path().join("t.o");
    std::fs::write(&src, SOURCE).unwrap();
    let programs = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs");
    let out = Command::new(cc)
        .args([
            "--target=riscv64-unknown-elf",
            "-march=rv64gcv_zfh",
            "-mabi=lp64d",
            "-mcmodel=medany",
            "-O2",
            "-ffreestanding",
            "-nostdlib",
            "-c",
        ])
        .arg("-I")
        .arg(&programs)
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "clang-19 failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = std::fs::read(&obj).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let text = file.section_by_name(".text").unwrap().data().unwrap();
    let xpop: Vec<XInst> = words(text)
        .into_iter()
        .filter(|w| w & 0x7f == OPCODE_CUSTOM_0)
        .map(|w| decode(w).unwrap_or_else(|e| panic!("{w:#010x}: {e}")))
        .collect();
    assert_eq!(xpop.len(), 4, "{xpop:?}");
    assert!(matches!(xpop[0], XInst::Mm { .. }));
    let sels: Vec<InfoSel> = xpop[1..]
        .iter()
        .map(|i| match i {
            XInst::Info { sel, .. } => *sel,
            other => panic!("expected xpop.info, got {other}"),
        })
        .collect();
    assert_eq!(sels, [InfoSel::Int8Macs, InfoSel::Jobs, InfoSel::Types]);
}
