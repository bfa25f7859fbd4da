//! What the timing model needs to know of an instruction: its latency class and the
//! registers it reads and writes.

use crate::isa::format::Reg;
use crate::isa::vector::{Form, VClass, VInst, VOp};
use crate::isa::xpop::XInst;
use crate::isa::{Inst, SClass};

/// Latency class of an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// Integer ALU, lui/auipc, CSR access, fences, ecall.
    IntAlu,
    /// Integer multiply.
    IntMul,
    /// Integer divide/remainder (iterative, unpipelined).
    IntDiv,
    /// Integer or FP load, LR, AMO (result through the load path).
    Load,
    /// Integer or FP store, SC.
    Store,
    /// Conditional branch.
    Branch,
    /// jal / jalr.
    Jump,
    /// FP add/sub/compare/min/max/sign-injection.
    FpAdd,
    /// FP multiply.
    FpMul,
    /// FP fused multiply-add.
    FpFma,
    /// FP divide (iterative, unpipelined).
    FpDiv,
    /// FP square root (iterative, unpipelined).
    FpSqrt,
    /// FP conversions, moves and classify.
    FpCvt,
    /// Xpop_matmul instructions (timed by the matrix unit; the core waits for them).
    Matmul,
    /// vsetvli / vsetivli / vsetvl.
    VecConfig,
    /// Vector integer ALU (add, logic, shifts, compares, merges, fixed point).
    VecAlu,
    /// Vector integer multiply and multiply-add.
    VecMul,
    /// Vector integer divide (iterative per element group).
    VecDiv,
    /// Vector FP add/mul/fma/convert/compare.
    VecFp,
    /// Vector FP divide and square root (iterative per element group).
    VecFdiv,
    /// Vector reductions.
    VecReduction,
    /// Slides, gathers, compress, scalar moves.
    VecPermute,
    /// Mask logic and scans.
    VecMask,
    /// Whole-register moves and splats.
    VecMove,
    /// Vector loads.
    VecLoad,
    /// Vector stores.
    VecStore,
}

impl Class {
    /// Every class, in stats order.
    pub const ALL: [Class; 26] = [
        Class::IntAlu,
        Class::IntMul,
        Class::IntDiv,
        Class::Load,
        Class::Store,
        Class::Branch,
        Class::Jump,
        Class::FpAdd,
        Class::FpMul,
        Class::FpFma,
        Class::FpDiv,
        Class::FpSqrt,
        Class::FpCvt,
        Class::Matmul,
        Class::VecConfig,
        Class::VecAlu,
        Class::VecMul,
        Class::VecDiv,
        Class::VecFp,
        Class::VecFdiv,
        Class::VecReduction,
        Class::VecPermute,
        Class::VecMask,
        Class::VecMove,
        Class::VecLoad,
        Class::VecStore,
    ];

    /// Name used in stats paths.
    pub fn name(self) -> &'static str {
        match self {
            Class::IntAlu => "int_alu",
            Class::IntMul => "int_mul",
            Class::IntDiv => "int_div",
            Class::Load => "load",
            Class::Store => "store",
            Class::Branch => "branch",
            Class::Jump => "jump",
            Class::FpAdd => "fp_add",
            Class::FpMul => "fp_mul",
            Class::FpFma => "fp_fma",
            Class::FpDiv => "fp_div",
            Class::FpSqrt => "fp_sqrt",
            Class::FpCvt => "fp_cvt",
            Class::Matmul => "matmul",
            Class::VecConfig => "vec_config",
            Class::VecAlu => "vec_alu",
            Class::VecMul => "vec_mul",
            Class::VecDiv => "vec_div",
            Class::VecFp => "vec_fp",
            Class::VecFdiv => "vec_fdiv",
            Class::VecReduction => "vec_reduction",
            Class::VecPermute => "vec_permute",
            Class::VecMask => "vec_mask",
            Class::VecMove => "vec_move",
            Class::VecLoad => "vec_load",
            Class::VecStore => "vec_store",
        }
    }

    /// The timing class of a scalar instruction (the table's [`SClass`]).
    #[inline]
    pub fn of_scalar(c: SClass) -> Class {
        match c {
            SClass::IntAlu => Class::IntAlu,
            SClass::IntMul => Class::IntMul,
            SClass::IntDiv => Class::IntDiv,
            SClass::Load => Class::Load,
            SClass::Store => Class::Store,
            SClass::Branch => Class::Branch,
            SClass::Jump => Class::Jump,
            SClass::FpAdd => Class::FpAdd,
            SClass::FpMul => Class::FpMul,
            SClass::FpFma => Class::FpFma,
            SClass::FpDiv => Class::FpDiv,
            SClass::FpSqrt => Class::FpSqrt,
            SClass::FpCvt => Class::FpCvt,
        }
    }

    /// The timing class of a vector instruction.
    pub fn of_vector(v: &VInst) -> Class {
        match v.class() {
            VClass::Config => Class::VecConfig,
            VClass::Load => Class::VecLoad,
            VClass::Store => Class::VecStore,
            VClass::Alu => Class::VecAlu,
            VClass::Mul => Class::VecMul,
            VClass::Div => Class::VecDiv,
            VClass::Fp => Class::VecFp,
            VClass::FDiv => Class::VecFdiv,
            VClass::Reduction => Class::VecReduction,
            VClass::Permute => Class::VecPermute,
            VClass::Mask => Class::VecMask,
            VClass::Move => Class::VecMove,
        }
    }
}

/// No register.
pub const NONE: u8 = 0xff;

/// Register index in the scoreboard: integer registers 0..32, FP registers 32..64.
#[inline]
fn xr(r: u8) -> u8 {
    if r == 0 {
        NONE
    } else {
        r
    }
}
#[inline]
fn fr(r: u8) -> u8 {
    32 + r
}

/// The class and register use of one instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Latency class.
    pub class: Class,
    /// Register written (scoreboard index), or [`NONE`].
    pub dst: u8,
    /// Registers read, [`NONE`] for unused slots.
    pub src: [u8; 3],
}

/// The scalar registers a vector instruction reads and writes (scoreboard indices):
/// `(dst, [src; 2])`.
pub fn vector_scalar_operands(v: &VInst) -> (u8, [u8; 2]) {
    use VOp::*;
    match v.op {
        Vsetvli => (xr(v.vd), [xr(v.vs1), NONE]),
        Vsetivli => (xr(v.vd), [NONE, NONE]),
        Vsetvl => (xr(v.vd), [xr(v.vs1), xr(v.vs2)]),
        Vle | Vluxei | Vloxei | Vleff | Vlr | Vlm | Vse | Vsuxei | Vsoxei | Vsr | Vsm => {
            (NONE, [xr(v.vs1), NONE])
        }
        Vlse | Vsse => (NONE, [xr(v.vs1), xr(v.vs2)]),
        VmvXS | Vcpop | Vfirst => (xr(v.vd), [NONE, NONE]),
        VfmvFS => (fr(v.vd), [NONE, NONE]),
        _ if v.form.is_x() || v.op == VmvSX => (NONE, [xr(v.vs1), NONE]),
        _ if v.form.is_f() || v.op == VfmvSF || v.form == Form::VdF => (NONE, [fr(v.vs1), NONE]),
        _ => (NONE, [NONE, NONE]),
    }
}

/// Scoreboard index of a register an instruction names (x0 is no dependency).
#[inline]
fn scoreboard(r: Reg) -> u8 {
    match r {
        Reg::None => NONE,
        Reg::X(r) => xr(r),
        Reg::F(r) => fr(r),
    }
}

/// The class and registers of `inst`: from the scalar table, or from the vector and matrix
/// units' own descriptions.
#[inline]
pub fn usage(inst: &Inst) -> Usage {
    if let Some((class, regs)) = inst.scalar_usage() {
        return Usage {
            class: Class::of_scalar(class),
            dst: scoreboard(regs.dst),
            src: regs.src.map(scoreboard),
        };
    }
    let u = |class, dst, a, b| Usage {
        class,
        dst,
        src: [a, b, NONE],
    };
    match *inst {
        Inst::Xpop(XInst::Mm { rs1, rs2 }) => u(Class::Matmul, NONE, xr(rs1), xr(rs2)),
        Inst::Xpop(XInst::Info { rd, .. }) => u(Class::Matmul, xr(rd), NONE, NONE),
        // Vector instructions are timed by `retire_vector`; this is their stats class only.
        _ => u(Class::IntAlu, NONE, NONE, NONE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_comes_from_the_table() {
        let (inst, _) = crate::isa::decode(0x0ec5_d533).unwrap(); // czero.eqz a0, a1, a2
        let u = usage(&inst);
        assert_eq!(u.class, Class::IntAlu);
        assert_eq!((u.dst, u.src), (10, [11, 12, NONE]));
        let (inst, _) = crate::isa::decode(0x68c5_f543).unwrap(); // fmadd.s fa0, fa1, fa2, fa3
        let u = usage(&inst);
        assert_eq!(u.class, Class::FpFma);
        assert_eq!((u.dst, u.src), (42, [43, 44, 45]));
        let (inst, _) = crate::isa::decode(0x00b5_3423).unwrap(); // sd a1, 0x8(a0)
        assert_eq!(usage(&inst).src, [10, 11, NONE]);
    }
}
