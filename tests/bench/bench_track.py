#!/usr/bin/python3
"""bench_track.py - tracking overhead and sweep speed-up, side by side, in one run.

1. Logging 100000 metric points to one run (the C program bench_track, built by meson),
   against the Python peers writing the same "timestamp value step" lines:
   - mlflow_way: what MLflow's FileStore.log_metric does per point (open the metric file in
     append mode, write one line, close it) - MLflow itself is not packaged in Debian;
   - buffered: one open file, Python's buffered writes (the cheapest Python can do).
   Goal: cairn <= 0.5 s for the 100000 points.
2. A 16-trial k-means sweep (k = 5..20, Fashion-MNIST test images in 50 PCA dimensions) on
   2 trial processes against the same 16 trials one after another in one process, with
   the largest relative difference of the 16 inertias. Goal: ratio <= 0.6, same results.
   (A sweep's ratio needs free cores: on a machine shared with other jobs it shows the load,
   so the CPU seconds of both are printed too: equal CPU means no overhead from the forks.)

Run: /usr/bin/python3 tests/bench/bench_track.py [BUILD_DIR] [--reps N] [--sweep-reps N]
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import run_c, time_python  # noqa: E402

N = 100000


def python_peers(tmp):
    path = os.path.join(tmp, "loss")

    def mlflow_way():
        if os.path.exists(path):
            os.remove(path)
        for i in range(N):
            ts = int(time.time() * 1000)
            with open(path, "a") as f:
                f.write("%d %s %d\n" % (ts, repr(1.0 / (i + 1)), i))

    def buffered():
        with open(path, "w") as f:
            for i in range(N):
                f.write("%d %s %d\n" % (int(time.time() * 1000), repr(1.0 / (i + 1)), i))
    return mlflow_way, buffered


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--sweep-reps", type=int, default=3)
    a = ap.parse_args()
    exe = os.path.join(a.build, "tests", "bench", "bench_track")
    tmp = tempfile.mkdtemp(prefix="cairn-bench-py-")
    try:
        mlflow_way, buffered = python_peers(tmp)
        c, mw, bf = [], [], []
        for _ in range(a.reps):  # alternate, so both see the same load
            c += run_c(exe, "metrics", 1)["metrics"]
            mw += time_python(mlflow_way, 1)
            bf += time_python(buffered, 1)
        mc, mm, mb = statistics.median(c), statistics.median(mw), statistics.median(bf)
        print("100000 metric points: cairn %.4f s | Python, MLflow FileStore's way %.3f s (ratio %.4f) | "
              "Python buffered %.4f s (ratio %.3f) | goal cairn <= 0.5 s: %s"
              % (mc, mm, mc / mm, mb, mc / mb, "met" if mc <= 0.5 else "NOT met"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if a.sweep_reps > 0:
        v = run_c(exe, "sweep", a.sweep_reps)
        p2, seq = statistics.median(v["sweep2"]), statistics.median(v["sequential"])
        print("16-trial k-means sweep: 2 processes %.3f s | sequential in one process %.3f s | ratio %.3f "
              "(goal <= 0.6) | max relative inertia difference %.3g | runs: %s"
              % (p2, seq, p2 / seq, max(v["maxreldiff"]), ", ".join("%.2f/%.2f" % x for x in zip(v["sweep2"], v["sequential"]))))
        c2, c1 = statistics.median(v["cpu2"]), statistics.median(v["cpu1"])
        print("   CPU time: trial processes %.3f s, sequential %.3f s (the same work); with two free cores the "
              "2-process wall time is bounded below by %.2f of the sequential one" % (c2, c1, c2 / 2 / c1))
        med = {k: statistics.median(v[k]) for k in ("user2", "sys2", "faults2", "parent_cpu2", "parent_faults2",
                                                     "user1", "sys1", "faults1")}
        print("   per trial (16): trial processes user %.1f ms + system %.1f ms, %.0f page faults; the sweep process "
              "%.1f ms, %.0f faults | sequential user %.1f ms + system %.1f ms, %.0f page faults"
              % (med["user2"] / 16e-3, med["sys2"] / 16e-3, med["faults2"] / 16, med["parent_cpu2"] / 16e-3,
                 med["parent_faults2"] / 16, med["user1"] / 16e-3, med["sys1"] / 16e-3, med["faults1"] / 16))
        print("load average at the end: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))


if __name__ == "__main__":
    main()
