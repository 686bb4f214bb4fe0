"""test_notebooks_cnn.py — the CNN primer (notebooks/05-fashion-mnist-cnn.ipynb) runs headless
in its quick mode (CAIRN_QUICK=1).

The test accuracy after the quick epochs, and the footwear-against-the-rest variant's accuracy,
sensitivity and specificity, lie in the range that the same networks trained with PyTorch on
the same rows span over several seeds (tests/fixtures/primer_cnn.json, made once by
tests/fixtures/gen_primer_fixtures.py), with a margin for the different random streams.
The summary, the history, the saved-and-loaded model and every figure are checked too.
"""
import unittest

from notebook_harness import PrimerCase, figures, number, stdout_of, text_of


class CnnPrimer(PrimerCase):
    NOTEBOOK = "05-fashion-mnist-cnn.ipynb"
    FIXTURE = "primer_cnn.json"

    @classmethod
    def notebook_env(cls):
        return dict(super().notebook_env(), TMPDIR=cls.tmp.name)   # the saved model goes there

    def test_runs_clean_in_quick_mode(self):
        self.check_runs_clean("quick-mode", "quick run: 4000 training images, 2000 test images, 2 epochs")

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
        figs = self.check_figures(["fit", "history", "evaluate", "misclassified", "feature-maps",
                                   "feature-maps", "filters", "binary-fit"], 300, 250)
        text = [text_of(f) for f in figs]
        self.assertIn("confusion 10x10", text[2])
        self.assertIn("image 28x28 ×12", text[3])
        self.assertIn("16 x 26 x 26", text[4])
        self.assertIn("32 x 11 x 11", text[5])
        self.assertIn("image 3x3 ×16", text[6])
        self.assertIn("confusion 2x2", text[7])


if __name__ == "__main__":
    unittest.main(verbosity=2)
