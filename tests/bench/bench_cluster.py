#!/usr/bin/python3
"""bench_cluster.py - libcairn's k-means, mini-batch k-means, KNN and silhouette side by side
with scikit-learn on Fashion-MNIST (Debian package dataset-fashion-mnist), pixels / 255.

Cases (the issue's configurations):
  kmeans1     KMeans(n_clusters=10, n_init=1, tol=0, max_iter=100) on the 60000 training images
              goal: cairn <= 0.5 x sklearn per iteration and per fit, inertia within 0.5 %
  kmeans10    KMeans(n_clusters=10, n_init=10) (tol 1e-4, max_iter 300)   goal: <= 0.5 x per fit
  minibatch   MiniBatchKMeans(n_clusters=10, n_init=3) (batch 1024)       goal: <= 0.5 x, inertia +-1 %
  knn         KNeighborsClassifier(5): 10000 test images against the 60000 training images
              (--knn-queries N: the first N test images, for a loaded machine)
              goal: the same accuracy (>= 0.85) in <= 0.3 x the time
  silhouette  silhouette_score of the first 10000 training images under their labels   goal: <= 0.5 x
Each side runs in its own process per case (the C program tests/bench/bench_cluster, and this
script with --peer), so each reports its own peak resident memory (data loading included:
the 60000 x 784 float64 matrix alone is 376 MB). Rounds alternate C and Python so both see
the same machine load; times are medians over all repeats; ratio = cairn / sklearn
(< 1: cairn faster). The two sides draw different k-means++ seeds (NumPy's generator vs
the runtime's), so k-means iteration counts differ: compare time per iteration, and
inertia over the same number of seeds. Both use the system OpenBLAS (2 threads here).

Run: /usr/bin/python3 tests/bench/bench_cluster.py [BUILD_DIR] [--rounds N] [--reps N] [--ops a,b] [--cpu]
(--cpu adds CPU seconds per case; under load, `OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 taskset -c 1`
before the command makes them a single-core comparison, since spinning BLAS/OpenMP threads
would otherwise count as work.)
"""
import argparse
import gzip
import os
import resource
import statistics
import subprocess
import sys
import time

FASHION = "/usr/share/datasets/fashion-mnist/"


def load(name, images=True):
    import numpy as np
    with gzip.open(FASHION + name, "rb") as f:
        data = f.read()
    if not images:
        return np.frombuffer(data, np.uint8, offset=8).astype(np.float64)
    X = np.frombuffer(data, np.uint8, offset=16).reshape(-1, 784).astype(np.float64)
    X /= 255.0
    return X


def peer(op, reps, queries=0):
    """The scikit-learn side of one case: prints the same lines as the C program."""
    import warnings
    warnings.filterwarnings("ignore")
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from sklearn.metrics import accuracy_score, silhouette_score
    from sklearn.neighbors import KNeighborsClassifier
    X = load("train-images-idx3-ubyte.gz")
    for r in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        if op in ("kmeans1", "kmeans10", "minibatch"):
            if op == "kmeans1":
                km = KMeans(n_clusters=10, n_init=1, tol=0, max_iter=100, random_state=r)
            elif op == "kmeans10":
                km = KMeans(n_clusters=10, n_init=10, random_state=r)
            else:
                km = MiniBatchKMeans(n_clusters=10, n_init=3, random_state=r)
            km.fit(X)
            t = time.perf_counter() - t0
            print(op, t)
            print("cpu", time.process_time() - c0)
            print("per_iter", t / km.n_iter_)
            print("inertia", km.inertia_)
            print("n_iter", km.n_iter_)
        elif op == "knn":
            ytr = load("train-labels-idx1-ubyte.gz", False)
            Xte = load("t10k-images-idx3-ubyte.gz")
            yte = load("t10k-labels-idx1-ubyte.gz", False)
            if queries:
                Xte, yte = Xte[:queries], yte[:queries]
            t0, c0 = time.perf_counter(), time.process_time()
            pred = KNeighborsClassifier(5).fit(X, ytr).predict(Xte)
            print(op, time.perf_counter() - t0)
            print("cpu", time.process_time() - c0)
            print("accuracy", accuracy_score(yte, pred))
        elif op == "silhouette":
            y = load("train-labels-idx1-ubyte.gz", False)
            t0, c0 = time.perf_counter(), time.process_time()
            v = silhouette_score(X[:10000], y[:10000])
            print(op, time.perf_counter() - t0)
            print("cpu", time.process_time() - c0)
            print("value", v)
        sys.stdout.flush()
    print("peak_mb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def run(cmd):
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    values = {}
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            try:
                values.setdefault(parts[0], []).append(float(parts[1]))
            except ValueError:
                pass
    return values


def med(v, key):
    return statistics.median(v[key]) if v.get(key) else float("nan")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir", nargs="?", default=os.path.join(here, "..", "..", "build"))
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ops", default="kmeans1,kmeans10,minibatch,knn,silhouette")
    ap.add_argument("--knn-queries", type=int, default=10000)
    ap.add_argument("--cpu", action="store_true",
                    help="also print process CPU seconds; on a loaded machine run with OPENBLAS_NUM_THREADS=1 "
                         "OMP_NUM_THREADS=1 taskset -c 1: a single-core comparison steadier than the wall clock")
    ap.add_argument("--peer", nargs=3, metavar=("OP", "REPS", "QUERIES"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer:
        peer(args.peer[0], int(args.peer[1]), int(args.peer[2]))
        return
    exe = os.path.join(args.build_dir, "tests", "bench", "bench_cluster")
    if not os.path.exists(exe):
        sys.exit("no %s: build first (ninja -C %s)" % (exe, args.build_dir))
    if not os.path.exists(FASHION + "train-images-idx3-ubyte.gz"):
        sys.exit("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
    import numpy
    import sklearn
    print("scikit-learn %s, numpy %s, %d round(s) x %d reps, medians; ratio = cairn / sklearn (< 1: cairn faster)"
          % (sklearn.__version__, numpy.__version__, args.rounds, args.reps))
    print("load average at start: %.2f %.2f %.2f" % os.getloadavg())
    print("%-11s %-9s %10s %10s %7s   %s" % ("case", "measure", "cairn", "sklearn", "ratio", "quality"))
    for op in args.ops.split(","):
        c, p = {}, {}
        for _ in range(args.rounds):
            for k, v in run([exe, op, str(args.reps), str(args.knn_queries)]).items():
                c.setdefault(k, []).extend(v)
            for k, v in run([sys.executable, os.path.abspath(__file__), "--peer", op, str(args.reps),
                             str(args.knn_queries)]).items():
                p.setdefault(k, []).extend(v)
        rows = [("time s", op)]
        if args.cpu:
            rows.append(("cpu s", "cpu"))
        if op == "kmeans1":
            rows.append(("per iter s", "per_iter"))
        for label, key in rows + [("peak MB", "peak_mb")]:
            a, b = (max(c[key]), max(p[key])) if key == "peak_mb" else (med(c, key), med(p, key))
            quality = ""
            if key == op:
                if "inertia" in c:
                    quality = "inertia %.6g vs %.6g (%+.2f %%), iterations %g vs %g" % (
                        med(c, "inertia"), med(p, "inertia"), 100 * (med(c, "inertia") / med(p, "inertia") - 1),
                        med(c, "n_iter"), med(p, "n_iter"))
                elif "accuracy" in c:
                    quality = "accuracy %.4f vs %.4f on %d test images" % (med(c, "accuracy"), med(p, "accuracy"),
                                                                         args.knn_queries)
                elif "value" in c:
                    quality = "silhouette %.12f vs %.12f" % (med(c, "value"), med(p, "value"))
            print("%-11s %-9s %10.3f %10.3f %7.2f   %s" % (op, label, a, b, a / b, quality), flush=True)
    print("load average at end: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
