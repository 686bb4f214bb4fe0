"""test_lifecycle.py — shutdown, restart and a killed executor leave no zombie or orphan.

The kernel's process tree is read from /proc before and after each scenario: after
shutdown and restart every process the old kernel had made must be gone (not alive,
not a zombie re-parented to init); after the executor chain is killed from outside,
the pending execute gets an error reply, a fresh executor serves the next cell and the
kernel holds no zombie children. Many cells in a row do not accumulate processes.
"""
import os
import signal
import tempfile
import time
import unittest

from harness import Kernel, alive, descendants


def wait_gone(pids, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


def zombies(pid):
    return [p for p, state in descendants(pid).items() if state == "Z"]


class LifecycleTests(unittest.TestCase):
    def test_shutdown_leaves_nothing(self):
        k = Kernel()
        try:
            self.assertEqual(k.execute("int s = 1;").status, "ok")
            tree = [k.pid] + list(k.children())
            self.assertGreaterEqual(len(tree), 2, "no executor under the kernel")
            k.km.shutdown_kernel(now=False)
            self.assertEqual(wait_gone(tree), [], "processes left after shutdown")
        finally:
            k.close()

    def test_restart_leaves_nothing_and_starts_fresh(self):
        with Kernel() as k:
            self.assertEqual(k.execute("int before_restart = 1;").status, "ok")
            old = [k.pid] + list(k.children())
            k.km.restart_kernel(now=False)
            k.kc.wait_for_ready(timeout=30)
            self.assertEqual(wait_gone(old), [], "processes of the old kernel left after restart")
            self.assertNotEqual(k.pid, old[0])
            k.flush()
            r = k.execute("before_restart")
            self.assertEqual(r.status, "error", "state survived a restart")
            self.assertEqual(k.execute('printf("ok\\n");').stdout, "ok\n")

    def test_executor_killed_from_outside(self):
        with Kernel(capture_log=True) as k:
            self.assertEqual(k.execute("int lost = 1;").status, "ok")
            msg_id = k.kc.execute("#include <unistd.h>\nsleep(30);")
            time.sleep(0.8)
            victims = list(k.children())
            self.assertTrue(victims)
            for p in victims:
                os.kill(p, signal.SIGKILL)
            reply = k.shell_reply(msg_id, timeout=10)
            self.assertEqual(reply["content"]["status"], "error")
            self.assertEqual(reply["content"]["ename"], "ExecutorDied")
            k.iopub_until_idle(msg_id)
            r = k.execute('printf("fresh\\n");')
            self.assertEqual(r.status, "ok", r)
            self.assertEqual(r.stdout, "fresh\n")
            self.assertEqual(wait_gone(victims), [])
            time.sleep(0.2)
            self.assertEqual(zombies(k.pid), [])
            self.assertIn("executor chain ended", k.log_text())

    def test_sigterm_to_the_kernel(self):
        k = Kernel()
        try:
            k.execute("int t = 1;")
            tree = [k.pid] + list(k.children())
            os.kill(k.pid, signal.SIGTERM)
            self.assertEqual(wait_gone(tree), [])
        finally:
            k.close()

    def test_many_cells_no_accumulation(self):
        with Kernel() as k:
            for i in range(25):
                r = k.execute("int v%d = %d;" % (i, i))
                self.assertEqual(r.status, "ok", r)
            r = k.execute('printf("%d\\n", v0 + v24);')
            self.assertEqual(r.stdout, "24\n")
            time.sleep(0.2)
            kids = k.children()
            self.assertEqual([p for p, s in kids.items() if s == "Z"], [])
            # the executor, the generation kept for %undo, the guardian and the spare
            # (the next cell's process, forked ahead: kernel/exec/spare.c)
            self.assertLessEqual(len(kids), 4, kids)

    def test_launcher_hands_its_sockets_over(self):
        # cairn-kernel (launcher.c) listens on the five TCP ports before the core's
        # libraries load and execs the core with them; the core serves on exactly those
        # sockets, and nothing below the front (executor, cells) holds one.
        with Kernel() as k:
            exe = os.readlink("/proc/%d/exe" % k.pid)
            self.assertTrue(exe.endswith("/cairn-kernel-core"), exe)
            with open("/proc/%d/cmdline" % k.pid, "rb") as f:
                args = f.read().split(b"\0")
            given = [a for a in args if a.startswith(b"--listen-fds=")]
            self.assertEqual(len(given), 1, args)
            fds = [int(x) for x in given[0][len(b"--listen-fds="):].split(b",")]
            self.assertEqual(len(fds), 5)
            ports = {int(p) for p in (k.km.shell_port, k.km.control_port,
                                      k.km.stdin_port, k.km.hb_port, k.km.iopub_port)}
            listening = set()
            with open("/proc/net/tcp") as f:
                inode_port = {l.split()[9]: int(l.split()[1].split(":")[1], 16)
                              for l in list(f)[1:] if l.split()[3] == "0A"}  # 0A: LISTEN
            for fd in fds:
                target = os.readlink("/proc/%d/fd/%d" % (k.pid, fd))
                self.assertTrue(target.startswith("socket:["), target)
                listening.add(inode_port.get(target[8:-1]))
            self.assertEqual(listening, ports, "the core listens on the launcher's sockets")
            r = k.execute("#include <sys/socket.h>\nint listening = 0;\n"
                          "for (int fd = 0; fd < 1024; fd++) { int on = 0; socklen_t n = sizeof on;\n"
                          "  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &n) == 0 && on) listening++; }\n"
                          "printf(\"%d\\n\", listening);")
            self.assertEqual((r.status, r.stdout), ("ok", "0\n"), r)

    def test_front_killed_hard(self):
        # SIGKILL to the kernel's whole process group (what jupyter_client does when a
        # shutdown times out): the guardian still takes the spinning cell down.
        k = Kernel()
        try:
            k.kc.execute("for (;;);")
            time.sleep(0.8)
            tree = list(k.children())
            self.assertGreaterEqual(len(tree), 2)
            os.killpg(os.getpgid(k.pid), signal.SIGKILL)
            self.assertEqual(wait_gone(tree), [], "chain processes outlived the front")
        finally:
            k.close()

    def test_history_across_kernels(self):
        # The history file next to the connection file carries inputs to the next kernel
        # (console up-arrow, %history) with a new session number.
        with tempfile.TemporaryDirectory() as tmp:
            env = {"CAIRN_HISTORY_FILE": os.path.join(tmp, "history.jsonl")}
            with Kernel(extra_env=env) as k:
                k.execute("int from_first_kernel = 1;")
                first = k.request("history_request", {"hist_access_type": "tail", "n": 1,
                                                      "output": False, "raw": True})["content"]["history"]
            with Kernel(extra_env=env) as k:
                tail = k.request("history_request", {"hist_access_type": "tail", "n": 5,
                                                     "output": False, "raw": True})["content"]["history"]
                self.assertEqual(tail[-1][2], "int from_first_kernel = 1;")
                k.execute("int second = 2;")
                now = k.request("history_request", {"hist_access_type": "tail", "n": 1,
                                                    "output": False, "raw": True})["content"]["history"]
                self.assertEqual(now[0][0], first[0][0] + 1)
                prev = k.request("history_request", {"hist_access_type": "range", "session": -1,
                                                     "start": 1, "output": False, "raw": True})
                self.assertEqual([h[2] for h in prev["content"]["history"]], ["int from_first_kernel = 1;"])

    def test_ipc_transport(self):
        # Sockets bind where the connection file says, also for the ipc transport.
        with Kernel(transport="ipc") as k:
            self.assertEqual(k.connection["transport"], "ipc")
            r = k.execute('printf("over ipc\\n");')
            self.assertEqual(r.stdout, "over ipc\n")
            self.assertTrue(os.path.exists("%s-%d" % (k.connection["ip"], k.connection["shell_port"])))


if __name__ == "__main__":
    unittest.main(verbosity=2)
