#!/usr/bin/python3
"""make_logos.py — draw the cairn kernel logos (a stack of three stones and a "C").

Run: /usr/bin/python3 kernelspec/make_logos.py  -> kernelspec/logo-32x32.png, logo-64x64.png
Drawn with matplotlib on a transparent square canvas at exactly the pixel size Jupyter
expects; the PNGs are committed and embedded in the kernel binary at build time.
"""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
STONES = [  # centre x, centre y, width, height, colour (bottom to top)
    (0.50, 0.20, 0.86, 0.30, "#3b4a5a"),
    (0.48, 0.47, 0.62, 0.25, "#5b7083"),
    (0.52, 0.70, 0.40, 0.19, "#8aa1b4"),
]


def draw(size):
    fig = plt.figure(figsize=(1, 1), dpi=size)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    for x, y, w, h, c in STONES:
        ax.add_patch(Ellipse((x, y), w, h, facecolor=c, edgecolor="#1d2630", linewidth=size / 40))
    ax.text(0.5, 0.205, "C", ha="center", va="center", color="white",
            fontsize=size * 0.30, fontweight="bold", family="DejaVu Sans")
    # a small top stone keeps the cairn shape readable at 32 px
    ax.add_patch(Ellipse((0.50, 0.87), 0.20, 0.12, facecolor="#b9c9d6", edgecolor="#1d2630",
                         linewidth=size / 40))
    path = os.path.join(HERE, "logo-%dx%d.png" % (size, size))
    fig.savefig(path, dpi=size, transparent=True)
    plt.close(fig)
    return path


if __name__ == "__main__":
    for s in (32, 64):
        print(draw(s))
