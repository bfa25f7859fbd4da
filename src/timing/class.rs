//! What the timing model needs to know of an instruction: its latency class and the
//! registers it reads and writes.

use crate::isa::vector::{Form, VClass, VInst, VOp};
use crate::isa::Inst;

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

/// The class and registers of `inst`.
pub fn usage(inst: &Inst) -> Usage {
    use Class::*;
    use Inst::*;
    let u = |class, dst, a, b, c| Usage {
        class,
        dst,
        src: [a, b, c],
    };
    match *inst {
        Lui { rd, .. } | Auipc { rd, .. } => u(IntAlu, xr(rd), NONE, NONE, NONE),
        Jal { rd, .. } => u(Jump, xr(rd), NONE, NONE, NONE),
        Jalr { rd, rs1, .. } => u(Jump, xr(rd), xr(rs1), NONE, NONE),
        Beq { rs1, rs2, .. }
        | Bne { rs1, rs2, .. }
        | Blt { rs1, rs2, .. }
        | Bge { rs1, rs2, .. }
        | Bltu { rs1, rs2, .. }
        | Bgeu { rs1, rs2, .. } => u(Branch, NONE, xr(rs1), xr(rs2), NONE),
        Lb { rd, rs1, .. }
        | Lh { rd, rs1, .. }
        | Lw { rd, rs1, .. }
        | Ld { rd, rs1, .. }
        | Lbu { rd, rs1, .. }
        | Lhu { rd, rs1, .. }
        | Lwu { rd, rs1, .. } => u(Load, xr(rd), xr(rs1), NONE, NONE),
        Sb { rs1, rs2, .. } | Sh { rs1, rs2, .. } | Sw { rs1, rs2, .. } | Sd { rs1, rs2, .. } => {
            u(Store, NONE, xr(rs1), xr(rs2), NONE)
        }
        Addi { rd, rs1, .. }
        | Slti { rd, rs1, .. }
        | Sltiu { rd, rs1, .. }
        | Xori { rd, rs1, .. }
        | Ori { rd, rs1, .. }
        | Andi { rd, rs1, .. }
        | Addiw { rd, rs1, .. }
        | Slli { rd, rs1, .. }
        | Srli { rd, rs1, .. }
        | Srai { rd, rs1, .. }
        | Slliw { rd, rs1, .. }
        | Srliw { rd, rs1, .. }
        | Sraiw { rd, rs1, .. } => u(IntAlu, xr(rd), xr(rs1), NONE, NONE),
        Add { rd, rs1, rs2 }
        | Sub { rd, rs1, rs2 }
        | Sll { rd, rs1, rs2 }
        | Slt { rd, rs1, rs2 }
        | Sltu { rd, rs1, rs2 }
        | Xor { rd, rs1, rs2 }
        | Srl { rd, rs1, rs2 }
        | Sra { rd, rs1, rs2 }
        | Or { rd, rs1, rs2 }
        | And { rd, rs1, rs2 }
        | Addw { rd, rs1, rs2 }
        | Subw { rd, rs1, rs2 }
        | Sllw { rd, rs1, rs2 }
        | Srlw { rd, rs1, rs2 }
        | Sraw { rd, rs1, rs2 } => u(IntAlu, xr(rd), xr(rs1), xr(rs2), NONE),
        Mul { rd, rs1, rs2 }
        | Mulh { rd, rs1, rs2 }
        | Mulhsu { rd, rs1, rs2 }
        | Mulhu { rd, rs1, rs2 }
        | Mulw { rd, rs1, rs2 } => u(IntMul, xr(rd), xr(rs1), xr(rs2), NONE),
        Div { rd, rs1, rs2 }
        | Divu { rd, rs1, rs2 }
        | Rem { rd, rs1, rs2 }
        | Remu { rd, rs1, rs2 }
        | Divw { rd, rs1, rs2 }
        | Divuw { rd, rs1, rs2 }
        | Remw { rd, rs1, rs2 }
        | Remuw { rd, rs1, rs2 } => u(IntDiv, xr(rd), xr(rs1), xr(rs2), NONE),
        Fence { .. } | FenceI | Ecall | Ebreak => u(IntAlu, NONE, NONE, NONE, NONE),
        Csr { op, rd, rs1, .. } => {
            let src = match op {
                crate::isa::CsrOp::Rw | crate::isa::CsrOp::Rs | crate::isa::CsrOp::Rc => xr(rs1),
                _ => NONE,
            };
            u(IntAlu, xr(rd), src, NONE, NONE)
        }
        Lr { rd, rs1, .. } => u(Load, xr(rd), xr(rs1), NONE, NONE),
        Sc { rd, rs1, rs2, .. } => u(Store, xr(rd), xr(rs1), xr(rs2), NONE),
        Amo { rd, rs1, rs2, .. } => u(Load, xr(rd), xr(rs1), xr(rs2), NONE),
        Fl { rd, rs1, .. } => u(Load, fr(rd), xr(rs1), NONE, NONE),
        Fs { rs1, rs2, .. } => u(Store, NONE, xr(rs1), fr(rs2), NONE),
        Fadd { rd, rs1, rs2, .. } | Fsub { rd, rs1, rs2, .. } => {
            u(FpAdd, fr(rd), fr(rs1), fr(rs2), NONE)
        }
        Fmul { rd, rs1, rs2, .. } => u(FpMul, fr(rd), fr(rs1), fr(rs2), NONE),
        Fdiv { rd, rs1, rs2, .. } => u(FpDiv, fr(rd), fr(rs1), fr(rs2), NONE),
        Fsqrt { rd, rs1, .. } => u(FpSqrt, fr(rd), fr(rs1), NONE, NONE),
        Fsgnj { rd, rs1, rs2, .. }
        | Fsgnjn { rd, rs1, rs2, .. }
        | Fsgnjx { rd, rs1, rs2, .. }
        | Fmin { rd, rs1, rs2, .. }
        | Fmax { rd, rs1, rs2, .. } => u(FpAdd, fr(rd), fr(rs1), fr(rs2), NONE),
        Feq { rd, rs1, rs2, .. } | Flt { rd, rs1, rs2, .. } | Fle { rd, rs1, rs2, .. } => {
            u(FpAdd, xr(rd), fr(rs1), fr(rs2), NONE)
        }
        Fclass { rd, rs1, .. } | FmvXF { rd, rs1, .. } | FcvtToInt { rd, rs1, .. } => {
            u(FpCvt, xr(rd), fr(rs1), NONE, NONE)
        }
        FmvFX { rd, rs1, .. } | FcvtFromInt { rd, rs1, .. } => {
            u(FpCvt, fr(rd), xr(rs1), NONE, NONE)
        }
        FcvtFF { rd, rs1, .. } => u(FpCvt, fr(rd), fr(rs1), NONE, NONE),
        Fmadd {
            rd, rs1, rs2, rs3, ..
        }
        | Fmsub {
            rd, rs1, rs2, rs3, ..
        }
        | Fnmsub {
            rd, rs1, rs2, rs3, ..
        }
        | Fnmadd {
            rd, rs1, rs2, rs3, ..
        } => u(FpFma, fr(rd), fr(rs1), fr(rs2), fr(rs3)),
        Vector(_) => u(IntAlu, NONE, NONE, NONE, NONE),
        Xpop(crate::isa::xpop::XInst::Mm { rs1, rs2 }) => u(Matmul, NONE, xr(rs1), xr(rs2), NONE),
        Xpop(crate::isa::xpop::XInst::Info { rd, .. }) => u(Matmul, xr(rd), NONE, NONE, NONE),
    }
}
