"""test_nbconvert.py — a batch client runs a notebook on the installed cairn kernelspec.

`cairn-kernel install --prefix TMP`, then `/usr/bin/jupyter nbconvert --to notebook
--execute notebooks/hello.ipynb` with JUPYTER_PATH pointing there, as a user would in CI.
The executed notebook must hold the outputs the cells produce: stdout, results with
their execution counts, a matrix, stderr and an HTML display in order.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import harness

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def texts(output):
    v = output.get("text") or output.get("data", {}).get("text/plain")
    return "".join(v) if isinstance(v, list) else v


class NbconvertTests(unittest.TestCase):
    def test_hello_notebook(self):
        jupyter = shutil.which("jupyter-nbconvert") and "/usr/bin/jupyter"
        if not jupyter:
            self.fail("jupyter-nbconvert is not installed (Debian package jupyter-nbconvert)")
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([harness.kernel_binary(), "install", "--prefix", tmp], check=True,
                           stdout=subprocess.DEVNULL)
            env = dict(os.environ, JUPYTER_PATH=os.path.join(tmp, "share", "jupyter"),
                       CAIRN_HISTORY_FILE=os.path.join(tmp, "history.jsonl"))
            out = os.path.join(tmp, "hello.out.ipynb")
            r = subprocess.run([jupyter, "nbconvert", "--to", "notebook", "--execute",
                                "--ExecutePreprocessor.timeout=60",
                                os.path.join(ROOT, "notebooks", "hello.ipynb"), "--output", out],
                               env=env, capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            with open(out) as f:
                nb = json.load(f)
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        self.assertEqual([c["execution_count"] for c in code], list(range(1, len(code) + 1)))
        outs = [[(o["output_type"], texts(o)) for o in c["outputs"]] for c in code]
        self.assertEqual(outs[0], [("stream", "hello, world\n")])
        self.assertEqual(outs[1], [])
        self.assertEqual(outs[2], [("execute_result", "42")])
        self.assertEqual(outs[3], [("execute_result", "1764")])
        self.assertEqual(outs[4][0][0], "execute_result")
        self.assertIn("[[1. 2. 3.]", outs[4][0][1])
        self.assertEqual(outs[5], [("stream", "a warning goes to stderr\n"), ("display_data", "rich output")])
        self.assertEqual(code[5]["outputs"][0]["name"], "stderr")
        html = code[5]["outputs"][1]["data"]["text/html"]
        self.assertIn("<b>rich</b>", "".join(html) if isinstance(html, list) else html)


if __name__ == "__main__":
    unittest.main(verbosity=2)
