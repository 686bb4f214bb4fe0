#!/usr/bin/python3
"""bench_dmat.py - distributed operations (runtime/dmat) on 1 and 2 MPI ranks against the
single-process runtime and the Python peer, on Fashion-MNIST train (60000 x 784 / 255):

  svd_randomized  k 50, 10 oversamples, 7 power iterations, seed 42
                  single: svd_randomized; peer: sklearn randomized_svd (same parameters)
  gram            AᵀA; single: mat_gram; peer: X.T @ X
  kmeans          k 10 from the first 10 rows, 10 iterations (tol 0)
                  single: kmeans_fit with the same init, Lloyd (the algorithm the ranks run;
                  its inertia must equal theirs) and, as a second row, the default Hamerly;
                  peer: sklearn KMeans(algorithm="lloyd", init=X[:10], n_init=1, max_iter=10)
The C program (tests/bench/bench_dmat) starts the cluster, the ranks read their rows of the
file, then it times REPS repeats after a warm-up; rounds alternate all variants so they see
the same machine load. Medians and ratios are printed; < 1 means faster than the reference.
On one machine the single-process runtime uses OpenBLAS with 2 threads (and, as a second
reference, 1 thread), each of 2 ranks one thread (OPENBLAS_NUM_THREADS = cores / ranks).

It also prints the bytes each operation moves between ranks and to the driver (counted
from the algorithm: what each MPI call and the reply carry) and a cost model
    T(P) = F / (P · R) + S / R + n_msg(P) · α + bytes(P) · β
(F the flops spread over the ranks, S the flops rank 0 does alone, R the flop rate of one
rank measured on the 1-rank run, α latency and β inverse bandwidth of the link), checked
against the 2-rank measurement, then used to predict 16 nodes of a 10 Gb/s cluster for a
10^7 x 784 matrix.

Run: /usr/bin/python3 tests/bench/bench_dmat.py [BUILD_DIR] [--rounds N] [--reps N] [--ops a,b]
"""
import argparse
import gzip
import math
import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import time_python  # noqa: E402
import subprocess  # noqa: E402

TRAIN = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
K, P_OVER, Q = 50, 10, 7
L = K + P_OVER
KM, KM_ITERS = 10, 10


def run_dmat(exe, op, ranks, reps, threads=None):
    """Times of `bench_dmat OP RANKS REPS`, its last stderr line, bytes moved (ranks only)."""
    env = dict(os.environ)
    if threads:
        env["OPENBLAS_NUM_THREADS"] = str(threads)
    if os.getuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    res = subprocess.run([exe, op, str(ranks), str(reps)], capture_output=True, text=True, env=env, timeout=900)
    if res.returncode != 0:
        raise RuntimeError("%s %s %d: %s" % (exe, op, ranks, res.stderr.strip()))
    times = [float(line.split()[1]) for line in res.stdout.splitlines() if line.startswith(op + " ")]
    moved = [float(line.split()[1]) for line in res.stdout.splitlines() if line.startswith("traffic ")]
    return times, res.stderr.strip(), (moved[0] if moved else None)


def load():
    with gzip.open(TRAIN, "rb") as f:
        data = f.read()
    return np.frombuffer(data, np.uint8, offset=16).reshape(-1, 784).astype(np.float64) / 255


def peer(op, X):
    if op == "svd_randomized":
        from sklearn.utils.extmath import randomized_svd
        return lambda: randomized_svd(X, K, n_oversamples=P_OVER, n_iter=Q, random_state=0)
    if op == "gram":
        return lambda: X.T @ X
    if op == "kmeans":
        from sklearn.cluster import KMeans
        init = X[:KM].copy()
        return lambda: KMeans(n_clusters=KM, init=init, n_init=1, max_iter=KM_ITERS, tol=0,
                              algorithm="lloyd").fit(X)
    raise ValueError(op)


def log2c(p):
    return math.ceil(math.log2(p)) if p > 1 else 0


def model(op, M, N, P):
    """(F flops spread over the ranks, S flops on rank 0 alone, messages on the critical
    path, bytes moved between ranks (tree count, as worker_traffic.c counts), bytes of the
    reply to the driver)."""
    d = 8
    if op == "gram":
        F = M * N * N                      # SYRK
        S = 0
        msgs = log2c(P) + 1                # reduce tree + reply
        ranks = (P - 1) * N * N * d
        driver = N * N * d
    elif op == "svd_randomized":
        F = M * N * N + 2 * M * N * L + 4 * M * L * L + 2 * M * N * L + 2 * M * L * K
        S = Q * (2 * N * N * L + 4 * N * L * L) + 4 * L * L * N  # power iterations on G, gesdd of B
        msgs = log2c(P) * (6 + Q) + 1
        ranks = ((P - 1) * (N * N + L * N)          # reduce G, reduce B
                 + (P - 1) * (L * N + L * K)        # bcast Z, Ub
                 + 2 * (P - 1) * L * L              # TSQR gather / scatter
                 + (P - 1) * P * K) * d             # svd_flip allgather
        driver = (K + K * N) * d                    # S, Vt
    elif op == "kmeans":
        F = KM_ITERS * (2 * M * N * KM + 2 * M * N)  # distances GEMM, sums
        S = 0
        msgs = KM_ITERS * 3 * 2 * log2c(P) + 1
        ranks = KM_ITERS * 2 * (P - 1) * (KM * N + KM + 1) * d
        driver = KM * N * d
    else:
        raise ValueError(op)
    return F, S, msgs, ranks, driver


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ops", default="svd_randomized,gram,kmeans")
    args = ap.parse_args()
    exe = os.path.join(args.build, "tests", "bench", "bench_dmat")
    ops = args.ops.split(",")
    X = load()
    M, N = X.shape
    print("Fashion-MNIST train %d x %d; %d rounds x %d repeats; load average %.1f" %
          (M, N, args.rounds, args.reps, os.getloadavg()[0]))
    times = {}
    measured = {}
    for rnd in range(args.rounds):
        for op in ops:
            variants = [("single process", 0, None, op), ("single, 1 thread", 0, 1, op),
                        ("dmat 1 rank", 1, None, op), ("dmat 2 ranks", 2, None, op)]
            if op == "kmeans":
                variants.append(("single, Hamerly", 0, None, "kmeans_auto"))
            for name, ranks, threads, run_op in variants:
                t, info, moved = run_dmat(exe, run_op, ranks, args.reps, threads)
                times.setdefault((op, name), []).extend(t)
                if moved is not None:
                    measured[(op, ranks)] = moved
                if rnd == 0 and info:
                    print("  %s, %s: %s" % (op, name, info.splitlines()[-1]))
            times.setdefault((op, "peer"), []).extend(time_python(peer(op, X), args.reps))
    print()
    print("%-15s %15s %15s %15s %15s   %s" % ("op", "single", "dmat 1", "dmat 2", "peer", "ratios"))
    med = {k: statistics.median(v) for k, v in times.items()}
    for op in ops:
        s = med.get((op, "single process"))
        d1, d2, pe = med[(op, "dmat 1 rank")], med[(op, "dmat 2 ranks")], med[(op, "peer")]
        ratios = "2 ranks / 1 rank %.2f" % (d2 / d1)
        if s:
            s1 = med[(op, "single, 1 thread")]
            ratios += (", 2 ranks / single %.2f, 2 ranks / single 1-thread %.2f, 1 rank / single %.2f, single / peer %.2f"
                       % (d2 / s, d2 / s1, d1 / s, s / pe))
        if (op, "single, Hamerly") in med:
            ratios += ", 2 ranks / single Hamerly %.2f" % (d2 / med[(op, "single, Hamerly")])
        ratios += ", 2 ranks / peer %.2f" % (d2 / pe)
        print("%-15s %15s %14.3fs %14.3fs %14.3fs   %s" % (op, "%.3fs" % s if s else "-", d1, d2, pe, ratios))

    print()
    print("goal: 2 ranks <= 0.65 x the single process (compute-bound parts); load average now %.1f"
          % os.getloadavg()[0])
    for op in ops:
        s, s1, d2 = med[(op, "single process")], med[(op, "single, 1 thread")], med[(op, "dmat 2 ranks")]
        print("  %-15s 2 ranks / single %.2f (%s); against the 1-thread single process %.2f"
              % (op, d2 / s, "met" if d2 / s <= 0.65 else "not met", d2 / s1))

    # cost model: R from the 1-rank run, α/β of shared memory here, then 16 nodes at 10 Gb/s
    alpha_here, beta_here = 2e-6, 1 / 4e9
    alpha_net, beta_net = 50e-6, 1 / 1.25e9
    print()
    print("bytes moved (between ranks + reply to the driver) and the cost model")
    for op in ops:
        F, S, _, _, _ = model(op, M, N, 1)
        R = (F + S) / med[(op, "dmat 1 rank")]
        F2, S2, m2, r2, d2 = model(op, M, N, 2)
        pred2 = F2 / (2 * R) + S2 / R + m2 * alpha_here + (r2 + d2) * beta_here
        Mbig, P = 10 ** 7, 16
        Fb, Sb, mb, rb, db = model(op, Mbig, N, P)
        comm16 = mb * alpha_net + (rb + db) * beta_net
        pred16 = Fb / (P * R) + Sb / R + comm16
        got = measured.get((op, 2))
        print("  %-15s 2 ranks: %.2f MB between ranks (measured %s) + %.2f MB to the driver;"
              " time predicted %.3f s, measured %.3f s (ratio %.2f); R = %.2f GF/s per rank"
              % (op, r2 / 1e6, "%.2f MB" % (got / 1e6) if got is not None else "-", d2 / 1e6,
                 pred2, med[(op, "dmat 2 ranks")], med[(op, "dmat 2 ranks")] / pred2, R / 1e9))
        print("  %-15s 16 nodes x 1 rank, 10^7 x 784, 10 Gb/s (alpha 50 us): %.1f MB between ranks,"
              " predicted %.2f s = %.2f s compute + %.3f s communication"
              % ("", rb / 1e6, pred16, pred16 - comm16, comm16))


if __name__ == "__main__":
    main()
