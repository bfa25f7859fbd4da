//! Test support: a [`BareContext`] with a small memory, and a mini assembler that turns llvm-style text into a [`VInst`] by matching the
//! decoder's own disassembly (so a test cannot pass on a mis-typed instruction: the text must
//! round-trip exactly).

use super::VectorUnit;
pub use crate::hart::bare_context::{Access, BareContext};
use crate::hart::Trap;
use crate::isa::vector::{decode, freg_name, xreg_name, VInst};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Guest memory base address in tests.
pub const MEM_BASE: u64 = 0x1000;

/// A context with 4 KiB of memory at [`MEM_BASE`] that logs every access.
pub fn test_ctx() -> BareContext {
    BareContext::new(MEM_BASE, 4096).with_access_log()
}

/// Whitespace- and comma-insensitive form with numbers in decimal.
fn norm(s: &str) -> String {
    s.replace(['\t', ','], " ")
        .split_whitespace()
        .map(|t| {
            let (neg, body) = match t.strip_prefix('-') {
                Some(b) => (true, b),
                None => (false, t),
            };
            let v = match body.strip_prefix("0x") {
                Some(h) => i64::from_str_radix(h, 16).ok(),
                None => body.parse::<i64>().ok(),
            };
            match v {
                Some(v) => (if neg { -v } else { v }).to_string(),
                None => t.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn mnemonic(s: &str) -> String {
    s.split_whitespace().next().unwrap_or("").to_string()
}

/// mnemonic -> a raw word with that mnemonic (and vm=1 where possible).
fn templates() -> &'static BTreeMap<String, u32> {
    static T: OnceLock<BTreeMap<String, u32>> = OnceLock::new();
    T.get_or_init(|| {
        let mut m = BTreeMap::new();
        let mut add = |raw: u32| {
            if let Ok(i) = decode(raw) {
                m.entry(mnemonic(&i.to_string())).or_insert(raw);
            }
        };
        for vm in [1u32, 0] {
            for funct6 in 0..64u32 {
                for funct3 in 0..7u32 {
                    for vs1 in 0..32u32 {
                        for (vd, vs2) in [(8u32, 16u32), (8, 0), (8, 8)] {
                            add((funct6 << 26)
                                | (vm << 25)
                                | (vs2 << 20)
                                | (vs1 << 15)
                                | (funct3 << 12)
                                | (vd << 7)
                                | 0x57);
                        }
                    }
                }
            }
            for opc in [0x07u32, 0x27] {
                for nf in 0..8u32 {
                    for mop in 0..4u32 {
                        for width in [0u32, 5, 6, 7] {
                            for field in [0u32, 8, 11, 16, 20] {
                                add((nf << 29)
                                    | (mop << 26)
                                    | (vm << 25)
                                    | (field << 20)
                                    | (10 << 15)
                                    | (width << 12)
                                    | (8 << 7)
                                    | opc);
                            }
                        }
                    }
                }
            }
        }
        m
    })
}

fn parse_vtype(toks: &[&str]) -> u32 {
    let mut v = 0u32;
    for t in toks {
        match *t {
            "e8" => v |= 0,
            "e16" => v |= 1 << 3,
            "e32" => v |= 2 << 3,
            "e64" => v |= 3 << 3,
            "m1" => {}
            "m2" => v |= 1,
            "m4" => v |= 2,
            "m8" => v |= 3,
            "mf8" => v |= 5,
            "mf4" => v |= 6,
            "mf2" => v |= 7,
            "ta" => v |= 0x40,
            "ma" => v |= 0x80,
            "tu" | "mu" => {}
            _ => panic!("bad vtype token {t}"),
        }
    }
    v
}

fn reg_or_imm(t: &str) -> u32 {
    let t = t.trim_start_matches('(').trim_end_matches(')');
    if let Some(n) = t.strip_prefix('v').and_then(|n| n.parse::<u32>().ok()) {
        return n;
    }
    if let Some(i) = (0..32).find(|&i| xreg_name(i) == t || freg_name(i) == t) {
        return i as u32;
    }
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t),
    };
    let v = if let Some(h) = body.strip_prefix("0x") {
        i64::from_str_radix(h, 16).unwrap()
    } else {
        body.parse::<i64>()
            .unwrap_or_else(|_| panic!("bad operand {t}"))
    };
    ((if neg { -v } else { v }) & 31) as u32
}

/// Assembles one instruction written as llvm-objdump prints it (decimal immediates allowed).
pub fn asm(text: &str) -> VInst {
    let want = norm(text);
    let mn = mnemonic(&want);
    let toks: Vec<&str> = want.split(' ').skip(1).collect();
    if mn == "vsetvl" {
        let (rd, rs1, rs2) = (
            reg_or_imm(toks[0]),
            reg_or_imm(toks[1]),
            reg_or_imm(toks[2]),
        );
        return decode((1 << 31) | (rs2 << 20) | (rs1 << 15) | (7 << 12) | (rd << 7) | 0x57)
            .unwrap();
    }
    if mn == "vsetvli" || mn == "vsetivli" {
        let rd = reg_or_imm(toks[0]);
        let rs1 = reg_or_imm(toks[1]);
        let vt = parse_vtype(&toks[2..]);
        let raw = if mn == "vsetvli" {
            (vt << 20) | (rs1 << 15) | (7 << 12) | (rd << 7) | 0x57
        } else {
            (3 << 30) | (vt << 20) | (rs1 << 15) | (7 << 12) | (rd << 7) | 0x57
        };
        return decode(raw).unwrap();
    }
    let masked = toks.last() == Some(&"v0.t");
    let ops: Vec<u32> = toks
        .iter()
        .filter(|t| **t != "v0.t")
        .map(|t| reg_or_imm(t))
        .collect();
    let templ = *templates()
        .get(&mn)
        .unwrap_or_else(|| panic!("unknown mnemonic {mn}"));
    let carry = toks.last() == Some(&"v0");
    let base = if masked || carry {
        templ & !(1 << 25)
    } else {
        templ | (1 << 25)
    };
    // Field positions: vd 7, vs1/rs1 15, vs2/rs2 20. Try the operand orders the printer uses.
    let orders: &[&[u32]] = &[
        &[7, 20, 15],
        &[7, 15, 20],
        &[7, 20],
        &[7, 15],
        &[7],
        &[],
        &[7, 20, 15, 99],
    ];
    for order in orders {
        let n = order.iter().filter(|&&p| p != 99).count();
        if n != ops.len() && !(order.len() == 4 && ops.len() == 4) {
            continue;
        }
        let mut raw = base;
        for (k, &pos) in order.iter().enumerate() {
            if pos == 99 {
                continue;
            }
            raw = (raw & !(31 << pos)) | (ops[k] << pos);
        }
        // Aliases such as vmclr.m v8 repeat one register in several fields.
        let mut cands = vec![raw];
        if ops.len() == 1 {
            cands.push((raw & !(31 << 15) & !(31 << 20)) | (ops[0] << 15) | (ops[0] << 20));
        }
        if ops.len() == 2 {
            cands.push((raw & !(31 << 15)) | (ops[1] << 15));
        }
        for r in cands {
            if let Ok(i) = decode(r) {
                if norm(&i.to_string()) == want {
                    return i;
                }
            }
        }
    }
    panic!("cannot assemble `{text}`");
}

/// Assembles and executes one instruction.
pub fn run(vu: &mut VectorUnit, cx: &mut BareContext, text: &str) -> Result<(), Trap> {
    let i = asm(text);
    vu.execute(&i, cx)
}

/// Executes `vsetvli t0, t1, ...` (t1 = AVL) with AVL `avl` and the given `e.., m..` (tail/mask agnostic).
pub fn setvl(vu: &mut VectorUnit, cx: &mut BareContext, avl: u64, sew_lmul: &str) -> u64 {
    cx.x[6] = avl;
    run(vu, cx, &format!("vsetvli t0, t1, {sew_lmul}, ta, ma")).unwrap();
    cx.x[5]
}

/// Writes elements of width `eew` bits into the register group starting at `v`.
pub fn put(vu: &mut VectorUnit, v: u8, eew: u32, vals: &[u64]) {
    let b = eew as usize / 8;
    let o = v as usize * vu.vlenb();
    for (i, &x) in vals.iter().enumerate() {
        vu.vreg_bytes_mut()[o + i * b..o + (i + 1) * b].copy_from_slice(&x.to_le_bytes()[..b]);
    }
}

/// Reads `n` elements of width `eew` bits from the group starting at `v`.
pub fn get(vu: &VectorUnit, v: u8, eew: u32, n: usize) -> Vec<u64> {
    let b = eew as usize / 8;
    let o = v as usize * vu.vlenb();
    (0..n)
        .map(|i| {
            let mut x = [0u8; 8];
            x[..b].copy_from_slice(&vu.vreg_bytes()[o + i * b..o + (i + 1) * b]);
            u64::from_le_bytes(x)
        })
        .collect()
}

#[test]
fn mini_assembler_round_trips() {
    for t in [
        "vadd.vv v1, v2, v3",
        "vadd.vi v4, v8, -3",
        "vmacc.vx v8, a0, v24, v0.t",
        "vle32.v v8, (a0)",
        "vlse16.v v8, (a0), a1",
        "vluxei8.v v8, (a1), v16, v0.t",
        "vmclr.m v3",
        "vmv.x.s a0, v8",
        "vmerge.vvm v8, v16, v24, v0",
        "vmv.v.i v8, 5",
        "vsetivli zero, 4, e8, mf2, tu, mu",
        "vid.v v8",
        "vredsum.vs v1, v2, v3",
    ] {
        let i = asm(t);
        assert_eq!(norm(&i.to_string()), norm(t));
    }
}
