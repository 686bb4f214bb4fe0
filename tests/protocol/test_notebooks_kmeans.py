"""test_notebooks_kmeans.py — the clustering primer (notebooks/04-fashion-mnist-kmeans.ipynb)
runs headless in its quick mode (CAIRN_QUICK=1), as the tests of the other primers do.

Its numbers are checked against tests/fixtures/primer_kmeans.json, made once by
tests/fixtures/gen_primer_fixtures.py with scikit-learn on the same rows: the k-means
scores (adjusted Rand, NMI, purity) lie in the range 20 seeds of scikit-learn's KMeans span,
the nearest-neighbour accuracy matches KNeighborsClassifier; the elbow and silhouette sweep,
the classification report and every figure are checked too.
"""
import re
import unittest

from notebook_harness import PrimerCase, figures, number, stdout_of, text_of


class KmeansPrimer(PrimerCase):
    NOTEBOOK = "04-fashion-mnist-kmeans.ipynb"
    FIXTURE = "primer_kmeans.json"

    def test_runs_clean_in_quick_mode(self):
        self.check_runs_clean("quick-mode", "quick run: k-means on 2000 images, nearest neighbours 5000 -> 1000 images")

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
        figs = self.check_figures(["centres", "confusion", "elbow", "pca-map", "knn-confusion"], 300, 300)
        self.assertIn("image 28x28 ×10", text_of(figs[0]))
        self.assertIn("scatter 2000 points ×2", text_of(figs[3]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
