#!/usr/bin/python3
"""bench_kernel.py — cairn vs ipykernel, side by side in one run on this machine.

  /usr/bin/python3 tests/bench/bench_kernel.py [--kernel build/kernel/cairn-kernel]
                                               [--starts 7] [--cells 60] [--callgrind 100]

Measures, for each kernel, with the same raw client (no KernelManager overhead), the
two kernels interleaved (starts alternate, round trips in alternating blocks of 10):
  start       launch of the kernel process -> kernel_info_reply received
  round trip  execute_request of a trivial cell -> execute_reply received
              (`int x = 1;` for cairn, `x = 1` for ipykernel), and -> status idle
Then, through jupyter_client as JupyterLab's server and nbconvert use it (a kernelspec
written to a temporary JUPYTER_PATH for cairn, ipykernel's own `python3` spec):
  start_new_kernel     launch -> ready, with the client's own readiness handshake
                       (kernel_info until a reply AND an IOPub message, then a 0.2 s
                       quiet IOPub: that flush is jupyter_client's, in every start)
  execute_interactive  a trivial cell, until the client returns (reply and idle)
Prints medians (and min/max) over the repeats and the ratios cairn / ipykernel.
--callgrind N also runs cairn under valgrind's callgrind (every process of the kernel:
front, executors, cell processes) for 5 and for 5 + N trivial cells and prints the
instructions per cell (the difference over N): a figure that repeats on a noisy machine
where times do not. --callgrind-peer does the same for ipykernel (slow: Python under
callgrind takes minutes to start).
Goals (issue 13): round trip and execute_interactive <= 0.8 x ipykernel's; start_new_kernel
<= 0.15 x ipykernel's; raw start under 50 ms.
Not a test: timings are printed, never asserted.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import zmq
from jupyter_client.connect import write_connection_file
from jupyter_client.session import Session

HERE = os.path.dirname(os.path.abspath(__file__))


class RawKernel:
    """A kernel process and DEALER/SUB sockets speaking the wire protocol directly."""

    def __init__(self, argv_template, tmp):
        self.conn_file = os.path.join(tmp, "conn-%d.json" % time.monotonic_ns())
        write_connection_file(self.conn_file)
        with open(self.conn_file) as f:
            self.info = json.load(f)
        self.session = Session(key=self.info["key"].encode(), signature_scheme="hmac-sha256")
        self.ctx = zmq.Context.instance()
        url = "%s://%s:%%d" % (self.info["transport"], self.info["ip"])
        self.shell = self.ctx.socket(zmq.DEALER)
        self.iopub = self.ctx.socket(zmq.SUB)
        self.iopub.setsockopt(zmq.SUBSCRIBE, b"")
        for s in (self.shell, self.iopub):
            # Reconnect fast: the kernel binds only after it started.
            s.setsockopt(zmq.RECONNECT_IVL, 1)
            s.setsockopt(zmq.LINGER, 0)
        self.shell.connect(url % self.info["shell_port"])
        self.iopub.connect(url % self.info["iopub_port"])
        self.argv = [a.replace("{connection_file}", self.conn_file) for a in argv_template]
        self.proc = None

    def start(self):
        """Launch and return seconds until kernel_info_reply arrived."""
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=None if os.environ.get("BENCH_KERNEL_STDERR") else subprocess.DEVNULL)
        self.session.send(self.shell, "kernel_info_request", {})
        self.recv_shell("kernel_info_reply", timeout=60)
        return time.perf_counter() - t0

    def recv_shell(self, msg_type, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.shell.poll(int((deadline - time.monotonic()) * 1000) + 1):
                _, msg = self.session.recv(self.shell)
                if msg["header"]["msg_type"] == msg_type:
                    return msg
        raise TimeoutError(msg_type)

    def wait_idle(self, parent_id, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.iopub.poll(int((deadline - time.monotonic()) * 1000) + 1):
                _, msg = self.session.recv(self.iopub)
                if (msg["msg_type"] == "status" and msg["parent_header"].get("msg_id") == parent_id
                        and msg["content"]["execution_state"] == "idle"):
                    return
        raise TimeoutError("idle")

    def round_trip(self, code):
        t0 = time.perf_counter()
        msg = self.session.send(self.shell, "execute_request",
                                {"code": code, "silent": False, "store_history": True,
                                 "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
        reply = self.recv_shell("execute_reply")
        t1 = time.perf_counter()
        self.wait_idle(msg["header"]["msg_id"])
        t2 = time.perf_counter()
        assert reply["content"]["status"] == "ok", reply["content"]
        return t1 - t0, t2 - t0

    def stop(self):
        try:
            self.session.send(self.shell, "shutdown_request", {"restart": False})
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        self.shell.close(0)
        self.iopub.close(0)
        os.unlink(self.conn_file)


def ms(values):
    return "%8.2f ms  (min %.2f, max %.2f)" % (1e3 * statistics.median(values), 1e3 * min(values),
                                                1e3 * max(values))


def measure_both(kernels, starts, cells, tmp):
    """Interleave the two kernels (start, start, block, block, ...) so that a busy
    moment of the machine weighs on both alike."""
    start_times = {name: [] for name, _, _ in kernels}
    rt_reply = {name: [] for name, _, _ in kernels}
    rt_idle = {name: [] for name, _, _ in kernels}
    for _ in range(starts):
        for name, argv, _ in kernels:
            k = RawKernel(argv, tmp)
            start_times[name].append(k.start())
            k.stop()
    running = []
    for name, argv, code in kernels:
        k = RawKernel(argv, tmp)
        k.start()
        time.sleep(0.3)
        for _ in range(5):
            k.round_trip(code)  # warm up (first-cell costs, iopub subscription)
        running.append((name, k, code))
    block = 10
    for _ in range(max(1, cells // block)):
        for name, k, code in running:
            for _ in range(block):
                a, b = k.round_trip(code)
                rt_reply[name].append(a)
                rt_idle[name].append(b)
    for _, k, _ in running:
        k.stop()
    out = {}
    for name, _, _ in kernels:
        print("%-10s start      %s" % (name, ms(start_times[name])))
        print("%-10s round trip %s   to idle %s" % (name, ms(rt_reply[name]), ms(rt_idle[name])))
        out[name] = (statistics.median(start_times[name]), statistics.median(rt_reply[name]),
                     statistics.median(rt_idle[name]))
    return out


def write_kernelspec(tmp, name, argv):
    """A kernelspec `name` in tmp/kernels (tmp goes first on JUPYTER_PATH)."""
    d = os.path.join(tmp, "kernels", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "kernel.json"), "w") as f:
        json.dump({"argv": argv, "display_name": name, "language": "c"}, f)


def measure_client(specs, starts, cells):
    """start_new_kernel and execute_interactive, the kernels interleaved as above."""
    from jupyter_client.manager import start_new_kernel
    start_times = {name: [] for name, _, _ in specs}
    rt = {name: [] for name, _, _ in specs}
    for _ in range(starts):
        for name, spec, _ in specs:
            t0 = time.perf_counter()
            km, kc = start_new_kernel(kernel_name=spec, startup_timeout=60, stderr=subprocess.DEVNULL)
            start_times[name].append(time.perf_counter() - t0)
            kc.stop_channels()
            km.shutdown_kernel(now=False)
    running = []
    for name, spec, code in specs:
        km, kc = start_new_kernel(kernel_name=spec, startup_timeout=60, stderr=subprocess.DEVNULL)
        for _ in range(5):
            kc.execute_interactive(code, timeout=30, output_hook=lambda m: None)
        running.append((name, km, kc, code))
    block = 10
    for _ in range(max(1, cells // block)):
        for name, km, kc, code in running:
            for _ in range(block):
                t0 = time.perf_counter()
                reply = kc.execute_interactive(code, timeout=30, output_hook=lambda m: None)
                rt[name].append(time.perf_counter() - t0)
                assert reply["content"]["status"] == "ok", reply["content"]
    for _, km, kc, _ in running:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    out = {}
    for name, _, _ in specs:
        print("%-10s start_new_kernel    %s" % (name, ms(start_times[name])))
        print("%-10s execute_interactive %s" % (name, ms(rt[name])))
        out[name] = (statistics.median(start_times[name]), statistics.median(rt[name]))
    return out


def callgrind_instructions(argv, code, cells, tmp, setup=None):
    """Total instructions of every process of a kernel under callgrind (started, setup(k)
    if given, 5 + cells round trips of `code`, shut down)."""
    out = tempfile.mkdtemp(dir=tmp)
    vg = ["valgrind", "--tool=callgrind", "--trace-children=yes", "--collect-atstart=yes",
          "--callgrind-out-file=%s/cg.%%p" % out]
    k = RawKernel(vg + argv, tmp)
    k.start()
    if setup:
        setup(k)
    for _ in range(5 + cells):
        k.round_trip(code)
    k.stop()
    total = 0
    for name in os.listdir(out):
        with open(os.path.join(out, name), errors="replace") as f:
            for line in f:
                if line.startswith("summary:") or line.startswith("totals:"):
                    total += int(line.split()[1])
                    break
    return total


def callgrind_per_cell(name, argv, code, cells, tmp):
    base = callgrind_instructions(argv, code, 0, tmp)
    more = callgrind_instructions(argv, code, cells, tmp)
    per = (more - base) / cells
    print("%-10s callgrind  %.3f M instructions per trivial cell (all kernel processes; %d cells: %.1f M, "
          "0 cells: %.1f M)" % (name, per / 1e6, cells, more / 1e6, base / 1e6))
    return per


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--kernel", default=os.path.join(HERE, "..", "..", "build", "kernel", "cairn-kernel"))
    ap.add_argument("--starts", type=int, default=7)
    ap.add_argument("--cells", type=int, default=60)
    ap.add_argument("--callgrind", type=int, default=0, metavar="N",
                    help="also count instructions per trivial cell under callgrind over N cells")
    ap.add_argument("--callgrind-peer", action="store_true", help="count ipykernel's too (slow)")
    ap.add_argument("--no-time", action="store_true", help="only the callgrind counts")
    ap.add_argument("--no-client", action="store_true", help="skip start_new_kernel / execute_interactive")
    args = ap.parse_args()
    binary = os.path.abspath(args.kernel)
    if not os.access(binary, os.X_OK):
        sys.exit("bench_kernel: no kernel binary at %s (build first or pass --kernel)" % binary)
    print("bench_kernel: medians of %d starts and %d trivial cells per kernel, %d CPUs, load %.1f" %
          (args.starts, args.cells, os.cpu_count(), os.getloadavg()[0]))
    kernels = [
        ("cairn", [binary, "-f", "{connection_file}"], "int x = 1;"),
        ("ipykernel", ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"], "x = 1"),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        if args.callgrind:
            counts = {}
            for name, argv, code in kernels:
                if name == "cairn" or args.callgrind_peer:
                    counts[name] = callgrind_per_cell(name, argv, code, args.callgrind, tmp)
            if len(counts) == 2:
                print("ratio cairn/ipykernel  instructions per cell %.3f" % (counts["cairn"] / counts["ipykernel"]))
            print()
        if args.no_time:
            return
        res = measure_both(kernels, args.starts, args.cells, tmp)
        client = None
        if not args.no_client:
            print()
            write_kernelspec(tmp, "cairn-bench", [binary, "-f", "{connection_file}"])
            os.environ["JUPYTER_PATH"] = tmp + os.pathsep + os.environ.get("JUPYTER_PATH", "")
            client = measure_client([("cairn", "cairn-bench", "int x = 1;"), ("ipykernel", "python3", "x = 1")],
                                    args.starts, args.cells)
    c, p = res["cairn"], res["ipykernel"]
    print()
    print("ratio cairn/ipykernel  start      %.3f   (cairn %.1f ms; goal < 50 ms)" % (c[0] / p[0], 1e3 * c[0]))
    print("ratio cairn/ipykernel  round trip %.3f   (goal <= 0.8)" % (c[1] / p[1]))
    print("ratio cairn/ipykernel  to idle    %.3f" % (c[2] / p[2]))
    if client:
        c, p = client["cairn"], client["ipykernel"]
        print("ratio cairn/ipykernel  start_new_kernel    %.3f   (cairn %.0f ms; goal <= 0.15)" % (c[0] / p[0], 1e3 * c[0]))
        print("ratio cairn/ipykernel  execute_interactive %.3f   (goal <= 0.8)" % (c[1] / p[1]))


if __name__ == "__main__":
    main()
