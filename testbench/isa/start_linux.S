/* Entry of the Linux-static builds of the differential tests: the kernel has set sp;
   call main and exit with its return value. */
    .section .text.start, "ax"
    .globl _start
_start:
    call    main
    li      a7, 93
    ecall
1:  j       1b
