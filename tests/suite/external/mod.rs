//! Differential and oracle tests against outside tools and references.

mod cluster_hyperqueue;
mod hart_disasm;
mod kernels_abi;
mod kernels_emulator;
mod kernels_qemu;
mod logits_oracle;
mod matmul_oracle;
mod matmul_xpop_h;
mod qemu_scalar;
mod qemu_vector;
mod qemu_vector_elf;
mod vector_decode_llvm;
mod workload_gguf;
