"""test_track.py — experiment tracking and sweeps inside the real kernel.

- A sweep whose trials are functions of an earlier cell: a trial that segfaults is recorded
  FAILED while the sweep finishes; the live table is a display that is updated in place
  (update_display_data) as trials finish; the session keeps its variables.
- `%runs EXPERIMENT by METRIC` shows the runs table as text/plain and text/html.
- Interrupt during a sweep: running trials are killed and recorded KILLED, the finished ones
  are kept (in the session's result and on disk), no run is left RUNNING.
- A cell that starts a run and then crashes: the run becomes FAILED (the watcher); a run
  started by an earlier, committed cell survives a later cell's crash and ends FINISHED.
- Parameters: a notebook whose `parameters` cell reads param_double/param_int, run by
  `jupyter nbconvert --execute` with and without CAIRN_PARAM_* overrides.
"""
import glob
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
from harness import Kernel

OBJECTIVE = r"""
#include <unistd.h>
void objective(track_trial *t) {
    double x = trial_param(t, "x");
    if (x == 3) { volatile int *p = 0; *p = 1; }
    trial_report(t, "loss", (x - 2) * (x - 2));
}
void slow(track_trial *t) {  /* x = 1, 2 quick; the others take 3 s */
    usleep(trial_param(t, "x") <= 2 ? 100000 : 3000000);
    trial_report(t, "loss", trial_param(t, "x"));
}
"""


def metas(root):
    """status (int) of every run meta.yaml under root, by run folder."""
    out = {}
    for path in glob.glob(os.path.join(root, "*", "*", "meta.yaml")):
        with open(path) as f:
            for line in f:
                if line.startswith("status: "):
                    out[os.path.dirname(path)] = int(line.split()[1])
    return out


def wait_status(meta_dir, want, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = metas(os.path.dirname(os.path.dirname(meta_dir))).get(meta_dir)
        if st == want:
            return st
        time.sleep(0.05)
    return metas(os.path.dirname(os.path.dirname(meta_dir))).get(meta_dir)


class TrackKernelTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cairn-track-")
        self.root = os.path.join(self.tmp, "mlruns")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def kernel(self):
        return Kernel(extra_env={"MLFLOW_TRACKING_URI": "file://" + self.root})

    def test_sweep_with_crashing_trial_and_runs_magic(self):
        with self.kernel() as k:
            self.assertEqual(k.execute(OBJECTIVE).status, "ok")
            r = k.execute('track_set_experiment("kernel sweep");\n'
                          'sweep_space *s = sweep_space_new();\n'
                          'sweep_space_range(s, "x", 1, 4, 1);\n'
                          'sweep_result *r = sweep_grid(s, objective, (sweep_options){.metric = "loss", .processes = 2});')
            self.assertEqual(r.status, "ok", r)
            updates = r.of_type("update_display_data")
            self.assertGreaterEqual(len(updates), 4)  # progress bar and live table, per trial
            tables = [u for u in updates if "text/html" in u["content"]["data"]
                      and "trials done" in u["content"]["data"]["text/plain"]]
            self.assertTrue(tables, "no live table update")
            self.assertIn("4 of 4 trials done, 1 failed", tables[-1]["content"]["data"]["text/plain"])
            r = k.execute('printf("%s|%s|%s|%g|%d\\n", sweep_status(r, 2), sweep_error(r, 2), '
                          'sweep_status(r, 1), sweep_metric(r, sweep_best(r), "loss"), sweep_best(r));')
            self.assertEqual(r.status, "ok", r)
            self.assertEqual(r.stdout, "FAILED|killed by signal 11 (SIGSEGV)|FINISHED|0|1\n")
            r = k.execute('%runs "kernel sweep" by loss')
            self.assertEqual(r.status, "ok", r)
            shown = r.of_type("display_data")
            self.assertEqual(len(shown), 1)
            data = shown[0]["content"]["data"]
            self.assertIn("<table>", data["text/html"])
            self.assertIn("onclick", data["text/html"])  # sortable columns
            text = data["text/plain"]
            self.assertIn("5 runs, best first by loss (lower is better)", text)
            rows = [l for l in text.splitlines()[2:] if l.strip()]
            self.assertIn("trial 2", rows[0])  # x = 2: loss 0
            self.assertIn("FAILED", text)
            self.assertNotIn("RUNNING", text)
        on_disk = metas(self.root)
        self.assertEqual(sorted(on_disk.values()), [3, 3, 3, 3, 4])

    def test_interrupt_during_sweep(self):
        with self.kernel() as k:
            self.assertEqual(k.execute(OBJECTIVE).status, "ok")
            msg_id = k.kc.execute('sweep_space *s = sweep_space_new();\n'
                                  'sweep_space_range(s, "x", 1, 20, 1);\n'
                                  'sweep_result *r = sweep_grid(s, slow, (sweep_options){.metric = "loss", .processes = 2});')
            time.sleep(1.5)
            k.interrupt()
            reply = k.shell_reply(msg_id, timeout=30)
            msgs = k.iopub_until_idle(msg_id)
            self.assertEqual(reply["content"]["status"], "error")
            self.assertIn("KeyboardInterrupt", reply["content"]["ename"])
            err = "".join(m["content"]["text"] for m in msgs
                          if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
            self.assertIn("sweep: interrupted", err)
            # The cell returned after the flag, so the kernel kept its state: the result too.
            r = k.execute('int fin = 0, killed = 0;\n'
                          'for (int i = 0; i < sweep_count(r); i++) {\n'
                          '  fin += strcmp(sweep_status(r, i), "FINISHED") == 0;\n'
                          '  killed += strcmp(sweep_status(r, i), "KILLED") == 0; }\n'
                          'printf("%d %d %d\\n", sweep_count(r), fin, killed);')
            self.assertEqual(r.status, "ok", r)
            count, fin, killed = map(int, r.stdout.split())
            # x = 1, 2 finished; x = 3, 4 were running (2 processes) and were killed; no more started
            self.assertEqual((count, fin, killed), (4, 2, 2))
        st = metas(self.root)
        self.assertNotIn(1, st.values(), "a run was left RUNNING")
        self.assertEqual(list(st.values()).count(3), fin)
        self.assertEqual(list(st.values()).count(5), killed + 1)  # + the sweep's parent run

    def test_crashed_cell_marks_its_run_failed(self):
        with self.kernel() as k:
            r = k.execute('track_start_run("doomed"); track_log_metric("loss", 1, 0); track_flush();\n'
                          'volatile int *p = 0; *p = 1;')
            self.assertEqual(r.status, "error")
            doomed = list(metas(self.root))
            self.assertEqual(len(doomed), 1)
            self.assertEqual(wait_status(doomed[0], 4), 4)
            with open(os.path.join(doomed[0], "metrics", "loss")) as f:
                self.assertRegex(f.read(), r"^\d+ 1 0\n$")
            with open(os.path.join(doomed[0], "tags", "cairn.end_reason")) as f:
                self.assertIn("without track_end_run", f.read())
            # A run started by a committed cell outlives a later cell's crash: the session
            # rolls back to the executor, which still holds it.
            r = k.execute('track_start_run("kept"); track_log_metric("loss", 2, 0);')
            self.assertEqual(r.status, "ok", r)
            kept = [d for d in metas(self.root) if d != doomed[0]][0]
            r = k.execute('track_log_metric("loss", 1.5, 1); track_flush(); volatile int *p = 0; *p = 1;')
            self.assertEqual(r.status, "error")
            time.sleep(0.5)
            self.assertEqual(metas(self.root)[kept], 1)
            r = k.execute('track_log_metric("loss", 0.5, 2); track_end_run(NULL);\n'
                          'printf("%s\\n", track_run_id() ? "active" : "none");')
            self.assertEqual(r.stdout, "none\n")
            self.assertEqual(metas(self.root)[kept], 3)
            with open(os.path.join(kept, "metrics", "loss")) as f:
                self.assertEqual([l.split()[1:] for l in f.read().splitlines()],
                                 [["2", "0"], ["1.5", "1"], ["0.5", "2"]])

    def test_parameters_through_nbconvert(self):
        jupyter = shutil.which("jupyter-nbconvert") and "/usr/bin/jupyter"
        self.assertTrue(jupyter, "jupyter-nbconvert is not installed")
        nb = {
            "cells": [
                {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "execution_count": None,
                 "outputs": [], "source": 'double lr = param_double("lr", 0.1);\nlong epochs = param_int("epochs", 3);'},
                {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                 "source": 'track_set_experiment("batch");\ntrack_start_run("nb");\n'
                           'for (long e = 0; e < epochs; e++) track_log_metric("loss", lr / (e + 1), e);\n'
                           'track_end_run(NULL);\nprintf("lr=%g epochs=%ld\\n", lr, epochs);'},
            ],
            "metadata": {"kernelspec": {"name": "cairn", "display_name": "C (cairn)", "language": "c"}},
            "nbformat": 4, "nbformat_minor": 5,
        }
        src = os.path.join(self.tmp, "params.ipynb")
        with open(src, "w") as f:
            json.dump(nb, f)
        subprocess.run([harness.kernel_binary(), "install", "--prefix", self.tmp], check=True,
                       stdout=subprocess.DEVNULL)
        base = dict(os.environ, JUPYTER_PATH=os.path.join(self.tmp, "share", "jupyter"),
                    CAIRN_HISTORY_FILE=os.path.join(self.tmp, "history.jsonl"),
                    MLFLOW_TRACKING_URI=self.root)
        for key in list(base):
            if key.startswith("CAIRN_PARAM_"):
                del base[key]
        results = []
        for extra in ({}, {"CAIRN_PARAM_lr": "0.5", "CAIRN_PARAM_epochs": "2"}):
            out = os.path.join(self.tmp, "out.ipynb")
            r = subprocess.run([jupyter, "nbconvert", "--to", "notebook", "--execute",
                                "--ExecutePreprocessor.timeout=60", src, "--output", out],
                               env=dict(base, **extra), capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            with open(out) as f:
                cells = json.load(f)["cells"]
            text = "".join("".join(o.get("text", "")) for o in cells[1]["outputs"])
            results.append(text)
        self.assertEqual(results, ["lr=0.1 epochs=3\n", "lr=0.5 epochs=2\n"])
        runs = sorted(metas(self.root))
        self.assertEqual(len(runs), 2)
        seen = []
        for d in runs:
            with open(os.path.join(d, "params", "lr")) as f:
                lr = f.read()
            with open(os.path.join(d, "params", "epochs")) as f:
                epochs = f.read()
            with open(os.path.join(d, "metrics", "loss")) as f:
                points = len(f.read().splitlines())
            seen.append((lr, epochs, points))
        self.assertEqual(sorted(seen), [("0.1", "3", 3), ("0.5", "2", 2)])
        self.assertEqual(set(metas(self.root).values()), {3})


if __name__ == "__main__":
    unittest.main(verbosity=2)
