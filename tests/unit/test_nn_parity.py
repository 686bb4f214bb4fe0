"""test_nn_parity.py — PyTorch rebuilds cairn's networks from their exported weights.

nn_parity_dump (argv[1]) trains two networks briefly and writes their weights with
nn_export_npy, 200 Fashion-MNIST test images and cairn's logits on them. Here Debian's
python3-torch builds the same architectures, loads those .npy files into them, and must
give the same logits (max abs difference <= 1e-4) in eval mode: the reference CNN of the
issue, and one with padding, stride 2, no bias, batch norm (running statistics), leaky
ReLU, average and global average pooling. Skipped (exit 77) when torch is not installed.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

try:
    import torch
    from torch import nn
except ImportError:
    print("SKIP: python3-torch is not installed")
    sys.exit(77)


def load(d, name):
    return torch.from_numpy(np.load(os.path.join(d, name + ".npy")))


def ref_net(d):
    net = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2, 2),
                        nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2, 2),
                        nn.Flatten(), nn.Linear(32 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10))
    for i in (0, 3):
        net[i].weight.data = load(d, "layer%d_conv2d_weight" % i)
        net[i].bias.data = load(d, "layer%d_conv2d_bias" % i)
    net[7].weight.data = load(d, "layer7_dense_weight")
    net[7].bias.data = load(d, "layer7_dense_bias")
    net[9].weight.data = load(d, "layer9_dense_weight")
    net[9].bias.data = load(d, "layer9_dense_bias")
    return net


def bn_net(d):
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.LeakyReLU(0.1),
                        nn.AvgPool2d(2, 2), nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.Tanh(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
    net[0].weight.data = load(d, "layer0_conv2d_weight")
    for t in ("weight", "bias", "running_mean", "running_var"):
        getattr(net[1], t).data = load(d, "layer1_batchnorm_" + t)
    net[4].weight.data = load(d, "layer4_conv2d_weight")
    net[4].bias.data = load(d, "layer4_conv2d_bias")
    # cairn's global_avgpool gives C values directly: layer 6 there, flatten + linear here
    net[8].weight.data = load(d, "layer7_dense_weight")
    net[8].bias.data = load(d, "layer7_dense_bias")
    return net


def main():
    failed = 0
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.argv[1], d], check=True)
        x = torch.from_numpy(np.load(os.path.join(d, "x.npy")).astype(np.float32).reshape(-1, 1, 28, 28))
        for name, build in (("ref", ref_net), ("bn", bn_net)):
            net = build(os.path.join(d, name)).eval()
            with torch.no_grad():
                z = net(x).double().numpy()
            want = np.load(os.path.join(d, name + "_logits.npy"))
            diff = float(np.max(np.abs(z - want)))
            spread = float(np.std(want))
            ok = z.shape == want.shape and diff <= 1e-4 and spread > 0.1
            print("%s: max |torch - cairn| = %.3g over %s logits (spread %.3g) %s"
                  % (name, diff, want.shape, spread, "ok" if ok else "FAILED"))
            failed += not ok
    print("%d passed, %d failed" % (2 - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
