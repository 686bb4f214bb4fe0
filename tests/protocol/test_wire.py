"""test_wire.py — bad input on the wire: forged signatures, malformed messages, huge
messages, unknown types and clients that vanish. Messages are built by hand and sent
on raw ZeroMQ DEALER sockets, so nothing in jupyter_client tidies them up.

What must hold: a message with a bad or missing HMAC is dropped and logged, never
executed (a forged cell that would define a variable leaves no variable behind) and the
key never appears in the log; malformed requests get an error reply where the protocol
has one; the kernel keeps answering correct messages afterwards.
"""
import datetime
import hashlib
import hmac
import json
import time
import unittest
import uuid

import zmq

from harness import Kernel


class Raw:
    """A hand-made client on one of the kernel's ROUTER sockets."""

    def __init__(self, kernel, channel="shell", key=None):
        info = kernel.connection
        self.key = (info["key"] if key is None else key)
        if isinstance(self.key, str):
            self.key = self.key.encode()
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.IDENTITY, uuid.uuid4().hex.encode())
        port = info["%s_port" % channel]
        self.sock.connect("%s://%s:%d" % (info["transport"], info["ip"], port))
        time.sleep(0.1)

    def sign(self, parts):
        if not self.key:
            return b""
        h = hmac.new(self.key, digestmod=hashlib.sha256)
        for p in parts:
            h.update(p)
        return h.hexdigest().encode()

    @staticmethod
    def header(msg_type, **drop):
        h = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": "raw-session",
             "username": "tester", "version": "5.3",
             "date": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        for k in drop:
            h.pop(k, None)
        return h

    def send(self, msg_type, content, header=None, raw_parts=None, signature=None):
        header = header or self.header(msg_type)
        parts = raw_parts or [json.dumps(header).encode(), b"{}", b"{}", json.dumps(content).encode()]
        sig = self.sign(parts) if signature is None else signature
        self.sock.send_multipart([b"<IDS|MSG>", sig] + parts)
        return header["msg_id"] if isinstance(header, dict) and "msg_id" in header else None

    def recv(self, timeout=5.0):
        """The next reply as a dict, or None if nothing came within timeout."""
        if not self.sock.poll(int(timeout * 1000)):
            return None
        frames = self.sock.recv_multipart()
        i = frames.index(b"<IDS|MSG>")
        sig, parts = frames[i + 1], frames[i + 2:i + 6]
        assert sig == self.sign(parts), "reply signature does not verify"
        return {"header": json.loads(parts[0]), "parent_header": json.loads(parts[1]),
                "content": json.loads(parts[3])}

    def close(self):
        self.sock.close(0)


class WireTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kernel(capture_log=True)

    @classmethod
    def tearDownClass(cls):
        cls.k.close()

    def alive(self):
        """A correctly signed kernel_info_request still gets its reply."""
        raw = Raw(self.k)
        try:
            mid = raw.send("kernel_info_request", {})
            rep = raw.recv()
            self.assertIsNotNone(rep, "kernel stopped answering")
            self.assertEqual(rep["parent_header"]["msg_id"], mid)
            self.assertEqual(rep["content"]["protocol_version"], "5.3")
        finally:
            raw.close()

    def test_bad_signature_is_dropped_and_not_executed(self):
        forger = Raw(self.k, key=b"not-the-key")
        mid = forger.send("execute_request", {"code": "int forged_marker = 1;", "silent": False,
                                              "store_history": True, "user_expressions": {},
                                              "allow_stdin": False, "stop_on_error": True})
        self.assertIsNone(forger.recv(timeout=1.5), "a forged message got a reply")
        forger.close()
        # Missing signature: same fate.
        nosig = Raw(self.k)
        nosig.send("execute_request", {"code": "int forged_marker2 = 1;"}, signature=b"")
        self.assertIsNone(nosig.recv(timeout=1.0))
        # A signature that is not even hex.
        nosig.send("kernel_info_request", {}, signature=b"z" * 64)
        self.assertIsNone(nosig.recv(timeout=1.0))
        nosig.close()
        self.alive()
        # Never executed: the names do not exist.
        r = self.k.execute("forged_marker + forged_marker2")
        self.assertEqual(r.status, "error")
        log = self.k.log_text()
        self.assertIn("signature mismatch", log)
        self.assertIn("missing signature", log)
        self.assertNotIn(self.k.connection["key"].decode() if isinstance(self.k.connection["key"], bytes)
                         else self.k.connection["key"], log)
        self.assertNotIn(mid, [m["parent_header"].get("msg_id") for m in r.messages])

    def test_malformed_json_content_gets_error_reply(self):
        raw = Raw(self.k)
        header = Raw.header("execute_request")
        parts = [json.dumps(header).encode(), b"{}", b"{}", b'{"code": "int x = 1;", ']
        raw.send("execute_request", None, header=header, raw_parts=parts)
        rep = raw.recv()
        self.assertIsNotNone(rep)
        self.assertEqual(rep["header"]["msg_type"], "execute_reply")
        self.assertEqual(rep["content"]["status"], "error")
        self.assertEqual(rep["content"]["ename"], "BadRequest")
        self.assertIn("content", rep["content"]["evalue"])
        raw.close()
        self.alive()

    def test_malformed_header_is_dropped(self):
        raw = Raw(self.k)
        parts = [b"{not json", b"{}", b"{}", b"{}"]
        raw.sock.send_multipart([b"<IDS|MSG>", raw.sign(parts)] + parts)
        self.assertIsNone(raw.recv(timeout=1.0))
        # Too few frames, and no delimiter at all.
        raw.sock.send_multipart([b"<IDS|MSG>", b"abc"])
        raw.sock.send_multipart([b"just", b"garbage", b"frames"])
        self.assertIsNone(raw.recv(timeout=1.0))
        raw.close()
        self.alive()
        self.assertIn("header is not a JSON object", self.k.log_text())

    def test_missing_fields(self):
        raw = Raw(self.k)
        # header without session
        h = Raw.header("kernel_info_request", session=True)
        raw.send("kernel_info_request", {}, header=h)
        rep = raw.recv()
        self.assertIsNotNone(rep)
        self.assertEqual(rep["header"]["msg_type"], "kernel_info_reply")
        self.assertEqual(rep["content"]["status"], "error")
        self.assertIn("session", rep["content"]["evalue"])
        # execute_request without code, complete_request with a non-integer cursor
        raw.send("execute_request", {"silent": False})
        rep = raw.recv()
        self.assertEqual(rep["content"]["status"], "error")
        self.assertIn("code", rep["content"]["evalue"])
        raw.send("complete_request", {"code": "ma", "cursor_pos": "two"})
        rep = raw.recv()
        self.assertEqual(rep["header"]["msg_type"], "complete_reply")
        self.assertEqual(rep["content"]["status"], "error")
        # content that is a JSON array instead of an object
        header = Raw.header("inspect_request")
        raw.send("inspect_request", None, header=header,
                 raw_parts=[json.dumps(header).encode(), b"{}", b"{}", b"[1, 2]"])
        rep = raw.recv()
        self.assertEqual(rep["content"]["status"], "error")
        raw.close()
        self.alive()

    def test_unknown_message_types(self):
        raw = Raw(self.k)
        raw.send("frobnicate_request", {})
        rep = raw.recv()
        self.assertEqual(rep["header"]["msg_type"], "frobnicate_reply")
        self.assertEqual(rep["content"]["status"], "error")
        self.assertEqual(rep["content"]["ename"], "UnknownMessageType")
        raw.send("frobnicate", {})
        self.assertIsNone(raw.recv(timeout=1.0))
        raw.close()
        self.alive()
        self.assertIn("unknown message type 'frobnicate'", self.k.log_text())

    def test_huge_messages(self):
        raw = Raw(self.k)
        # 20 MB of code: refused with a reply that says why.
        raw.send("execute_request", {"code": "// " + "x" * (20 << 20)})
        rep = raw.recv(timeout=30)
        self.assertEqual(rep["content"]["status"], "error")
        self.assertIn("exceeds", rep["content"]["evalue"])
        # 2 MB of code in a comment: executed normally.
        code = "int after_huge = 5; // " + "y" * (2 << 20)
        raw.send("execute_request", {"code": code, "silent": False, "store_history": False,
                                     "user_expressions": {}, "allow_stdin": False})
        rep = raw.recv(timeout=60)
        self.assertEqual(rep["content"]["status"], "ok", rep["content"])
        # 100 binary buffer frames: ignored beyond the frame limit, the request still works.
        header = Raw.header("kernel_info_request")
        parts = [json.dumps(header).encode(), b"{}", b"{}", b"{}"]
        raw.sock.send_multipart([b"<IDS|MSG>", raw.sign(parts)] + parts + [b"buf"] * 100)
        rep = raw.recv()
        self.assertEqual(rep["parent_header"]["msg_id"], header["msg_id"])
        raw.close()
        r = self.k.execute('printf("%d\\n", after_huge);')
        self.assertEqual(r.stdout, "5\n")

    def test_client_disappears(self):
        # A client sends a slow cell and vanishes before the reply.
        raw = Raw(self.k)
        raw.send("execute_request", {"code": "#include <unistd.h>\nusleep(300000); int vanished = 9;",
                                     "silent": False, "store_history": False,
                                     "user_expressions": {}, "allow_stdin": False})
        raw.close()
        # Another vanishes while its cell waits for input.
        raw2 = Raw(self.k)
        raw2.send("execute_request", {"code": "char line[32]; if (!fgets(line, sizeof line, stdin)) line[0] = 0;",
                                      "silent": False, "store_history": False,
                                      "user_expressions": {}, "allow_stdin": True})
        time.sleep(1.0)
        raw2.close()
        # The input wait ends with an interrupt; then the kernel goes on as usual.
        self.k.interrupt()
        time.sleep(1.0)
        self.alive()
        r = self.k.execute('printf("%d\\n", vanished);')
        self.assertEqual(r.status, "ok", r)
        self.assertEqual(r.stdout, "9\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
