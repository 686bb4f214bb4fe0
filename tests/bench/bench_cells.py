#!/usr/bin/python3
"""bench_cells.py — does a long session slow cells down? cairn vs ipykernel, one run.

  /usr/bin/python3 tests/bench/bench_cells.py [--kernel build/kernel/cairn-kernel]
                                              [--cells 500] [--repeats 21] [--side-rounds 40]

Both kernels get the same session, cell by cell: every cell defines a variable and a
function that uses it, every 5th cell a struct type (a class for Python) and a value of
it, every cell after the first calls the previous cell's function. At 1, 100 and 500
accumulated cells each kernel runs
  trivial    `x = 1;` (x defined at the start)       -> execute_reply, median of repeats
  200 lines  200 statements reading earlier cells' variables (`w = w * 0.5 + v17;`)
(the two kernels alternate in blocks, so a busy moment of the machine weighs on both).
Prints medians, the ratios cairn/ipykernel, and cairn's cell-500/cell-1 ratio, then the
same growth measured side by side: a fresh kernel holding one cell and the 500-cell
session run the same cells alternately in one window, so the machine's drift over the
minutes between checkpoints does not enter the ratio.
Goal from the issue: cell 500 no slower than 1.2 x cell 1. Not a test: nothing asserted.
--callgrind N also counts cairn's instructions per cell under valgrind's callgrind (every
process of the kernel) for the trivial and the 200-line cell after 1 and after --cells
cells: the difference between a run with N more such cells and one without, over N. Those
figures repeat where times drift (slow: the session is built under callgrind each time).
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_kernel import RawKernel, callgrind_instructions  # noqa: E402


def c_cell(i):
    lines = ["double v%d = %d * 0.5;" % (i, i),
             "double f%d(double a) { return a * v%d + %d; }" % (i, i, i)]
    if i % 5 == 0:
        lines.append("typedef struct { double a, b; int n; } s%d_t;" % i)
        lines.append("s%d_t s%d = {1, 2, %d};" % (i, i, i))
    if i > 1:
        lines.append("double g%d = f%d(v%d);" % (i, i - 1, i - 1))
    return "\n".join(lines)


def py_cell(i):
    lines = ["v%d = %d * 0.5" % (i, i),
             "def f%d(a):\n    return a * v%d + %d" % (i, i, i)]
    if i % 5 == 0:
        lines.append("class S%d:\n    def __init__(self, a, b, n):\n        self.a, self.b, self.n = a, b, n" % i)
        lines.append("s%d = S%d(1, 2, %d)" % (i, i, i))
    if i > 1:
        lines.append("g%d = f%d(v%d)" % (i, i - 1, i - 1))
    return "\n".join(lines)


def long_cell(n_defined, python):
    """200 statements, each reading one of the variables defined so far."""
    end = "" if python else ";"
    return "\n".join("w = w * 0.5 + v%d%s" % (1 + (k * 37) % n_defined, end) for k in range(200))


KERNELS = {
    "cairn": dict(setup="int x = 0;\ndouble w = 0;", trivial="x = 1;", cell=c_cell, python=False),
    "ipykernel": dict(setup="x = 0\nw = 0.0", trivial="x = 1", cell=py_cell, python=True),
}


def started(argv, tmp, spec, cells):
    """A kernel with the setup cell and `cells` definition cells run, warmed up."""
    k = RawKernel(argv, tmp)
    k.start()
    time.sleep(0.3)
    k.round_trip(spec["setup"])
    for i in range(1, cells + 1):
        k.round_trip(spec["cell"](i))
    for _ in range(5):
        k.round_trip(spec["trivial"])  # warm up (first-cell costs, iopub subscription)
    return k


def timed(k, code, repeats):
    return [k.round_trip(code)[0] for _ in range(repeats)]


def callgrind_per_cell(binary, defined, python_code, n, tmp):
    """Instructions per cell of `python_code` (a function of the cells defined) in a cairn
    session holding `defined` definition cells."""
    spec = KERNELS["cairn"]

    def setup(k):
        k.round_trip(spec["setup"])
        for i in range(1, defined + 1):
            k.round_trip(spec["cell"](i))

    code = python_code(defined)
    argv = [binary, "-f", "{connection_file}"]
    base = callgrind_instructions(argv, code, 0, tmp, setup)
    more = callgrind_instructions(argv, code, n, tmp, setup)
    return (more - base) / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--kernel", default=os.path.join(HERE, "..", "..", "build", "kernel", "cairn-kernel"))
    ap.add_argument("--cells", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--side-rounds", type=int, default=40,
                    help="rounds of the side-by-side comparison (each: a block of %d per kernel and cell)" % 5)
    ap.add_argument("--callgrind", type=int, default=0, metavar="N",
                    help="also count cairn's instructions per cell under callgrind over N cells")
    ap.add_argument("--no-time", action="store_true", help="only the callgrind counts")
    args = ap.parse_args()
    binary = os.path.abspath(args.kernel)
    if not os.access(binary, os.X_OK):
        sys.exit("bench_cells: no kernel binary at %s (build first or pass --kernel)" % binary)
    if args.callgrind:
        counts = {}
        with tempfile.TemporaryDirectory() as tmp:
            for defined in (1, args.cells):
                for what, fn in (("trivial", lambda n: KERNELS["cairn"]["trivial"]),
                                 ("200 lines", lambda n: long_cell(n, False))):
                    counts[defined, what] = callgrind_per_cell(binary, defined, fn, args.callgrind, tmp)
                    print("cairn callgrind after %3d cells  %-9s %.3f M instructions per cell (all kernel processes)" %
                          (defined, what, counts[defined, what] / 1e6))
        for what in ("trivial", "200 lines"):
            print("cairn callgrind cell %d / cell 1: %-9s %.3f   (goal <= 1.2)" %
                  (args.cells, what, counts[args.cells, what] / counts[1, what]))
        print()
        if args.no_time:
            return
    checkpoints = sorted({1, min(100, args.cells), args.cells})
    print("bench_cells: medians of %d round trips (execute_request -> execute_reply), %d CPUs, load %.1f" %
          (args.repeats, os.cpu_count(), os.getloadavg()[0]))
    argv = {"cairn": [binary, "-f", "{connection_file}"],
            "ipykernel": ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"]}
    res = {name: {} for name in KERNELS}
    block = 5
    with tempfile.TemporaryDirectory() as tmp:
        running = {name: started(argv[name], tmp, spec, 0) for name, spec in KERNELS.items()}
        defined = 0
        accumulate_time = {name: 0.0 for name in KERNELS}
        for cp in checkpoints:
            while defined < cp:
                defined += 1
                for name, spec in KERNELS.items():
                    t0 = time.perf_counter()
                    running[name].round_trip(spec["cell"](defined))
                    accumulate_time[name] += time.perf_counter() - t0
            trivial = {name: [] for name in KERNELS}
            longc = {name: [] for name in KERNELS}
            for _ in range(max(1, args.repeats // block)):
                for name, spec in KERNELS.items():
                    trivial[name] += timed(running[name], spec["trivial"], block)
                    longc[name] += timed(running[name], long_cell(defined, spec["python"]), block)
            for name in KERNELS:
                res[name][cp] = (statistics.median(trivial[name]), statistics.median(longc[name]))
                print("after %3d cells  %-10s trivial %7.2f ms   200 lines %7.2f ms" %
                      (cp, name, 1e3 * res[name][cp][0], 1e3 * res[name][cp][1]))
        for name in KERNELS:
            print("%-10s accumulating %d definition cells took %.2f s (%.2f ms per cell)" %
                  (name, defined, accumulate_time[name], 1e3 * accumulate_time[name] / defined))
        # The checkpoints above are minutes apart, and this machine's speed drifts
        # more than that: measure the growth again side by side, a fresh kernel holding
        # one cell against the long session, alternating in blocks in the same window.
        side = {name: {"fresh": ([], []), "long": ([], [])} for name in KERNELS}
        fresh = {name: started(argv[name], tmp, spec, 1) for name, spec in KERNELS.items()}
        for rnd in range(max(1, args.side_rounds)):
            for name, spec in KERNELS.items():
                pair = [("fresh", fresh[name], 1), ("long", running[name], defined)]
                for which, k, n in pair if rnd % 2 == 0 else pair[::-1]:  # neither always goes first
                    side[name][which][0].extend(timed(k, spec["trivial"], block))
                    side[name][which][1].extend(timed(k, long_cell(n, spec["python"]), block))
        for k in list(running.values()) + list(fresh.values()):
            k.stop()
    print()
    c, p = res["cairn"], res["ipykernel"]
    for cp in checkpoints:
        print("ratio cairn/ipykernel after %3d cells: trivial %.3f   200 lines %.3f" %
              (cp, c[cp][0] / p[cp][0], c[cp][1] / p[cp][1]))
    first, last = checkpoints[0], checkpoints[-1]
    print("cairn cell %d / cell %d: trivial %.3f   200 lines %.3f   (goal <= 1.2)" %
          (last, first, c[last][0] / c[first][0], c[last][1] / c[first][1]))
    print("ipykernel cell %d / cell %d: trivial %.3f   200 lines %.3f" %
          (last, first, p[last][0] / p[first][0], p[last][1] / p[first][1]))
    print()
    print("side by side (a fresh kernel with 1 cell vs the %d-cell one, alternating blocks of %d, %d each):" %
          (last, block, len(side["cairn"]["fresh"][0])))
    for name in KERNELS:
        f = [statistics.median(v) for v in side[name]["fresh"]]
        g = [statistics.median(v) for v in side[name]["long"]]
        print("%-10s trivial %.2f -> %.2f ms (%.3f)   200 lines %.2f -> %.2f ms (%.3f)%s" %
              (name, 1e3 * f[0], 1e3 * g[0], g[0] / f[0], 1e3 * f[1], 1e3 * g[1], g[1] / f[1],
               "   (goal <= 1.2)" if name == "cairn" else ""))


if __name__ == "__main__":
    main()
