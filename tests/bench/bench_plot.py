#!/usr/bin/python3
"""bench_plot.py - cairn figures side by side with matplotlib's Agg backend, in one run.

For each case it alternates rounds: one run of the C program (bench_plot, built by
meson) and one of the matplotlib equivalent, each doing a warm-up then REPS timed
repeats (build the figure from the data, render PNG bytes in memory, free it; imports
and font loading excluded), so both see the same machine load. Prints the median time
of each and the ratio cairn / matplotlib (the goal is <= 0.1).
matplotlib uses matplotlib.figure.Figure directly (no pyplot state), its cheapest path.

Run: /usr/bin/python3 tests/bench/bench_plot.py [BUILD_DIR] [--rounds N] [--reps N]
     [--cases line,imshow,grid] [--big]   (--big adds heatmap_10k and scatter_1e6)
"""
import argparse
import io
import os
import statistics
import sys

import matplotlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import run_c, time_python  # noqa: E402
matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

LINE_N, IMG, GRID_ROWS, GRID_COLS, MAP = 1000, 28, 4, 8, 12


def mpl_case(case):
    rng = np.random.default_rng(1)
    if case == "line":
        x = np.arange(LINE_N) * 10.0 / LINE_N
        y = np.sin(x)

        def draw():
            fig = Figure(figsize=(6, 4), dpi=100)
            fig.subplots().plot(x, y)
            return fig
    elif case == "imshow":
        a = rng.random((IMG, IMG))

        def draw():
            fig = Figure(figsize=(6.4, 4.8), dpi=100)
            fig.subplots().imshow(a, cmap="viridis")
            return fig
    elif case == "grid":
        maps = rng.random((GRID_ROWS * GRID_COLS, MAP, MAP))

        def draw():
            fig = Figure(figsize=(6.4, 4.8), dpi=100)
            axes = fig.subplots(GRID_ROWS, GRID_COLS)
            for i, ax in enumerate(axes.flat):
                ax.imshow(maps[i], cmap="viridis")
                ax.set_title("map %d" % i, fontsize=7)
                ax.axis("off")
            return fig
    elif case == "heatmap_10k":
        a = rng.random((10000, 10000))

        def draw():
            fig = Figure(figsize=(6.4, 4.8), dpi=100)
            ax = fig.subplots()
            fig.colorbar(ax.imshow(a, cmap="viridis", aspect="auto"), ax=ax)
            return fig
    elif case == "scatter_1e6":
        x = rng.standard_normal(1000000)
        y = rng.standard_normal(1000000)

        def draw():
            fig = Figure(figsize=(6.4, 4.8), dpi=100)
            fig.subplots().scatter(x, y, s=2)
            return fig
    else:
        raise SystemExit("unknown case " + case)

    def render():
        buf = io.BytesIO()
        draw().savefig(buf, format="png")
        return buf.getbuffer().nbytes
    return render





def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir", nargs="?", default=os.path.join(here, "..", "..", "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--cases", default="line,imshow,grid")
    ap.add_argument("--big", action="store_true")
    args = ap.parse_args()
    exe = os.path.join(args.build_dir, "tests", "bench", "bench_plot")
    if not os.path.exists(exe):
        sys.exit("no %s: build first (ninja -C %s)" % (exe, args.build_dir))
    cases = args.cases.split(",") + (["heatmap_10k", "scatter_1e6"] if args.big else [])
    print("matplotlib %s (Agg), %d rounds x %d reps, medians; ratio = cairn time / matplotlib time (goal <= 0.1)"
          % (matplotlib.__version__, args.rounds, args.reps))
    print("%-12s %10s %14s %7s" % ("case", "cairn ms", "matplotlib ms", "ratio"))
    for case in cases:
        big = case in ("heatmap_10k", "scatter_1e6")
        rounds, reps = (2, 1) if big else (args.rounds, args.reps)
        fn = mpl_case(case)
        c_times, m_times = [], []
        for _ in range(rounds):
            c_times += run_c(exe, case, reps).get(case, [])
            m_times += time_python(fn, reps)
        del fn
        ct, mt = statistics.median(c_times), statistics.median(m_times)
        print("%-12s %10.3f %14.3f %7.3f" % (case, ct * 1e3, mt * 1e3, ct / mt), flush=True)


if __name__ == "__main__":
    main()
