"""test_streams.py — cell output reaches the client while the cell runs, in order.

- A cell printing a line every 0.3 s: each line arrives as it is printed (arrival times
  spread over the cell's run, the first long before the reply), not all at the end.
- printf without a newline still shows up while the cell sleeps (partial-line flush).
- stdout/stderr text and rich displays keep the order in which the cell produced them
  (also over 40 fast alternations).
- stderr arrives as stream name "stderr".
- UTF-8 split across writes is reassembled; invalid bytes become U+FFFD, never a crash.
- 10 MB of output is forwarded up to the per-cell cap with a truncation notice, and the
  kernel stays responsive.
"""
import unittest

from harness import SessionTest

SLEEP = "#include <unistd.h>\n"


class StreamTests(SessionTest):
    def test_lines_arrive_while_running(self):
        code = SLEEP + 'for (int i = 0; i < 5; i++) { printf("line %d\\n", i); usleep(300000); }'
        r = self.k.execute(code)
        self.assertEqual(r.status, "ok", r)
        streams = [m for m in r.outputs if m["msg_type"] == "stream"]
        text = "".join(m["content"]["text"] for m in streams)
        self.assertEqual(text, "".join("line %d\n" % i for i in range(5)))
        # Arrival time of each line (a message may carry one or more lines).
        times = []
        for m in streams:
            times += [m["_t"]] * m["content"]["text"].count("\n")
        done = max(m["_t"] for m in r.messages)
        # The cell runs ~1.5 s: the first line must be there well before the end, and the
        # lines must be spread out rather than delivered in one burst.
        self.assertGreater(done - times[0], 0.9, "first line arrived only at the end")
        self.assertGreater(times[-1] - times[0], 0.8, "lines arrived in one burst")
        self.assertGreaterEqual(len(streams), 4)

    def test_partial_line_is_flushed(self):
        code = SLEEP + 'printf("no newline"); fflush(stdout); usleep(800000); printf(" end\\n");'
        r = self.k.execute(code)
        streams = [m for m in r.outputs if m["msg_type"] == "stream"]
        self.assertEqual("".join(m["content"]["text"] for m in streams), "no newline end\n")
        first = streams[0]
        self.assertTrue(first["content"]["text"].startswith("no newline"))
        done = max(m["_t"] for m in r.messages)
        self.assertGreater(done - first["_t"], 0.5, "partial line waited for the end of the cell")

    def test_order_of_stdout_and_display(self):
        code = ('printf("before\\n"); display_text("shown"); printf("after\\n");'
                ' display_html("<i>x</i>", "x"); printf("last");')
        r = self.k.execute(code)
        self.assertEqual(r.status, "ok", r)
        seq = []
        for m in r.outputs:
            if m["msg_type"] == "stream":
                seq.append(("stream", m["content"]["text"]))
            elif m["msg_type"] == "display_data":
                seq.append(("display", m["content"]["data"]["text/plain"]))
        self.assertEqual(seq, [("stream", "before\n"), ("display", "shown"),
                               ("stream", "after\n"), ("display", "x"), ("stream", "last")])

    def test_order_under_alternation(self):
        # 40 rounds of stdout, stderr and a display each: every display must come after
        # the text printed before it and before the text printed after it.
        code = ('char label[16]; for (int i = 0; i < 40; i++) { printf("o%d\\n", i); fprintf(stderr, "e%d\\n", i);'
                ' snprintf(label, sizeof label, "d%d", i); display_text(label); }')
        r = self.k.execute(code)
        self.assertEqual(r.status, "ok", r)
        seen = []
        for m in r.outputs:
            if m["msg_type"] == "stream":
                seen += [t for t in m["content"]["text"].split("\n") if t]
            elif m["msg_type"] == "display_data":
                seen.append(m["content"]["data"]["text/plain"])
        for i in range(40):
            d = seen.index("d%d" % i)
            self.assertLess(seen.index("o%d" % i), d)
            self.assertLess(seen.index("e%d" % i), d)
            if i + 1 < 40:
                self.assertLess(d, seen.index("o%d" % (i + 1)))
                self.assertLess(d, seen.index("e%d" % (i + 1)))

    def test_stderr_stream(self):
        r = self.k.execute('fprintf(stderr, "warn 1\\n"); fprintf(stderr, "warn 2\\n");')
        self.assertEqual(r.stderr, "warn 1\nwarn 2\n")
        self.assertEqual(r.stdout, "")

    def test_utf8_split_and_invalid(self):
        code = (SLEEP + 'fputs("caf\\xc3", stdout); fflush(stdout); usleep(200000);'
                ' fputs("\\xa9 \\xff ok\\n", stdout);')
        r = self.k.execute(code)
        self.assertEqual(r.status, "ok", r)
        self.assertEqual(r.stdout, "caf\u00e9 \ufffd ok\n")

    def test_large_output_is_capped(self):
        code = ('static char big[1 << 20]; for (int i = 0; i < (1 << 20); i++) big[i] = (i % 64) ? \'a\' : \'\\n\';'
                ' for (int k = 0; k < 10; k++) fwrite(big, 1, sizeof big, stdout);')
        r = self.k.execute(code, timeout=120)
        self.assertEqual(r.status, "ok", r)
        out = r.stdout
        self.assertIn("[output truncated:", out)
        kept = out[:out.rindex("\n[output truncated:")]
        self.assertLessEqual(len(kept), 5 << 20)
        self.assertGreaterEqual(len(kept), (5 << 20) - 4)
        dropped = int(out.rsplit("[output truncated: ", 1)[1].split(" ")[0])
        self.assertEqual(len(kept) + dropped, 10 << 20)
        # The next cell's output is not capped by the previous one.
        r = self.k.execute('printf("fresh\\n");')
        self.assertEqual(r.stdout, "fresh\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
