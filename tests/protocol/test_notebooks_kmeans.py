"""test_notebooks_kmeans.py — the clustering primer (notebooks/04-fashion-mnist-kmeans.ipynb)
runs headless in its quick mode (CAIRN_QUICK=1), as the tests of the other primers do.

Its numbers are checked against tests/fixtures/primer_kmeans.json, made once by
tests/fixtures/gen_primer_fixtures.py with scikit-learn on the same rows: the k-means
scores (adjusted Rand, NMI, purity) lie in the range 20 seeds of scikit-learn's KMeans span,
the nearest-neighbour accuracy matches KNeighborsClassifier; the elbow and silhouette sweep,
the classification report and every figure are checked too.
"""
import json
import os
import re
import subprocess
import tempfile
import unittest

import harness
from test_notebooks import FASHION, ROOT, by_id, errors, figures, png_size, run_notebook, stdout_of, text_of

FIXTURE = os.path.join(ROOT, "tests", "fixtures", "primer_kmeans.json")


def number(pattern, text):
    m = re.search(pattern, text)
    if not m:
        raise AssertionError("%r not found in:\n%s" % (pattern, text))
    return float(m.group(1))


@unittest.skipUnless(os.path.exists(FASHION + "/train-images-idx3-ubyte.gz"),
                     "Debian package dataset-fashion-mnist is not installed")
class KmeansPrimer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        subprocess.run([harness.kernel_binary(), "install", "--prefix", cls.tmp.name], check=True,
                       stdout=subprocess.DEVNULL)
        cls.cells = run_notebook("04-fashion-mnist-kmeans.ipynb", cls.tmp.name, cell_timeout=300,
                                 CAIRN_QUICK="1")
        cls.cell = by_id(cls.cells)
        with open(FIXTURE) as f:
            cls.ref = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_runs_clean_in_quick_mode(self):
        self.assertEqual(errors(self.cells), [])
        self.assertIn("quick run: k-means on 2000 images, nearest neighbours 5000 -> 1000 images",
                      stdout_of(self.cell["quick-mode"]))
        self.assertRegex(stdout_of(self.cell["run-time"]), r"^quick run took \d+\.\d s\n$")

    def within(self, value, samples, margin):
        lo, hi = min(samples) - margin, max(samples) + margin
        self.assertTrue(lo <= value <= hi, "%.4f outside [%.4f, %.4f]" % (value, lo, hi))

    def test_kmeans_against_labels(self):
        out = stdout_of(self.cell["scores"])
        self.within(number(r"adjusted Rand index ([\d.]+)", out), self.ref["ari"], 0.03)
        self.within(number(r"normalized mutual information ([\d.]+)", out), self.ref["nmi"], 0.03)
        self.within(number(r"purity ([\d.]+)", out), self.ref["purity"], 0.03)
        fit = stdout_of(self.cell["kmeans"])
        self.assertRegex(fit, r"inertia [\d.]+ after \d+ iterations \(best of 3 runs\)")

    def test_elbow_and_silhouette(self):
        out = stdout_of(self.cell["elbow"])
        rows = [(int(k), float(i), float(s)) for k, i, s in
                re.findall(r"k = +(\d+) +inertia +([\d.]+) +silhouette (-?[\d.]+)", out)]
        self.assertEqual([r[0] for r in rows], list(range(2, 16)))
        inertia = [r[1] for r in rows]
        self.assertLess(inertia[-1], 0.7 * inertia[0])   # more centres, shorter distances
        for r in rows:
            self.assertTrue(-1 < r[2] < 1)
        best = max(rows, key=lambda r: r[2])
        m = re.search(r"highest silhouette at k = (\d+) \(([\d.]+)\)", out)
        self.assertEqual(int(m.group(1)), best[0])
        self.assertAlmostEqual(float(m.group(2)), best[2], places=4)
        # The k = 10 of the sweep (one restart) is no better than the best of three restarts.
        km_inertia = number(r"inertia ([\d.]+) after", stdout_of(self.cell["kmeans"]))
        self.assertGreater(inertia[8], 0.98 * km_inertia)
        # A live figure: shown once, updated in place, so one image stays in the output.
        self.assertEqual(len(figures([self.cell["elbow"]])), 1)

    def test_nearest_neighbours(self):
        acc = number(r"accuracy \(k = 5, 5000 training images\): ([\d.]+)", stdout_of(self.cell["knn"]))
        self.assertAlmostEqual(acc, self.ref["knn_accuracy"], delta=0.002)
        report = "".join(text_of(o) for o in self.cell["report"]["outputs"])
        for name in ("T-shirt", "Trouser", "Shirt", "Ankle boot", "macro avg", "weighted avg"):
            self.assertIn(name, report)
        self.assertAlmostEqual(number(r"accuracy +([\d.]+) +1000", report), acc, delta=0.005)

    def test_figures_decode(self):
        figs = figures(self.cells)
        owners = [c["id"] for c in self.cells for o in c["outputs"] if o in figs]
        self.assertEqual(owners, ["centres", "confusion", "elbow", "pca-map", "knn-confusion"])
        for f in figs:
            w, h = png_size(f["data"]["image/png"])
            self.assertGreater(w, 300)
            self.assertGreater(h, 300)
        self.assertIn("image 28x28 ×10", text_of(figs[0]))
        self.assertIn("scatter 2000 points ×2", text_of(figs[3]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
