"""Host-side check that k_rope's `kpow_rope` (programs/kernels/k_rope.c) gives the same bits as
`kpow` (programs/kernels/kmath.h) for rope's arguments: kpow((double)base, (double)(-2.0f /
(float)n_dims)) against kpow_rope((double)base, n_dims), base a positive finite f32, n_dims even
in 2..1024. Extracts both functions from the sources (so it checks the committed code), builds
them for the host with clang (`__builtin_fma` is one rounding; -ffp-contract=off as the kernels;
KPIN's register pins dropped: they only place loads) and compares:
  - every even n_dims with 13 chosen bases, and N random (base, n_dims) pairs;
  - with --all ND: every positive finite f32 base at n_dims ND (2^31 cases, about two minutes).
Usage: python testbench/tools/kpow_rope_check.py [N] [--all ND ...]; exit status 0 iff no
bit differs. Session 16: 30 M random pairs and --all 64 128: no difference.
"""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
KM = open(os.path.join(ROOT, "programs/kernels/kmath.h")).read()
KR = open(os.path.join(ROOT, "programs/kernels/k_rope.c")).read()


def grab(src, start, end):
    i = src.index(start)
    return src[i:src.index(end, i)]


code = r"""#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define KPIN(v) (void)0
""" + grab(KM, "static inline double dbits", "/* Round to nearest") + grab(
    KM, "static inline double kexp", "/* sin and cos of x") + grab(
    KR, "static const double KPOW_C", "/* tensor_check for").replace('"+f"', '"+x"').replace('"f"(', '"x"(') + r"""
static uint64_t rs = 88172645463325252ull;
static uint64_t xr(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return rs; }
static long bad;
static void one(float b, int nd) {
    double a = kpow((double)b, (double)(-2.0f / (float)nd)), c = kpow_rope((double)b, nd);
    if (memcmp(&a, &c, 8) && ++bad < 10) printf("differ: n_dims %d base %a: %a %a\n", nd, b, a, c);
}
int main(int argc, char **argv) {
    long n = 0;
    if (argc > 2) {
        int nd = atoi(argv[2]);
        for (uint32_t u = 1; u < 0x7f800000u; u++) { float b; memcpy(&b, &u, 4); one(b, nd); n++; }
    } else {
        static const float bases[] = {10000.f, 500000.f, 1000000.f, 1.f, 2.f, 0.5f, 1e-45f, 1.4e-45f,
                                      3.4028235e38f, 1e-38f, 1.17549435e-38f, 10.f, 160000.f};
        for (int nd = 2; nd <= 1024; nd += 2)
            for (unsigned k = 0; k < sizeof bases / sizeof *bases; k++) { one(bases[k], nd); n++; }
        for (long i = 0, N = atol(argv[1]); i < N; i++) {
            uint32_t u = (uint32_t)xr() & 0x7fffffffu;
            if (u >= 0x7f800000u || u == 0) continue;
            float b; memcpy(&b, &u, 4); one(b, 2 * (1 + (int)(xr() % 512))); n++;
        }
    }
    printf("%ld cases, %ld differ\n", n, bad);
    return bad != 0;
}
"""


def main():
    args = sys.argv[1:]
    alls = []
    if "--all" in args:
        i = args.index("--all")
        alls = [int(a) for a in args[i + 1:]]
        args = args[:i]
    n = args[0] if args else "30000000"
    with tempfile.TemporaryDirectory() as d:
        src, exe = os.path.join(d, "t.c"), os.path.join(d, "t")
        open(src, "w").write(code)
        cc = os.environ.get("CC") or shutil.which("clang") or "clang-19"
        subprocess.run([cc, "-O2", "-ffp-contract=off", "-march=native", "-o", exe, src], check=True)
        rc = subprocess.run([exe, n]).returncode
        for nd in alls:
            rc |= subprocess.run([exe, "0", str(nd)]).returncode
    sys.exit(rc)


if __name__ == "__main__":
    main()
