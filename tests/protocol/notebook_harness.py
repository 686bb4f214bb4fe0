"""notebook_harness.py — running a notebook headless and reading what it printed and drew;
shared by the notebook tests (test_notebooks.py and the primers' test_notebooks_*.py).

run_notebook executes notebooks/NAME with `/usr/bin/jupyter nbconvert --to notebook --execute`
on a kernelspec for the built kernel installed into a temporary prefix (install_kernel).
PrimerCase is the base of the machine-learning primers' tests: it runs one primer once per
class in its quick mode (CAIRN_QUICK=1), loads the primer's reference numbers (a JSON fixture
made once by tests/fixtures/gen_primer_fixtures.py), and checks that values lie in a band
around them and that the figures decode. The class is skipped when the Fashion-MNIST
package is not installed.
"""
import base64
import json
import os
import re
import struct
import subprocess
import tempfile
import unittest
import zlib

import harness

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FASHION = "/usr/share/datasets/fashion-mnist"


def install_kernel(prefix):
    """A kernelspec for the built kernel under PREFIX/share/jupyter (what run_notebook uses)."""
    subprocess.run([harness.kernel_binary(), "install", "--prefix", prefix], check=True,
                   stdout=subprocess.DEVNULL)


def run_notebook(name, tmp, cell_timeout=120, **extra_env):
    """Execute notebooks/NAME with the kernelspec installed under TMP; extra_env (e.g.
    CAIRN_QUICK="1") reaches the kernel and so the cells' getenv."""
    env = dict(os.environ, JUPYTER_PATH=os.path.join(tmp, "share", "jupyter"), **extra_env)
    out = os.path.join(tmp, name)
    r = subprocess.run(["/usr/bin/jupyter", "nbconvert", "--to", "notebook", "--execute",
                        "--allow-errors", "--ExecutePreprocessor.timeout=%d" % cell_timeout,
                        os.path.join(ROOT, "notebooks", name), "--output", out],
                       env=env, capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise AssertionError(r.stderr[-3000:])
    with open(out) as f:
        return [c for c in json.load(f)["cells"] if c["cell_type"] == "code"]


def text_of(output):
    if output["output_type"] == "stream":
        v = output["text"]
    else:
        v = output.get("data", {}).get("text/plain", "")
    return "".join(v) if isinstance(v, list) else v


def result_text(cell):
    res = [o for o in cell["outputs"] if o["output_type"] == "execute_result"]
    return text_of(res[-1]) if res else None


def errors(cells):
    return [(i, o["ename"], o["evalue"]) for i, c in enumerate(cells)
            for o in c["outputs"] if o["output_type"] == "error"]


def png_size(b64):
    """Width and height of a PNG, after checking its signature and that every chunk's CRC holds."""
    data = base64.b64decode(b64)
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, size = 8, None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc, = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, "bad CRC in chunk %r" % kind
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        pos += 12 + length
    return size


def figures(cells):
    return [o for c in cells for o in c["outputs"]
            if o["output_type"] in ("display_data", "execute_result") and "image/png" in o.get("data", {})]


def by_id(cells):
    """The executed code cells by their cell id (nbconvert keeps the ids)."""
    return {c["id"]: c for c in cells}


def stdout_of(cell):
    return "".join(text_of(o) for o in cell["outputs"] if o["output_type"] == "stream")


def number(pattern, text):
    """The number group 1 of PATTERN matches in TEXT (an AssertionError showing TEXT if none)."""
    m = re.search(pattern, text)
    if not m:
        raise AssertionError("%r not found in:\n%s" % (pattern, text))
    return float(m.group(1))


@unittest.skipUnless(os.path.exists(FASHION + "/train-images-idx3-ubyte.gz"),
                     "Debian package dataset-fashion-mnist is not installed")
class PrimerCase(unittest.TestCase):
    """One primer executed once for all of a subclass's tests: self.cells (its code cells),
    self.cell[id], self.ref (the fixture), self.tmp (a temporary directory)."""
    NOTEBOOK = None   # e.g. "04-fashion-mnist-kmeans.ipynb"
    FIXTURE = None    # e.g. "primer_kmeans.json" in tests/fixtures
    CELL_TIMEOUT = 300

    @classmethod
    def notebook_env(cls):
        """The environment the kernel gets on top of ours; subclasses add to it."""
        return {"CAIRN_QUICK": "1"}

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        try:
            install_kernel(cls.tmp.name)
            cls.cells = run_notebook(cls.NOTEBOOK, cls.tmp.name, cell_timeout=cls.CELL_TIMEOUT, **cls.notebook_env())
            cls.cell = by_id(cls.cells)
            with open(os.path.join(ROOT, "tests", "fixtures", cls.FIXTURE)) as f:
                cls.ref = json.load(f)
        except BaseException:
            cls.tmp.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def check_runs_clean(self, banner_cell, banner):
        """No cell failed (no error is shown on purpose in these primers), the cell
        BANNER_CELL printed BANNER, and the last cell stated the quick run's time."""
        self.assertEqual(errors(self.cells), [])
        self.assertIn(banner, stdout_of(self.cell[banner_cell]))
        self.assertRegex(stdout_of(self.cell["run-time"]), r"^quick run took \d+\.\d s\n$")

    def within(self, value, samples, margin):
        """VALUE lies in [min(samples) - margin, max(samples) + margin]."""
        lo, hi = min(samples) - margin, max(samples) + margin
        self.assertTrue(lo <= value <= hi, "%.4f outside [%.4f, %.4f]" % (value, lo, hi))

    def check_figures(self, owners, min_width, min_height):
        """The notebook's figures are decodable PNGs at least that large, made by the cells
        with these ids in this order (one id per figure); returns the figure outputs."""
        figs = figures(self.cells)
        self.assertEqual([c["id"] for c in self.cells for o in c["outputs"] if o in figs], owners)
        for f in figs:
            w, h = png_size(f["data"]["image/png"])
            self.assertGreater(w, min_width)
            self.assertGreater(h, min_height)
        return figs
