/* Linux-static test driver: runs one kernel under qemu-riscv64 on a memory image.
 *
 *   driver IN.img OUT.img
 *
 * IN.img is a memory image (format below, written by testbench/kernels/kimage.py): the
 * descriptor segment at SAIL_DESC_ADDR plus every tensor segment at its guest address.
 * The driver maps the span of the segments at exactly those addresses (a static binary
 * under qemu-user leaves 0x8100_0000 and up free), calls sail_kernel() with the
 * descriptor, writes every segment back to OUT.img in the same format (so a kernel that
 * scribbles over its inputs is caught too) and exits with the kernel's status.
 *
 * Image format, little-endian:
 *   "SAILIMG1" (8 bytes), u32 segment count, u32 0,
 *   per segment: u64 address, u64 length, the bytes, zero padding to a multiple of 8.
 * Driver failures (I/O, mapping) exit with 100 + a reason, far from the kernel statuses.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kcommon.h"

#define MAX_SEGS 64

struct seg {
    uint64_t addr, len;
    uint8_t *mem;
};

static int fail(int code, const char *what, const char *path) {
    fprintf(stderr, "driver: %s: %s\n", path, what);
    return code;
}

static int read_exact(FILE *f, void *p, size_t n) {
    return fread(p, 1, n, f) == n;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s IN.img OUT.img\n", argv[0]);
        return 100;
    }
    FILE *in = fopen(argv[1], "rb");
    if (!in) {
        return fail(101, "cannot open", argv[1]);
    }
    fseek(in, 0, SEEK_END);
    long size = ftell(in);
    fseek(in, 0, SEEK_SET);
    uint8_t *file = malloc((size_t)size);
    if (size < 16 || !file || !read_exact(in, file, (size_t)size)) {
        return fail(102, "cannot read", argv[1]);
    }
    fclose(in);
    uint32_t hdr[2];
    memcpy(hdr, file + 8, 8);
    if (memcmp(file, "SAILIMG1", 8) != 0 || hdr[0] > MAX_SEGS) {
        return fail(102, "not a SAILIMG1 image", argv[1]);
    }

    /* pass 1: segment table and the span of guest memory it covers */
    struct seg segs[MAX_SEGS];
    uint32_t nseg = hdr[0];
    uint64_t off = 16, lo = UINT64_MAX, hi = 0;
    for (uint32_t i = 0; i < nseg; i++) {
        uint64_t h[2];
        if (off + 16 > (uint64_t)size) {
            return fail(103, "truncated segment header", argv[1]);
        }
        memcpy(h, file + off, 16);
        off += 16;
        if (h[1] > (uint64_t)size || off + h[1] > (uint64_t)size) {
            return fail(105, "truncated segment data", argv[1]);
        }
        segs[i].addr = h[0];
        segs[i].len = h[1];
        segs[i].mem = file + off; /* source bytes for now */
        off += h[1] + (8 - h[1] % 8) % 8;
        if (h[0] < lo) {
            lo = h[0];
        }
        if (h[0] + h[1] > hi) {
            hi = h[0] + h[1];
        }
    }

    /* pass 2: map the span at its guest address and copy the segments in */
    if (nseg > 0) {
        const uint64_t page = 4096;
        uint64_t start = lo & ~(page - 1);
        uint64_t end = (hi + page - 1) & ~(page - 1);
        void *m = mmap((void *)(uintptr_t)start, end - start, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (m != (void *)(uintptr_t)start) {
            return fail(104, "cannot map the image at its guest addresses", argv[1]);
        }
        for (uint32_t i = 0; i < nseg; i++) {
            uint8_t *dst = (uint8_t *)(uintptr_t)segs[i].addr;
            memcpy(dst, segs[i].mem, segs[i].len);
            segs[i].mem = dst;
        }
    }

    /* the card's scratchpad, which kernels use as scratch space */
    void *sp = mmap((void *)(uintptr_t)SAIL_SCRATCH_BASE, SAIL_SCRATCH_SIZE, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (sp != (void *)(uintptr_t)SAIL_SCRATCH_BASE) {
        return fail(104, "cannot map the scratchpad", argv[1]);
    }

    int status = sail_kernel((const struct sail_op *)(uintptr_t)SAIL_DESC_ADDR);

    FILE *out = fopen(argv[2], "wb");
    if (!out) {
        return fail(106, "cannot create", argv[2]);
    }
    fwrite("SAILIMG1", 1, 8, out);
    fwrite(hdr, 4, 2, out);
    for (uint32_t i = 0; i < nseg; i++) {
        uint64_t h[2] = {segs[i].addr, segs[i].len};
        fwrite(h, 8, 2, out);
        fwrite(segs[i].mem, 1, segs[i].len, out);
        static const uint8_t zeros[8];
        fwrite(zeros, 1, (8 - segs[i].len % 8) % 8, out);
    }
    if (fclose(out) != 0) {
        return fail(107, "write failed", argv[2]);
    }
    return status;
}
