"""test_interrupt.py — interrupting running cells, by message and by signal.

- `for(;;);` is stopped within 1 s of interrupt_request (control channel), the reply is
  an error naming KeyboardInterrupt, and names defined before survive with their values.
- The same with interrupt_mode "signal": jupyter_client sends SIGINT to the kernel.
- An interrupt while the cell waits for input ends the cell too.
- Cells queued behind the interrupted one are aborted (stop_on_error), and the kernel
  runs new cells normally afterwards.
- The heartbeat is answered while a cell spins.
"""
import time
import unittest

import zmq

from harness import Kernel


def start_spin(k, code="for (;;);"):
    msg_id = k.kc.execute(code)
    # Wait until the cell really runs (busy, then give the cell process a moment).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        m = k.kc.get_iopub_msg(timeout=10)
        if (m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status"
                and m["content"]["execution_state"] == "busy"):
            break
    time.sleep(0.5)
    return msg_id


class InterruptTests(unittest.TestCase):
    def check_interrupt(self, k, send_interrupt):
        r = k.execute("int kept = 1234; double kept_d = 2.5;")
        self.assertEqual(r.status, "ok", r)
        msg_id = start_spin(k)
        t0 = time.monotonic()
        send_interrupt()
        reply = k.shell_reply(msg_id, timeout=10)
        elapsed = time.monotonic() - t0
        self.assertLess(elapsed, 1.0, "interrupt took %.2f s" % elapsed)
        self.assertEqual(reply["content"]["status"], "error")
        self.assertIn("KeyboardInterrupt", reply["content"]["ename"])
        k.iopub_until_idle(msg_id)
        r = k.execute('printf("%d %.1f\\n", kept, kept_d);')
        self.assertEqual(r.status, "ok", r)
        self.assertEqual(r.stdout, "1234 2.5\n")

    def test_interrupt_message(self):
        with Kernel() as k:
            self.check_interrupt(k, lambda: k.interrupt())

    def test_interrupt_signal(self):
        with Kernel(interrupt_mode="signal") as k:
            self.check_interrupt(k, lambda: k.km.interrupt_kernel())

    def test_interrupt_input_wait_and_queue(self):
        with Kernel() as k:
            r = k.execute("int before_input = 77;")
            self.assertEqual(r.status, "ok")
            first = k.kc.execute("char line[16]; if (fgets(line, sizeof line, stdin)) printf(\"read\\n\");",
                                 allow_stdin=True)
            # The kernel asks for input on the stdin channel.
            req = k.kc.get_stdin_msg(timeout=10)
            self.assertEqual(req["msg_type"], "input_request")
            self.assertEqual(req["parent_header"]["msg_id"], first)
            queued = k.kc.execute("int after_queue = 1;")
            time.sleep(0.2)
            k.interrupt()
            reply = k.shell_reply(first, timeout=10)
            self.assertEqual(reply["content"]["status"], "error")
            # The queued cell was aborted, not run.
            aborted = k.shell_reply(queued, timeout=10)
            self.assertEqual(aborted["content"]["status"], "aborted")
            r = k.execute('printf("%d\\n", before_input);')
            self.assertEqual(r.stdout, "77\n")
            r = k.execute("after_queue")
            self.assertEqual(r.status, "error", "an aborted cell ran")

    def test_heartbeat_while_busy(self):
        with Kernel() as k:
            msg_id = start_spin(k)
            info = k.connection
            ctx = zmq.Context.instance()
            hb = ctx.socket(zmq.REQ)
            hb.setsockopt(zmq.LINGER, 0)
            hb.connect("%s://%s:%d" % (info["transport"], info["ip"], info["hb_port"]))
            try:
                for i in range(3):
                    payload = b"ping-%d" % i
                    hb.send(payload)
                    self.assertTrue(hb.poll(1000), "heartbeat not answered while a cell runs")
                    self.assertEqual(hb.recv(), payload)
            finally:
                hb.close(0)
            # kernel_info is answered at once while the cell still spins.
            t0 = time.monotonic()
            mid = k.kc.kernel_info()
            rep = k.shell_reply(mid, timeout=5)
            self.assertLess(time.monotonic() - t0, 1.0)
            self.assertEqual(rep["content"]["status"], "ok")
            k.interrupt()
            self.assertEqual(k.shell_reply(msg_id, timeout=10)["content"]["status"], "error")


if __name__ == "__main__":
    unittest.main(verbosity=2)
