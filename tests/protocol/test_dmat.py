#!/usr/bin/python3
"""test_dmat.py — distributed matrices driven from cells of the real kernel (harness.py):

- `%cluster start 2` starts the MPI job from the executor; `%cluster` lists ranks and hosts;
- a dmat as a trailing expression shows its shape, partitioning and memory per rank;
- transactions: a cell that makes a dmat and crashes (SIGSEGV) or ends with a runtime
  error leaves the workers' memory at its baseline; a dmat_free in a cell that fails is
  forgotten (the dmat still gathers), one in a cell that commits is applied; %undo frees
  what the undone cell made;
- interrupt of a long distributed operation ends the cell within 1 s, the session and the
  cluster go on;
- a rank killed with SIGKILL mid-operation: the cell's error names the rank, its signal
  and the operation; every variable survives; `%cluster start 2 --listen 127.0.0.1:0`
  starts a new job whose rank 0 serves on TCP;
- `%cluster stop` ends mpirun, and so does shutting the kernel down.
Prints "N passed, N failed".
"""
import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Kernel, alive, check, check_summary, one_at_a_time  # noqa: E402


def mpirun_pid(text):
    m = re.search(r"mpirun pid (\d+)", text)
    return int(m.group(1)) if m else 0


def bytes_held(k):
    r = k.execute('printf("%.0f\\n", held());')
    try:
        return float(r.stdout.strip())
    except ValueError:
        return -1.0


def wait_bytes(k, want, seconds=3.0):
    deadline = time.monotonic() + seconds
    b = bytes_held(k)
    while b != want and time.monotonic() < deadline:
        time.sleep(0.1)
        b = bytes_held(k)
    return b


def main():
    with Kernel() as k:
        one_at_a_time(k)
        r = k.execute("%cluster start 2")
        check(r.status == "ok" and "cluster: 2 ranks" in r.stdout, "%cluster start 2", r)
        launcher = mpirun_pid(r.stdout)
        check(launcher > 0 and alive(launcher), "mpirun runs", r.stdout)
        r = k.execute("%cluster")
        check(r.status == "ok" and re.search(r"\n\s+1\s+\S+\s+\d+", r.stdout), "%cluster lists rank 1", r.stdout)

        r = k.execute("double held(void) { mat m = dmat_cluster_memory(); double s = 0;\n"
                      "  for (int j = 0; j < m.cols; j++) s += m.data[j]; mat_free(&m); return s; }\n"
                      "mat X = mat_ones(1001, 8);\n"
                      "dmat D = dmat_scatter(X);")
        check(r.status == "ok", "scatter in a cell", r)
        r = k.execute("D")
        text = r.result_text or ""
        check("dmat 1001 x 8" in text and "rank 0: rows 0..500 (501 rows, 31.3 KiB)" in text
              and "rank 1: rows 501..1000 (500 rows" in text, "dmat display", text)
        base = bytes_held(k)
        check(base == 1001 * 8 * 8, "baseline bytes", base)

        r = k.execute("dmat T = dmat_scale(D, 2, 0);\nint *p = 0;\n*p = 1;")
        check(r.status == "error", "crashing cell fails", r)
        check(wait_bytes(k, base) == base, "a crashed cell's dmat is freed on the workers")

        r = k.execute("dmat T2 = dmat_scale(D, 2, 0);\ndmat bad = dmat_matmul(D, D);")
        check(r.status == "error" and "dmat_matmul" in (r.content.get("evalue") or ""),
              "runtime error names dmat_matmul", r.content)
        check(wait_bytes(k, base) == base, "a failed cell's dmat is freed on the workers")

        r = k.execute("dmat_free(&D);\nint *q = 0;\n*q = 2;")
        check(r.status == "error", "free then crash", r)
        r = k.execute('mat g = dmat_gather(D);\nprintf("%g %d\\n", mat_sum_all(g), g.rows);')
        check(r.status == "ok" and r.stdout == "8008 1001\n", "the free of a failed cell is forgotten", r)

        r = k.execute("dmat U = dmat_scale(D, 3, 0);")
        check(r.status == "ok", "a second dmat", r)
        r = k.execute("%undo")
        check(r.status == "ok", "%undo", r)
        check(wait_bytes(k, base) == base, "%undo frees what the undone cell made")

        # interrupt a long operation (the Gram path's power iterations)
        r = k.execute("mat Y = mat_randn(400, 6);\ndmat DY = dmat_scatter(Y);")
        check(r.status == "ok", "DY", r)
        msg_id = k.kc.execute("dsvd_result long_svd = dmat_svd_randomized(DY, 2, 1, 100000000, 1);",
                              stop_on_error=False)
        time.sleep(1.0)
        t0 = time.monotonic()
        k.interrupt()
        reply = k.shell_reply(msg_id, timeout=20)
        took = time.monotonic() - t0
        k.iopub_until_idle(msg_id)
        check(reply["content"]["status"] == "error" and took < 1.0,
              "interrupt ends the distributed operation within 1 s (%.2f s)" % took, reply["content"])
        r = k.execute('mat g2 = dmat_gather(DY);\nprintf("%d\\n", g2.rows);')
        check(r.status == "ok" and r.stdout == "400\n", "the cluster works after the interrupt", r)

        # kill rank 1 in the middle of an operation
        r = k.execute('mat pids = dmat_cluster_pids();\nprintf("%.0f\\n", pids.data[1]);')
        victim = int(float(r.stdout.strip() or 0))
        check(victim > 0 and alive(victim), "rank 1 pid", r)
        threading.Timer(1.0, lambda: os.kill(victim, signal.SIGKILL)).start()
        r = k.execute("dsvd_result doomed = dmat_svd_randomized(DY, 2, 1, 100000000, 1);", timeout=60)
        ev = r.content.get("evalue") or ""
        check(r.status == "error" and "rank 1" in ev and "signal 9" in ev and "randomized SVD" in ev,
              "a killed rank is named in the error", ev)
        r = k.execute('printf("%d %d\\n", X.rows, (int)mat_sum_all(X));')
        check(r.status == "ok" and r.stdout == "1001 8008\n", "the session survives the dead rank", r)
        # the new job's rank 0 serves on TCP (the multi-host link); the cells below and
        # %cluster stop go over it
        r = k.execute("%cluster start 2 --listen 127.0.0.1:0")
        check(r.status == "ok" and "cluster: 2 ranks" in r.stdout and "link tcp://127.0.0.1:" in r.stdout,
              "%cluster start 2 --listen 127.0.0.1:0 again", r)
        launcher = mpirun_pid(r.stdout)
        r = k.execute("dmat E = dmat_scatter(X);\nE")
        check(r.status == "ok" and "dmat 1001 x 8" in (r.result_text or ""), "a dmat on the new cluster", r)
        r = k.execute("mat stale = dmat_gather(D);")
        check(r.status == "error" and "no longer running" in (r.content.get("evalue") or ""),
              "a dmat of the dead cluster says so", r.content)

        r = k.execute("%cluster stop")
        check(r.status == "ok" and "cluster stopped" in r.stdout, "%cluster stop", r)
        deadline = time.monotonic() + 5
        while alive(launcher) and time.monotonic() < deadline:
            time.sleep(0.05)
        check(not alive(launcher), "mpirun ended after %cluster stop")

        r = k.execute("%cluster start 1")
        launcher = mpirun_pid(r.stdout)
        check(r.status == "ok" and alive(launcher), "%cluster start 1", r)
    # the kernel is gone: so is its MPI job
    deadline = time.monotonic() + 10
    while alive(launcher) and time.monotonic() < deadline:
        time.sleep(0.05)
    check(not alive(launcher), "mpirun ends with the kernel")
    return check_summary()


if __name__ == "__main__":
    sys.exit(main())
