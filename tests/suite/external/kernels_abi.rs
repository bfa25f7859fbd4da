//! The descriptor ABI has three writers: the C header the kernels read
//! (programs/kernels/ggml_abi.h, offsets pinned by static asserts), the Python packer of the
//! oracle (testbench/kernels/kabi.py) and the Rust packer of the llama graph
//! (sail_emu::workload::abi). This test requires the two packers to produce the same bytes,
//! and one Rust-packed descriptor to drive a real kernel in the emulator.
//!
//! Needs a Python with gguf and numpy; a missing one is reported (`support::tools`).

use crate::support::kernels::*;
use sail_emu::workload::abi::{OpCode, OpDesc, TensorDesc, DESC_ADDR, TENSOR_BASE};
use sail_emu::workload::dtype::GgmlType;
use std::process::Command;

fn sample() -> OpDesc {
    let mut op = OpDesc {
        op: OpCode::Rope,
        work: (0x8200_0000, 4096),
        params: [0; 16],
        dst: TensorDesc::contiguous(GgmlType::F32, [64, 4, 3, 1], 0x8100_3000),
        src: vec![
            TensorDesc::contiguous(GgmlType::F32, [64, 4, 3, 1], 0x8100_1000),
            TensorDesc {
                type_id: GgmlType::I32.id(),
                ne: [3, 1, 1, 1],
                nb: [4, 12, 12, 12],
                data: 0x8100_2000,
            },
        ],
    };
    op.params[1] = 64;
    op.set_f32(5, 10000.0);
    op.set_f32(6, 1.0);
    op.set_f32(8, 1.0);
    op
}

#[test]
fn python_and_rust_pack_identical_descriptors() {
    let Some(py) = python() else { return };
    let script = r#"
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from kabi import Tensor, pack_op, OPS, F32, I32
f = np.float32
dst = Tensor(F32, (64, 4, 3, 1), (4, 256, 1024, 3072), 0x81003000)
x = Tensor(F32, (64, 4, 3, 1), (4, 256, 1024, 3072), 0x81001000)
p = Tensor(I32, (3, 1, 1, 1), (4, 12, 12, 12), 0x81002000)
print(pack_op(OPS["rope"], dst, [x, p], [0, 64, 0, 0, 0, f(10000.0), f(1.0), 0, f(1.0)], 0x82000000, 4096).hex())
"#;
    let out = Command::new(&py)
        .args(["-c", script])
        .arg(repo().join("testbench/kernels"))
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hex = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let rust: String = sample().pack().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(rust, hex, "Rust and Python descriptors differ");
    assert_eq!(DESC_ADDR, 0x8100_0000);
    assert_eq!(TENSOR_BASE, 0x8100_1000);
}

#[test]
fn a_rust_packed_descriptor_drives_a_kernel_in_the_emulator() {
    // pointer chase: 8 elements, next = (i + 3) mod 8, 21 steps from 0 -> (21*3) mod 8 = 7
    let table: Vec<u8> = (0..8i64)
        .flat_map(|i| ((i + 3) % 8).to_le_bytes())
        .collect();
    let mut op = OpDesc {
        op: OpCode::PointerChase,
        work: (0, 0),
        params: [0; 16],
        dst: TensorDesc::contiguous(GgmlType::I64, [1, 1, 1, 1], TENSOR_BASE + 0x100),
        src: vec![TensorDesc::contiguous(
            GgmlType::I64,
            [8, 1, 1, 1],
            TENSOR_BASE,
        )],
    };
    op.params[0] = 21;
    let input = Image {
        segments: vec![
            (DESC_ADDR, op.pack().to_vec()),
            (TENSOR_BASE, table),
            (TENSOR_BASE + 0x100, vec![0xAA; 8]),
        ],
    };
    let elf = repo().join("programs/kernels/elf/b_chase.elf");
    let r = run_in_emulator(&elf, &input, &board(&[]), false);
    assert_eq!(r.status, 0);
    assert_eq!(r.image.segments[2].1, 7i64.to_le_bytes().to_vec());
    // a wrong op for the program is refused with SAIL_ERR_OP (2), dst untouched
    op.op = OpCode::StreamRead;
    let mut bad = input.clone();
    bad.segments[0].1 = op.pack().to_vec();
    let r = run_in_emulator(&elf, &bad, &board(&[]), false);
    assert_eq!(r.status, 2);
    assert_eq!(r.image.segments[2].1, vec![0xAA; 8]);
}
