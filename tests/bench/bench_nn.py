#!/usr/bin/python3
"""bench_nn.py - one epoch of the issue's reference CNN, cairn side by side with PyTorch.

Network: conv(1->16, 3x3)-relu-maxpool-conv(16->32, 3x3)-relu-maxpool-dense(128)-relu-
dense(10), Adam 1e-3, batch 64, one shuffled epoch of the 60000 Fashion-MNIST training
images / 255 (Debian package dataset-fashion-mnist). Peer: Debian's python3-torch with
torch.set_num_threads(2) (float32, as cairn trains). Each round runs the C program
(tests/bench/bench_nn, built by meson) and then the PyTorch script, each in its own process
(so peak RSS is each one's own), both training a fresh seeded network; rounds alternate so
both see the same machine load. Printed: medians of the epoch time (and its CPU time, all threads: a
figure the machine's load disturbs less), inference on the 10000
test images, peak RSS, test accuracy after one epoch, and the ratios cairn / PyTorch
(< 1: cairn faster / smaller). Goals (issue 10): epoch <= 0.7, inference <= 0.7,
peak memory <= 1, accuracy within 1 point.

Run: /usr/bin/python3 tests/bench/bench_nn.py [BUILD_DIR] [--rounds N]

--accuracy EPOCHS runs only cairn, on issue 10's other goal: a 2-conv network with batch norm
and augmentation reaching >= 0.92 test accuracy on Fashion-MNIST within 15 minutes (the network
is described in bench_nn.c). It prints the test accuracy after every epoch as it goes, then the
final test accuracy, the fit's wall time and its CPU time (all threads), and the load average.

Run: /usr/bin/python3 tests/bench/bench_nn.py [BUILD_DIR] --accuracy 12
"""
import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import run_c  # noqa: E402

PEER = r'''
import gzip, resource, sys, time
import numpy as np
import torch
from torch import nn
torch.set_num_threads(int(sys.argv[2]))
F = "/usr/share/datasets/fashion-mnist/"
def u8(path, off, shape):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=off).reshape(shape)
t0 = time.perf_counter()
X = torch.from_numpy(u8(F + "train-images-idx3-ubyte.gz", 16, (-1, 1, 28, 28)).astype(np.float32) / 255)
y = torch.from_numpy(u8(F + "train-labels-idx1-ubyte.gz", 8, (-1,)).astype(np.int64))
Xt = torch.from_numpy(u8(F + "t10k-images-idx3-ubyte.gz", 16, (-1, 1, 28, 28)).astype(np.float32) / 255)
yt = torch.from_numpy(u8(F + "t10k-labels-idx1-ubyte.gz", 8, (-1,)).astype(np.int64))
print("load %.6f" % (time.perf_counter() - t0))
torch.manual_seed(int(sys.argv[1]))
net = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3), nn.ReLU(),
                    nn.MaxPool2d(2), nn.Flatten(), nn.Linear(800, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
lossf = nn.CrossEntropyLoss()
t0 = time.perf_counter()
c0 = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
perm = torch.randperm(X.shape[0])
for i in range(0, X.shape[0], 64):
    idx = perm[i:i + 64]
    opt.zero_grad()
    loss = lossf(net(X[idx]), y[idx])
    loss.backward()
    opt.step()
print("epoch %.6f" % (time.perf_counter() - t0))
print("epoch_cpu %.6f" % (sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) - c0))
t0 = time.perf_counter()
with torch.no_grad():
    p = torch.cat([net(Xt[i:i + 256]).argmax(1) for i in range(0, Xt.shape[0], 256)])
print("infer %.6f" % (time.perf_counter() - t0))
print("acc %.4f" % (p == yt).double().mean().item())
print("peak_rss_mib %.1f" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))
'''


def run_peer(seed, threads):
    res = subprocess.run([sys.executable, "-c", PEER, str(seed), str(threads)], capture_output=True, text=True, check=True)
    out = {}
    for line in res.stdout.splitlines():
        k, v = line.split()
        out.setdefault(k, []).append(float(v))
    return out


def run_accuracy(exe, epochs, rows):
    """Stream `bench_nn accuracy EPOCHS [ROWS]` and judge it against the goal."""
    load0 = os.getloadavg()
    cmd = [exe, "accuracy", str(epochs)] + ([str(rows)] if rows else [])
    out = {}
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as p:
        for line in p.stdout:
            print(line.rstrip(), flush=True)
            parts = line.split()
            if len(parts) == 2:
                out[parts[0]] = float(parts[1])
    if p.returncode != 0 or "test_acc" not in out:
        sys.exit("bench_nn accuracy failed (exit %d)" % p.returncode)
    load1 = os.getloadavg()
    print("\n2-conv batch-norm network with augmentation, %d epochs%s; load average %.2f at start, %.2f at end "
          "on %d cores (shared machine)" % (epochs, " on %d rows" % rows if rows else "", load0[0], load1[0], os.cpu_count()))
    print("%-28s %10s %s" % ("what", "cairn", "goal"))
    print("%-28s %10.4f %s" % ("test accuracy", out["test_acc"], ">= 0.92: " + ("met" if out["test_acc"] >= 0.92 else "not met")))
    print("%-28s %9.1fs %s" % ("wall time of the fit", out["fit"], "<= 900 s: " + ("met" if out["fit"] <= 900 else "not met")))
    print("%-28s %9.1fs %s" % ("  CPU time, all threads", out["fit_cpu"], "(load-robust)"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--torch-threads", type=int, default=2, help="torch.set_num_threads (the issue's reference: 2)")
    ap.add_argument("--accuracy", type=int, metavar="EPOCHS", help="train the batch-norm network for EPOCHS instead")
    ap.add_argument("--rows", type=int, default=0, help="--accuracy on the first ROWS training images (a quick check)")
    args = ap.parse_args()
    exe = os.path.join(args.build, "tests", "bench", "bench_nn")
    if args.accuracy:
        run_accuracy(exe, args.accuracy, args.rows)
        return
    c, t = {}, {}
    for r in range(args.rounds):
        for k, v in run_c(exe, "epoch", 1).items():
            c.setdefault(k, []).extend(v)
        for k, v in run_peer(r + 1, args.torch_threads).items():
            t.setdefault(k, []).extend(v)
        print("round %d: cairn epoch %.2f s (cpu %.2f s) infer %.2f s acc %.4f peak %.0f MiB | "
              "torch epoch %.2f s (cpu %.2f s) infer %.2f s acc %.4f peak %.0f MiB"
              % (r + 1, c["epoch"][-1], c["epoch_cpu"][-1], c["infer"][-1], c["acc"][-1], c["peak_rss_mib"][-1],
                 t["epoch"][-1], t["epoch_cpu"][-1], t["infer"][-1], t["acc"][-1], t["peak_rss_mib"][-1]), flush=True)
    load = os.getloadavg()
    print("\nreference CNN, one epoch of Fashion-MNIST, batch 64, Adam 1e-3; torch threads %d; medians of %d rounds; "
          "load average %.2f %.2f %.2f on %d cores (shared machine)" % (args.torch_threads, args.rounds, *load, os.cpu_count()))
    print("%-28s %12s %12s %8s %s" % ("what", "cairn", "pytorch", "ratio", "goal"))
    for key, what, unit, goal in (("epoch", "training epoch (60000)", "s", "<= 0.7"),
                                  ("epoch_cpu", "  CPU time of that epoch", "s", "(load-robust)"),
                                  ("infer", "inference (10000 test)", "s", "<= 0.7"),
                                  ("peak_rss_mib", "peak RSS", "MiB", "<= 1"),
                                  ("acc", "test accuracy after 1 epoch", "", "+-0.01")):
        a, b = statistics.median(c[key]), statistics.median(t[key])
        ratio = ("%.3f" % (a / b)) if key != "acc" else ("%+.4f" % (a - b))
        print("%-28s %10.4g%-2s %10.4g%-2s %8s %s" % (what, a, unit, b, unit, ratio, goal))


if __name__ == "__main__":
    main()
