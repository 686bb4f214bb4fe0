"""test_crash.py — a cell that crashes the process it runs in does not cost the session.

For each way a C cell can die (SIGSEGV, SIGFPE, SIGBUS, SIGILL, abort(), exit(N),
stack overflow, SIGKILL), in one kernel: a variable defined before the crash is read
back after it with its value; the crashing cell's reply and `error` message name what
happened; a name that the crashing cell defined before dying does not exist afterwards
(the session is that of before the cell); the kernel holds no zombie children.
"""
import time
import unittest

from harness import Kernel, descendants

CRASHES = [
    # (label, cell, text expected in ename or evalue)
    ("segv", "int *null_pointer = 0; *null_pointer = 1;", "SIGSEGV"),
    ("fpe", "volatile int zero = 0; int quotient = 10 / zero;", "SIGFPE"),
    ("bus", "#include <signal.h>\nraise(SIGBUS);", "SIGBUS"),
    ("ill", "#include <signal.h>\nraise(SIGILL);", "SIGILL"),
    ("abort", "abort();", "SIGABRT"),
    ("exit", "exit(3);", "exit"),
    ("stack", "int deep(int n) { volatile char pad[512]; pad[0] = (char)n; return deep(n + 1) + pad[0]; }\n"
              "deep(0);", "stack"),
    ("kill", "#include <signal.h>\nraise(SIGKILL);", "SIGKILL"),
]


class CrashTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kernel()
        r = cls.k.execute("int survivor = 4242; mat kept_matrix = mat_ones(3, 2);")
        assert r.status == "ok", r

    @classmethod
    def tearDownClass(cls):
        cls.k.close()

    def check_crash(self, label, code, expect):
        k = self.k
        r = k.execute("int defined_by_%s = 1;\n%s" % (label, code), timeout=60)
        self.assertEqual(r.status, "error", "%s: %r" % (label, r))
        err = r.error
        self.assertIsNotNone(err, "%s: no error message on iopub" % label)
        said = (err["ename"] + " " + err["evalue"]).lower()
        self.assertIn(expect.lower(), said, "%s: %r" % (label, err))
        self.assertEqual(r.content["ename"], err["ename"])
        # The session is intact: earlier names keep their values...
        r = k.execute('printf("%d %.0f\\n", survivor, mat_sum_all(kept_matrix));')
        self.assertEqual(r.status, "ok", "%s: session lost: %r" % (label, r))
        self.assertEqual(r.stdout, "4242 6\n")
        # ...and the crashed cell's own definitions were rolled back.
        r = k.execute("defined_by_%s" % label)
        self.assertEqual(r.status, "error", "%s: the crashed cell's name exists" % label)
        time.sleep(0.1)
        self.assertEqual([p for p, s in descendants(k.pid).items() if s == "Z"], [])

    def test_crashes(self):
        for label, code, expect in CRASHES:
            with self.subTest(crash=label):
                self.check_crash(label, code, expect)


if __name__ == "__main__":
    unittest.main(verbosity=2)
