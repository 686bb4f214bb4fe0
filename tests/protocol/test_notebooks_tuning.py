"""test_notebooks_tuning.py — the tuning primer (notebooks/06-tuning.ipynb) runs headless in its
quick mode (CAIRN_QUICK=1) with MLFLOW_TRACKING_URI in a temporary directory.

Checked: the sweep's best (learning rate, batch size) is one that PyTorch also finds best or
nearly so on the same rows, and its accuracy lies near PyTorch's for that configuration; the
learning rate 3.0 diverges on purpose (PyTorch ends at chance accuracy there) and its two trials are FAILED with the reason while the
six others finish; the runs on disk are in MLflow's layout with those statuses and the logged
curves; the k sweep's best k is one whose scikit-learn silhouette is near the best;
a CAIRN_PARAM_ override reaches the parameters cell. References: tests/fixtures/primer_tuning.json
(tests/fixtures/gen_primer_fixtures.py tuning).
"""
import os
import re
import unittest

from notebook_harness import PrimerCase, stdout_of, text_of


def mean(values):
    return sum(values) / len(values)


class TuningPrimer(PrimerCase):
    NOTEBOOK = "06-tuning.ipynb"
    FIXTURE = "primer_tuning.json"

    @classmethod
    def notebook_env(cls):
        cls.store = os.path.join(cls.tmp.name, "mlruns")
        # n_kmeans is overridden as a batch run would (the quick default is 1500 too).
        return dict(super().notebook_env(), MLFLOW_TRACKING_URI=cls.store, CAIRN_PARAM_n_kmeans="1500")

    def test_runs_clean_in_quick_mode(self):
        self.check_runs_clean("parameters", "quick run: 3000 training and 1000 validation images, 1 epochs, 2 trials at once")

    def test_best_configuration(self):
        out = stdout_of(self.cell["failed"])
        m = re.search(r"best: lr = ([\d.e-]+), batch = (\d+), validation accuracy ([\d.]+) \(run ([0-9a-f]+)\)", out)
        self.assertIsNotNone(m, out)
        lr, batch, acc = float(m.group(1)), int(m.group(2)), float(m.group(3))
        means = {key: mean(v) for key, v in self.ref["val_acc"].items() if None not in v}
        best = max(means.values())
        key = "%g,%d" % (lr, batch)
        self.assertIn(key, means)
        self.assertGreaterEqual(means[key], best - 0.03, "PyTorch means: %r" % means)
        self.assertLess(abs(acc - means[key]), 0.06, "PyTorch for %s: %r" % (key, self.ref["val_acc"][key]))
        self.assertTrue(os.path.isdir(os.path.join(self.store, self.experiment_id(), m.group(4))))

    def test_diverging_trials_fail_and_the_sweep_goes_on(self):
        for key in ("3,32", "3,128"):   # PyTorch at lr 3.0 ends at chance too (its loss stays finite)
            for acc in self.ref["val_acc"][key]:
                self.assertTrue(acc is None or acc < 0.15, (key, acc))
        out = stdout_of(self.cell["failed"])
        self.assertEqual(re.findall(r"FAILED: lr = (\S+), batch = (\d+): (.*)", out),
                         [("3", "32", "metric val_acc is NaN"), ("3", "128", "metric val_acc is NaN")])
        table = "".join(text_of(o) for o in self.cell["sweep-table"]["outputs"])
        self.assertIn("8 of 8 trials done, 2 failed", table)

    def experiment_id(self):
        out = stdout_of(self.cell["experiment"])
        return re.search(r"\(id (\d+)\) in ", out).group(1)

    def runs(self):
        """Every run of the experiment on disk: {run_id: (meta.yaml text, params, metric files)}."""
        exp = os.path.join(self.store, self.experiment_id())
        found = {}
        for run in os.listdir(exp):
            d = os.path.join(exp, run)
            if not os.path.isdir(d):
                continue
            with open(os.path.join(d, "meta.yaml")) as f:
                meta = f.read()
            params = {p: open(os.path.join(d, "params", p)).read() for p in os.listdir(os.path.join(d, "params"))}
            metrics = {}
            for name in os.listdir(os.path.join(d, "metrics")):
                with open(os.path.join(d, "metrics", name)) as f:
                    metrics[name] = [line.split() for line in f.read().splitlines()]
            found[run] = (meta, params, metrics)
        return found

    def test_runs_on_disk(self):
        runs = self.runs()
        cnn = {r: v for r, v in runs.items() if "lr" in v[1]}
        kms = {r: v for r, v in runs.items() if "k" in v[1]}
        self.assertEqual(len(cnn), 8)
        self.assertEqual(len(kms), 11)
        self.assertEqual(len(runs), 8 + 11 + 2)   # and one parent run per sweep
        for meta, params, metrics in cnn.values():
            status = int(re.search(r"(?m)^status: (\d+)", meta).group(1))
            self.assertEqual(status, 4 if float(params["lr"]) == 3.0 else 3, meta)   # FAILED / FINISHED
            steps = metrics["step_loss"]
            self.assertEqual([int(s[2]) for s in steps], list(range(len(steps))))
            if status == 3:
                self.assertEqual(len(steps), -(-3000 // int(params["batch"])))   # a point per mini-batch
                first, last = float(steps[0][1]), float(metrics["train_loss"][-1][1])
                self.assertLess(last, first)
        self.assertEqual(sorted(int(float(v[1]["k"])) for v in kms.values()), list(range(2, 13)))

    def test_k_sweep(self):
        m = re.search(r"best k = (\d+) \(silhouette ([\d.]+)\)", stdout_of(self.cell["kmeans-sweep"]))
        k, s = int(m.group(1)), float(m.group(2))
        means = {int(key): mean(v) for key, v in self.ref["silhouette"].items()}
        self.assertGreaterEqual(means[k], max(means.values()) - 0.02, means)
        self.assertLess(abs(s - means[k]), 0.03)

    def test_figures_decode(self):
        figs = self.check_figures(["plot-param", "plot-parallel", "best-curves", "kmeans-plot"], 300, 300)
        self.assertIn("val_acc vs lr (8 runs)", text_of(figs[0]))
        self.assertIn("silhouette vs k (11 runs)", text_of(figs[3]))
        runs = "".join(text_of(o) for o in self.cell["runs-magic"]["outputs"])
        self.assertIn("FAILED", runs)


if __name__ == "__main__":
    unittest.main(verbosity=2)
