//! Numeric oracle for the Xpop_matmul unit: `testbench/oracle/xpop_oracle.py` builds operands
//! from seeds with GGML's block formats (the PyPI `gguf` package) and computes the expected
//! outputs; the unit runs `xpop.mm` on the same bytes through a hart context.
//!
//! Two references per case:
//! - `c_exact`: GGML's generic dot products re-written in numpy in GGML's order of operations.
//!   The unit's arithmetic follows the same order, so every output must match bit for bit.
//! - `c_f64`: products of gguf's dequantized values summed in float64, an independent reading
//!   of the formats. The unit must lie within `tol = (3 * steps + 16) * 2^-24 * mag` of it,
//!   where `mag` is the sum of the magnitudes of all terms of that output and `steps` the
//!   number of blocks GGML accumulates in float (k/256 for the K-quants, k/32 for Q4_0/Q8_0,
//!   0 for BF16 and F16). Argument: every binary32 rounding changes its result by at most 2^-24 of the
//!   result's magnitude, and every intermediate result here is bounded by `mag`. Along one
//!   output's chain there are at most 3 roundings per block (scale product, term product,
//!   accumulate; Q4_K's min path adds its own 3 but on a separate accumulator, which the
//!   slack covers), 8 lane additions at the end, 2 roundings in gguf's float32 dequantization
//!   of each element, and the final rounding of the binary64 BF16 sum: 3 * steps + 16 covers
//!   them with room to spare. An error in the format decoding (a swapped nibble, a wrong scale)
//!   moves outputs by a sizeable fraction of `mag`, far beyond this bound.
//!
//! Python comes from `$SAIL_PYTHON`, else `python3`, and must import `gguf` and `numpy`
//! (`support::tools::python`: a missing one fails the full tier, else is reported skipped
//! note) otherwise.

use crate::support::matmul_hart::{test_hart, DDR};
use crate::support::tools::python;
use sail_emu::config::load_board;
use sail_emu::isa::xpop::XInst;
use sail_emu::matmul::descriptor::{activation_type, MatmulJob};
use sail_emu::matmul::MatmulUnit;
use sail_emu::quant::quantize::{quantize_bf16, quantize_q8_0, quantize_q8_k};
use sail_emu::quant::GgmlType;
use std::path::Path;
use std::process::Command;

fn oracle(py: &Path, args: &[String]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testbench/oracle/xpop_oracle.py");
    let out = Command::new(py)
        .arg(&script)
        .args(args)
        .output()
        .expect("run the oracle");
    assert!(
        out.status.success(),
        "oracle {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

struct Case {
    ty: GgmlType,
    m: u64,
    n: u64,
    k: u64,
    seed: u64,
    /// Extra bytes between rows of A, B and C (0: packed).
    pad: u64,
    /// A stored transposed (k rows of n elements; F16 and BF16 only).
    transposed: bool,
}

fn run_case(py: &Path, case: &Case) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    oracle(
        py,
        &[
            "matmul".into(),
            "--type".into(),
            case.ty.name().into(),
            "--m".into(),
            case.m.to_string(),
            "--n".into(),
            case.n.to_string(),
            "--k".into(),
            case.k.to_string(),
            "--seed".into(),
            case.seed.to_string(),
            "--out".into(),
            out.to_str().unwrap().into(),
        ],
    );
    let (a, b) = (read(out, "a.bin"), read(out, "b.bin"));
    let exact: Vec<f32> = read(out, "c_exact.bin")
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let f64s = |name| -> Vec<f64> {
        read(out, name)
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect()
    };
    let (c64, mag) = (f64s("c_f64.bin"), f64s("mag.bin"));
    let (m, n, k) = (case.m, case.n, case.k);
    let ra = case.ty.row_bytes(k).unwrap();
    let rb = activation_type(case.ty).unwrap().row_bytes(k).unwrap();
    assert_eq!(a.len() as u64, n * ra);
    assert_eq!(b.len() as u64, m * rb);

    // Lay the operands out in guest memory, rows `pad` bytes apart beyond their size.
    let mut hart = test_hart();
    let job = MatmulJob {
        ty: case.ty,
        a: DDR + 0x10_0000,
        b: DDR + 0x80_0000,
        c: DDR + 0xC0_0000,
        lda: if case.transposed { 2 * n } else { ra } + case.pad,
        ldb: rb + case.pad,
        ldc: 4 * n + case.pad,
        m,
        n,
        k,
        a_transposed: case.transposed,
    };
    if case.transposed {
        // Stored row e holds element e of every weight row.
        for e in 0..k {
            let row: Vec<u8> = (0..n)
                .flat_map(|j| {
                    let at = (j * ra + 2 * e) as usize;
                    [a[at], a[at + 1]]
                })
                .collect();
            hart.mem.write(job.a + e * job.lda, &row).unwrap();
        }
    } else {
        for (r, row) in a.chunks_exact(ra as usize).enumerate() {
            hart.mem.write(job.a + r as u64 * job.lda, row).unwrap();
        }
    }
    for (r, row) in b.chunks_exact(rb as usize).enumerate() {
        hart.mem.write(job.b + r as u64 * job.ldb, row).unwrap();
    }
    let desc = DDR + 0x1000;
    hart.mem.write(desc, &job.encode()).unwrap();
    hart.x[10] = desc;
    hart.x[11] = 1;
    let board = load_board("innerjib7ea", &[]).unwrap().board;
    let mut unit = MatmulUnit::new(&board);
    unit.execute(&XInst::Mm { rs1: 10, rs2: 11 }, &mut hart)
        .unwrap();

    let steps = match case.ty {
        GgmlType::BF16 | GgmlType::F16 => 0,
        t => k / t.block_elems() as u64,
    };
    let unit_rel = 2f64.powi(-24);
    let mut worst = 0.0f64;
    for i in 0..m {
        let mut row = vec![0u8; 4 * n as usize];
        hart.mem.read(job.c + i * job.ldc, &mut row).unwrap();
        for j in 0..n {
            let at = (i * n + j) as usize;
            let got = f32::from_le_bytes(row[4 * j as usize..][..4].try_into().unwrap());
            assert_eq!(
                got.to_bits(),
                exact[at].to_bits(),
                "{} m={m} n={n} k={k} seed={}: C[{i}][{j}] = {got:e}, GGML order gives {:e}",
                case.ty,
                case.seed,
                exact[at]
            );
            let tol = (3 * steps + 16) as f64 * unit_rel * mag[at];
            let err = (got as f64 - c64[at]).abs();
            assert!(
                err <= tol,
                "{}: C[{i}][{j}] = {got:e} is {err:e} from the float64 reference {:e} (tolerance {tol:e})",
                case.ty,
                c64[at]
            );
            worst = worst.max(err / (unit_rel * mag[at]).max(f64::MIN_POSITIVE));
        }
    }
    eprintln!(
        "{} m={m} n={n} k={k}: {} outputs bit-exact; worst distance to float64 = {worst:.2} x 2^-24 x mag (bound {})",
        case.ty,
        m * n,
        3 * steps + 16
    );
}

#[test]
fn xpop_mm_matches_ggml_reference_bit_exactly() {
    let Some(py) = python() else { return };
    let cases = [
        (GgmlType::Q4_K, 3, 7, 512, 1, 0),
        (GgmlType::Q4_K, 1, 40, 2048, 2, 16),
        (GgmlType::Q6_K, 2, 9, 768, 3, 4),
        (GgmlType::Q6_K, 1, 5, 256, 4, 0),
        (GgmlType::Q4_0, 4, 6, 256, 5, 4),
        (GgmlType::Q4_0, 1, 3, 2048, 6, 0),
        (GgmlType::Q8_0, 2, 5, 1024, 7, 8),
        (GgmlType::BF16, 3, 4, 300, 8, 4),
        (GgmlType::BF16, 2, 2, 2048, 9, 0),
        (GgmlType::F16, 3, 5, 300, 10, 4),
        (GgmlType::F16, 8, 64, 64, 11, 0),
    ];
    for (ty, m, n, k, seed, pad) in cases {
        let case = Case {
            ty,
            m,
            n,
            k,
            seed,
            pad,
            transposed: false,
        };
        run_case(&py, &case);
    }
    // The P . V shape of attention: A (V rows of the cache) stored transposed.
    for (ty, m, n, k, seed, pad) in [
        (GgmlType::F16, 8, 64, 130, 12, 384),
        (GgmlType::BF16, 2, 9, 33, 13, 8),
    ] {
        let case = Case {
            ty,
            m,
            n,
            k,
            seed,
            pad,
            transposed: true,
        };
        run_case(&py, &case);
    }
}

#[test]
fn reference_quantizers_match_python_and_gguf() {
    let Some(py) = python() else { return };
    for (ty, rows, k) in [
        (GgmlType::Q8_K, 3, 1024),
        (GgmlType::Q8_0, 3, 1024),
        (GgmlType::BF16, 2, 512),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        oracle(
            &py,
            &[
                "quantize".into(),
                "--type".into(),
                ty.name().into(),
                "--rows".into(),
                rows.to_string(),
                "--k".into(),
                k.to_string(),
                "--seed".into(),
                "11".into(),
                "--out".into(),
                out.to_str().unwrap().into(),
            ],
        );
        let x: Vec<f32> = read(out, "x.bin")
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let want = read(out, "q.bin");
        let mut got = Vec::new();
        for row in x.chunks_exact(k) {
            got.extend(match ty {
                GgmlType::Q8_K => quantize_q8_k(row).unwrap(),
                GgmlType::Q8_0 => quantize_q8_0(row).unwrap(),
                _ => quantize_bf16(row),
            });
        }
        assert_eq!(got.len(), want.len(), "{ty}");
        let first = got.iter().zip(&want).position(|(a, b)| a != b);
        assert_eq!(first, None, "{ty}: first differing byte");
    }
}
