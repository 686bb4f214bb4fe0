#!/usr/bin/python3
"""make_seeds.py — write the seed corpus of fuzz_wire (tests/fuzz/seeds/).

Each seed is a message in the target's input format (2-byte little-endian frame length
+ frame bytes): an unsigned execute_request, a kernel_info_request with two routing
identities, and one with a malformed content, so the fuzzer starts from messages that
reach the JSON stage. Run: /usr/bin/python3 tests/fuzz/make_seeds.py
"""
import json
import os
import struct

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")


def header(msg_type):
    return {"msg_id": "a1", "msg_type": msg_type, "session": "s1", "username": "u",
            "date": "2026-01-01T00:00:00Z", "version": "5.3"}


def pack(frames):
    return b"".join(struct.pack("<H", len(f)) + f for f in frames)


def msg(ids, msg_type, content, raw_content=None):
    parts = [json.dumps(header(msg_type)), "{}", "{}", raw_content or json.dumps(content)]
    return pack(ids + [b"<IDS|MSG>", b""] + [p.encode() for p in parts])


def main():
    os.makedirs(HERE, exist_ok=True)
    seeds = {
        "execute": msg([b"client"], "execute_request",
                       {"code": "int x = 1;\nprintf(\"%d\\n\", x);", "silent": False,
                        "store_history": True, "user_expressions": {}, "allow_stdin": True,
                        "stop_on_error": True}),
        "kernel_info": msg([b"id-1", b"id-2"], "kernel_info_request", {}),
        "bad_content": msg([b"c"], "complete_request", None, raw_content='{"code": "ma\\u00e9", "cursor_pos": [}'),
    }
    for name, data in seeds.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
