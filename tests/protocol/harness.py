"""harness.py — start the built cairn kernel with jupyter_client and drive it.

Shared by every protocol test (and usable by notebook tests):

    from harness import Kernel
    with Kernel() as k:
        r = k.execute('int x = 41; x + 1')
        assert r.status == 'ok' and r.result_text == '42'
        assert k.execute('printf("%d\\n", x);').stdout == '41\\n'

The kernel binary comes from $CAIRN_KERNEL (meson passes the built one); a temporary
kernelspec directory pointing at it is written so jupyter_client starts it exactly as
Jupyter would (argv ["/abs/cairn-kernel", "-f", "{connection_file}"]).

Every iopub message of an execute is collected with its arrival time (time.monotonic)
so tests can check streaming (lines arrive spaced in time) and ordering.
"""
import json
import os
import queue
import shutil
import signal
import sys
import tempfile
import time
import unittest

from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

TIMEOUT = 30


def kernel_binary():
    path = os.environ.get("CAIRN_KERNEL")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "build", "kernel", "cairn-kernel")
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        sys.exit("harness: kernel binary not found: %s (set CAIRN_KERNEL)" % path)
    return path


def write_kernelspec(directory, name="cairn", interrupt_mode="message"):
    """Write DIRECTORY/NAME/kernel.json for the built binary; returns the kernels dir."""
    d = os.path.join(directory, name)
    os.makedirs(d, exist_ok=True)
    spec = {
        "argv": [kernel_binary(), "-f", "{connection_file}"],
        "display_name": "C (cairn, test)",
        "language": "c",
        "interrupt_mode": interrupt_mode,
    }
    with open(os.path.join(d, "kernel.json"), "w") as f:
        json.dump(spec, f)
    return directory


class Result:
    """What one execute_request produced: the reply and every iopub message
    (status and execute_input excluded from `outputs`)."""

    def __init__(self, msg_id, reply, messages, started):
        self.msg_id = msg_id
        self.reply = reply
        self.messages = messages          # every iopub message with this parent, in order
        self.started = started            # monotonic time the request was sent
        self.outputs = [m for m in messages
                        if m["msg_type"] not in ("status", "execute_input")]

    @property
    def content(self):
        return self.reply["content"] if self.reply else {}

    @property
    def status(self):
        return self.content.get("status")

    def stream(self, name):
        return "".join(m["content"]["text"] for m in self.outputs
                       if m["msg_type"] == "stream" and m["content"]["name"] == name)

    @property
    def stdout(self):
        return self.stream("stdout")

    @property
    def stderr(self):
        return self.stream("stderr")

    @property
    def error(self):
        """The iopub `error` message content, or None."""
        for m in self.outputs:
            if m["msg_type"] == "error":
                return m["content"]
        return None

    def of_type(self, msg_type):
        return [m for m in self.outputs if m["msg_type"] == msg_type]

    @property
    def result_text(self):
        r = self.of_type("execute_result")
        return r[0]["content"]["data"].get("text/plain") if r else None

    def __repr__(self):
        return "Result(status=%r, stdout=%r, stderr=%r, error=%r, outputs=%d)" % (
            self.status, self.stdout, self.stderr, self.error, len(self.outputs))


def process_table():
    """pid -> (ppid, pgid, state) for every process visible in /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # comm may contain spaces: fields after the last ')'
        rest = stat[stat.rfind(")") + 2:].split()
        table[int(entry)] = (int(rest[1]), int(rest[2]), rest[0])
    return table


def descendants(pid):
    """Every live descendant of pid (children, grandchildren, ...), with their state."""
    table = process_table()
    out, todo = {}, [pid]
    while todo:
        p = todo.pop()
        for child, (ppid, _pgid, state) in table.items():
            if ppid == p and child not in out:
                out[child] = state
                todo.append(child)
    return out


def alive(pid):
    """True when pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:].split()[0] != "Z"


class Kernel:
    """A running cairn kernel: km (KernelManager), kc (BlockingKernelClient)."""

    def __init__(self, interrupt_mode="message", extra_env=None, startup_timeout=TIMEOUT,
                 capture_log=False, transport="tcp"):
        """capture_log: the kernel's stderr goes to a file read by log_text()."""
        self.tmp = tempfile.mkdtemp(prefix="cairn-test-")
        kernels = write_kernelspec(os.path.join(self.tmp, "kernels"), interrupt_mode=interrupt_mode)
        ksm = KernelSpecManager(kernel_dirs=[kernels])
        self.km = KernelManager(kernel_name="cairn", kernel_spec_manager=ksm, transport=transport)
        if transport == "ipc":
            self.km.ip = os.path.join(self.tmp, "kernel-ipc")
        env = dict(os.environ)
        # Each test kernel keeps its history file to itself.
        env["CAIRN_HISTORY_FILE"] = os.path.join(self.tmp, "history.jsonl")
        if extra_env:
            env.update(extra_env)
        kw = {}
        self.log_path = None
        if capture_log:
            self.log_path = os.path.join(self.tmp, "kernel.log")
            self._log_file = open(self.log_path, "w")
            kw["stderr"] = self._log_file
        self.km.start_kernel(env=env, **kw)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=startup_timeout)
        self.flush()

    def log_text(self):
        """What the kernel wrote to stderr so far (capture_log=True)."""
        if not self.log_path:
            return ""
        with open(self.log_path) as f:
            return f.read()

    @property
    def connection(self):
        """The connection info (ports, ip, key) the kernel was started with."""
        return self.km.get_connection_info()

    # -- lifecycle ---------------------------------------------------------
    @property
    def pid(self):
        return self.km.provisioner.process.pid

    def children(self):
        return descendants(self.pid)

    def close(self):
        try:
            self.kc.stop_channels()
        except Exception:
            pass
        try:
            if self.km.is_alive():
                self.km.shutdown_kernel(now=False)
        except Exception:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- messages ----------------------------------------------------------
    def flush(self, wait=0.05):
        """Drop whatever is queued on shell and iopub."""
        for get in (self.kc.get_shell_msg, self.kc.get_iopub_msg):
            while True:
                try:
                    get(timeout=wait)
                except queue.Empty:
                    break

    def iopub_until_idle(self, msg_id, timeout=TIMEOUT):
        """Collect iopub messages whose parent is msg_id until its status idle;
        each message gets a `_t` key with its monotonic arrival time."""
        deadline = time.monotonic() + timeout
        msgs = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                text = "".join(m["content"].get("text", "") for m in msgs if m["msg_type"] == "stream")
                raise TimeoutError("no idle for %s; got %r; stream text: %r" % (
                    msg_id, [m["msg_type"] for m in msgs], text[:1500] + " ... " + text[-500:]))
            try:
                m = self.kc.get_iopub_msg(timeout=left)
            except queue.Empty:
                continue
            m["_t"] = time.monotonic()
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            msgs.append(m)
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                return msgs

    def shell_reply(self, msg_id, timeout=TIMEOUT):
        """The shell reply to msg_id (other replies are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no shell reply for %s" % msg_id)
            try:
                m = self.kc.get_shell_msg(timeout=left)
            except queue.Empty:
                continue
            if m["parent_header"].get("msg_id") == msg_id:
                return m

    def execute(self, code, timeout=TIMEOUT, **kw):
        """Run code; returns a Result once the kernel is idle again."""
        started = time.monotonic()
        msg_id = self.kc.execute(code, **kw)
        msgs = self.iopub_until_idle(msg_id, timeout)
        reply = self.shell_reply(msg_id, timeout)
        return Result(msg_id, reply, msgs, started)

    def request(self, msg_type, content, channel="shell", timeout=TIMEOUT):
        """Send any request and return its reply message."""
        ch = self.kc.control_channel if channel == "control" else self.kc.shell_channel
        msg = self.kc.session.msg(msg_type, content)
        ch.send(msg)
        msg_id = msg["header"]["msg_id"]
        if channel == "control":
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    m = self.kc.get_control_msg(timeout=deadline - time.monotonic())
                except queue.Empty:
                    continue
                if m["parent_header"].get("msg_id") == msg_id:
                    return m
            raise TimeoutError("no control reply for %s" % msg_id)
        return self.shell_reply(msg_id, timeout)

    def interrupt(self):
        """interrupt_request on the control channel (interrupt_mode message)."""
        return self.request("interrupt_request", {}, channel="control")

    def signal(self, signum=signal.SIGINT):
        os.kill(self.pid, signum)


# Script-style tests (one long session, many checks) count with check() and end with
# check_summary(), which prints "N passed, N failed" and returns the exit status.
_checks = {"passed": 0, "failed": 0}


def check(cond, what, detail=None):
    """Count one check; print what failed (with detail) when cond is false."""
    if cond:
        _checks["passed"] += 1
    else:
        _checks["failed"] += 1
        print("FAIL: %s%s" % (what, "" if detail is None else "\n      %r" % (detail,)))


def one_at_a_time(k):
    """For tests that send one cell at a time and expect errors. With stop_on_error a
    request sent right after an error reply can still be counted as queued behind the
    error and aborted (the front's abort rule has its own tests in test_requests.py), so
    every execute here says stop_on_error=False."""
    plain = k.execute
    k.execute = lambda code, timeout=30, **kw: plain(code, timeout, **dict({"stop_on_error": False}, **kw))
    return k


def check_summary():
    """Print the counts; 1 when any check failed, else 0."""
    print("%d passed, %d failed" % (_checks["passed"], _checks["failed"]))
    return 1 if _checks["failed"] else 0


class SessionTest(unittest.TestCase):
    """Tests that share one kernel session (Kernel(**kernel_options)), cell after cell."""
    kernel_options = {}

    @classmethod
    def setUpClass(cls):
        cls.k = Kernel(**cls.kernel_options)

    @classmethod
    def tearDownClass(cls):
        cls.k.close()

    def ok(self, code):
        """Run code, which must succeed; its result."""
        r = self.k.execute(code)
        self.assertEqual(r.status, "ok", (code, r.content, r.stderr))
        return r

    def value(self, code):
        """The text/plain value a cell that must succeed shows."""
        return self.ok(code).result_text
