"""test_kernel_spec.py — the installed `cairn` kernelspec, and the kernel through the
Debian jupyter_kernel_test suite with every attribute filled.

The kernelspec is installed with `cairn-kernel install --prefix TMP` (what users run,
with --user) and found through JUPYTER_PATH, so Jupyter starts the kernel exactly from
the written kernel.json. Also checked: `jupyter kernelspec list` shows it, --user
writes under $JUPYTER_DATA_DIR, and the logos are PNGs of 32 and 64 pixels.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

import harness

BINARY = harness.kernel_binary()
PREFIX = tempfile.mkdtemp(prefix="cairn-spec-")
subprocess.run([BINARY, "install", "--prefix", PREFIX], check=True, stdout=subprocess.DEVNULL)
os.environ["JUPYTER_PATH"] = os.path.join(PREFIX, "share", "jupyter")
os.environ["CAIRN_HISTORY_FILE"] = os.path.join(PREFIX, "history.jsonl")

import jupyter_kernel_test  # noqa: E402  (after JUPYTER_PATH is set)


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


class KernelSpecInstall(unittest.TestCase):
    def test_prefix_install(self):
        d = os.path.join(PREFIX, "share", "jupyter", "kernels", "cairn")
        with open(os.path.join(d, "kernel.json")) as f:
            spec = json.load(f)
        self.assertEqual(spec["argv"], [os.path.realpath(BINARY), "-f", "{connection_file}"])
        self.assertEqual(spec["display_name"], "C (cairn)")
        self.assertEqual(spec["language"], "c")
        self.assertIn(spec["interrupt_mode"], ("message", "signal"))
        self.assertEqual(png_size(os.path.join(d, "logo-32x32.png")), (32, 32))
        self.assertEqual(png_size(os.path.join(d, "logo-64x64.png")), (64, 64))

    def test_kernelspec_list(self):
        jupyter = shutil.which("jupyter-kernelspec")
        cmd = [jupyter, "list", "--json"] if jupyter else [
            sys.executable, "-m", "jupyter_client.kernelspecapp", "list", "--json"]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        specs = json.loads(out)["kernelspecs"]
        self.assertIn("cairn", specs)
        self.assertEqual(specs["cairn"]["spec"]["display_name"], "C (cairn)")

    def test_user_install_and_name(self):
        with tempfile.TemporaryDirectory() as data:
            env = dict(os.environ, JUPYTER_DATA_DIR=data)
            subprocess.run([BINARY, "install", "--user", "--name", "cairn-test"], check=True,
                           env=env, stdout=subprocess.DEVNULL)
            with open(os.path.join(data, "kernels", "cairn-test", "kernel.json")) as f:
                self.assertEqual(json.load(f)["argv"][0], os.path.realpath(BINARY))

    def test_bad_arguments(self):
        r = subprocess.run([BINARY, "install", "--bogus"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown argument", r.stderr)
        r = subprocess.run([BINARY, "--version"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        self.assertIn("5.3", r.stdout)


class CairnKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "cairn"
    language_name = "c"
    file_extension = ".c"

    code_hello_world = 'printf("hello, world\\n");'
    code_stderr = 'fprintf(stderr, "something went wrong\\n");'

    completion_samples = [
        {"text": "mat_zer", "matches": {"mat_zeros"}},
        {"text": "display_cl", "matches": {"display_clear_output"}},
        {"text": "%whos", "matches": {"%whos"}},
    ]

    complete_code_samples = ["int x = 1;", 'printf("hi\\n");', "#include <math.h>",
                             "int twice(int v) { return 2 * v; }"]
    incomplete_code_samples = ["int twice(int v) {", "/* a comment", "int y = (1 +"]
    invalid_code_samples = ["int x = );", "}"]

    code_generate_error = "this_function_does_not_exist(3);"

    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "1.5 + 1", "result": "2.5"},
    ]
    code_display_data = [
        {"code": 'display_html("<b>bold</b>", "bold");', "mime": "text/html"},
        {"code": 'display_text("plain");', "mime": "text/plain"},
    ]

    code_history_pattern = "6 [*] 7"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "mat_zeros"
    code_page_something = "?mat_zeros"
    code_clear_output = "display_clear_output(0);"


if __name__ == "__main__":
    try:
        unittest.main(verbosity=2)
    finally:
        shutil.rmtree(PREFIX, ignore_errors=True)
