"""test_requests.py — the shell requests besides execute, and execute's bookkeeping.

kernel_info fields; history tail/range/search (glob, unique, n, with output);
complete (runtime API, user names, struct members of runtime types, magics, cursor
positions in code points); inspect (runtime doc, user variable value); `?name` help
cells (page payload); is_complete;
comm_info and comm_open refusal; all answered while a cell is running. execute:
execution_count, silent and store_history, stop_on_error true/false, input_request
round trip, a crash of the executor chain reported on the pending execute.
"""
import time
import unittest

from harness import SessionTest


class RequestTests(SessionTest):
    def req(self, msg_type, **content):
        rep = self.k.request(msg_type, content)
        return rep["content"]

    def test_kernel_info(self):
        c = self.req("kernel_info_request")
        self.assertEqual(c["protocol_version"], "5.3")
        self.assertEqual(c["implementation"], "cairn")
        li = c["language_info"]
        self.assertEqual((li["name"], li["mimetype"], li["file_extension"], li["pygments_lexer"],
                          li["codemirror_mode"]), ("c", "text/x-csrc", ".c", "c", "text/x-csrc"))
        self.assertIn("cairn", c["banner"])
        self.assertTrue(all("url" in h and "text" in h for h in c["help_links"]))

    def test_history(self):
        base = self.k.execute("int hist_a = 1;").content["execution_count"]
        self.k.execute("int hist_b = 2;")
        self.k.execute("hist_a + hist_b")
        self.k.execute("hist_a + hist_b")
        self.k.execute("int quiet = 0;", store_history=False)
        tail = self.req("history_request", hist_access_type="tail", n=4, output=False, raw=True)
        self.assertEqual([h[2] for h in tail["history"]],
                         ["int hist_a = 1;", "int hist_b = 2;", "hist_a + hist_b", "hist_a + hist_b"])
        self.assertEqual([h[1] for h in tail["history"]], [base, base + 1, base + 2, base + 3])
        session = tail["history"][0][0]
        out = self.req("history_request", hist_access_type="tail", n=1, output=True, raw=True)
        self.assertEqual(out["history"][0][2], ["hist_a + hist_b", "3"])
        rng = self.req("history_request", hist_access_type="range", session=session,
                       start=base + 1, stop=base + 3, output=False, raw=True)
        self.assertEqual([h[2] for h in rng["history"]], ["int hist_b = 2;", "hist_a + hist_b"])
        search = self.req("history_request", hist_access_type="search", pattern="*hist_a*",
                          output=False, raw=True)
        self.assertEqual([h[2] for h in search["history"]],
                         ["int hist_a = 1;", "hist_a + hist_b", "hist_a + hist_b"])
        uniq = self.req("history_request", hist_access_type="search", pattern="*hist_a*",
                        unique=True, output=False, raw=True)
        self.assertEqual([h[2] for h in uniq["history"]], ["int hist_a = 1;", "hist_a + hist_b"])
        last = self.req("history_request", hist_access_type="search", pattern="*hist*", n=2,
                        output=False, raw=True)
        self.assertEqual([h[1] for h in last["history"]], [base + 2, base + 3])

    def test_complete(self):
        self.k.execute("int my_counter = 3; mat my_matrix = mat_zeros(2, 2);")
        c = self.req("complete_request", code="x = my_c", cursor_pos=8)
        self.assertEqual(c["matches"], ["my_counter"])
        self.assertEqual((c["cursor_start"], c["cursor_end"]), (4, 8))
        c = self.req("complete_request", code="mat_zer", cursor_pos=7)
        self.assertIn("mat_zeros", c["matches"])
        c = self.req("complete_request", code="my_matrix.co", cursor_pos=12)
        self.assertEqual(c["matches"], ["cols"])
        self.assertEqual(c["cursor_start"], 10)
        c = self.req("complete_request", code="%ls", cursor_pos=3)
        self.assertEqual(c["matches"], ["%lsmagic"])
        self.assertEqual(c["cursor_start"], 0)
        # cursor positions count code points: "é" is one.
        code = '/* é */ my_cou'
        c = self.req("complete_request", code=code, cursor_pos=len(code))
        self.assertEqual(c["matches"], ["my_counter"])
        self.assertEqual(c["cursor_start"], len(code) - 6)
        types = c["metadata"]["_jupyter_types_experimental"]
        self.assertEqual(types[0]["text"], "my_counter")

    def test_inspect(self):
        c = self.req("inspect_request", code="mat_zeros(2, ", cursor_pos=13, detail_level=0)
        self.assertTrue(c["found"])
        self.assertIn("mat mat_zeros(int rows, int cols)", c["data"]["text/plain"])
        self.k.execute("int inspected_value = 4242;")
        c = self.req("inspect_request", code="inspected_value", cursor_pos=3, detail_level=0)
        self.assertTrue(c["found"])
        self.assertIn("4242", c["data"]["text/plain"])
        c = self.req("inspect_request", code="no_such_name_here", cursor_pos=4, detail_level=0)
        self.assertFalse(c["found"])

    def test_help_cells(self):
        """`?name`, `name?`, `??name`: the inspect text in a "page" payload, as IPython."""
        def page(code):
            r = self.k.execute(code)
            self.assertEqual(r.status, "ok", r.error)
            pages = [p for p in r.content["payload"] if p.get("source") == "page"]
            return r, (pages[0]["data"]["text/plain"] if pages else None)

        r, text = page("?mat_zeros")
        self.assertIn("mat mat_zeros(int rows, int cols)", text)
        self.assertIn("zeros", text.split("\n", 2)[2])  # the doc comment, after the signature
        self.k.execute("int helped_value = 31337;\ndouble helped_twice(double v) { return 2 * v; }")
        r, text = page("helped_value?")
        self.assertIn("int helped_value", text)
        self.assertIn("31337", text)  # the live value, from the executor
        r, text = page("??helped_twice")
        self.assertIn("double helped_twice(double v)", text)
        r, text = page("%timeit?")
        self.assertIn("%timeit", text)
        r, text = page("?no_such_name_anywhere")
        self.assertIsNone(text)
        self.assertEqual(r.stdout, "Object `no_such_name_anywhere` not found.\n")
        # Counted and kept in the history like any cell; the session is untouched.
        self.assertEqual(self.k.execute("helped_value + 1").result_text, "31338")

    def test_is_complete(self):
        self.assertEqual(self.req("is_complete_request", code="int x = 1;")["status"], "complete")
        c = self.req("is_complete_request", code="int f(void) {")
        self.assertEqual(c["status"], "incomplete")
        self.assertIn("indent", c)
        self.assertEqual(self.req("is_complete_request", code="int x = );")["status"], "invalid")

    def test_comm(self):
        c = self.req("comm_info_request")
        self.assertEqual(c["comms"], {})
        msg = self.k.kc.session.msg("comm_open", {"comm_id": "c-1", "target_name": "nope", "data": {}})
        self.k.kc.shell_channel.send(msg)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            m = self.k.kc.get_iopub_msg(timeout=5)
            if m["msg_type"] == "comm_close":
                self.assertEqual(m["content"]["comm_id"], "c-1")
                break
        else:
            self.fail("comm_open was not answered with comm_close")

    def test_answered_while_busy(self):
        self.k.execute("int busy_name = 5;")
        msg_id = self.k.kc.execute("#include <unistd.h>\nsleep(3);")
        time.sleep(0.5)
        t0 = time.monotonic()
        for msg_type, content in [("kernel_info_request", {}),
                                  ("complete_request", {"code": "busy_n", "cursor_pos": 6}),
                                  ("inspect_request", {"code": "mat_ones", "cursor_pos": 3, "detail_level": 0}),
                                  ("is_complete_request", {"code": "int y = 2;"}),
                                  ("history_request", {"hist_access_type": "tail", "n": 1, "output": False, "raw": True}),
                                  ("comm_info_request", {})]:
            c = self.k.request(msg_type, content, timeout=2)["content"]
            self.assertEqual(c.get("status", "ok") if msg_type != "is_complete_request" else "ok", "ok")
            if msg_type == "complete_request":
                self.assertEqual(c["matches"], ["busy_name"])
        self.assertLess(time.monotonic() - t0, 2.0)
        # Each quick request had its own busy/idle, and the kernel said busy again for
        # the running cell right after: the last status before the cell ends is busy.
        statuses = []
        while True:
            try:
                m = self.k.kc.get_iopub_msg(timeout=0.3)
            except Exception:
                break
            if m["msg_type"] == "status":
                statuses.append((m["parent_header"].get("msg_id"), m["content"]["execution_state"]))
        self.assertGreaterEqual(len(statuses), 12)
        self.assertEqual(statuses[-1], (msg_id, "busy"), statuses[-3:])
        self.assertEqual(self.k.shell_reply(msg_id)["content"]["status"], "ok")
        self.k.iopub_until_idle(msg_id)

    def test_execution_count_and_silent(self):
        a = self.k.execute("1 + 1").content["execution_count"]
        r = self.k.execute("2 + 2", silent=True)
        self.assertEqual(r.of_type("execute_result"), [])
        self.assertEqual([m for m in r.messages if m["msg_type"] == "execute_input"], [])
        r = self.k.execute("3 + 3", store_history=False)
        self.assertEqual(r.content["execution_count"], a)
        r = self.k.execute("  \n\t ")  # blank: neither counted nor stored, as IPython
        self.assertEqual((r.status, r.content["execution_count"]), ("ok", a))
        r = self.k.execute("4 + 4")
        self.assertEqual(r.content["execution_count"], a + 1)
        self.assertEqual(r.of_type("execute_result")[0]["content"]["execution_count"], a + 1)

    def test_stop_on_error(self):
        kc = self.k.kc
        # The failing cell runs a little while, so the next two are surely queued.
        bad = kc.execute("#include <unistd.h>\nusleep(300000); int *soe_null = 0; *soe_null = 1;")
        q1 = kc.execute("int soe_one = 1;")
        q2 = kc.execute("int soe_two = 2;")
        self.assertEqual(self.k.shell_reply(bad)["content"]["status"], "error")
        self.assertEqual(self.k.shell_reply(q1)["content"]["status"], "aborted")
        self.assertEqual(self.k.shell_reply(q2)["content"]["status"], "aborted")
        for mid in (bad, q1, q2):
            states = [m["content"]["execution_state"] for m in self.k.iopub_until_idle(mid)
                      if m["msg_type"] == "status"]
            self.assertEqual(states, ["busy", "idle"])
        # stop_on_error=False: the following cell runs.
        bad = kc.execute("undefined_thing_456();", stop_on_error=False)
        q1 = kc.execute("int soe_three = 3;")
        self.assertEqual(self.k.shell_reply(bad)["content"]["status"], "error")
        self.assertEqual(self.k.shell_reply(q1)["content"]["status"], "ok")
        self.k.flush(0.3)

    def test_input_request(self):
        kc = self.k.kc
        mid = kc.execute('char name[32] = ""; if (fgets(name, sizeof name, stdin)) printf("hi %s", name);',
                         allow_stdin=True)
        req = kc.get_stdin_msg(timeout=10)
        self.assertEqual(req["msg_type"], "input_request")
        kc.input("world")
        self.assertEqual(self.k.shell_reply(mid)["content"]["status"], "ok")
        msgs = self.k.iopub_until_idle(mid)
        text = "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "stream")
        self.assertIn("hi world", text)
        # Without allow_stdin the read sees end of file instead of blocking.
        r = self.k.execute('char n2[8]; printf("%s\\n", fgets(n2, sizeof n2, stdin) ? "got" : "eof");',
                           allow_stdin=False)
        self.assertIn("eof", r.stdout)

    def test_display_ids_and_binary(self):
        code = ('char id[64]; snprintf(id, sizeof id, "%s", display_new_id());'
                ' display_part p1 = {"text/plain", "first", 5}; display_bundle(&p1, 1, id);'
                ' display_part p2 = {"text/plain", "second", 6}; display_update_bundle(&p2, 1, id);'
                ' unsigned char png[4] = {0x89, 0x50, 0x00, 0xff};'
                ' display_part p3 = {"image/png", png, 4}; display_bundle(&p3, 1, NULL);'
                ' display_clear_output(1);')
        r = self.k.execute(code)
        self.assertEqual(r.status, "ok", r)
        kinds = [m["msg_type"] for m in r.outputs]
        self.assertEqual(kinds, ["display_data", "update_display_data", "display_data", "clear_output"])
        first, update, image, clear = r.outputs
        did = first["content"]["transient"]["display_id"]
        self.assertTrue(did)
        self.assertEqual(update["content"]["transient"]["display_id"], did)
        self.assertEqual(update["content"]["data"]["text/plain"], "second")
        # binary parts are base64-encoded exactly once, in the front
        self.assertEqual(image["content"]["data"]["image/png"], "iVAA/w==")
        self.assertEqual(image["content"]["transient"], {})
        self.assertTrue(clear["content"]["wait"])

    def test_user_expressions(self):
        r = self.k.execute("int ux = 41;", user_expressions={"a": "ux + 1", "bad": "nope_nope"})
        ue = r.content["user_expressions"]
        self.assertEqual(ue["a"]["status"], "ok")
        self.assertEqual(ue["a"]["data"]["text/plain"], "42")
        self.assertEqual(ue["bad"]["status"], "error")

    def test_front_magics(self):
        r = self.k.execute("%lsmagic")
        self.assertEqual(r.status, "ok")
        for name in ("%history", "%reset", "%undo", "%whos", "%timeit"):
            self.assertIn(name, r.stdout)
        n = self.k.execute("int magic_a = 5;").content["execution_count"]
        r = self.k.execute("%history -n")
        self.assertIn("%3d: int magic_a = 5;\n" % n, r.stdout)
        self.assertNotIn("%history", r.stdout)
        self.assertEqual(self.k.execute("%reset\nint not_alone;").error["ename"], "UsageError")
        r = self.k.execute("%reset")
        self.assertEqual(r.status, "ok")
        self.assertIn("fresh", r.stdout)
        self.assertEqual(self.k.execute("magic_a").status, "error", "%reset kept a name")
        self.assertEqual(self.k.execute('printf("%d\\n", 1 + 1);').stdout, "2\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
