//! Differential test of the vector unit against qemu-riscv64 (QEMU 7.2, RVV 1.0).
//!
//! For every line of `testbench/isa/vector/cases.txt` and each of its SEW/LMUL configurations,
//! at VLEN 128 and 256, a generated RISC-V program (built once per VLEN with clang-19 as a
//! Linux-static binary) loads a seeded random register file, data buffer and scalars, runs
//! `vsetvli` and the instruction, and dumps the whole vector register file, the scalar
//! results, vl/vtype/vxsat/fflags/vstart and the data buffer. The same instruction words
//! (assembled by llvm-mc-19) run on [`VectorUnit`] from the same state, and every byte must
//! match.
//!
//! Needs clang-19, ld.lld-19, llvm-mc-19 and qemu-riscv64 (`support::tools::require`).

use crate::support::tools::require;
use sail_emu::hart::bare_context::BareContext;
use sail_emu::hart::vector::{csr, VectorUnit};
use sail_emu::isa::vector::decode;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

const MEM_BYTES: usize = 1024;
const CASES: &str = include_str!("../../../testbench/isa/vector/cases.txt");

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A "nice" f32: small integers, fractions, large/tiny magnitudes, specials.
fn nice_f32(r: &mut Rng) -> f32 {
    match r.below(16) {
        0 => 0.0,
        1 => -0.0,
        2 => f32::INFINITY,
        3 => f32::NEG_INFINITY,
        4 => f32::NAN,
        5 => f32::from_bits(0x7f80_0001), // signaling NaN
        6 => f32::from_bits(r.below(0x80_0000) as u32), // subnormal
        7 => (r.below(2001) as f32 - 1000.0) * 1.0e30,
        8 => (r.below(2001) as f32 - 1000.0) * 1.0e-38,
        9 | 10 => r.below(256) as f32 - 128.0,
        11 => (r.below(1 << 20) as f32 - 524288.0) / 1024.0 + 0.5,
        _ => f32::from_bits(((r.next() as u32) & 0x8fff_ffff) | 0x3000_0000),
    }
}

#[derive(Debug, Clone)]
struct Case {
    text: String,
    vtype: String,
    avl: u64,
    frm: u8,
    vxrm: u8,
    line: usize,
}

fn expand_cases(vlen: u32, rng: &mut Rng) -> Vec<Case> {
    let mut out = Vec::new();
    for (ln, line) in CASES.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.split('|').map(str::trim).collect();
        assert!(parts.len() >= 2, "cases.txt:{}: malformed", ln + 1);
        let opts: Vec<&str> = parts
            .get(2)
            .map_or(vec![], |o| o.split_whitespace().collect());
        if opts.contains(&"noqemu") {
            continue;
        }
        let masked = opts.contains(&"m");
        let frms: Vec<u8> = if opts.contains(&"frm") {
            (0..5).collect()
        } else {
            vec![0]
        };
        let vxrms: Vec<u8> = if opts.contains(&"vxrm") {
            (0..4).collect()
        } else {
            vec![0]
        };
        for cfg in parts[1].split_whitespace() {
            let (sew, lmul) = cfg[1..].split_at(cfg[1..].find('m').expect("lmul"));
            let sew: u64 = sew.parse().unwrap();
            let lmul8: u64 = match lmul {
                "mf8" => 1,
                "mf4" => 2,
                "mf2" => 4,
                "m1" => 8,
                "m2" => 16,
                "m4" => 32,
                "m8" => 64,
                _ => panic!("cases.txt:{}: bad LMUL {lmul}", ln + 1),
            };
            let vlmax = vlen as u64 * lmul8 / 8 / sew;
            for avl in [vlmax, rng.below(vlmax + 3)] {
                for &mask in if masked {
                    &[false, true][..]
                } else {
                    &[false][..]
                } {
                    for &frm in &frms {
                        for &vxrm in &vxrms {
                            let k = out.len();
                            let pol = if k % 2 == 0 { "tu, mu" } else { "ta, ma" };
                            let text = if mask {
                                format!("{}, v0.t", parts[0])
                            } else {
                                parts[0].to_string()
                            };
                            out.push(Case {
                                text,
                                vtype: format!("e{sew}, {lmul}, {pol}"),
                                avl,
                                frm,
                                vxrm,
                                line: ln + 1,
                            });
                        }
                    }
                }
            }
        }
    }
    out
}

/// Assembles each line with llvm-mc-19 and returns the 32-bit words.
fn encode(dir: &Path, lines: &[String]) -> Vec<u32> {
    let p = dir.join("enc.s");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let out = Command::new("llvm-mc-19")
        .args(["-triple=riscv64", "-mattr=+v,+zfh", "-show-encoding"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "llvm-mc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let words: Vec<u32> = text
        .lines()
        .filter_map(|l| l.split_once("encoding: [").map(|(_, r)| r))
        .map(|r| {
            let bytes: Vec<u8> = r
                .trim_end_matches(']')
                .split(',')
                .map(|b| u8::from_str_radix(b.trim().trim_start_matches("0x"), 16).unwrap())
                .collect();
            u32::from_le_bytes(bytes[..4].try_into().unwrap())
        })
        .collect();
    assert_eq!(words.len(), lines.len());
    words
}

/// Initial state shared by both sides.
struct Init {
    regs: Vec<u8>,
    mem: Vec<u8>,
    /// a2, a3, a4 and the fa0/fa1 bit patterns.
    a2: u64,
    a3: u64,
    a4: u64,
    fa0: u64,
    fa1: u64,
}

fn make_init(vlen: u32, rng: &mut Rng) -> Init {
    let vlenb = vlen as usize / 8;
    let mut regs = vec![0u8; 32 * vlenb];
    for b in regs.iter_mut() {
        *b = rng.next() as u8;
    }
    // v4..v7: index vectors of EEW 8/16/32/64 with values 0..40.
    for (k, eew) in [(4usize, 1usize), (5, 2), (6, 4), (7, 8)] {
        for i in 0..vlenb / eew {
            let v = rng.below(40);
            let o = k * vlenb + i * eew;
            regs[o..o + eew].copy_from_slice(&v.to_le_bytes()[..eew]);
        }
    }
    // v16..v23: nice f32 values.
    for i in 0..(8 * vlenb / 4) {
        let o = 16 * vlenb + 4 * i;
        regs[o..o + 4].copy_from_slice(&nice_f32(rng).to_bits().to_le_bytes());
    }
    let mem = (0..MEM_BYTES).map(|_| rng.next() as u8).collect();
    Init {
        regs,
        mem,
        a2: rng.next(),
        a3: rng.below(64),
        a4: rng.below(40),
        fa0: 0xffff_ffff_0000_0000 | nice_f32(rng).to_bits() as u64,
        fa1: (nice_f32(rng) as f64 * 1.000_000_1).to_bits(),
    }
}

fn bytes_directive(name: &str, data: &[u8], out: &mut String) {
    writeln!(out, ".balign 64\n{name}:").unwrap();
    for chunk in data.chunks(32) {
        let s: Vec<String> = chunk.iter().map(|b| b.to_string()).collect();
        writeln!(out, "  .byte {}", s.join(",")).unwrap();
    }
}

/// Per-case record size in the dump.
fn record_bytes(vlenb: usize) -> usize {
    32 * vlenb + 9 * 8 + 8 * 8 + 5 * 8 + MEM_BYTES
}

fn program(init: &Init, cases: &[Case]) -> String {
    let mut s = String::new();
    // The data buffer's address first, then one record per case, each written out as soon
    // as the case finishes (so a crash points at its case).
    s.push_str(".option norvc\n.text\n.globl _start\n_start:\n  la s0, outbuf\n  la t2, membuf\n  sd t2, 0(s0)\n  addi s0, s0, 8\n  jal ra, flush\n");
    for (k, c) in cases.iter().enumerate() {
        writeln!(s, "  # case {k}: {} [{}] avl={}", c.text, c.vtype, c.avl).unwrap();
        s.push_str(
            "  la t0, regblob\n  csrr t1, vlenb\n  slli t1, t1, 3\n  vl8re8.v v0, (t0)\n  add t0, t0, t1\n  vl8re8.v v8, (t0)\n  add t0, t0, t1\n  vl8re8.v v16, (t0)\n  add t0, t0, t1\n  vl8re8.v v24, (t0)\n  jal ra, restore_mem\n",
        );
        s.push_str("  la t2, scalars\n  la a0, membuf\n  li a1, 16\n  ld a2, 0(t2)\n  ld a3, 8(t2)\n  ld a4, 16(t2)\n  li a5, 0\n  li a6, 0\n  li a7, 0\n  fld fa0, 24(t2)\n  fld fa1, 32(t2)\n  fmv.d.x fa2, zero\n  fmv.d.x fa3, zero\n  fmv.d.x fa4, zero\n  fmv.d.x fa5, zero\n  fmv.d.x fa6, zero\n  fmv.d.x fa7, zero\n");
        writeln!(
            s,
            "  csrwi vxrm, {}\n  csrwi vxsat, 0\n  fsrmi {}\n  csrwi fflags, 0\n  li t1, {}\n  vsetvli t0, t1, {}\n  {}",
            c.vxrm, c.frm, c.avl, c.vtype, c.text
        )
        .unwrap();
        s.push_str("  sd t0, 0(s0)\n  sd a0, 8(s0)\n  sd a1, 16(s0)\n  sd a2, 24(s0)\n  sd a3, 32(s0)\n  sd a4, 40(s0)\n  sd a5, 48(s0)\n  sd a6, 56(s0)\n  sd a7, 64(s0)\n  addi s0, s0, 72\n");
        for (i, f) in (10..18).enumerate() {
            writeln!(s, "  fsd f{f}, {}(s0)", 8 * i).unwrap();
        }
        s.push_str("  addi s0, s0, 64\n  csrr t2, vl\n  sd t2, 0(s0)\n  csrr t2, vtype\n  sd t2, 8(s0)\n  csrr t2, vxsat\n  sd t2, 16(s0)\n  frflags t2\n  sd t2, 24(s0)\n  csrr t2, vstart\n  sd t2, 32(s0)\n  addi s0, s0, 40\n");
        s.push_str("  csrr t1, vlenb\n  slli t1, t1, 3\n  vs8r.v v0, (s0)\n  add s0, s0, t1\n  vs8r.v v8, (s0)\n  add s0, s0, t1\n  vs8r.v v16, (s0)\n  add s0, s0, t1\n  vs8r.v v24, (s0)\n  add s0, s0, t1\n  jal ra, dump_mem\n  jal ra, flush\n");
    }
    s.push_str("  li a7, 93\n  li a0, 0\n  ecall\nflush:\n  li a7, 64\n  li a0, 1\n  la a1, outbuf\n  sub a2, s0, a1\n  ecall\n  la s0, outbuf\n  ret\n");
    writeln!(
        s,
        "restore_mem:\n  la t3, membuf_init\n  la t4, membuf\n  li t5, {MEM_BYTES}\n1:\n  ld t6, 0(t3)\n  sd t6, 0(t4)\n  addi t3, t3, 8\n  addi t4, t4, 8\n  addi t5, t5, -8\n  bnez t5, 1b\n  ret\ndump_mem:\n  la t3, membuf\n  li t5, {MEM_BYTES}\n1:\n  ld t6, 0(t3)\n  sd t6, 0(s0)\n  addi t3, t3, 8\n  addi s0, s0, 8\n  addi t5, t5, -8\n  bnez t5, 1b\n  ret"
    )
    .unwrap();
    s.push_str(".data\n");
    bytes_directive("regblob", &init.regs, &mut s);
    bytes_directive("membuf_init", &init.mem, &mut s);
    writeln!(
        s,
        ".balign 8\nscalars:\n  .dword {}, {}, {}, {}, {}",
        init.a2, init.a3, init.a4, init.fa0, init.fa1
    )
    .unwrap();
    let vlenb = init.regs.len() / 32;
    writeln!(
        s,
        ".bss\n.balign 64\nmembuf: .space {MEM_BYTES}\noutbuf: .space {}",
        record_bytes(vlenb)
    )
    .unwrap();
    s
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// Runs one case on the emulator's vector unit; returns the record in QEMU's dump layout.
fn emulate(
    vlen: u32,
    init: &Init,
    base: u64,
    setvl: u32,
    word: u32,
    c: &Case,
) -> Result<Vec<u8>, String> {
    let mut vu = VectorUnit::new(vlen);
    vu.vreg_bytes_mut().copy_from_slice(&init.regs);
    // The emulator side's context: scalar registers and a memory window at the address
    // QEMU placed the data buffer.
    let mut cx = BareContext::new(base, init.mem.len() as u64);
    cx.put_bytes(base, &init.mem);
    cx.frm = c.frm;
    cx.x[10] = base;
    cx.x[11] = 16;
    cx.x[12] = init.a2;
    cx.x[13] = init.a3;
    cx.x[14] = init.a4;
    cx.x[6] = c.avl;
    cx.f[10] = init.fa0;
    cx.f[11] = init.fa1;
    vu.csr_write(csr::VXRM, c.vxrm as u64);
    for w in [setvl, word] {
        let inst = decode(w).map_err(|e| format!("decode {w:#010x}: {e}"))?;
        vu.execute(&inst, &mut cx)
            .map_err(|e| format!("trap: {e}"))?;
    }
    let mut rec = Vec::new();
    for r in [5usize, 10, 11, 12, 13, 14, 15, 16, 17] {
        rec.extend_from_slice(&cx.x[r].to_le_bytes());
    }
    for r in 10..18 {
        rec.extend_from_slice(&cx.f[r].to_le_bytes());
    }
    for v in [
        vu.vl(),
        vu.vtype(),
        vu.csr_read(csr::VXSAT).unwrap(),
        cx.fflags as u64,
        vu.vstart(),
    ] {
        rec.extend_from_slice(&v.to_le_bytes());
    }
    rec.extend_from_slice(vu.vreg_bytes());
    rec.extend_from_slice(&cx.bytes(base, init.mem.len()));
    Ok(rec)
}

fn describe_diff(vlenb: usize, ours: &[u8], qemu: &[u8]) -> String {
    let mut d = Vec::new();
    let names = ["t0", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7"];
    for (i, n) in names.iter().enumerate() {
        let (a, b) = (u64_at(ours, 8 * i), u64_at(qemu, 8 * i));
        if a != b {
            d.push(format!("{n}: ours {a:#x} qemu {b:#x}"));
        }
    }
    for i in 0..8 {
        let o = 72 + 8 * i;
        let (a, b) = (u64_at(ours, o), u64_at(qemu, o));
        if a != b {
            d.push(format!("f{}: ours {a:#x} qemu {b:#x}", 10 + i));
        }
    }
    for (i, n) in ["vl", "vtype", "vxsat", "fflags", "vstart"]
        .iter()
        .enumerate()
    {
        let o = 136 + 8 * i;
        let (a, b) = (u64_at(ours, o), u64_at(qemu, o));
        if a != b {
            d.push(format!("{n}: ours {a:#x} qemu {b:#x}"));
        }
    }
    let vo = 176;
    for v in 0..32 {
        let r = vo + v * vlenb..vo + (v + 1) * vlenb;
        if ours[r.clone()] != qemu[r.clone()] {
            d.push(format!(
                "v{v}: ours {} qemu {}",
                hex(&ours[r.clone()]),
                hex(&qemu[r])
            ));
        }
    }
    let mo = vo + 32 * vlenb;
    if ours[mo..] != qemu[mo..] {
        let first = (mo..ours.len()).find(|&i| ours[i] != qemu[i]).unwrap() - mo;
        d.push(format!("memory differs from byte {first}"));
    }
    d.join("\n    ")
}

fn hex(b: &[u8]) -> String {
    b.iter().rev().map(|x| format!("{x:02x}")).collect()
}

fn run_vlen(vlen: u32) {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5a17_0000_0000_0001 ^ vlen as u64);
    let cases = expand_cases(vlen, &mut rng);
    let init = make_init(vlen, &mut rng);
    // Encodings for the emulator side.
    let mut lines = Vec::new();
    for c in &cases {
        lines.push(format!("vsetvli t0, t1, {}", c.vtype));
        lines.push(c.text.clone());
    }
    let words = encode(dir.path(), &lines);
    // Build and run the QEMU side.
    let src = dir.path().join("prog.S");
    std::fs::write(&src, program(&init, &cases)).unwrap();
    let exe = dir.path().join("prog");
    let out = Command::new("clang-19")
        .args([
            "--target=riscv64-linux-gnu",
            "-march=rv64gcv_zfh",
            "-nostdlib",
            "-static",
            "-fuse-ld=lld",
        ])
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "clang failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cpu = format!("rv64,v=true,vlen={vlen},vext_spec=v1.0,Zfh=true");
    let run = Command::new("qemu-riscv64")
        .args(["-cpu", &cpu])
        .arg(&exe)
        .output()
        .unwrap();
    let dump = run.stdout;
    let vlenb = vlen as usize / 8;
    let rb = record_bytes(vlenb);
    if !run.status.success() || dump.len() != 8 + cases.len() * rb {
        let done = dump.len().saturating_sub(8) / rb;
        let c = &cases[done.min(cases.len() - 1)];
        panic!(
            "qemu-riscv64 failed ({:?}) at case {done} of {}: cases.txt:{} `{}` [{}]",
            run.status,
            cases.len(),
            c.line,
            c.text,
            c.vtype
        );
    }
    let base = u64_at(&dump, 0);
    let mut failures = Vec::new();
    for (k, c) in cases.iter().enumerate() {
        let qemu = &dump[8 + k * rb..8 + (k + 1) * rb];
        match emulate(vlen, &init, base, words[2 * k], words[2 * k + 1], c) {
            Ok(ours) if ours == qemu => {}
            Ok(ours) => failures.push(format!(
                "cases.txt:{} `{}` [{}] avl={} frm={} vxrm={}:\n    {}",
                c.line,
                c.text,
                c.vtype,
                c.avl,
                c.frm,
                c.vxrm,
                describe_diff(vlenb, &ours, qemu)
            )),
            Err(e) => failures.push(format!(
                "cases.txt:{} `{}` [{}] avl={}: emulator: {e}",
                c.line, c.text, c.vtype, c.avl
            )),
        }
    }
    eprintln!(
        "VLEN={vlen}: {} cases, {} mismatches",
        cases.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "VLEN={vlen}: {} of {} cases differ from QEMU:\n{}",
        failures.len(),
        cases.len(),
        failures[..failures.len().min(25)].join("\n")
    );
}

#[test]
fn vector_unit_matches_qemu_vlen128() {
    if require(&["clang-19", "llvm-mc-19", "qemu-riscv64", "ld.lld-19"]) {
        run_vlen(128);
    }
}

#[test]
fn vector_unit_matches_qemu_vlen256() {
    if require(&["clang-19", "llvm-mc-19", "qemu-riscv64", "ld.lld-19"]) {
        run_vlen(256);
    }
}
