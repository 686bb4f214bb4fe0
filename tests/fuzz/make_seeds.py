#!/usr/bin/python3
"""make_seeds.py — write the seed corpus of fuzz_wire (tests/fuzz/seeds/).

Each seed is a message in the target's input format (2-byte little-endian frame length
+ frame bytes): an unsigned execute_request, a kernel_info_request with two routing
identities, one with a malformed content, and the hostile cells of
tests/protocol/test_hostile.py as execute_requests (code with NUL-free control bytes,
escapes and long loops), an interrupt_request and a restarting shutdown_request, so the
fuzzer starts from messages that reach the JSON stage. Run: /usr/bin/python3 tests/fuzz/make_seeds.py
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
    hostile = {
        "fclose_stdout": "fclose(stdout);\nprintf(\"lost\\n\");",
        "close_stdio": "#include <unistd.h>\nclose(1); close(2);",
        "close_all": "for (int fd = 3; fd < 4096; fd++) close(fd);",
        "raw_close_all": "#include <sys/syscall.h>\nfor (int fd = 0; fd < 4096; fd++) syscall(SYS_close, fd);",
        "sigint_ignored": "#include <signal.h>\nsignal(SIGINT, SIG_IGN);\nfor (;;);",
        "fork_left": "pid_t kid = fork();\nif (kid == 0) { for (;;) pause(); }\nkid",
        "setrlimit": "struct rlimit r = {1, 1};\nsetrlimit(RLIMIT_CPU, &r);",
        "execv": "execv(\"/bin/true\", (char *[]){\"true\", 0});",
        "stderr_flood": "static char l[1024];\nfor (int i = 0; i < 102400; i++) fputs(l, stderr);",
        "malloc_limit": "char *big = malloc((size_t)2 << 30);\nbig[0] = 1;",
    }
    for name, code in hostile.items():
        seeds["hostile_" + name] = msg([b"client"], "execute_request",
                                       {"code": code, "silent": False, "store_history": True,
                                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": False})
    seeds["interrupt"] = msg([b"client"], "interrupt_request", {})
    seeds["shutdown_restart"] = msg([b"client"], "shutdown_request", {"restart": True})
    for name, data in seeds.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
