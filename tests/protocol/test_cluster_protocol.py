"""test_cluster_protocol.py — the cluster module through the real kernel.

- Every bad input (k out of range, NaN with its row and column, empty input, labels of
  the wrong length, an invalid view) ends the cell with a CairnError naming the function
  and the shapes, and the session keeps every variable it had.
- A k-means fit shows its progress bar, the result's inertia reads back in the next cell,
  and %whos accounts the memory the result holds.
- The classification report reaches the client as text/plain and text/html; the cluster,
  centre and elbow figures and the confusion matrix come back as PNG.
- Interrupting a long k-means stops it at the end of an iteration: the cell reports
  KeyboardInterrupt, and the result (best so far, flagged interrupted) is kept.
"""
import base64
import time
import unittest

from harness import SessionTest


class ClusterProtocolTests(SessionTest):

    def expect_error(self, code, *parts):
        r = self.k.execute(code)
        self.assertEqual(r.status, "error", (code, r.outputs))
        err = r.error
        self.assertIsNotNone(err, r.outputs)
        self.assertEqual(err["ename"], "CairnError", err)
        for p in parts:
            self.assertIn(p, err["evalue"], err)

    def test_errors_keep_the_session(self):
        self.ok("mat cX = MAT(6, 2, 0, 0, 0, 1, 1, 0, 10, 10, 10, 11, 11, 10);\nint ckept = 42;")
        self.expect_error("kmeans_result *bad1 = kmeans_fit(cX, 7, NULL);",
                          "kmeans_fit", "k = 7 must be in 1..6", "6 x 2")
        self.expect_error("kmeans_fit(cX, 0, NULL);", "kmeans_fit", "k = 0")
        self.expect_error("mat cN = mat_copy(cX);\n*mat_ptr(cN, 4, 1) = NAN;\nkmeans_fit(cN, 2, NULL);",
                          "kmeans_fit", "X (6 x 2) has NaN at row 4, column 1")
        self.expect_error("kmeans_fit(mat_empty(), 2, NULL);", "kmeans_fit", "X is empty (0 x 0)")
        self.expect_error("metric_adjusted_rand(mat_zeros(6, 1), mat_zeros(5, 1));",
                          "metric_adjusted_rand", "labels_pred has 5 entries (5 x 1) but 6 are needed")
        self.expect_error("mat cv = cX;\ncv.stride = 1;\nknn_classify(cv, mat_zeros(6, 1), cX, 3, KNN_UNIFORM);",
                          "knn_classify", "X_train (6 x 2) has stride 1 < cols")
        self.expect_error("knn_classify(cX, mat_zeros(4, 1), cX, 3, KNN_UNIFORM);",
                          "knn_classify", "y_train has 4 entries")
        # the session kept everything: the variables, their values
        self.assertEqual(self.value("ckept + (int)mat_get(cX, 3, 0)"), "52")

    def test_fit_report_and_figures_reach_the_client(self):
        self.ok("mat fX = MAT(6, 2, 0, 0, 0, 1, 1, 0, 10, 10, 10, 11, 11, 10);")
        r = self.ok("kmeans_options fo = kmeans_defaults();\nfo.seed = 1;\nfo.n_init = 2;\n"
                    "kmeans_result *fkm = kmeans_fit(fX, 2, &fo);")
        bars = [m for m in r.outputs if m["msg_type"] in ("display_data", "update_display_data")]
        self.assertTrue(bars, r.outputs)
        last = bars[-1]["content"]["data"]
        self.assertIn("k-means", last["text/plain"])
        self.assertIn("inertia", last["text/plain"])
        self.assertIn("<", last["text/html"])
        inertia = float(self.value("fkm->inertia"))
        self.assertAlmostEqual(inertia, 8.0 / 3.0, places=12)
        self.assertEqual(self.value("metric_adjusted_rand(fkm->labels, MAT(6, 1, 0, 0, 0, 1, 1, 1))"), "1.0")
        # %whos: the result is one accounted block (header, 2 x 2 centres, 6 labels, history)
        whos = self.ok("%whos").stdout
        line = [l for l in whos.splitlines() if l.startswith("fkm ")]
        self.assertEqual(len(line), 1, whos)
        self.assertIn("kmeans_result", line[0])
        self.assertRegex(line[0], r"\d+(\.\d)? (B|KiB)")
        # the classification report as text and HTML
        r = self.ok("classification_report(MAT(6, 1, 0, 0, 0, 1, 1, 1), MAT(6, 1, 0, 0, 1, 1, 1, 1), "
                    "(const char *[]){\"coat\", \"bag\"});")
        shown = r.of_type("display_data")
        self.assertEqual(len(shown), 1, r.outputs)
        data = shown[0]["content"]["data"]
        self.assertIn("precision    recall  f1-score   support", data["text/plain"])
        self.assertIn("        coat       1.00      0.67      0.80         3", data["text/plain"])
        self.assertIn("<th>bag</th>", data["text/html"])
        # figures come back as PNG
        for code in ("kmeans_plot_clusters(fX, fkm->labels, fkm)",
                     "kmeans_plot_elbow(kmeans_elbow(fX, 1, 4, &fo))",
                     "kmeans_plot_centers(fkm, 2)",
                     "metric_plot_confusion(MAT(6, 1, 0, 0, 0, 1, 1, 1), fkm->labels, NULL)"):
            r = self.ok(code)
            res = r.of_type("execute_result")
            self.assertEqual(len(res), 1, (code, r.outputs))
            png = base64.b64decode(res[0]["content"]["data"]["image/png"])
            self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n", code)

    def test_interrupt_keeps_the_best_so_far(self):
        self.ok("rng_seed(3);\nmat iX = mat_rand(20000, 16);")
        msg_id = self.k.kc.execute("kmeans_options io = kmeans_defaults();\nio.n_init = 1000;\nio.tol = 0;\n"
                                   "io.max_iter = 1000;\nkmeans_result *ikm = kmeans_fit(iX, 20, &io);")
        time.sleep(3.0)
        t0 = time.monotonic()
        self.k.interrupt()
        reply = self.k.shell_reply(msg_id, timeout=30)
        self.k.iopub_until_idle(msg_id)
        self.assertLess(time.monotonic() - t0, 5.0)
        self.assertEqual(reply["content"]["status"], "error", reply["content"])
        self.assertEqual(reply["content"]["ename"], "KeyboardInterrupt", reply["content"])
        r = self.ok('printf("%d %d %d\\n", ikm->interrupted, ikm->n_init_done < 1000, ikm->inertia > 0);')
        self.assertEqual(r.stdout, "1 1 1\n")


if __name__ == "__main__":
    unittest.main()
