/* Minimal bare-metal start-up for the kernel programs (used until the shared crt0 of
 * programs/ is available; see doc/kernels.md "Build").
 * Enables the FPU and the vector unit (mstatus.FS and mstatus.VS = Initial), clears fcsr,
 * sets sp and gp, zeroes .bss, calls sail_kernel(SAIL_DESC_ADDR) and exits with its result.
 */
    .section .text.start, "ax"
    .globl _start
_start:
    li      t0, (1 << 13) | (1 << 9)
    csrs    mstatus, t0
    csrwi   fcsr, 0
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      sp, __stack_top
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  li      a0, 0x81000000          /* SAIL_DESC_ADDR */
    call    sail_kernel
    tail    sail_exit
