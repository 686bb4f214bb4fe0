"""test_notebooks.py — the teaching primers in notebooks/ run headless, as a class would.

Each primer is executed with `/usr/bin/jupyter nbconvert --to notebook --execute` on a
kernelspec installed into a temporary prefix. The numbers the notebooks print are checked
against identities (solve, eigenvalues vs determinant) and against scikit-learn computed in
this test from the same Fashion-MNIST file; every figure must be a decodable PNG.
"""
import gzip
import os
import re
import tempfile
import unittest

from notebook_harness import (FASHION, ROOT, errors, figures, install_kernel, png_size, result_text, run_notebook,
                              text_of)


class CommittedFormat(unittest.TestCase):
    """Every committed notebook is nbformat 4.5 with unique cell ids and no outputs, so it
    opens without MissingIDFieldWarning and diffs stay small."""

    def test_committed_notebooks(self):
        import warnings
        import nbformat
        paths = sorted(p for p in os.listdir(os.path.join(ROOT, "notebooks")) if p.endswith(".ipynb"))
        self.assertIn("04-fashion-mnist-kmeans.ipynb", paths)
        for p in paths:
            with self.subTest(notebook=p), warnings.catch_warnings():
                warnings.simplefilter("error")  # MissingIDFieldWarning and friends fail the test
                nb = nbformat.read(os.path.join(ROOT, "notebooks", p), as_version=4)
                nbformat.validate(nb)
                self.assertEqual((nb.nbformat, nb.nbformat_minor), (4, 5))
                self.assertEqual(nb.metadata["kernelspec"]["name"], "cairn")
                ids = [c.id for c in nb.cells]
                self.assertEqual(len(ids), len(set(ids)), "duplicate cell ids")
                for c in nb.cells:
                    if c.cell_type == "code":
                        self.assertEqual(c.outputs, [], "outputs left in cell %s" % c.id)
                        self.assertIsNone(c.execution_count, "execution count left in cell %s" % c.id)


class PrimerTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        install_kernel(cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def check_figures(self, cells, count):
        figs = figures(cells)
        self.assertEqual(len(figs), count)
        for f in figs:
            w, h = png_size(f["data"]["image/png"])
            self.assertGreater(w, 100)
            self.assertGreater(h, 100)

    def test_00_c_cells(self):
        import math
        cells = run_notebook("00-c-cells.ipynb", self.tmp.name)
        src = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells]

        def cell(prefix):
            return cells[next(i for i, s in enumerate(src) if s.startswith(prefix))]

        squares = sum(float(i * i) for i in range(10))
        self.assertEqual(result_text(cells[1]), "%.1f" % squares)
        self.assertEqual(result_text(cell("typedef struct")), "-3.0")
        self.assertEqual(result_text(cells[3]), "%.1f" % (2 * squares))  # sum redefined
        self.assertIn("note: centre was point", text_of(cell("int centre")["outputs"][0]))
        self.assertEqual(result_text(cell("int centre")), "7")
        # The two cells meant to fail to compile, and the one meant to crash, and no other.
        errs = errors(cells)
        self.assertEqual([e[1] for e in errs], ["CompileError", "CompileError", "SIGSEGV"], errs)
        self.assertRegex(errs[0][2], r"^line 1, column \d+: ")
        self.assertIn("passing argument 1 of 'strlen'", errs[1][2])
        self.assertIn("NULL pointer", errs[2][2])
        self.assertEqual(result_text(cell("sum(squares, N) / 2")), "%.1f" % squares)  # nothing lost
        self.assertEqual(result_text(cell("squares[0]")), "0.0")  # the crashed cell's write is gone
        whos = text_of(cell("%whos")["outputs"][0])
        for name in ("squares", "sum", "centre"):
            self.assertRegex(whos, r"(?m)^%s " % name)
        self.assertRegex(text_of(cell("%timeit")["outputs"][0]),
                         r"per loop \(mean ± std\. dev\. of \d+ runs, \d+ loops each\)")
        n = 10 ** 7  # H_n = ln n + gamma + 1/(2n) - 1/(12 n^2) + ...
        harmonic = math.log(n) + 0.5772156649015329 + 1 / (2 * n) - 1 / (12 * n * n)
        timed = cell("%%time")
        self.assertAlmostEqual(float(result_text(timed)), harmonic, delta=1e-9)
        kinds = [o["output_type"] for o in timed["outputs"]]
        self.assertEqual(kinds, ["stream", "execute_result"], kinds)  # the time, then Out, as IPython
        self.assertTrue(text_of(timed["outputs"][0]).startswith("time: "))
        self.assertEqual(result_text(cell("#ifdef USE_FLOAT")), "8")  # the #else group: double

    def test_01_matrices(self):
        cells = run_notebook("01-matrices.ipynb", self.tmp.name)
        # Only the cell that is meant to fail fails, and the session survives it.
        self.assertEqual([(e[1], e[2]) for e in errors(cells)],
                         [("CairnError", "mat_mul: inner dimensions differ: A is 3x3, B is 2x2")])
        self.assertEqual(result_text(cells[1]), "mat 3x1\n[[ 8.]\n [-5.]\n [17.]]")
        self.assertLess(float(result_text(cells[2])), 1e-12)
        m = re.search(r"product of eigenvalues ([-\d.]+), determinant ([-\d.]+)",
                      text_of(cells[3]["outputs"][0]))
        self.assertAlmostEqual(float(m.group(1)), 43.0, places=6)
        self.assertAlmostEqual(float(m.group(2)), 43.0, places=6)
        means = [float(v) for v in re.findall(r"-?\d+\.\d+", result_text(cells[4]))]
        stds = [float(v) for v in re.findall(r"-?\d+\.\d+", result_text(cells[5]))]
        self.assertEqual(len(means), 3)
        for mu, sd in zip(means, stds):
            self.assertLess(abs(mu), 0.1)      # 1000 samples: 3 standard errors
            self.assertLess(abs(sd - 1), 0.07)
        self.assertEqual(result_text(cells[-1]), "9")
        self.check_figures(cells, 1)

    def test_02_svd_denoising(self):
        cells = run_notebook("02-svd-denoising.ipynb", self.tmp.name)
        self.assertEqual(errors(cells), [])
        out = "".join(text_of(o) for c in cells for o in c["outputs"] if o["output_type"] == "stream")
        m = re.search(r"noisy input error ([\d.]+), best k = (\d+) with error ([\d.]+)", out)
        self.assertIsNotNone(m, out)
        noisy, k, best = float(m.group(1)), int(m.group(2)), float(m.group(3))
        self.assertLess(best, 0.7 * noisy)     # the low-rank reconstruction removes noise
        self.assertGreater(k, 1)
        self.assertLess(k, 24)
        # The live curve kept its final state: a single display of the figure.
        self.check_figures(cells, 4)

    @unittest.skipUnless(os.path.exists(FASHION + "/t10k-images-idx3-ubyte.gz"),
                         "Debian package dataset-fashion-mnist is not installed")
    def test_03_fashion_mnist_pca(self):
        import numpy as np
        from sklearn.decomposition import PCA
        cells = run_notebook("03-fashion-mnist-pca.ipynb", self.tmp.name)
        self.assertEqual(errors(cells), [])
        with gzip.open(FASHION + "/t10k-images-idx3-ubyte.gz") as f:
            x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784) / 255.0
        pca = PCA(50, svd_solver="full").fit(x)
        z = pca.transform(x)
        ref_relative = np.linalg.norm(pca.inverse_transform(z) - x) / np.linalg.norm(x)
        self.assertTrue(result_text(cells[0]).startswith("mat 10000x784, images 1x28x28"))
        self.assertAlmostEqual(float(result_text(cells[3])), pca.explained_variance_ratio_.sum(), places=9)
        self.assertAlmostEqual(float(result_text(cells[-1])), ref_relative, places=9)
        self.check_figures(cells, 4)


if __name__ == "__main__":
    unittest.main(verbosity=2)
