"""test_nn.py — convolutional networks through the real kernel.

- A fit in a cell shows a live loss figure (display_data then update_display_data of the
  same display id, image/png) and a progress bar, and prints how it ended.
- Interrupt during fit: the cell stops after the current batch, the model and the
  history assigned in that cell are kept, and the model predicts and trains on.
- Errors (layers that do not connect, labels out of range, NaN input, batch size 0, a
  damaged model file) end the cell with a message naming the function, layer and
  shapes, and every earlier variable keeps its value (the model's weights included).
"""
import time
import unittest

from harness import SessionTest

FASHION = "/usr/share/datasets/fashion-mnist/"


class NnTests(SessionTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = cls.k.execute(
            '#define FASHION "%s"\n'
            'mat X = idx_read(FASHION "t10k-images-idx3-ubyte.gz");\n'
            'mat y = idx_read(FASHION "t10k-labels-idx1-ubyte.gz");\n'
            'mat_scale_inplace(X, 1.0 / 255);\n'
            'mat Xs = mat_row_range(X, 0, 1000), ys = mat_row_range(y, 0, 1000);\n'
            'nn_model *net = nn_model_new(1, 28, 28, 7);\n'
            'nn_conv2d(net, 8, 3, 1, 0, 1); nn_relu(net); nn_maxpool(net, 2, 2);\n'
            'nn_flatten(net); nn_dense(net, 10);\n'
            'nn_compile(net, NN_LOSS_CROSS_ENTROPY, nn_adam(1e-3));' % FASHION, timeout=120)
        assert r.status == "ok", r

    def test_1_fit_shows_live_figure_and_progress(self):
        r = self.ok("nn_fit_options o = nn_fit_defaults(); o.epochs = 2; o.batch_size = 50; o.validation_split = 0.2;\n"
                    "nn_history h = nn_fit(net, Xs, ys, o);")
        shown = [m for m in r.outputs if m["msg_type"] == "display_data" and "image/png" in m["content"]["data"]]
        self.assertTrue(shown, r.outputs)
        fig_id = shown[0]["content"]["transient"]["display_id"]
        updates = [m for m in r.outputs if m["msg_type"] == "update_display_data"
                   and m["content"]["transient"]["display_id"] == fig_id]
        self.assertGreaterEqual(len(updates), 2)  # at least one per epoch
        bars = [m for m in r.outputs if m["msg_type"] in ("display_data", "update_display_data")
                and "epoch 2/2" in m["content"]["data"].get("text/plain", "")]
        self.assertTrue(bars, "no progress bar showing epoch 2/2")
        self.assertIn("nn_fit: 2 epochs, 32 steps", r.stdout)
        self.assertEqual(self.value("h.epochs_run * 100 + h.val_loss.cols"), "202")

    def test_2_interrupt_keeps_model(self):
        steps_before = int(self.value("nn_history h0 = nn_fit(net, Xs, ys, o); h0.steps_run"))
        self.assertEqual(steps_before, 32)
        msg_id = self.k.kc.execute("nn_fit_options oi = nn_fit_defaults(); oi.epochs = 500; oi.batch_size = 20;\n"
                                   "nn_history hi = nn_fit(net, X, y, oi);")
        time.sleep(2.0)
        self.k.interrupt()
        reply = self.k.shell_reply(msg_id, timeout=30)
        out = self.k.iopub_until_idle(msg_id)
        text = "".join(m["content"].get("text", "") for m in out if m["msg_type"] == "stream")
        self.assertRegex(text, r"nn_fit: interrupted at epoch \d+, step \d+ of 500: the model keeps what it learned")
        self.assertIn(reply["content"]["status"], ("ok", "error"))
        self.assertEqual(self.value("hi.interrupted"), "1")
        self.assertGreater(int(self.value("hi.steps_run")), 0)
        self.assertLess(int(self.value("hi.steps_run")), 500 * 500)
        acc = float(self.value("nn_evaluate(net, Xs, ys).accuracy"))
        self.assertGreater(acc, 0.5)  # a usable model

    def test_3_errors_keep_state(self):
        before = self.value("nn_params(net).data[3]")
        cases = [
            ("nn_model *bad = nn_model_new(1, 28, 28, 1); nn_conv2d(bad, 4, 3, 1, 0, 1); nn_dense(bad, 10);",
             ["nn_dense", "layer 1", "4 x 26 x 26", "nn_flatten"]),
            ("mat yb = mat_copy(ys); yb.data[5] = 12; nn_fit(net, Xs, yb, o);", ["label 12 at row 5", "0..9"]),
            ("mat Xn = mat_copy(Xs); Xn.data[3] = NAN; nn_fit(net, Xn, ys, o);", ["non-finite", "row 0, column 3"]),
            ("o.batch_size = 0; nn_fit(net, Xs, ys, o);", ["nn_fit", "batch size 0"]),
            ('nn_load("/dev/null");', ["nn_load", "not a cairn model file"]),
        ]
        for code, needles in cases:
            r = self.k.execute(code)
            self.assertEqual(r.status, "error", code)
            msg = (r.error or {}).get("evalue", "") + " ".join((r.error or {}).get("traceback", []))
            for n in needles:
                self.assertIn(n, msg, code)
            self.assertEqual(self.value("nn_params(net).data[3]"), before)
        self.assertEqual(self.value("o.batch_size"), "50")  # the failed cell's assignment rolled back
        self.assertEqual(self.value("nn_layer_count(net)"), "5")

    def test_4_trailing_model_shows_summary(self):
        # conv 8 x (3 x 3 x 1) + 8 biases = 80; dense (8 x 13 x 13) x 10 + 10 = 13530
        r = self.ok("net")
        res = r.of_type("execute_result")
        self.assertEqual(len(res), 1, r)
        data = res[0]["content"]["data"]
        self.assertIn("13610 trainable parameters", data["text/plain"])
        self.assertIn("conv2d", data["text/plain"])
        self.assertIn("<table", data["text/html"])
        self.assertEqual(self.value("nn_param_count(net)"), "13610")
        self.assertEqual(self.value("(nn_model *)0"), "NULL")


if __name__ == "__main__":
    unittest.main()
