#!/usr/bin/python3
"""bench_fork.py - the per-cell fork() snapshot: cairn_alloc (huge pages) vs malloc vs Python.

cairn forks the executor once per cell, so fork() time for a session holding a large
matrix is added to every cell. For each size this alternates rounds of
  - bench_fork cairn SIZE   (memory from cairn_alloc: mmap + MADV_HUGEPAGE),
  - bench_fork malloc SIZE  (plain malloc, 4 KiB pages),
  - Python os.fork() holding a touched NumPy array of SIZE (the peer: what forking a
    Python kernel holding the same data costs),
and prints the medians over rounds and the ratios. Goal: <= 5 ms for 1 GiB with cairn_alloc.

With --kernel it also measures what a user sees: the round trip of a trivial cell
through the real kernel while the session holds 1 GiB touched memory made by a cell as
a mat (cairn_alloc), with malloc (which cells get on huge pages, kernel/exec/cell_malloc.c)
and with a plain mmap (4 KiB pages: what malloc would cost without that).

Run: /usr/bin/python3 tests/bench/bench_fork.py [BUILD_DIR] [--sizes 256,1024] [--rounds 5] [--reps 11]
                                                [--kernel BUILD_DIR/kernel/cairn-kernel]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np


def python_fork(size_mib, reps):
    a = np.ones(size_mib << 17)  # 8-byte doubles: size_mib MiB, every page touched
    fork_ms, wait_ms = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        t1 = time.perf_counter()
        os.waitpid(pid, 0)
        t2 = time.perf_counter()
        fork_ms.append((t1 - t0) * 1e3)
        wait_ms.append((t2 - t0) * 1e3)
    del a
    return statistics.median(fork_ms), statistics.median(wait_ms)


def c_fork(binary, mode, size_mib, reps):
    out = subprocess.run([binary, mode, str(size_mib), str(reps)], capture_output=True,
                         text=True, check=True).stdout.split()
    # "<mode> <size> MiB fork_ms X fork_wait_ms Y huge_kib Z"
    return float(out[4]), float(out[6]), int(out[8])


SESSIONS = [
    ("empty session", ""),
    ("1 GiB mat (cairn_alloc)", "mat big = mat_zeros(1 << 14, 1 << 13);\n"
                                "for (size_t i = 0; i < ((size_t)1 << 27); i += 512) big.data[i] = 1;"),
    ("1 GiB malloc (cell malloc)", "char *big = malloc((size_t)1 << 30);\n"
                                   "for (size_t i = 0; i < ((size_t)1 << 30); i += 4096) big[i] = 1;"),
    ("1 GiB mmap, 4 KiB pages", "#include <sys/mman.h>\n"
                                "char *big = mmap(0, (size_t)1 << 30, PROT_READ | PROT_WRITE, "
                                "MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);\n"
                                "for (size_t i = 0; i < ((size_t)1 << 30); i += 4096) big[i] = 1;"),
]


def kernel_round_trips(kernel, cells):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "protocol"))
    os.environ["CAIRN_KERNEL"] = os.path.abspath(kernel)
    from harness import Kernel
    print("\ntrivial cell round trip through the kernel (median of %d cells)" % cells)
    base = None
    for label, setup in SESSIONS:
        with Kernel() as k:
            if setup:
                r = k.execute(setup, timeout=120)
                if r.status != "ok":
                    print("%-30s setup failed: %r" % (label, r))
                    continue
            times = []
            for i in range(cells):
                t0 = time.perf_counter()
                k.execute("int round_trip_%d = %d;" % (i, i))
                times.append((time.perf_counter() - t0) * 1e3)
            med = statistics.median(times)
            base = base if base is not None else med
            print("%-30s %8.2f ms   (+%.2f ms over the empty session)" % (label, med, med - base))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default=os.path.join(os.path.dirname(__file__), "..", "..", "build"))
    ap.add_argument("--sizes", default="256,1024")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=11)
    ap.add_argument("--kernel", help="also time cells through this cairn-kernel")
    ap.add_argument("--cells", type=int, default=15)
    args = ap.parse_args()
    binary = os.path.join(args.build, "tests", "bench", "bench_fork")
    if not os.access(binary, os.X_OK):
        sys.exit("bench_fork.py: %s not built" % binary)
    print("fork() snapshot cost, medians of %d rounds x %d forks" % (args.rounds, args.reps))
    print("%8s %22s %22s %22s %12s %12s" % ("MiB", "cairn_alloc fork/+wait", "malloc fork/+wait",
                                             "python fork/+wait", "malloc/cairn", "python/cairn"))
    for size in [int(s) for s in args.sizes.split(",")]:
        res = {"cairn": [], "malloc": [], "python": []}
        huge = 0
        for _ in range(args.rounds):
            f, w, huge = c_fork(binary, "cairn", size, args.reps)
            res["cairn"].append((f, w))
            f, w, _h = c_fork(binary, "malloc", size, args.reps)
            res["malloc"].append((f, w))
            res["python"].append(python_fork(size, args.reps))
        med = {k: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v))
               for k, v in res.items()}
        cell = lambda k: "%9.3f / %9.3f ms" % med[k]
        print("%8d %22s %22s %22s %12.1f %12.1f   (huge pages backing cairn: %d MiB)" % (
            size, cell("cairn"), cell("malloc"), cell("python"),
            med["malloc"][0] / med["cairn"][0], med["python"][0] / med["cairn"][0], huge >> 10))
    if args.kernel:
        kernel_round_trips(args.kernel, args.cells)


if __name__ == "__main__":
    main()
