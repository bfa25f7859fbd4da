//! One graph node on a card: its kernel program, the unit that runs its arithmetic, its
//! closed-form bound, and its timing against that bound.

use crate::config::Board;
use crate::stats::Stats;
use crate::system::card::{kernel_dir, Card, KernelRun};
use crate::workload::bind;
use crate::workload::graph::{Node, Op, Operand};
use crate::workload::kernels::abi_of;
use crate::workload::GgmlType;
use anyhow::{Context, Result};
use serde::Serialize;
use std::path::PathBuf;

/// One kernel invocation against its closed-form bound.
#[derive(Debug, Clone, Serialize)]
pub struct NodeTiming {
    /// Graph node (`blk.0.ffn_up`).
    pub node: String,
    /// GGML op.
    pub op: String,
    /// Kernel program (file name).
    pub program: String,
    /// The unit that ran the node's arithmetic, per product for attention (`vector`,
    /// `matrix int8`, `matrix f16: q.K, p.V`, `matrix int8: q.K; vector: p.V`, ...).
    pub unit: String,
    /// Core cycles.
    pub cycles: u64,
    /// Instructions retired.
    pub instructions: u64,
    /// Emulated seconds.
    pub seconds: f64,
    /// max(FLOPs at the peak, tensor bytes at the DDR peak).
    pub bound_seconds: f64,
    /// seconds / bound_seconds.
    pub ratio: f64,
    /// FLOPs.
    pub flops: u64,
    /// Bytes of the tensors the node reads and writes.
    pub tensor_bytes: u64,
    /// Bytes the DDR model read and wrote.
    pub ddr_bytes: u64,
    /// Vector unit busy cycles / cycles.
    pub vector_utilisation: f64,
    /// Matrix unit busy cycles / cycles.
    pub matrix_busy_fraction: f64,
    /// Matrix unit: cycles its MAC array would need at peak / its busy cycles.
    pub matrix_utilisation: f64,
    /// The core's stall cycles by cause (`raw.load`, `structural.vector`, ...), non-zero
    /// causes only; `cycles = instructions + sum(stalls)`.
    pub stalls: std::collections::BTreeMap<String, u64>,
}

/// Runs one node's kernel on `card` and times it against its bound.
pub(super) fn run_node(
    card: &mut Card,
    board: &Board,
    matrix_unit: bool,
    max_context: u64,
    addr: &dyn Fn(&str) -> Option<u64>,
    node: &Node,
) -> Result<(KernelRun, NodeTiming)> {
    let desc = bind::descriptor(node, max_context, addr).map_err(|e| anyhow::anyhow!("{}", e.0))?;
    let program = program_for(node, matrix_unit)?;
    let kr = card.run(&program, &desc)?;
    let seconds = board.clock.cycles_to_time(kr.cycles).secs();
    let bound_seconds = node_bound_seconds(board, node, matrix_unit);
    let per_cycle = |c: f64| {
        if kr.cycles > 0 {
            c / kr.cycles as f64
        } else {
            0.0
        }
    };
    let (mm_ideal, mm_busy) = (
        counter(&kr.stats, "matmul.ideal_cycles")?,
        counter(&kr.stats, "matmul.busy_cycles")?,
    );
    let timing = NodeTiming {
        node: node.name.clone(),
        op: node.op.ggml_name().to_string(),
        program: program
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        unit: unit_of(board, node, matrix_unit).label(),
        cycles: kr.cycles,
        instructions: kr.instructions,
        seconds,
        bound_seconds,
        ratio: if bound_seconds > 0.0 {
            seconds / bound_seconds
        } else {
            0.0
        },
        flops: node.flops,
        tensor_bytes: node.bytes_moved,
        ddr_bytes: (counter(&kr.stats, "mem.ddr.bytes_read")?
            + counter(&kr.stats, "mem.ddr.bytes_written")?) as u64,
        vector_utilisation: per_cycle(counter(&kr.stats, "vpu.busy_cycles")?),
        matrix_busy_fraction: per_cycle(mm_busy),
        matrix_utilisation: if mm_busy > 0.0 {
            mm_ideal / mm_busy
        } else {
            0.0
        },
        stalls: kr
            .stats
            .iter()
            .filter_map(|(path, c)| {
                let cause = path.strip_prefix("stalls.")?;
                (cause != "total" && c.value > 0.0).then(|| (cause.to_string(), c.value as u64))
            })
            .collect(),
    };
    Ok((kr, timing))
}

/// A node's closed-form bound: the largest of its FLOPs at the peak of the unit that runs
/// it, its vector lane operations at the vector unit's issue rate (ops that run on the
/// vector unit), and its bytes at the DDR peak.
pub(super) fn node_bound_seconds(board: &Board, node: &Node, matrix_unit: bool) -> f64 {
    let clock = board.clock.hz();
    let lanes = board.core.vector_lanes.max(1) as f64 * clock;
    let bytes = node.bytes_moved as f64 / board.memory.peak_bytes_per_s();
    match unit_of(board, node, matrix_unit) {
        ComputeUnit::MatrixProduct { macs_per_cycle, .. } => {
            let peak = macs_per_cycle.max(1) as f64 * clock;
            (node.matrix_macs as f64 / peak).max(bytes)
        }
        // Each product at the peak of the unit that runs it (q.K and p.V are half of the
        // MACs each; on the vector unit one f32 multiply-add per lane per cycle), then the
        // softmax's lane operations: v1's blocking xpop.mm keeps the core from overlapping
        // the unit's work with its own (doc/kernels.md).
        ComputeUnit::MatrixAttention { qk, pv } => {
            let product = (node.matrix_macs / 2) as f64;
            let time = |rate: Option<u32>| match rate {
                Some(r) => product / (r.max(1) as f64 * clock),
                None => product / lanes,
            };
            let softmax = node.vector_ops.saturating_sub(node.matrix_macs) as f64 / lanes;
            (time(Some(qk.macs_per_cycle(board)))
                + time(pv.map(|t| t.macs_per_cycle(board)))
                + softmax)
                .max(bytes)
        }
        ComputeUnit::Vector => {
            // One f32 fused multiply-add per 32-bit lane per cycle.
            let flops = node.flops as f64 / (2.0 * lanes);
            flops.max(node.vector_ops as f64 / lanes).max(bytes)
        }
    }
}

/// The matrix unit's datapaths (doc/xpop-matmul.md section 7): the int8 MAC array of the
/// quantized types, and the BF16 and F16 products with their binary64 accumulators.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum MatrixPath {
    Int8,
    Bf16,
    F16,
}

impl MatrixPath {
    fn macs_per_cycle(self, board: &Board) -> u32 {
        match self {
            MatrixPath::Int8 => board.matmul.int8_macs_per_cycle,
            MatrixPath::Bf16 => board.matmul.bf16_macs_per_cycle,
            MatrixPath::F16 => board.matmul.f16_macs_per_cycle,
        }
    }

    fn name(self) -> &'static str {
        match self {
            MatrixPath::Int8 => "int8",
            MatrixPath::Bf16 => "bf16",
            MatrixPath::F16 => "f16",
        }
    }
}

/// Where a node's arithmetic runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ComputeUnit {
    /// A matrix product on Xpop_matmul (quantized or BF16 weights) at this MAC rate.
    MatrixProduct {
        /// The unit's datapath for the weight type.
        path: MatrixPath,
        /// The unit's MACs per cycle for the weight type.
        macs_per_cycle: u32,
    },
    /// Fused attention on k_attention_xpop: q.K on the matrix unit, p.V on it too (`pv`
    /// names the path) or on the vector unit (`None`: a Q8_0 cache), the softmax on the
    /// vector unit.
    MatrixAttention {
        qk: MatrixPath,
        pv: Option<MatrixPath>,
    },
    /// Everything on the vector unit.
    Vector,
}

impl ComputeUnit {
    /// The report's name of the unit, per product for attention.
    fn label(self) -> String {
        match self {
            ComputeUnit::MatrixProduct { path, .. } => format!("matrix {}", path.name()),
            ComputeUnit::MatrixAttention { qk, pv: Some(pv) } if pv == qk => {
                format!("matrix {}: q.K, p.V", qk.name())
            }
            ComputeUnit::MatrixAttention { qk, pv: Some(pv) } => {
                format!("matrix {}: q.K; matrix {}: p.V", qk.name(), pv.name())
            }
            ComputeUnit::MatrixAttention { qk, pv: None } => {
                format!("matrix {}: q.K; vector: p.V", qk.name())
            }
            ComputeUnit::Vector => "vector".to_string(),
        }
    }
}

fn unit_of(board: &Board, node: &Node, matrix_unit: bool) -> ComputeUnit {
    let fitted = matrix_unit && board.matmul.enabled;
    let first = node.inputs.first();
    match node.op {
        Op::MulMat if fitted && first.is_some_and(|w| product_on_matrix_unit(w.dtype)) => {
            let path = if first.is_some_and(|w| w.dtype == GgmlType::BF16) {
                MatrixPath::Bf16
            } else {
                MatrixPath::Int8
            };
            ComputeUnit::MatrixProduct {
                path,
                macs_per_cycle: path.macs_per_cycle(board),
            }
        }
        Op::FlashAttnExt if fitted => match attention_on_matrix_unit(node) {
            Some((qk, pv)) => ComputeUnit::MatrixAttention { qk, pv },
            None => ComputeUnit::Vector,
        },
        _ => ComputeUnit::Vector,
    }
}

/// The units that ran attention's products among `nodes` (one step's graph): the fused
/// node's, or the split path's `kq` and `kqv` products.
pub(super) fn attention_units(board: &Board, nodes: &[Node], matrix_unit: bool) -> String {
    if let Some(n) = nodes.iter().find(|n| n.op == Op::FlashAttnExt) {
        return unit_of(board, n, matrix_unit).label();
    }
    let of = |suffix: &str| {
        nodes
            .iter()
            .find(|n| n.op == Op::MulMat && n.name.ends_with(suffix))
            .map(|n| unit_of(board, n, matrix_unit).label())
    };
    match (of(".kq"), of(".kqv")) {
        (Some(qk), Some(pv)) if qk == pv => format!("{qk}: q.K, p.V"),
        (Some(qk), Some(pv)) => format!("{qk}: q.K; {pv}: p.V"),
        _ => String::new(),
    }
}

/// The weight types whose products k_mul_mat_xpop hands to the matrix unit.
fn product_on_matrix_unit(t: GgmlType) -> bool {
    matches!(
        t,
        GgmlType::Q4_0 | GgmlType::Q8_0 | GgmlType::Q4_K | GgmlType::Q6_K | GgmlType::BF16
    )
}

/// Fused attention runs k_attention_xpop when K and V are of one cache type it serves with
/// V's rows contiguous: the unit paths of (q.K, p.V). F16 and BF16 run both products on
/// the unit (V as a transposed A); Q8_0 runs q.K on the int8 path and p.V on the vector
/// unit (its blocks run along V's rows, across the keys p.V sums over; doc/kernels.md).
fn attention_on_matrix_unit(node: &Node) -> Option<(MatrixPath, Option<MatrixPath>)> {
    let [_, k, v, ..] = node.inputs.as_slice() else {
        return None;
    };
    if k.dtype != v.dtype || v.nb[0] != v.dtype.block_bytes() {
        return None;
    }
    match k.dtype {
        GgmlType::F16 => Some((MatrixPath::F16, Some(MatrixPath::F16))),
        GgmlType::BF16 => Some((MatrixPath::Bf16, Some(MatrixPath::Bf16))),
        GgmlType::Q8_0 => Some((MatrixPath::Int8, None)),
        _ => None,
    }
}

pub(super) fn program_for(node: &Node, matrix_unit: bool) -> Result<PathBuf> {
    let abi = abi_of(&node.kernel).with_context(|| {
        format!(
            "node `{}`: kernel `{}` has no program",
            node.name, node.kernel
        )
    })?;
    let xpop_type = node
        .inputs
        .first()
        .is_some_and(|w| product_on_matrix_unit(w.dtype));
    let name = if node.op == Op::MulMat && matrix_unit && xpop_type {
        "k_mul_mat_xpop"
    } else if node.op == Op::FlashAttnExt && matrix_unit && attention_on_matrix_unit(node).is_some()
    {
        "k_attention_xpop"
    } else {
        abi.program
    };
    Ok(kernel_dir().join(format!("{name}.elf")))
}

pub(super) fn operands(node: &Node) -> impl Iterator<Item = (&Operand, bool)> {
    node.inputs
        .iter()
        .map(|o| (o, false))
        .chain(node.scratch.iter().map(|o| (o, true)))
        .chain(std::iter::once((&node.output, true)))
}

/// The counter at `path` in `stats`; an absent counter is an error naming it.
pub(super) fn counter(stats: &Stats, path: &str) -> Result<f64> {
    Ok(stats.value(path)?)
}
