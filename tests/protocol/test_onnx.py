"""test_onnx.py — ONNX export, import, listing and hot reload through the real kernel.

- A cell trains a small network, exports it with version and metadata; onnx_info in a cell
  shows display_data with an HTML table and a text/plain fallback naming inputs, outputs,
  operators and the parameter count.
- A later cell imports the file (and PyTorch's CNN fixture) and predicts; onnx_reload with a
  newer version replaces the live model and says which version is live, an older one keeps it.
- Refused files (an unsupported operator, a corrupt file) end the cell with the operator or
  the reason named, and the live model and every variable keep their values.
- The %onnx magic: export with a version, info, load (defines NAME and NAME_meta), reload,
  and its errors (UsageError for a bad action; a refused file keeps the loaded model).
"""
import os
import tempfile
import unittest

from harness import SessionTest

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")


class OnnxTests(SessionTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.TemporaryDirectory()
        r = cls.k.execute(
            'mat X = idx_read("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");\n'
            'mat y = idx_read("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");\n'
            'mat_scale_inplace(X, 1.0 / 255);\n'
            'mat Xs = mat_row_range(X, 0, 300), ys = mat_row_range(y, 0, 300);\n'
            'nn_model *net = nn_model_new(1, 28, 28, 3);\n'
            'nn_conv2d(net, 4, 3, 1, 0, 1); nn_relu(net); nn_maxpool(net, 2, 2);\n'
            'nn_flatten(net); nn_dense(net, 10); nn_softmax(net);\n'
            'nn_compile(net, NN_LOSS_CROSS_ENTROPY, nn_adam(1e-3));\n'
            'nn_fit_options o = nn_fit_defaults(); o.epochs = 1; o.verbose = 0;\n'
            'nn_history h = nn_fit(net, Xs, ys, o);', timeout=120)
        assert r.status == "ok", r

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def test_1_export_and_info(self):
        self.ok('onnx_meta m = onnx_meta_defaults(); m.version = 1; snprintf(m.name, sizeof m.name, "fashion");\n'
                'snprintf(m.classes, sizeof m.classes, "T-shirt,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Boot");\n'
                'onnx_meta_add_fit(&m, o, h);\n'
                'onnx_export(net, "%s", m);\n'
                'm.version = 2; onnx_export(net, "%s", m);' % (self.path("v1.onnx"), self.path("v2.onnx")))
        r = self.ok('onnx_info("%s");' % self.path("v1.onnx"))
        shown = [m for m in r.outputs if m["msg_type"] == "display_data"]
        self.assertTrue(shown, r.outputs)
        data = shown[0]["content"]["data"]
        self.assertIn("<table>", data["text/html"])
        self.assertIn("Conv &times;1", data["text/html"])
        text = data["text/plain"]
        for needle in ("input: input FLOAT [batch, 1, 28, 28]", "output: output FLOAT [batch, 10]",
                       "Conv x1", "Gemm x1", "Softmax x1", "parameters: %d in 4" % (4 * 9 + 4 + 676 * 10 + 10),
                       "model version 1", "metadata classes: T-shirt"):
            self.assertIn(needle, text)

    def test_2_import_predict_reload(self):
        self.ok('onnx_meta live; nn_model *served = onnx_import("%s", &live);' % self.path("v1.onnx"))
        self.assertEqual(self.value("live.version"), "1")
        same = self.value("mat a = nn_predict(net, Xs), b = nn_predict(served, Xs); mat_max_all(mat_abs(mat_sub(a, b)))")
        self.assertEqual(float(same), 0.0)
        r = self.ok('onnx_reload(&served, &live, "%s");' % self.path("v2.onnx"))
        self.assertIn("model 'fashion' version 2 is now live (was version 1)", r.stdout + str(r.outputs))
        self.assertEqual(self.value("live.version"), "2")
        r = self.ok('onnx_reload(&served, &live, "%s");' % self.path("v1.onnx"))
        self.assertIn("version 2 stays live", r.stdout + str(r.outputs))
        acc = float(self.value('nn_model *pt = onnx_import("%s/onnx_torch_cnn.onnx", NULL);\n'
                               'nn_evaluate(pt, Xs, ys).accuracy' % FIXTURES))
        self.assertGreater(acc, 0.7)

    def test_3_errors_keep_state(self):
        cases = [('nn_model *bad = onnx_import("%s/onnx_bad_op.onnx", NULL);' % FIXTURES, ["operator LRN", "'lrn'"]),
                 ('onnx_reload(&served, &live, "/dev/null");', ["/dev/null is 0 bytes"])]
        for code, needles in cases:
            r = self.k.execute(code)
            self.assertEqual(r.status, "error", code)
            msg = (r.error or {}).get("evalue", "") + " ".join((r.error or {}).get("traceback", []))
            for n in needles:
                self.assertIn(n, msg, code)
        self.assertEqual(self.value("live.version"), "2")
        self.assertEqual(self.value("nn_layer_count(served)"), "6")

    def test_4_onnx_magic(self):
        v5, v6 = self.path("magic v5.onnx"), self.path("magic_v6.onnx")
        r = self.ok('%%onnx export net "%s" version 5' % v5)
        self.assertIn("net written to %s (model version 5)" % v5, r.stdout)
        r = self.ok('%%onnx info "%s"' % v5)
        shown = [m for m in r.outputs if m["msg_type"] == "display_data"]
        self.assertTrue(shown, r.outputs)
        self.assertIn("Conv x1", shown[0]["content"]["data"]["text/plain"])
        self.assertIn("model version 5", shown[0]["content"]["data"]["text/plain"])
        # load defines net2 and net2_meta as session variables; a C line may follow the magic
        r = self.ok('%%onnx load net2 "%s"\nint net2_layers = nn_layer_count(net2);' % v5)
        self.assertIn("net2: %s, model version 5, 6 layers, %d parameters" % (v5, 4 * 9 + 4 + 676 * 10 + 10), r.stdout)
        self.assertEqual(self.value("net2_meta.version"), "5")
        self.assertEqual(self.value("net2_layers"), "6")
        same = self.value("mat a2 = nn_predict(net, Xs), b2 = nn_predict(net2, Xs); mat_max_all(mat_abs(mat_sub(a2, b2)))")
        self.assertEqual(float(same), 0.0)
        self.ok('%%onnx export net %s version 6' % v6)
        r = self.ok('%%onnx reload net2 %s' % v6)
        self.assertIn("version 6 is now live (was version 5)", r.stdout + str(r.outputs))
        self.assertEqual(self.value("net2_meta.version"), "6")
        # errors: a bad action is a UsageError; a file that fails to load keeps the session
        r = self.k.execute("%onnx frob x.onnx")
        self.assertEqual(r.status, "error")
        self.assertEqual(r.error.get("ename"), "UsageError")
        self.assertIn("unknown action 'frob'", r.error.get("evalue", ""))
        r = self.k.execute('%%onnx load net2 "%s/onnx_bad_op.onnx"' % FIXTURES)
        self.assertEqual(r.status, "error")
        self.assertIn("operator LRN", (r.error or {}).get("evalue", ""))
        self.assertEqual(self.value("net2_meta.version"), "6")
        self.assertEqual(self.value("nn_layer_count(net2)"), "6")


if __name__ == "__main__":
    unittest.main()
