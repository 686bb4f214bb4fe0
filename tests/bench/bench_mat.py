#!/usr/bin/python3
"""bench_mat.py - libcairn matrix operations side by side with NumPy, in the same run.

For each operation it alternates rounds: one run of the C program (bench_mat, built by
meson) and one of the NumPy equivalent, each doing a warm-up then REPS timed repeats,
so both see the same machine load. It prints the median time of each, the ratio
NumPy/cairn (> 1 means cairn is faster) and GF/s for the products.
Both use the system OpenBLAS (Debian's NumPy links libblas.so.3 -> openblas-pthread).

Run: /usr/bin/python3 tests/bench/bench_mat.py [BUILD_DIR] [--rounds N] [--reps N] [--ops a,b]
"""
import argparse
import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import run_c, time_python  # noqa: E402

GEMM_N = 2000
EW_ROWS, EW_COLS = 5000, 1000
GRAM_ROWS, GRAM_COLS = 4000, 1000

FLOPS = {
    "dgemm": 2.0 * GEMM_N ** 3,
    "dgemm_into": 2.0 * GEMM_N ** 3,
    "gram": 1.0 * GRAM_ROWS * GRAM_COLS * GRAM_COLS,  # syrk: half of the AᵀA dgemm
}


def numpy_case(op):
    rng = np.random.default_rng(1)
    if op in ("dgemm", "dgemm_into"):
        a = rng.standard_normal((GEMM_N, GEMM_N))
        b = rng.standard_normal((GEMM_N, GEMM_N))
        c = np.zeros((GEMM_N, GEMM_N))
        if op == "dgemm":
            return lambda: a @ b
        return lambda: np.matmul(a, b, out=c)
    if op == "gram":
        a = rng.standard_normal((GRAM_ROWS, GRAM_COLS))
        return lambda: a.T @ a  # NumPy detects AᵀA and calls syrk too
    a = rng.standard_normal((EW_ROWS, EW_COLS))
    b = rng.standard_normal((EW_ROWS, EW_COLS))
    c = np.zeros((EW_ROWS, EW_COLS))
    return {
        "add": lambda: a + b,
        "add_into": lambda: np.add(a, b, out=c),
        "colsum": lambda: a.sum(axis=0),
        "colstd": lambda: a.std(axis=0),
        "rowsum": lambda: a.sum(axis=1),
        "colmax": lambda: a.max(axis=0),
        "scale": lambda: a * 2.5,
        "transpose": lambda: np.ascontiguousarray(a.T),
    }[op]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir", nargs="?", default=os.path.join(here, "..", "..", "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ops", default="dgemm,dgemm_into,gram,add,add_into,colsum,colstd,rowsum,colmax,scale,transpose")
    args = ap.parse_args()
    exe = os.path.join(args.build_dir, "tests", "bench", "bench_mat")
    if not os.path.exists(exe):
        sys.exit("no %s: build first (ninja -C %s)" % (exe, args.build_dir))
    print("numpy %s, %d rounds x %d reps, medians; ratio = numpy time / cairn time (> 1: cairn faster)"
          % (np.__version__, args.rounds, args.reps))
    print("%-11s %12s %12s %7s %s" % ("op", "cairn ms", "numpy ms", "ratio", "GF/s cairn / numpy"))
    for op in args.ops.split(","):
        fn = numpy_case(op)
        c_times, np_times = [], []
        for _ in range(args.rounds):
            c_times += run_c(exe, op, args.reps).get(op, [])
            np_times += time_python(fn, args.reps)
        del fn
        ct, nt = statistics.median(c_times), statistics.median(np_times)
        gf = ""
        if op in FLOPS:
            gf = "%.1f / %.1f (%.3f x numpy)" % (FLOPS[op] / ct / 1e9, FLOPS[op] / nt / 1e9, nt / ct)
        print("%-11s %12.3f %12.3f %7.2f %s" % (op, ct * 1e3, nt * 1e3, nt / ct, gf), flush=True)


if __name__ == "__main__":
    main()
