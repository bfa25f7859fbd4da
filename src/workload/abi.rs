//! The kernel descriptor ABI (`programs/kernels/ggml_abi.h`, doc/kernels.md), packed from
//! Rust: one `sail_op` of 496 bytes at `DESC_ADDR`, with a `sail_tensor` per source and the
//! destination in the spirit of `ggml_tensor` (type, ne[4], nb[4], data address).

use super::dtype::GgmlType;

/// Where a runner writes the descriptor.
pub const DESC_ADDR: u64 = 0x8100_0000;
/// Bytes reserved for it.
pub const DESC_SIZE: u64 = 0x1000;
/// Tensors go at or above this address.
pub const TENSOR_BASE: u64 = DESC_ADDR + DESC_SIZE;
/// `"SKOP"` as a little-endian u32.
pub const MAGIC: u32 = 0x504f_4b53;
/// ABI version.
pub const VERSION: u16 = 1;
/// Size of a packed descriptor.
pub const OP_BYTES: usize = 496;

/// Op codes (enum sail_opcode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u16)]
pub enum OpCode {
    /// `k_mul_mat` / `k_mul_mat_xpop`.
    MulMat = 1,
    /// `k_quantize`.
    Quantize = 2,
    /// `k_rms_norm`.
    RmsNorm = 3,
    /// `k_rope`.
    Rope = 4,
    /// `k_soft_max`.
    SoftMax = 5,
    /// `k_eltwise`.
    Add = 6,
    /// `k_eltwise`.
    Mul = 7,
    /// `k_eltwise`.
    Silu = 8,
    /// `k_eltwise`.
    Swiglu = 9,
    /// `k_get_rows`.
    GetRows = 10,
    /// `k_cpy`.
    Cpy = 11,
    /// `k_attention`.
    Attention = 12,
    /// `b_stream`.
    StreamRead = 13,
    /// `b_stream`.
    StreamCopy = 14,
    /// `b_chase`.
    PointerChase = 15,
}

impl OpCode {
    /// Sources whose *contents* steer the kernel's addresses or control flow, so that two
    /// invocations with the same descriptor can take different cycles when these bytes differ:
    /// get_rows reads the rows its index tensor names, and the pointer chase follows the
    /// pointers it loads. Every other kernel is written to be branch-free on data and to read
    /// and write addresses fixed by the descriptor (doc/kernels.md, tested per kernel in
    /// tests/suite/external/kernels_emulator.rs), and the timing model's latencies depend on instruction
    /// classes, vector configuration and addresses, never on operand values, so their cycles
    /// are a function of (program, descriptor) on an idle memory system.
    pub fn data_steered_sources(self) -> &'static [usize] {
        match self {
            OpCode::GetRows => &[1],
            OpCode::PointerChase => &[0],
            _ => &[],
        }
    }
}

/// One tensor of a descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorDesc {
    /// GGML type id.
    pub type_id: u32,
    /// Elements per dimension.
    pub ne: [i64; 4],
    /// Byte strides.
    pub nb: [u64; 4],
    /// Guest address of element 0.
    pub data: u64,
}

impl TensorDesc {
    /// A contiguous tensor of `dtype` with shape `ne` at `data`.
    /// `ne[0]` must be a whole number of blocks.
    pub fn contiguous(dtype: GgmlType, ne: [u64; 4], data: u64) -> Self {
        let row = dtype.row_bytes(ne[0]).unwrap_or(0);
        let nb0 = dtype.block_bytes();
        Self {
            type_id: dtype.id(),
            ne: ne.map(|x| x as i64),
            nb: [nb0, row, row * ne[1], row * ne[1] * ne[2]],
            data,
        }
    }

    /// Bytes from `data` to one past the last byte of the last element (the tensor's span
    /// under its strides); `None` for an unknown type or a negative extent.
    pub fn span_bytes(&self) -> Option<u64> {
        let dtype = GgmlType::from_id(self.type_id)?;
        let ne0 = u64::try_from(self.ne[0]).ok()?;
        let mut span = dtype.row_bytes(ne0)?;
        for i in 1..4 {
            let n = u64::try_from(self.ne[i]).ok()?;
            span = span.checked_add(n.checked_sub(1)?.checked_mul(self.nb[i])?)?;
        }
        Some(span)
    }

    fn pack(&self, out: &mut [u8]) {
        out[0..4].copy_from_slice(&self.type_id.to_le_bytes());
        out[4..8].fill(0);
        for i in 0..4 {
            out[8 + 8 * i..16 + 8 * i].copy_from_slice(&self.ne[i].to_le_bytes());
            out[40 + 8 * i..48 + 8 * i].copy_from_slice(&self.nb[i].to_le_bytes());
        }
        out[72..80].copy_from_slice(&self.data.to_le_bytes());
    }
}

/// A whole descriptor.
#[derive(Debug, Clone, PartialEq)]
pub struct OpDesc {
    /// The op.
    pub op: OpCode,
    /// Work buffer (address, bytes); (0, 0) for none.
    pub work: (u64, u64),
    /// Parameters (f32 stored as bits).
    pub params: [i32; 16],
    /// Destination.
    pub dst: TensorDesc,
    /// Sources (at most 4).
    pub src: Vec<TensorDesc>,
}

impl OpDesc {
    /// Stores an f32 parameter.
    pub fn set_f32(&mut self, i: usize, v: f32) {
        self.params[i] = v.to_bits() as i32;
    }

    /// The 496 bytes the kernel reads.
    pub fn pack(&self) -> [u8; OP_BYTES] {
        assert!(self.src.len() <= 4, "at most 4 sources");
        let mut b = [0u8; OP_BYTES];
        b[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        b[4..6].copy_from_slice(&VERSION.to_le_bytes());
        b[6..8].copy_from_slice(&(self.op as u16).to_le_bytes());
        b[8..12].copy_from_slice(&(self.src.len() as u32).to_le_bytes());
        b[16..24].copy_from_slice(&self.work.0.to_le_bytes());
        b[24..32].copy_from_slice(&self.work.1.to_le_bytes());
        for (i, p) in self.params.iter().enumerate() {
            b[32 + 4 * i..36 + 4 * i].copy_from_slice(&p.to_le_bytes());
        }
        self.dst.pack(&mut b[96..176]);
        for (i, s) in self.src.iter().enumerate() {
            s.pack(&mut b[176 + 80 * i..256 + 80 * i]);
        }
        b
    }
}
