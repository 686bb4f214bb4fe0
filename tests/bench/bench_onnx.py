#!/usr/bin/python3
"""bench_onnx.py - ONNX models in cairn side by side with PyTorch.

1. Inference of the PyTorch CNN of tests/fixtures/onnx_torch_cnn.onnx (written by
   torch.onnx.export; conv-relu-bn-maxpool-conv-tanh-avgpool-flatten-dense-bn-leaky-dense)
   on the 10000 Fashion-MNIST test images / 255: cairn imports the .onnx file and runs
   nn_forward; the peer is the same torch module (weights loaded from the file's
   initializers) in eval mode under torch.no_grad, batches of 256, torch.set_num_threads(2).
   Goal (issue 15): cairn / PyTorch <= 0.8.
2. Export and import of a 1.0 M-parameter network (784-1024-192-10 MLP): onnx_export and
   onnx_import in cairn (goal <= 50 ms each); for scale, torch.onnx.export of the same
   network and onnx.load + numpy_helper.to_array of every initializer in Python.
Rounds alternate C and Python so both see the same machine load; medians are printed.

Run: /usr/bin/python3 tests/bench/bench_onnx.py [BUILD_DIR] [--rounds N]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

MODEL = os.path.join(HERE, "..", "fixtures", "onnx_torch_cnn.onnx")

PEER_INFER = r'''
import gzip, sys, time
import numpy as np, onnx, torch
from onnx import numpy_helper
sys.path.insert(0, sys.argv[2])
from gen_onnx_fixtures import CNN
torch.set_num_threads(2)
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    X = torch.from_numpy(np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32) / np.float32(255))
net = CNN()
state = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in onnx.load(sys.argv[1]).graph.initializer}
net.load_state_dict(state, strict=False)
net.eval()
for r in range(int(sys.argv[3])):
    t0 = time.perf_counter()
    with torch.no_grad():
        z = torch.cat([net(X[i:i + 256]) for i in range(0, X.shape[0], 256)])
    print("infer %.6f" % (time.perf_counter() - t0))
print("checksum %.6f" % z[:, 0].double().sum().item())
'''

PEER_IO = r'''
import os, sys, time
import onnx, torch
from onnx import numpy_helper
torch.set_num_threads(2)
net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 1024), torch.nn.ReLU(),
                          torch.nn.Linear(1024, 192), torch.nn.ReLU(), torch.nn.Linear(192, 10)).eval()
path = os.path.join(sys.argv[1], "torch_1m.onnx")
x = torch.zeros(2, 1, 28, 28)
for r in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    torch.onnx.export(net, x, path, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=13)
    print("export %.6f" % (time.perf_counter() - t0))
    t0 = time.perf_counter()
    m = onnx.load(path)
    ws = [numpy_helper.to_array(t) for t in m.graph.initializer]
    print("import %.6f" % (time.perf_counter() - t0))
'''


def run_py(code, *args):
    res = subprocess.run([sys.executable, "-c", code] + [str(a) for a in args], capture_output=True, text=True,
                         check=True)
    out = {}
    for line in res.stdout.splitlines():
        k, v = line.split()
        out.setdefault(k, []).append(float(v))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    exe = os.path.join(args.build, "tests", "bench", "bench_onnx")
    fixtures = os.path.join(HERE, "..", "fixtures")
    ci, cp, ce, pe = {}, {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for k, v in subprocess_c(exe, "infer", MODEL, 3).items():
                ci.setdefault(k, []).extend(v)
            for k, v in run_py(PEER_INFER, MODEL, fixtures, 3).items():
                cp.setdefault(k, []).extend(v)
            for k, v in subprocess_c(exe, "io", tmp, 5).items():
                ce.setdefault(k, []).extend(v)
            for k, v in run_py(PEER_IO, tmp, 3).items():
                pe.setdefault(k, []).extend(v)
    med = statistics.median
    print("machine: %d cores, load average %.2f %.2f %.2f (shared machine: ratios are more stable than times)"
          % ((os.cpu_count(),) + os.getloadavg()))
    print("inference, 10000 Fashion-MNIST test images, imported PyTorch CNN (%d rounds x 3):" % args.rounds)
    print("  cairn   %.4f s   (import of the .onnx file %.2f ms)" % (med(ci["infer"]), 1e3 * med(ci["import"])))
    print("  pytorch %.4f s   (2 threads, batches of 256)" % med(cp["infer"]))
    print("  ratio cairn / pytorch = %.2f   (goal <= 0.8)   checksums %.4f / %.4f"
          % (med(ci["infer"]) / med(cp["infer"]), ci["checksum"][-1], cp["checksum"][-1]))
    print("1.0 M-parameter model (%d parameters, %.1f MB file):" % (ce["params"][0], ce["bytes"][-1] / 1e6))
    print("  cairn onnx_export %.2f ms, onnx_import %.2f ms wall   (goal <= 50 ms each)"
          % (1e3 * med(ce["export"]), 1e3 * med(ce["import"])))
    print("  cairn onnx_export %.2f ms, onnx_import %.2f ms process CPU time"
          % (1e3 * med(ce["export_cpu"]), 1e3 * med(ce["import_cpu"])))
    print("  python torch.onnx.export %.2f ms, onnx.load + to_array %.2f ms"
          % (1e3 * med(pe["export"]), 1e3 * med(pe["import"])))
    print("  ratios cairn / python: export %.3f, import %.3f"
          % (med(ce["export"]) / med(pe["export"]), med(ce["import"]) / med(pe["import"])))


def subprocess_c(exe, mode, arg, reps):
    res = subprocess.run([exe, mode, arg, str(reps)], capture_output=True, text=True, check=True)
    out = {}
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            out.setdefault(parts[0], []).append(float(parts[1]))
    return out


if __name__ == "__main__":
    main()
