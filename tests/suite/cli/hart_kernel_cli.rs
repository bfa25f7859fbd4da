//! `emulate kernel`: success output and every error kind (non-zero exit, message naming the
//! PC, the address or the file).

use crate::support::elf::*;
use crate::support::emulate;
use std::process::Output;

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn hello_prints_and_reports_json() {
    let o = emulate(&["kernel", "programs/hello.elf", "--json"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["exit_code"], 0);
    assert!(v["console"]
        .as_str()
        .unwrap()
        .starts_with("hello from sail\n"));
    let cycles = v["cycles"].as_u64().unwrap();
    let instructions = v["instructions"].as_u64().unwrap();
    assert!(instructions > 50 && cycles >= instructions);
    assert!(v["host_mips"].as_f64().unwrap() > 0.0);
    // Conservation: every cycle is an issue cycle or a stall with a cause.
    let stalls = v["stats"]["stalls"]["total"]["value"].as_f64().unwrap() as u64;
    assert_eq!(cycles, instructions + stalls);
    // The program printed the cycle counter it read: below the final count.
    let console = v["console"].as_str().unwrap();
    let read: u64 = console
        .lines()
        .find_map(|l| l.strip_prefix("cycles: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(read > 0 && read < cycles, "{read} vs {cycles}");
}

#[test]
fn text_report_names_the_figures() {
    let o = emulate(&["kernel", "programs/hello.elf"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    for key in [
        "cycles:",
        "instructions:",
        "IPC:",
        "stall cycles by cause:",
        "MIPS",
    ] {
        assert!(out.contains(key), "missing {key} in\n{out}");
    }
    let f = emulate(&["kernel", "programs/hello.elf", "--functional", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&f.stdout).unwrap();
    assert_eq!(v["cycles"], v["instructions"]);
}

#[test]
fn trace_lists_each_retired_instruction() {
    let dir = tempfile::tempdir().unwrap();
    let mut code = vec![addi(10, 0, 5), addi(10, 10, -1), bne(10, 0, -4)];
    code.extend(exit_seq());
    let p = write_elf(dir.path(), "count.elf", &code);
    let o = emulate(&["kernel", p.to_str().unwrap(), "--trace"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let lines: Vec<&str> = out.lines().filter(|l| l.contains(": ")).collect();
    // 1 li + 5 x (addi, bne) + li a7 + ecall = 13 instructions.
    let traced: Vec<&&str> = lines.iter().filter(|l| l.contains("0x8000")).collect();
    assert_eq!(traced.len(), 13, "{out}");
    assert!(traced[0].contains("0x80000000") && traced[0].contains("li a0, 0x5"));
    assert!(traced[2].contains("bnez a0, 0x80000004"), "{}", traced[2]);
    assert!(traced[12].contains("ecall"));
}

#[test]
fn illegal_instruction_names_pc_raw_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_elf(dir.path(), "ill.elf", &[addi(10, 0, 1), 0x0000_007f]);
    let o = emulate(&["kernel", p.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("illegal instruction at pc 0x80000004"),
        "{err}"
    );
    assert!(err.contains("raw 0x0000007f"), "{err}");
    // A decodable instruction that traps is disassembled: an unknown CSR.
    let csrr_unknown = 0x7c00_2573; // csrr a0, 0x7c0
    let p = write_elf(dir.path(), "csr.elf", &[csrr_unknown]);
    let o = emulate(&["kernel", p.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("pc 0x80000000") && err.contains("csrr a0, 0x7c0"),
        "{err}"
    );
    assert!(err.contains("unknown CSR"), "{err}");
}

#[test]
fn out_of_bounds_access_names_address_and_pc() {
    let dir = tempfile::tempdir().unwrap();
    // a0 = 0x40000000 (between scratchpad and DDR); ld a1, 8(a0).
    let p = write_elf(dir.path(), "oob.elf", &[lui(10, 0x40000), ld(11, 10, 8)]);
    let o = emulate(&["kernel", p.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("pc 0x80000004"), "{err}");
    assert!(err.contains("0x40000008"), "{err}");
    assert!(err.contains("ld a1, 0x8(a0)"), "{err}");
}

#[test]
fn max_cycles_stops_a_run_that_never_exits() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_elf(dir.path(), "spin.elf", &[j(0)]);
    for mode in [None, Some("--functional")] {
        let mut args = vec!["kernel", p.to_str().unwrap(), "--max-cycles", "1000"];
        args.extend(mode);
        let o = emulate(&args);
        let (_, err) = text(&o);
        assert!(!o.status.success());
        assert!(err.contains("no exit after 1000 cycles"), "{err}");
        assert!(err.contains("pc 0x80000000"), "{err}");
    }
}

#[test]
fn ebreak_and_nonzero_exit_fail() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_elf(dir.path(), "brk.elf", &[addi(0, 0, 0), EBREAK]);
    let o = emulate(&["kernel", p.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("ebreak at pc 0x80000004"));
    let mut code = vec![addi(10, 0, 3)];
    code.extend(exit_seq());
    let p = write_elf(dir.path(), "three.elf", &code);
    let o = emulate(&["kernel", p.to_str().unwrap(), "--json"]);
    assert!(!o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["exit_code"], 3);
    assert!(text(&o).1.contains("exited with status 3"));
}

#[test]
fn bad_files_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = elf_bytes(&exit_seq());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("text.elf", b"not an elf at all".to_vec(), "not an ELF"),
        ("short.elf", good[..40].to_vec(), "truncated"),
        (
            "x86.elf",
            {
                let mut b = good.clone();
                b[18] = 62; // EM_X86_64
                b
            },
            "not RISC-V",
        ),
        (
            "cut.elf",
            good[..good.len() - 4].to_vec(),
            "past the end of the file",
        ),
    ];
    for (name, bytes, msg) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let o = emulate(&["kernel", p.to_str().unwrap()]);
        let (_, err) = text(&o);
        assert!(!o.status.success(), "{name}");
        assert!(err.contains(name) && err.contains(msg), "{name}: {err}");
    }
    let o = emulate(&["kernel", "no/such/file.elf"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("no/such/file.elf"));
}

#[test]
fn xpop_instructions_reach_the_matrix_unit() {
    let dir = tempfile::tempdir().unwrap();
    // xpop.info a0, 0 (the extension version, 1); a0 -= 1; exit(a0).
    let xpop_info_a0_version = (1 << 12) | (10 << 7) | 0x0b;
    let mut code = vec![xpop_info_a0_version, addi(10, 10, -1)];
    code.extend(exit_seq());
    let p = write_elf(dir.path(), "xpop.elf", &code);
    let o = emulate(&["kernel", p.to_str().unwrap(), "--json", "--trace"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("xpop.info"), "{out}");
    // Without the unit the instruction is illegal, named with its PC.
    let o = emulate(&[
        "kernel",
        p.to_str().unwrap(),
        "--set",
        "matmul.enabled=false",
    ]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("pc 0x80000000") && err.contains("matmul.enabled"),
        "{err}"
    );
}

#[test]
fn mstatus_keeps_what_start_up_code_writes() {
    let dir = tempfile::tempdir().unwrap();
    // t0 = 0x2000 (FS = initial); csrs mstatus, t0; csrr a0, mstatus; a0 -= t0; exit(a0).
    let mut code = vec![lui(5, 2), 0x3002_a073, 0x3000_2573, 0x4055_0533];
    code.extend(exit_seq());
    let p = write_elf(dir.path(), "mstatus.elf", &code);
    let o = emulate(&["kernel", p.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
}

#[test]
fn misaligned_atomic_names_address_and_pc() {
    let dir = tempfile::tempdir().unwrap();
    // a0 = pc + 0x1001 (odd); amoadd.w a1, a1, (a0).
    let amoadd_w = (11 << 20) | (10 << 15) | (2 << 12) | (11 << 7) | 0x2f;
    let p = write_elf(
        dir.path(),
        "mis.elf",
        &[auipc(10, 1), addi(10, 10, 1), amoadd_w],
    );
    let o = emulate(&["kernel", p.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("misaligned 4-byte access at address 0x80001001"),
        "{err}"
    );
    assert!(
        err.contains("pc 0x80000008") && err.contains("amoadd.w a1, a1, (a0)"),
        "{err}"
    );
}
