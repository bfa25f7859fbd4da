//! One card as the system runs it: its memory's bytes, and kernels run on its hart.
//!
//! A kernel run loads the program's segments and the op descriptor into the card's memory,
//! starts a fresh hart (with the matrix unit) at the program's entry and times it through a
//! fresh, idle memory model (DDR3 + scratchpad): every kernel starts with the memory system
//! quiesced (queues drained, rows closed, refresh phase at zero). That makes a kernel's cycle
//! count a function of (program, descriptor, the contents of the few sources that steer
//! addresses) alone, which is what lets identical invocations reuse a measured result: same
//! program, same descriptor bytes (addresses, shapes, parameters), same steering bytes
//! (`OpCode::data_steered_sources`), same starting memory-model state. Reuse skips only the
//! timing: a reused invocation still runs on the functional core (no timing model), so every
//! kernel's output is computed in every run, and the values a run produces do not depend on
//! reuse. `--exact` (reuse off) times every invocation.

use crate::config::Board;
use crate::hart::vector::VectorUnit;
use crate::hart::GuestMemory;
use crate::matmul::MatmulUnit;
use crate::mem::CardMemory;
use crate::program::{self, MemoryMap, Program};
use crate::stats::Stats;
use crate::timing::{CoreParams, CoreTiming, Functional, InOrderTiming};
use crate::workload::abi::{OpDesc, DESC_ADDR};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What one kernel run measured.
#[derive(Debug, Clone)]
pub struct KernelRun {
    /// Core cycles from start to exit.
    pub cycles: u64,
    /// Instructions retired.
    pub instructions: u64,
    /// Core, memory and matrix-unit counters of this run.
    pub stats: Stats,
    /// True when the result was reused from an identical earlier invocation.
    pub reused: bool,
}

/// Names of the kernel exit statuses (programs/kernels/ggml_abi.h).
fn status_name(code: i64) -> &'static str {
    match code {
        1 => "SAIL_ERR_DESC (bad descriptor)",
        2 => "SAIL_ERR_OP (op not implemented by this program)",
        3 => "SAIL_ERR_TYPE (unsupported type)",
        4 => "SAIL_ERR_SHAPE (inconsistent shape)",
        5 => "SAIL_ERR_STRIDE (unsupported strides)",
        6 => "SAIL_ERR_WORK (work buffer missing or too small)",
        7 => "SAIL_ERR_PARAM (unsupported parameter)",
        8 => "SAIL_ERR_INDEX (row index out of range)",
        9 => "SAIL_ERR_XPOP (matrix unit error)",
        _ => "unknown status",
    }
}

/// A card: the bytes of its memory and the programs it has loaded.
pub struct Card {
    board: Board,
    map: MemoryMap,
    memory: Option<GuestMemory>,
    programs: BTreeMap<PathBuf, Arc<Program>>,
    functional: bool,
    reuse: bool,
    max_cycles: u64,
    cache: BTreeMap<(PathBuf, Vec<u8>), KernelRun>,
}

impl Card {
    /// A card of `board` whose DDR window for functional placement is `ddr_bytes` long
    /// (at least the capacity; larger when a regime keeps part of the data on the host, whose
    /// bytes still need a home). `functional` runs without timing; `reuse` allows reusing
    /// identical invocations.
    pub fn new(
        board: &Board,
        ddr_bytes: u64,
        functional: bool,
        reuse: bool,
        max_cycles: u64,
    ) -> Self {
        let mut map = MemoryMap::from_board(board);
        map.ddr_size = map.ddr_size.max(ddr_bytes.next_multiple_of(1 << 16));
        let memory = map.guest_memory();
        Self {
            board: board.clone(),
            map,
            memory: Some(memory),
            programs: BTreeMap::new(),
            functional,
            reuse,
            max_cycles,
            cache: BTreeMap::new(),
        }
    }

    fn mem(&mut self) -> &mut GuestMemory {
        self.memory
            .as_mut()
            .expect("the card's memory is only lent during a kernel run")
    }

    /// Writes bytes into card memory.
    pub fn write(&mut self, addr: u64, data: &[u8]) -> Result<()> {
        Ok(self.mem().write(addr, data)?)
    }

    /// Reads bytes from card memory.
    pub fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<()> {
        Ok(self.mem().read(addr, buf)?)
    }

    fn program(&mut self, path: &Path) -> Result<Arc<Program>> {
        if let Some(p) = self.programs.get(path) {
            return Ok(p.clone());
        }
        let p = Arc::new(crate::program::Program::load_asset(path)?);
        self.programs.insert(path.to_path_buf(), p.clone());
        Ok(p)
    }

    /// Runs kernel `program` on descriptor `desc`; a non-zero exit is an error naming the
    /// kernel and its status.
    ///
    /// Every call computes the kernel's output. With reuse on, an invocation identical to an
    /// earlier one (see [`Card::reuse_key`]) runs on the functional core only (no timing
    /// model, so much cheaper) and takes the earlier invocation's measured timing, which is
    /// the one a timed run would measure.
    pub fn run(&mut self, program: &Path, desc: &OpDesc) -> Result<KernelRun> {
        let packed = desc.pack().to_vec();
        let key = if self.reuse {
            self.reuse_key(program, desc, &packed)?
        } else {
            None
        };
        if let Some(r) = key.as_ref().and_then(|k| self.cache.get(k)) {
            let mut r = r.clone();
            r.reused = true;
            self.execute(program, &packed, true)?;
            return Ok(r);
        }
        let run = self.execute(program, &packed, self.functional)?;
        if let Some(key) = key {
            self.cache.insert(key, run.clone());
        }
        Ok(run)
    }

    /// Loads `program` and the packed descriptor, and runs the kernel to its exit on a fresh
    /// hart: on the functional core when `functional`, else through the timing model and a
    /// fresh, idle memory model.
    fn execute(&mut self, program: &Path, packed: &[u8], functional: bool) -> Result<KernelRun> {
        let prog = self.program(program)?;
        let mut memory = self.memory.take().expect("memory present between runs");
        if let Err(e) = program::load_segments(&prog, &self.map, &mut memory) {
            self.memory = Some(memory);
            return Err(e.into());
        }
        let mut hart = program::start_hart(&prog, &self.map, memory);
        let desc_write = hart.mem_mut().write(DESC_ADDR, packed);
        hart.attach_vector(VectorUnit::new(self.board.core.vlen));
        hart.attach_matmul(MatmulUnit::new(&self.board));
        let outcome = match desc_write {
            Err(e) => Err(anyhow::Error::from(e)),
            Ok(()) if functional => {
                let mut t = Functional::default();
                let o = program::run(&mut hart, &mut t, self.max_cycles, None);
                o.map(|s| (s, t.cycles(), t.stats())).map_err(Into::into)
            }
            Ok(()) => match CardMemory::new(&self.board) {
                Ok(mem) => {
                    let mut t = InOrderTiming::new(CoreParams::from_board(&self.board), mem);
                    let o = program::run(&mut hart, &mut t, self.max_cycles, None);
                    o.map(|s| (s, t.cycles(), t.stats())).map_err(Into::into)
                }
                Err(e) => Err(e.into()),
            },
        };
        let instructions = hart.instret();
        self.memory = Some(hart.into_mem());
        let (stop, cycles, stats) =
            outcome.with_context(|| format!("kernel {} failed", program.display()))?;
        if stop.exit_code != 0 {
            bail!(
                "kernel {} refused its descriptor: exit {} = {}",
                program.display(),
                stop.exit_code,
                status_name(stop.exit_code)
            );
        }
        Ok(KernelRun {
            cycles,
            instructions,
            stats,
            reused: false,
        })
    }

    /// What makes an invocation's timing identical to an earlier one: the program, the packed
    /// descriptor and the bytes of the sources whose contents steer the kernel's addresses
    /// (`OpCode::data_steered_sources`). `None` (never reuse) when such a source's span is
    /// not computable.
    fn reuse_key(
        &mut self,
        program: &Path,
        desc: &OpDesc,
        packed: &[u8],
    ) -> Result<Option<(PathBuf, Vec<u8>)>> {
        let mut bytes = packed.to_vec();
        for &i in desc.op.data_steered_sources() {
            let Some(t) = desc.src.get(i) else {
                continue;
            };
            let Some(span) = t.span_bytes() else {
                return Ok(None);
            };
            let mut data = vec![0u8; span as usize];
            self.read(t.data, &mut data)?;
            bytes.extend_from_slice(&data);
        }
        Ok(Some((program.to_path_buf(), bytes)))
    }
}

/// The kernel programs' folder: an override on disk or the embedded copy (lookup order in
/// [`crate::assets`]).
pub fn kernel_dir() -> PathBuf {
    crate::assets::Kind::Kernels.folder_in_use()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_board;
    use crate::workload::abi::{OpCode, TensorDesc, TENSOR_BASE};
    use crate::workload::GgmlType;

    fn f32s(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    fn add_desc(n: u64, a: u64, b: u64, d: u64) -> OpDesc {
        OpDesc {
            op: OpCode::Add,
            work: (0, 0),
            params: [0; 16],
            dst: TensorDesc::contiguous(GgmlType::F32, [n, 1, 1, 1], d),
            src: vec![
                TensorDesc::contiguous(GgmlType::F32, [n, 1, 1, 1], a),
                TensorDesc::contiguous(GgmlType::F32, [n, 1, 1, 1], b),
            ],
        }
    }

    #[test]
    fn runs_a_kernel_and_reuses_identical_invocations() {
        let board = load_board("innerjib7ea", &[]).unwrap().board;
        let prog = kernel_dir().join("k_eltwise.elf");
        let n = 1000u64;
        let (a, b, d) = (TENSOR_BASE, TENSOR_BASE + 0x10000, TENSOR_BASE + 0x20000);
        let xs: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
        let ys: Vec<f32> = (0..n).map(|i| 3.0 - i as f32).collect();
        let mut results = Vec::new();
        for reuse in [false, true] {
            let mut card = Card::new(&board, 0, false, reuse, 10_000_000);
            card.write(a, &f32s(&xs)).unwrap();
            card.write(b, &f32s(&ys)).unwrap();
            let first = card.run(&prog, &add_desc(n, a, b, d)).unwrap();
            let mut out = vec![0u8; (n * 4) as usize];
            card.read(d, &mut out).unwrap();
            for (i, c) in out.chunks_exact(4).enumerate() {
                assert_eq!(f32::from_le_bytes(c.try_into().unwrap()), xs[i] + ys[i]);
            }
            // New operand values, same invocation: the timing may be reused, the values
            // are computed again.
            let zs: Vec<f32> = (0..n).map(|i| 0.25 * i as f32 - 7.0).collect();
            card.write(a, &f32s(&zs)).unwrap();
            let second = card.run(&prog, &add_desc(n, a, b, d)).unwrap();
            card.read(d, &mut out).unwrap();
            for (i, c) in out.chunks_exact(4).enumerate() {
                assert_eq!(f32::from_le_bytes(c.try_into().unwrap()), zs[i] + ys[i]);
            }
            // A fresh memory model per kernel: the same invocation takes the same cycles,
            // measured or reused.
            assert_eq!(first.cycles, second.cycles);
            assert_eq!(second.reused, reuse);
            assert!(first.cycles > 0 && first.instructions > 0);
            results.push(first.cycles);
        }
        assert_eq!(results[0], results[1]);
    }

    #[test]
    fn the_reuse_key_holds_the_bytes_that_steer_addresses() {
        let board = load_board("innerjib7ea", &[]).unwrap().board;
        let prog = kernel_dir().join("k_get_rows.elf");
        let mut card = Card::new(&board, 0, false, true, 10_000_000);
        let (table, idx, out) = (TENSOR_BASE, TENSOR_BASE + 0x10000, TENSOR_BASE + 0x20000);
        let desc = OpDesc {
            op: OpCode::GetRows,
            work: (0, 0),
            params: [0; 16],
            dst: TensorDesc::contiguous(GgmlType::F32, [64, 2, 1, 1], out),
            src: vec![
                TensorDesc::contiguous(GgmlType::F32, [64, 16, 1, 1], table),
                TensorDesc::contiguous(GgmlType::I32, [2, 1, 1, 1], idx),
            ],
        };
        let packed = desc.pack();
        card.write(idx, &[3, 0, 0, 0, 7, 0, 0, 0]).unwrap();
        let a = card.reuse_key(&prog, &desc, &packed).unwrap().unwrap();
        assert_eq!(a.1.len(), packed.len() + 8);
        card.write(idx, &[3, 0, 0, 0, 9, 0, 0, 0]).unwrap();
        let b = card.reuse_key(&prog, &desc, &packed).unwrap().unwrap();
        assert_ne!(a, b, "other rows: another invocation");
        // An element-wise op's key is its descriptor alone.
        let add = add_desc(64, table, idx, out);
        let k = card.reuse_key(&prog, &add, &add.pack()).unwrap().unwrap();
        assert_eq!(k.1, add.pack().to_vec());
    }

    #[test]
    fn a_refused_descriptor_names_the_kernel_and_status() {
        let board = load_board("innerjib7ea", &[]).unwrap().board;
        let prog = kernel_dir().join("k_eltwise.elf");
        let mut card = Card::new(&board, 0, true, false, 10_000_000);
        let mut d = add_desc(64, TENSOR_BASE, TENSOR_BASE, TENSOR_BASE);
        d.op = OpCode::MulMat;
        let e = format!("{:#}", card.run(&prog, &d).unwrap_err());
        assert!(
            e.contains("k_eltwise.elf") && e.contains("SAIL_ERR_OP"),
            "{e}"
        );
        // The card is usable after a refusal.
        assert!(card
            .run(&prog, &add_desc(64, TENSOR_BASE, TENSOR_BASE, TENSOR_BASE))
            .is_ok());
    }
}
