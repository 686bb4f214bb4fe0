"""test_plot_protocol.py — figures and progress bars through the real kernel.

- A cell ending with a figure yields execute_result with a valid base64 PNG (decoded:
  640 x 480, the line's colour present) and the text/plain description.
- show(fig) yields display_data with a display_id; plot_update(fig) in the same cell and
  in a later cell yields update_display_data with that same display_id.
- plot_set_format("svg") gives image/svg+xml that parses as XML.
- A progress bar is display_data (text/plain + text/html) updated in place under one id,
  ending at 100%.
- Headless: `jupyter nbconvert --execute` keeps the final state of live outputs.
"""
import base64
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

import numpy as np
from matplotlib import image as mpimg

from harness import write_kernelspec, SessionTest

TAB_BLUE = (0x1F, 0x77, 0xB4)


def decode_png(b64):
    raw = base64.b64decode(b64, validate=True)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", raw[:8]
    img = mpimg.imread(io.BytesIO(raw), format="png")
    return np.round(img[:, :, :3] * 255).astype(int)


def count_rgb(img, rgb):
    return int(np.all(img == np.array(rgb), axis=2).sum())


class PlotProtocolTests(SessionTest):
    def test_trailing_figure_is_png_result(self):
        r = self.k.execute('figure *f1 = plot_figure(0, 0);\n'
                           'plot_line_array(plot_subplot(f1, 0), NULL, (double[]){3, 1, 2, 5}, 4, "loss");\n'
                           'f1')
        self.assertEqual(r.status, "ok", r)
        res = r.of_type("execute_result")
        self.assertEqual(len(res), 1, r.outputs)
        data = res[0]["content"]["data"]
        self.assertEqual(data["text/plain"], "<figure 640x480: 1 axes, line>")
        img = decode_png(data["image/png"])
        self.assertEqual(img.shape, (480, 640, 3))
        self.assertGreater(count_rgb(img, TAB_BLUE), 200)
        self.assertEqual(tuple(img[0, 0]), (255, 255, 255))

    def test_live_update_keeps_display_id(self):
        r = self.k.execute('figure *live = plot_figure(0, 0);\n'
                           'plot_axes *lax = plot_subplot(live, 0);\n'
                           'int ls = plot_line_array(lax, NULL, (double[]){1.0}, 1, "train");\n'
                           'show(live);\n'
                           'for (int e = 1; e < 4; e++) { plot_append(lax, ls, e, 1.0 / (e + 1)); plot_update(live); }')
        self.assertEqual(r.status, "ok", r)
        shown = r.of_type("display_data")
        updates = r.of_type("update_display_data")
        self.assertEqual(len(shown), 1, r.outputs)
        self.assertEqual(len(updates), 3, r.outputs)
        did = shown[0]["content"]["transient"]["display_id"]
        self.assertTrue(did)
        for u in updates:
            self.assertEqual(u["content"]["transient"]["display_id"], did)
            self.assertIn("image/png", u["content"]["data"])
        img = decode_png(updates[-1]["content"]["data"]["image/png"])
        self.assertGreater(count_rgb(img, TAB_BLUE), 100)
        # A later cell updates the output of the earlier one: same id again.
        r2 = self.k.execute('plot_append(lax, ls, 4, 0.1); plot_title(lax, "epoch 4"); plot_update(live);')
        self.assertEqual(r2.status, "ok", r2)
        up = r2.of_type("update_display_data")
        self.assertEqual(len(up), 1, r2.outputs)
        self.assertEqual(up[0]["content"]["transient"]["display_id"], did)
        self.assertEqual(up[0]["content"]["data"]["text/plain"], '<figure 640x480 "epoch 4": 1 axes, line>')

    def test_svg_on_request(self):
        r = self.k.execute('plot_set_format("svg");\n'
                           'figure *fs = plot_figure(320, 240);\n'
                           'plot_heatmap(plot_subplot(fs, 0), mat_rand(5, 5), "magma");\n'
                           'show(fs);\n'
                           'plot_set_format("png");')
        self.assertEqual(r.status, "ok", r)
        shown = r.of_type("display_data")
        self.assertEqual(len(shown), 1, r.outputs)
        data = shown[0]["content"]["data"]
        self.assertNotIn("image/png", data)
        root = ET.fromstring(data["image/svg+xml"])
        self.assertTrue(root.tag.endswith("svg"))
        self.assertEqual(root.get("width"), "320px")
        self.assertIn("heatmap 5x5", data["text/plain"])

    def test_nan_is_said(self):
        r = self.k.execute('figure *fn = plot_figure(0, 0);\n'
                           'plot_line_array(plot_subplot(fn, 0), NULL, (double[]){1, NAN, 3, INFINITY}, 4, NULL);\n'
                           'fn')
        self.assertEqual(r.status, "ok", r)
        text = r.of_type("execute_result")[0]["content"]["data"]["text/plain"]
        self.assertIn("2 NaN/Inf values not drawn", text)

    def test_progress_bar(self):
        r = self.k.execute('#include <unistd.h>\n'
                           'progress *pb = progress_start(5, "epochs");\n'
                           'for (int i = 1; i <= 5; i++) { usleep(120000); progress_status(pb, "loss %.2f", 1.0 / i);'
                           ' progress_update(pb, i); }\n'
                           'progress_finish(pb);')
        self.assertEqual(r.status, "ok", r)
        shown = r.of_type("display_data")
        updates = r.of_type("update_display_data")
        self.assertEqual(len(shown), 1, r.outputs)
        self.assertGreaterEqual(len(updates), 2)
        did = shown[0]["content"]["transient"]["display_id"]
        self.assertIn("text/html", shown[0]["content"]["data"])
        for u in updates:
            self.assertEqual(u["content"]["transient"]["display_id"], did)
        final = updates[-1]["content"]["data"]
        self.assertIn("100%", final["text/plain"])
        self.assertIn("5/5", final["text/plain"])
        self.assertIn("loss 0.20", final["text/plain"])
        self.assertIn('<progress value="5" max="5"', final["text/html"])


class HeadlessTests(unittest.TestCase):
    def test_nbconvert_keeps_final_state(self):
        cells = [
            'figure *f = plot_figure(0, 0);\nplot_axes *ax = plot_subplot(f, 0);\n'
            'int s = plot_line_array(ax, NULL, (double[]){1.0}, 1, "loss");\nshow(f);',
            'for (int e = 1; e <= 3; e++) { plot_append(ax, s, e, 1.0 / (e + 1)); }\n'
            'plot_title(ax, "done"); plot_update(f);',
            'progress *p = progress_start(3, "steps");\n'
            'for (int i = 1; i <= 3; i++) progress_update(p, i);\nprogress_finish(p);',
        ]
        nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [],
                         "execution_count": None} for c in cells],
              "metadata": {"kernelspec": {"name": "cairn", "display_name": "C (cairn, test)", "language": "c"}},
              "nbformat": 4, "nbformat_minor": 5}
        with tempfile.TemporaryDirectory() as d:
            write_kernelspec(os.path.join(d, "kernels"))
            path = os.path.join(d, "live.ipynb")
            with open(path, "w") as f:
                json.dump(nb, f)
            env = dict(os.environ, JUPYTER_PATH=d)
            proc = subprocess.run([sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute",
                                   "--ExecutePreprocessor.kernel_name=cairn", "--ExecutePreprocessor.timeout=60",
                                   "--output", "out.ipynb", path],
                                  env=env, capture_output=True, text=True, timeout=150)
            self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
            with open(os.path.join(d, "out.ipynb")) as f:
                out = json.load(f)
        first = out["cells"][0]["outputs"]
        self.assertEqual(len(first), 1, first)
        # The figure shown in cell 1 was updated from cell 2: the notebook keeps that state.
        self.assertEqual("".join(first[0]["data"]["text/plain"]), '<figure 640x480 "done": 1 axes, line>')
        # One point draws no line (only the legend handle); after the update, four do.
        self.assertGreater(count_rgb(decode_png("".join(first[0]["data"]["image/png"])), TAB_BLUE), 300)
        self.assertEqual(out["cells"][1]["outputs"], [])
        bar = out["cells"][2]["outputs"]
        self.assertEqual(len(bar), 1, bar)
        self.assertIn("100%", "".join(bar[0]["data"]["text/plain"]))
        self.assertIn("3/3", "".join(bar[0]["data"]["text/plain"]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
