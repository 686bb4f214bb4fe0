"""test_notebooks_cnn.py — the CNN primer (notebooks/05-fashion-mnist-cnn.ipynb) runs headless
in its quick mode (CAIRN_QUICK=1).

The test accuracy after the quick epochs, and the footwear-against-the-rest variant's accuracy,
sensitivity and specificity, lie in the range that the same networks trained with PyTorch on
the same rows span over several seeds (tests/fixtures/primer_cnn.json, made once by
tests/fixtures/gen_primer_fixtures.py), with a margin for the different random streams.
The summary, the history, the saved-and-loaded model and every figure are checked too.
"""
import json
import os
import re
import subprocess
import tempfile
import unittest

import harness
from test_notebooks import FASHION, ROOT, by_id, errors, figures, png_size, run_notebook, stdout_of, text_of
from test_notebooks_kmeans import number

FIXTURE = os.path.join(ROOT, "tests", "fixtures", "primer_cnn.json")


@unittest.skipUnless(os.path.exists(FASHION + "/train-images-idx3-ubyte.gz"),
                     "Debian package dataset-fashion-mnist is not installed")
class CnnPrimer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        subprocess.run([harness.kernel_binary(), "install", "--prefix", cls.tmp.name], check=True,
                       stdout=subprocess.DEVNULL)
        cls.cells = run_notebook("05-fashion-mnist-cnn.ipynb", cls.tmp.name, cell_timeout=300,
                                 CAIRN_QUICK="1", TMPDIR=cls.tmp.name)
        cls.cell = by_id(cls.cells)
        with open(FIXTURE) as f:
            cls.ref = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def within(self, value, samples, margin):
        lo, hi = min(samples) - margin, max(samples) + margin
        self.assertTrue(lo <= value <= hi, "%.4f outside [%.4f, %.4f]" % (value, lo, hi))

    def test_runs_clean_in_quick_mode(self):
        self.assertEqual(errors(self.cells), [])
        self.assertIn("quick run: 4000 training images, 2000 test images, 2 epochs",
                      stdout_of(self.cell["quick-mode"]))
        self.assertRegex(stdout_of(self.cell["run-time"]), r"^quick run took \d+\.\d s\n$")

    def test_summary(self):
        summary = "".join(text_of(o) for o in self.cell["build"]["outputs"])
        for line in (r"conv2d 1->16 3x3 .* 16 x 26 x 26 +160", r"conv2d 16->32 3x3 .* 32 x 11 x 11 +4640",
                     r"dense .* 128 +102528", r"dense .* 10 +1290"):
            self.assertRegex(summary, line)

    def test_training_and_accuracy(self):
        fit = stdout_of(self.cell["fit"])
        self.assertIn("nn_fit: 2 epochs, 114 steps", fit)   # ceil(3600 / 64) = 57 steps per epoch
        train_loss = number(r"train loss ([\d.]+)", fit)
        self.assertLess(train_loss, 1.0)                    # from ln 10 = 2.30 at the start
        acc = number(r"test accuracy ([\d.]+) on 2000 images", stdout_of(self.cell["evaluate"]))
        self.within(acc, self.ref["test_accuracy"], 0.04)
        # The live figure of nn_fit stays as one image, the history is the cell's result.
        self.assertEqual(len(figures([self.cell["fit"]])), 1)
        self.assertIn("line", text_of(figures([self.cell["history"]])[0]))
        saved = stdout_of(self.cell["save"])
        self.assertIn("10 layers, 108618 parameters", saved)
        self.assertAlmostEqual(number(r"test accuracy after loading ([\d.]+)", saved), acc, places=4)
        self.assertIn("predictions that changed: 0", saved)

    def test_footwear_variant(self):
        data = stdout_of(self.cell["binary-data"])
        self.assertIn("%d of 4000 training images are footwear" % self.ref["footwear_positives"], data)
        out = stdout_of(self.cell["binary-fit"])
        self.within(number(r"accuracy ([\d.]+)", out), self.ref["footwear_accuracy"], 0.02)
        self.within(number(r"sensitivity ([\d.]+)", out), self.ref["footwear_sensitivity"], 0.03)
        self.within(number(r"specificity ([\d.]+)", out), self.ref["footwear_specificity"], 0.03)

    def test_figures_decode(self):
        figs = figures(self.cells)
        owners = [c["id"] for c in self.cells for o in c["outputs"] if o in figs]
        self.assertEqual(owners, ["fit", "history", "evaluate", "misclassified", "feature-maps",
                                  "feature-maps", "filters", "binary-fit"])
        for f in figs:
            w, h = png_size(f["data"]["image/png"])
            self.assertGreater(w, 300)
            self.assertGreater(h, 250)
        text = [text_of(f) for f in figs]
        self.assertIn("confusion 10x10", text[2])
        self.assertIn("image 28x28 ×12", text[3])
        self.assertIn("16 x 26 x 26", text[4])
        self.assertIn("32 x 11 x 11", text[5])
        self.assertIn("image 3x3 ×16", text[6])
        self.assertIn("confusion 2x2", text[7])


if __name__ == "__main__":
    unittest.main(verbosity=2)
