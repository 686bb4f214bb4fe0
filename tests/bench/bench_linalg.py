#!/usr/bin/python3
"""bench_linalg.py - libcairn SVDs and IDX loading side by side with NumPy / scikit-learn.

Cases (Fashion-MNIST from the Debian package dataset-fashion-mnist):
  svd_thin        thin SVD of the 10000 x 784 test images / 255
                  vs np.linalg.svd(X, full_matrices=False)             goal: cairn <= 1.0 x numpy
  svd_randomized  rank 50, oversample 10, 7 power iterations, of the 60000 x 784 training images / 255
                  vs sklearn.utils.extmath.randomized_svd (same parameters)
                                                                        goal: cairn <= 0.5 x sklearn,
                                                                        error within 1 % of sklearn's
  idx_load        the gzip-compressed training images to a float64 matrix
                  vs gzip + np.frombuffer (+ astype float64 for the same result)  goal: cairn faster
It alternates rounds of the C program (tests/bench/bench_linalg, built by meson) and the
Python peer, each a warm-up then REPS timed repeats, so both see the same machine load,
and prints medians and the time ratio cairn / peer (< 1 means cairn is faster).
Both sides use the system OpenBLAS with its default threads (2 cores here).

Run: /usr/bin/python3 tests/bench/bench_linalg.py [BUILD_DIR] [--rounds N] [--reps N] [--ops a,b]
"""
import argparse
import gzip
import os
import statistics
import sys

import numpy as np
from sklearn.utils.extmath import randomized_svd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import run_c, time_python  # noqa: E402

FASHION = "/usr/share/datasets/fashion-mnist/"
TRAIN = FASHION + "train-images-idx3-ubyte.gz"
TEST = FASHION + "t10k-images-idx3-ubyte.gz"


def load_u8(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    return np.frombuffer(data, np.uint8, offset=16).reshape(-1, 784)


def rel_error(A, U, S, Vt):
    return np.linalg.norm(A - (U * S) @ Vt) / np.linalg.norm(A)


def python_case(op):
    """(function to time, description, extra info printed once)."""
    if op == "svd_thin":
        X = load_u8(TEST).astype(np.float64) / 255
        return (lambda: np.linalg.svd(X, full_matrices=False)), "numpy", ""
    if op == "svd_randomized":
        X = load_u8(TRAIN).astype(np.float64) / 255
        U, S, Vt = randomized_svd(X, 50, n_oversamples=10, n_iter=7, power_iteration_normalizer="auto",
                                  random_state=0)
        err = rel_error(X, U, S, Vt)
        return (lambda: randomized_svd(X, 50, n_oversamples=10, n_iter=7, random_state=0)), "sklearn", err
    if op == "idx_load":
        return (lambda: load_u8(TRAIN).astype(np.float64)), "numpy", ""
    if op == "idx_load_u8":
        return (lambda: load_u8(TRAIN)), "numpy (uint8 only)", ""
    raise SystemExit("unknown op " + op)


def time_c(exe, op, reps):
    """The C program's times for op, and the reconstruction error it printed (or None)."""
    values = run_c(exe, op, reps)
    return values.get(op, []), values.get("error", [None])[0]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir", nargs="?", default=os.path.join(here, "..", "..", "build"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ops", default="svd_thin,svd_randomized,idx_load")
    args = ap.parse_args()
    exe = os.path.join(args.build_dir, "tests", "bench", "bench_linalg")
    if not os.path.exists(exe):
        sys.exit("no %s: build first (ninja -C %s)" % (exe, args.build_dir))
    if not os.path.exists(TRAIN):
        sys.exit("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
    print("numpy %s, %d rounds x %d reps, medians; ratio = cairn time / peer time (< 1: cairn faster)"
          % (np.__version__, args.rounds, args.reps))
    print("%-15s %10s %10s %7s  %s" % ("op", "cairn s", "peer s", "ratio", "peer"))
    for op in args.ops.split(","):
        c_op = "idx_load" if op == "idx_load_u8" else op
        fn, peer, peer_err = python_case(op)
        c_times, py_times, c_err = [], [], None
        for _ in range(args.rounds):
            t, e = time_c(exe, c_op, args.reps)
            c_times += t
            c_err = e if e is not None else c_err
            py_times += time_python(fn, args.reps)
        del fn
        ct, pt = statistics.median(c_times), statistics.median(py_times)
        print("%-15s %10.3f %10.3f %7.2f  %s  (cairn min %.3f, peer min %.3f)"
              % (op, ct, pt, ct / pt, peer, min(c_times), min(py_times)), flush=True)
        if c_err is not None:
            print("%-15s relative reconstruction error: cairn %.6f, sklearn %.6f (cairn/sklearn = %.4f)"
                  % ("", c_err, peer_err, c_err / peer_err), flush=True)


if __name__ == "__main__":
    main()
