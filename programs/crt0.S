/* Entry of every bare-metal Sail program: set gp, keep the loader's sp (or fall back to
   __stack_top), clear .bss, call main, exit with its return value (ecall 93). */
    .section .text.start, "ax"
    .globl _start
_start:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    bnez    sp, 1f
    la      sp, __stack_top
1:  la      t0, __bss_start
    la      t1, __bss_end
2:  bgeu    t0, t1, 3f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       2b
3:  call    main
    li      a7, 93
    ecall
4:  j       4b
