/* The sail-emu kernel ABI: how a runner hands one GGML operation to a kernel program.
 *
 * A runner (the emulator's `kernel` runner, the llama graph executor, or the Linux test
 * driver under QEMU) writes one `struct sail_op` at SAIL_DESC_ADDR and the tensors it
 * points at anywhere else in guest memory, starts the program, and reads the destination
 * tensor back after the program exits. The exit code says whether the descriptor was
 * accepted (SAIL_OK) or why not. doc/kernels.md is the prose version of this header; the
 * two must agree byte for byte.
 *
 * Everything is little-endian, naturally aligned, with no implicit padding (the static
 * asserts at the bottom pin every offset).
 */
#ifndef SAIL_GGML_ABI_H
#define SAIL_GGML_ABI_H

#include <stdint.h>

/* ---- Where the descriptor lives ------------------------------------------------------ */

/* DDR starts at 0x8000_0000 on every Sail board (memory.base in every board file). The program
 * image, its data and its stack live in the first 16 MiB; the descriptor sits at the start
 * of the next 16 MiB, and the runner places tensors at or above SAIL_TENSOR_BASE. */
#define SAIL_DDR_BASE 0x80000000ull
#define SAIL_DESC_OFFSET 0x01000000ull
#define SAIL_DESC_ADDR (SAIL_DDR_BASE + SAIL_DESC_OFFSET) /* 0x8100_0000 */
#define SAIL_DESC_SIZE 0x1000ull                          /* one 4 KiB page is reserved */
#define SAIL_TENSOR_BASE (SAIL_DESC_ADDR + SAIL_DESC_SIZE)  /* 0x8100_1000 */

/* The card's scratchpad (scratchpad.base/size in the board files): single-cycle SRAM that
 * belongs to the running kernel. Kernels stage reused operands there (converted activations,
 * scores); its contents are undefined when a kernel starts and are not part of any result.
 * The bare-metal start-up (kmain.c) copies the descriptor into the scratchpad's last
 * SAIL_DESC_COPY_SIZE bytes before it calls the kernel, so that the kernel's many reads of
 * it are single-cycle rather than DDR round trips (the core has no data cache); kernels may
 * use the SAIL_SCRATCH_SIZE bytes below it. */
#define SAIL_SCRATCH_BASE 0x20000000ull
#define SAIL_SCRATCH_PHYS_SIZE 0x40000ull /* 256 KiB */
#define SAIL_DESC_COPY_SIZE 0x200ull      /* a struct sail_op (496 bytes), rounded up */
#define SAIL_SCRATCH_SIZE (SAIL_SCRATCH_PHYS_SIZE - SAIL_DESC_COPY_SIZE)
#define SAIL_DESC_COPY_ADDR (SAIL_SCRATCH_BASE + SAIL_SCRATCH_SIZE)

#define SAIL_OP_MAGIC 0x504f4b53u /* "SKOP" read as little-endian bytes 'S','K','O','P' */
#define SAIL_OP_VERSION 1u

/* ---- Tensor element types: GGML's own enum values (ggml.h, enum ggml_type) ------------ */
enum sail_type {
    SAIL_TYPE_F32 = 0,
    SAIL_TYPE_F16 = 1,
    SAIL_TYPE_Q4_0 = 2,
    SAIL_TYPE_Q8_0 = 8,
    SAIL_TYPE_Q4_K = 12,
    SAIL_TYPE_Q6_K = 14,
    SAIL_TYPE_Q8_K = 15,
    SAIL_TYPE_I8 = 24,
    SAIL_TYPE_I32 = 26,
    SAIL_TYPE_I64 = 27,
    SAIL_TYPE_BF16 = 30,
};

/* ---- Operations ----------------------------------------------------------------------- */
/* The numbers are this ABI's own (GGML's op enum is renumbered between releases). Each
 * program implements one family; an op from another family is refused with SAIL_ERR_OP. */
enum sail_opcode {
    SAIL_OP_MUL_MAT = 1,     /* k_mul_mat.elf (RVV), k_mul_mat_xpop.elf (Xpop_matmul) */
    SAIL_OP_QUANTIZE = 2,    /* k_quantize.elf: F32 rows -> Q8_0 / Q8_K */
    SAIL_OP_RMS_NORM = 3,    /* k_rms_norm.elf */
    SAIL_OP_ROPE = 4,        /* k_rope.elf */
    SAIL_OP_SOFT_MAX = 5,    /* k_soft_max.elf */
    SAIL_OP_ADD = 6,         /* k_eltwise.elf */
    SAIL_OP_MUL = 7,         /* k_eltwise.elf */
    SAIL_OP_SILU = 8,        /* k_eltwise.elf */
    SAIL_OP_SWIGLU = 9,      /* k_eltwise.elf: silu(src0) * src1 */
    SAIL_OP_GET_ROWS = 10,   /* k_get_rows.elf */
    SAIL_OP_CPY = 11,        /* k_cpy.elf: type conversion copy (F32 -> F16 KV cache) */
    SAIL_OP_ATTENTION = 12,  /* k_attention.elf: softmax(q.k^T*scale + mask).v, GQA */
    SAIL_OP_STREAM_READ = 13,  /* b_stream.elf: read every byte of src0 */
    SAIL_OP_STREAM_COPY = 14,  /* b_stream.elf: copy src0 to dst */
    SAIL_OP_POINTER_CHASE = 15, /* b_chase.elf: follow a chain of offsets */
};

/* ---- Exit codes ----------------------------------------------------------------------- */
enum sail_status {
    SAIL_OK = 0,
    SAIL_ERR_DESC = 1,       /* bad magic or version at SAIL_DESC_ADDR */
    SAIL_ERR_OP = 2,         /* op not implemented by this program */
    SAIL_ERR_TYPE = 3,       /* unsupported type (combination) */
    SAIL_ERR_SHAPE = 4,      /* ne[] inconsistent, or not a multiple of the block size */
    SAIL_ERR_STRIDE = 5,     /* nb[] not supported (e.g. a quantized row that is not contiguous) */
    SAIL_ERR_WORK = 6,       /* work buffer missing or too small */
    SAIL_ERR_PARAM = 7,      /* op parameter outside what the kernel implements */
    SAIL_ERR_INDEX = 8,      /* an index tensor holds an out-of-range row */
    SAIL_ERR_XPOP = 9,       /* the Xpop_matmul unit reported an error */
};

/* ---- The descriptor --------------------------------------------------------------------- */

/* One tensor, as ggml_tensor describes it: element (i0,i1,i2,i3) lives at
 * data + i0*nb[0] + i1*nb[1] + i2*nb[2] + i3*nb[3] (for block types, i0 counts blocks and
 * nb[0] is the block size in bytes). Unused dimensions have ne = 1. */
struct sail_tensor {
    uint32_t type;   /* enum sail_type */
    uint32_t flags;  /* 0; reserved */
    int64_t ne[4];   /* elements per dimension (ne[0] counts elements, not blocks) */
    uint64_t nb[4];  /* byte stride per dimension */
    uint64_t data;   /* guest physical address of element (0,0,0,0) */
};

#define SAIL_MAX_SRC 4

struct sail_op {
    uint32_t magic;       /* SAIL_OP_MAGIC */
    uint16_t version;     /* SAIL_OP_VERSION */
    uint16_t op;          /* enum sail_opcode */
    uint32_t n_src;       /* sources used (0..SAIL_MAX_SRC); src[i >= n_src] are ignored */
    uint32_t flags;       /* 0; reserved */
    uint64_t wdata;       /* work buffer address (0 = none) */
    uint64_t wsize;       /* work buffer size in bytes */
    int32_t params[16];   /* op parameters; floats stored as their f32 bit pattern */
    struct sail_tensor dst;
    struct sail_tensor src[SAIL_MAX_SRC];
};

/* Parameter slots (index into params[]). ROPE uses GGML's own op_params layout. */
#define SAIL_P_RMS_EPS 0          /* f32 */
#define SAIL_P_SOFTMAX_SCALE 0    /* f32 */
#define SAIL_P_SOFTMAX_MAX_BIAS 1 /* f32, must be 0 (no ALiBi) */
#define SAIL_P_SOFTMAX_CAUSAL 2   /* i32: 1 = mask column j when j > n_past + row */
#define SAIL_P_SOFTMAX_N_PAST 3   /* i32 */
#define SAIL_P_ROPE_N_PAST 0      /* i32: positions n_past + i when there is no positions tensor */
#define SAIL_P_ROPE_N_DIMS 1      /* i32 */
#define SAIL_P_ROPE_MODE 2        /* i32: 0 normal (llama), 2 neox */
#define SAIL_P_ROPE_N_CTX_ORIG 4  /* i32, unused when ext_factor == 0 */
#define SAIL_P_ROPE_FREQ_BASE 5   /* f32 */
#define SAIL_P_ROPE_FREQ_SCALE 6  /* f32 */
#define SAIL_P_ROPE_EXT_FACTOR 7  /* f32, must be 0 (no YaRN ramp) */
#define SAIL_P_ROPE_ATTN_FACTOR 8 /* f32 */
#define SAIL_P_ATTN_SCALE 0       /* f32 */
#define SAIL_P_ATTN_MAX_BIAS 1    /* f32, must be 0 */
#define SAIL_P_ATTN_CAUSAL 2      /* i32 */
#define SAIL_P_ATTN_N_PAST 3      /* i32 */
#define SAIL_P_STREAM_REPEAT 0    /* i32 >= 1 */
#define SAIL_P_CHASE_STEPS_LO 0   /* u32 */
#define SAIL_P_CHASE_STEPS_HI 1   /* u32 */

#define SAIL_ROPE_MODE_NORMAL 0
#define SAIL_ROPE_MODE_NEOX 2

_Static_assert(sizeof(struct sail_tensor) == 80, "sail_tensor is 80 bytes");
_Static_assert(__builtin_offsetof(struct sail_tensor, ne) == 8, "ne at 8");
_Static_assert(__builtin_offsetof(struct sail_tensor, nb) == 40, "nb at 40");
_Static_assert(__builtin_offsetof(struct sail_tensor, data) == 72, "data at 72");
_Static_assert(__builtin_offsetof(struct sail_op, wdata) == 16, "wdata at 16");
_Static_assert(__builtin_offsetof(struct sail_op, params) == 32, "params at 32");
_Static_assert(__builtin_offsetof(struct sail_op, dst) == 96, "dst at 96");
_Static_assert(__builtin_offsetof(struct sail_op, src) == 176, "src at 176");
_Static_assert(sizeof(struct sail_op) == 496, "sail_op is 496 bytes");

#endif
