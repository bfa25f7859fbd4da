//! The reduction of a collective on a card: `dst += src` over f32, run as the `k_eltwise`
//! program's add on the card's hart, so it takes the kernel's emulated cycles.

use super::card::Card;
use super::collective::ReduceJob;
use crate::units::{Frequency, Time};
use crate::workload::abi::{OpCode, OpDesc, TensorDesc};
use crate::workload::GgmlType;
use anyhow::{bail, Context, Result};

/// Runs `j` on `card` with the add kernel `program`: `dst += src` over `j.bytes` of f32.
/// Returns its duration at `clock` and its core cycles.
pub fn run_add(
    card: &mut Card,
    program: &std::path::Path,
    clock: Frequency,
    j: &ReduceJob,
) -> Result<(Time, u64)> {
    if j.bytes == 0 {
        return Ok((Time::ZERO, 0));
    }
    if !j.bytes.is_multiple_of(4) {
        bail!("reduce of {} bytes is not a whole number of f32", j.bytes);
    }
    let desc = add_desc(j.bytes / 4, j.dst, j.src);
    let run = card
        .run(program, &desc)
        .with_context(|| format!("reduce kernel on card {}", j.card))?;
    Ok((clock.cycles_to_time(run.cycles), run.cycles))
}

/// The descriptor of `dst[i] = dst[i] + src[i]` over `n` f32 elements.
pub fn add_desc(n: u64, dst: u64, src: u64) -> OpDesc {
    let t = |a| TensorDesc::contiguous(GgmlType::F32, [n, 1, 1, 1], a);
    OpDesc {
        op: OpCode::Add,
        work: (0, 0),
        params: [0; 16],
        dst: t(dst),
        src: vec![t(dst), t(src)],
    }
}
