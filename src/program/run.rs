//! Running a loaded program on one hart until it exits, traps or runs out of cycles.
//!
//! The loop is the same for functional-only runs and timed runs: the timing model is a
//! generic parameter ([`CoreTiming`]), so functional mode is this loop with
//! [`crate::timing::Functional`], which only counts.

use crate::hart::{Halt, Hart, Trap};
use crate::isa::disasm::disasm;
use crate::timing::CoreTiming;
use std::io::Write;
use thiserror::Error;

/// How a run that did not exit cleanly stopped. Each message names the PC.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum RunError {
    /// An illegal or unsupported instruction.
    #[error("illegal instruction at pc {pc:#x}: raw {raw}{}: {reason}", disasm_text(.disasm))]
    IllegalInstruction {
        /// PC.
        pc: u64,
        /// Raw encoding as hex (`0x...`), or `unreadable`.
        raw: String,
        /// Disassembly when the encoding decodes.
        disasm: Option<String>,
        /// Why.
        reason: String,
    },
    /// An access outside the memory map.
    #[error("memory access out of bounds at pc {pc:#x} (`{disasm}`): {detail}")]
    OutOfBounds {
        /// PC.
        pc: u64,
        /// The instruction (or `fetch`).
        disasm: String,
        /// The address, length and map.
        detail: String,
        /// The faulting address.
        addr: u64,
    },
    /// A misaligned access the core refuses (LR/SC/AMO, or an odd PC).
    #[error("misaligned {len}-byte access at address {addr:#x} by pc {pc:#x} (`{disasm}`)")]
    Misaligned {
        /// PC.
        pc: u64,
        /// The instruction.
        disasm: String,
        /// Address.
        addr: u64,
        /// Length.
        len: u64,
    },
    /// `ebreak`.
    #[error("ebreak at pc {pc:#x}")]
    Breakpoint {
        /// PC.
        pc: u64,
    },
    /// The cycle limit was reached before the program exited.
    #[error("no exit after {limit} cycles: stopped at pc {pc:#x} after {instructions} instructions (the cycle limit; raise it with --max-cycles, or --max-kernel-cycles for `run`)")]
    MaxCycles {
        /// The limit.
        limit: u64,
        /// PC of the next instruction.
        pc: u64,
        /// Instructions retired.
        instructions: u64,
    },
    /// An `xpop.mm` would pass the cycle limit: refused before it runs.
    #[error("xpop.mm at pc {pc:#x} needs at least {need} cycles, but only {left} of the {limit}-cycle limit are left (raise it with --max-cycles, or --max-kernel-cycles for `run`)")]
    MatmulCycles {
        /// PC.
        pc: u64,
        /// Lower bound of the instruction's cycles.
        need: u64,
        /// Cycles left under the limit.
        left: u64,
        /// The limit.
        limit: u64,
    },
}

fn disasm_text(d: &Option<String>) -> String {
    match d {
        Some(t) => format!(" (`{t}`)"),
        None => String::new(),
    }
}

/// A clean stop: the program exited with a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunStop {
    /// The exit status.
    pub exit_code: i64,
}

fn trap_error(pc: u64, raw: Option<u32>, text: Option<String>, trap: Trap) -> RunError {
    let d = text.clone().unwrap_or_else(|| "fetch".to_string());
    match trap {
        Trap::IllegalInstruction { reason } => RunError::IllegalInstruction {
            pc,
            raw: match raw {
                Some(r) if r & 3 != 3 => format!("{r:#06x}"),
                Some(r) => format!("{r:#010x}"),
                None => "unreadable".into(),
            },
            disasm: text,
            reason,
        },
        Trap::OutOfBounds(e) => RunError::OutOfBounds {
            pc,
            disasm: d,
            addr: e.addr,
            detail: e.to_string(),
        },
        Trap::Misaligned { addr, len } => RunError::Misaligned {
            pc,
            disasm: d,
            addr,
            len,
        },
    }
}

/// Runs `hart` until the program exits, traps, or `timing` reaches `max_cycles`.
/// With `trace`, each retired instruction is written as `cycle pc: raw  disassembly`.
pub fn run<T: CoreTiming>(
    hart: &mut Hart,
    timing: &mut T,
    max_cycles: u64,
    trace: Option<&mut dyn Write>,
) -> Result<RunStop, RunError> {
    hart.set_access_log(T::NEEDS_ACCESSES);
    match trace {
        None => run_loop::<T, false>(hart, timing, max_cycles, &mut std::io::sink()),
        Some(w) => run_loop::<T, true>(hart, timing, max_cycles, w),
    }
}

#[inline(always)]
fn run_loop<T: CoreTiming, const TRACE: bool>(
    hart: &mut Hart,
    timing: &mut T,
    max_cycles: u64,
    out: &mut dyn Write,
) -> Result<RunStop, RunError> {
    loop {
        let now = timing.cycles();
        if now >= max_cycles {
            return Err(RunError::MaxCycles {
                limit: max_cycles,
                pc: hart.pc(),
                instructions: hart.instret(),
            });
        }
        let pc = hart.pc();
        let d = match hart.fetch(pc) {
            Ok(d) => d,
            Err(e) => return Err(trap_error(pc, e.raw, None, e.trap)),
        };
        hart.set_cycle(now);
        if let (crate::isa::Inst::Xpop(_), Some(m)) = (&d.inst, hart.matmul_mut()) {
            m.set_cycle_budget(max_cycles - now);
        }
        if T::NEEDS_ACCESSES {
            hart.clear_accesses();
        }
        let result = hart.execute(&d);
        let exit = match result {
            Ok(()) => hart.mem().exit,
            Err(Halt::Exit(code)) => Some(code),
            Err(Halt::Breakpoint) => return Err(RunError::Breakpoint { pc }),
            Err(Halt::Trap(t)) => {
                if let Some(need) = hart.matmul_mut().and_then(|m| m.take_budget_refusal()) {
                    return Err(RunError::MatmulCycles {
                        pc,
                        need,
                        left: max_cycles - now,
                        limit: max_cycles,
                    });
                }
                return Err(trap_error(
                    pc,
                    Some(d.raw),
                    Some(disasm(&d.inst, Some(pc))),
                    t,
                ));
            }
        };
        hart.count_retired();
        let next = if exit.is_some() {
            pc + d.len as u64
        } else {
            hart.pc()
        };
        if exit.is_some() {
            hart.set_pc(next);
        }
        timing.retire(pc, &d, &hart.retired(&d));
        if TRACE {
            let raw = if d.len == 2 {
                format!("{:04x}    ", d.raw & 0xffff)
            } else {
                format!("{:08x}", d.raw)
            };
            let _ = writeln!(
                out,
                "{:>10} {pc:#010x}: {raw}  {}",
                now,
                disasm(&d.inst, Some(pc))
            );
        }
        if let Some(code) = exit {
            return Ok(RunStop { exit_code: code });
        }
    }
}
