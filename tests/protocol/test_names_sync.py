"""test_names_sync.py — the front's copy of the session's names stays right.

The executor sends the whole names list once, then only what a cell changed
(`names_added`, `names_removed`), which the front merges into its copy. While a cell
runs the front answers complete and inspect from that copy alone, so these checks run
during a busy cell: names added, a variable redefined as a function, a macro defined
then #undef'd, a failed cell (nothing changes), %undo (the older executor sends its
whole list), many cells in a row after it. The kernel's debug log says which form each `done` used.
"""
import re
import time
import unittest

from harness import SessionTest

BUSY = "#include <unistd.h>\nusleep(1500000);"


class NamesSyncTests(SessionTest):
    kernel_options = dict(capture_log=True, extra_env={"CAIRN_DEBUG": "1"})

    def while_busy(self, requests):
        """Answers to (msg_type, content) requests sent while a cell sleeps."""
        msg_id = self.k.kc.execute(BUSY)
        time.sleep(0.3)
        answers = [self.k.request(t, c, timeout=3)["content"] for t, c in requests]
        self.assertEqual(self.k.shell_reply(msg_id)["content"]["status"], "ok")
        self.k.iopub_until_idle(msg_id)
        return answers

    def complete_busy(self, prefix):
        (c,) = self.while_busy([("complete_request", {"code": prefix, "cursor_pos": len(prefix)})])
        return sorted(c["matches"])

    def inspect_busy(self, name):
        (c,) = self.while_busy([("inspect_request", {"code": name, "cursor_pos": len(name), "detail_level": 0})])
        return c["data"].get("text/plain", "") if c["found"] else None

    def name_logs(self):
        return re.findall(r"names: (the whole list, \d+|\d+ added or changed, \d+ removed, \d+ now)",
                          self.k.log_text())

    def test_names_follow_the_session(self):
        self.ok("int sync_a = 1;\nint sync_b = 2;")
        self.ok("double sync_c = 3.5;")
        self.assertEqual(self.complete_busy("sync_"), ["sync_a", "sync_b", "sync_c"])
        logs = self.name_logs()
        self.assertTrue(logs and logs[0].startswith("the whole list"), logs)
        self.assertTrue(any(l.startswith("1 added or changed, 0 removed") for l in logs), logs)

        # A variable becomes a function: the front's entry is replaced, not doubled.
        self.ok("double sync_a(double v) { return 2 * v; }")
        self.assertEqual(self.complete_busy("sync_"), ["sync_a", "sync_b", "sync_c"])
        text = self.inspect_busy("sync_a")
        self.assertIsNotNone(text)
        self.assertIn("double sync_a(double v)", text)

        # A macro comes and goes.
        self.ok("#define SYNC_MACRO 42")
        self.assertEqual(self.complete_busy("SYNC_M"), ["SYNC_MACRO"])
        self.ok("#undef SYNC_MACRO")
        self.assertEqual(self.complete_busy("SYNC_M"), [])
        self.assertTrue(any(re.match(r"\d+ added or changed, 1 removed", l) for l in self.name_logs()),
                        self.name_logs())

        # A failed cell changes nothing.
        r = self.k.execute("int sync_bad = ;")
        self.assertEqual(r.status, "error")
        self.assertEqual(self.complete_busy("sync_"), ["sync_a", "sync_b", "sync_c"])

        # %undo drops the last cell that ran code: the older executor sends its whole list.
        self.ok("double sync_d = 1;")
        self.assertTrue(self.name_logs()[-1].startswith("1 added or changed, 0 removed"), self.name_logs())
        whole_before = sum(l.startswith("the whole list") for l in self.name_logs())
        self.ok("%undo")
        self.assertEqual(self.complete_busy("sync_"), ["sync_a", "sync_b", "sync_c"])
        self.assertGreater(sum(l.startswith("the whole list") for l in self.name_logs()), whole_before)

        # After the undo, changes are merged again on top of the list the front holds.
        for i in range(40):
            self.ok("int sync_many%d = %d;" % (i, i))
        self.ok("#undef SYNC_NOTHING\nint sync_many7 = 70;")
        got = self.complete_busy("sync_many")
        self.assertEqual(got, sorted("sync_many%d" % i for i in range(40)))
        self.assertEqual(self.complete_busy("sync_"),
                         sorted(["sync_a", "sync_b", "sync_c"] + ["sync_many%d" % i for i in range(40)]))
        text = self.inspect_busy("sync_many7")
        self.assertIsNotNone(text)
        self.assertIn("int", text)


if __name__ == "__main__":
    unittest.main()
