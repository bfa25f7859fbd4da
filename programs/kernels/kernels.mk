# Build rules for the GGML kernel set (doc/kernels.md "Build").
#
# Standalone:  make -f programs/kernels/kernels.mk              (bare-metal ELFs)
#              make -f programs/kernels/kernels.mk kernels-linux (Linux-static QEMU test programs)
# Included by programs/Makefile: provides the targets `kernels-bare`, `kernels-linux`,
# `kernels-clean` and the variable KERNELS_ELFS.
#
# Every program is one kernel family: <name>.c + the shared sources it lists below. The
# bare-metal ELF is linked with the shared start-up of programs/ (crt0.S, runtime.c, link.ld)
# and kmain.c; the Linux program with host_driver.c (reads a memory image, runs the kernel,
# writes the image back).

KERNELS_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
KERNELS_RT_DIR := $(KERNELS_DIR)/..
CLANG ?= clang-19
LLD ?= ld.lld-19

KERNELS_BARE_OUT ?= $(KERNELS_DIR)/elf
KERNELS_LINUX_OUT ?= $(KERNELS_DIR)/../../target/kernels-linux
KERNELS_OBJ_OUT ?= $(KERNELS_LINUX_OUT)/bare-obj

KERNEL_PROGRAMS := k_mul_mat k_quantize k_rms_norm k_rope k_soft_max k_eltwise k_get_rows \
                   k_cpy k_attention b_stream b_chase

# The Xpop_matmul variant needs programs/xpop.h (the matrix unit's wrappers); it has no Linux
# build, since QEMU has no matrix unit.
ifneq ($(wildcard $(KERNELS_DIR)/../xpop.h),)
KERNEL_BARE_ONLY := k_mul_mat_xpop k_attention_xpop
endif

# shared sources per program
KSRC_k_mul_mat := quants.c
KSRC_k_mul_mat_xpop := quants.c
KSRC_k_attention_xpop := quants.c
KSRC_k_quantize := quants.c
KSRC_k_cpy := quants.c

KERNEL_HEADERS := $(wildcard $(KERNELS_DIR)/*.h)

# -ffp-contract=off: every fused multiply-add in the kernels is written out (fmaf,
# vfmacc), so the numerics are what the source says (doc/kernels.md "Numerics").
# -fno-jump-tables: a switch's jump table sits in .rodata, in DDR (no data cache), so each
# lookup (the type switches of tensor_check, say) cost a DDR round trip; compares do not.
KERNEL_CFLAGS := -march=rv64gcv_zfh -mabi=lp64d -O2 -std=c11 -ffp-contract=off -fno-math-errno -fno-jump-tables \
                 -Wall -Wextra -Werror -I$(abspath $(KERNELS_DIR)) -I$(abspath $(KERNELS_DIR)/..)
KERNEL_BARE_CFLAGS := --target=riscv64-unknown-elf -mcmodel=medany -ffreestanding -nostdlib \
                      -fno-pic -fno-ident -fno-asynchronous-unwind-tables -fno-unwind-tables
# the shared runtime's memory functions must not be turned back into calls to themselves
KERNEL_RT_CFLAGS := -fno-builtin -fno-vectorize -fno-slp-vectorize
KERNEL_LINUX_CFLAGS := --target=riscv64-linux-gnu -static

KERNELS_ELFS := $(addprefix $(KERNELS_BARE_OUT)/,$(addsuffix .elf,$(KERNEL_PROGRAMS) $(KERNEL_BARE_ONLY)))
KERNELS_LINUX := $(addprefix $(KERNELS_LINUX_OUT)/,$(KERNEL_PROGRAMS))

.PHONY: kernels-bare kernels-linux kernels-clean
kernels-bare: $(KERNELS_ELFS)
kernels-linux: $(KERNELS_LINUX)

# Objects are compiled from inside $(KERNELS_DIR) with bare file names, so nothing in an ELF
# depends on where the tree is checked out (the committed ELFs must rebuild byte for byte).
define KERNEL_PROGRAM_RULES
$(KERNELS_BARE_OUT)/$(1).elf: $(KERNELS_DIR)/$(1).c $(addprefix $(KERNELS_DIR)/,$(KSRC_$(1))) \
        $(KERNELS_DIR)/kmain.c $(KERNELS_RT_DIR)/crt0.S $(KERNELS_RT_DIR)/runtime.c \
        $(KERNELS_RT_DIR)/link.ld $(KERNEL_HEADERS)
	@mkdir -p $(KERNELS_BARE_OUT) $(KERNELS_OBJ_OUT)/$(1)
	@echo "  CC+LD   $$@"
	@cd $(KERNELS_RT_DIR) && $(CLANG) $(KERNEL_CFLAGS) $(KERNEL_BARE_CFLAGS) -c crt0.S \
	    -o $(abspath $(KERNELS_OBJ_OUT))/$(1)/crt0.o
	@cd $(KERNELS_RT_DIR) && $(CLANG) $(KERNEL_CFLAGS) $(KERNEL_BARE_CFLAGS) $(KERNEL_RT_CFLAGS) \
	    -c runtime.c -o $(abspath $(KERNELS_OBJ_OUT))/$(1)/runtime.o
	@for s in kmain.c $(1).c $(KSRC_$(1)); do \
	    (cd $(KERNELS_DIR) && $(CLANG) $(KERNEL_CFLAGS) $(KERNEL_BARE_CFLAGS) -c $$$$s \
	        -o $(abspath $(KERNELS_OBJ_OUT))/$(1)/$$$${s%.*}.o) || exit 1; \
	done
	@$(LLD) -T $(KERNELS_RT_DIR)/link.ld --no-relax-gp -static -o $$@ \
	    $(addprefix $(KERNELS_OBJ_OUT)/$(1)/,crt0.o kmain.o $(1).o $(KSRC_$(1):.c=.o) runtime.o)

$(KERNELS_LINUX_OUT)/$(1): $(KERNELS_DIR)/$(1).c $(addprefix $(KERNELS_DIR)/,$(KSRC_$(1))) \
        $(KERNELS_DIR)/host_driver.c $(KERNEL_HEADERS)
	@mkdir -p $(KERNELS_LINUX_OUT)
	@echo "  CC      $$@"
	@$(CLANG) $(KERNEL_CFLAGS) $(KERNEL_LINUX_CFLAGS) -o $$@ $(KERNELS_DIR)/host_driver.c \
	    $(KERNELS_DIR)/$(1).c $(addprefix $(KERNELS_DIR)/,$(KSRC_$(1)))
endef
$(foreach p,$(KERNEL_PROGRAMS) $(KERNEL_BARE_ONLY),$(eval $(call KERNEL_PROGRAM_RULES,$(p))))

kernels-clean:
	rm -rf $(KERNELS_LINUX_OUT)

# Standalone default goal; programs/Makefile sets its own when it includes this file.
ifeq ($(words $(MAKEFILE_LIST)),1)
.DEFAULT_GOAL := kernels-bare
endif
