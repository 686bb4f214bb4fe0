/* fuzz_wire.c — libFuzzer target for the Jupyter message decoder (kernel/front/wire.c).
 *
 * Input format: a sequence of frames, each a 2-byte little-endian length then that many
 * bytes (a short last frame takes what is left). The frames go through wire_decode twice:
 * with a key (so the HMAC check rejects almost everything, as it must) and with the empty
 * key (unsigned sessions), which lets the fuzzer reach the JSON parsing and field checks.
 * A third pass signs the frames after the delimiter correctly, so the keyed path
 * reaches the parser as well and a correct signature is never rejected.
 * A decoded message is encoded again and must decode to the same header and content
 * under the key: a mismatch aborts, which libFuzzer reports. The input is also run
 * through the UTF-8 sanitizer, whose output must always be a valid JSON string.
 *
 * Build: see tests/fuzz/meson.build (clang -fsanitize=fuzzer,address,undefined). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define MAX_FUZZ_FRAMES 40

static void check(int ok)
{
    if (!ok)
        abort();
}

static void roundtrip(const wire_key *key, wire_msg *m)
{
    wire_out out;
    check(wire_encode(key, m->ids, m->nids, m->header, m->parent_header, m->metadata, m->content,
                      &out) == 0);
    wire_frame frames[WIRE_MAX_IDS + 6];
    for (size_t i = 0; i < out.nframes; i++) {
        frames[i].data = out.frames[i].data;
        frames[i].size = out.frames[i].size;
    }
    wire_msg again;
    char why[256];
    int st = wire_decode(key, frames, out.nframes, &again, why, sizeof why);
    check(st == WIRE_OK);
    check(json_equal(again.header, m->header));
    check(json_equal(again.content, m->content));
    check(again.nids == m->nids);
    wire_msg_free(&again);
    wire_out_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wire_frame frames[MAX_FUZZ_FRAMES];
    size_t n = 0, pos = 0;
    while (pos < size && n < MAX_FUZZ_FRAMES) {
        size_t len = pos + 2 <= size ? (size_t)data[pos] | ((size_t)data[pos + 1] << 8) : 0;
        pos += pos + 2 <= size ? 2 : 1;
        if (len > size - pos)
            len = size - pos;
        frames[n].data = data + pos;
        frames[n].size = len;
        n++;
        pos += len;
    }
    static wire_key key, none;
    if (!key.size)
        wire_key_set(&key, "0123456789abcdef-fuzz-key");
    char why[256];
    for (int pass = 0; pass < 2; pass++) {
        wire_msg m;
        int st = wire_decode(pass ? &none : &key, frames, n, &m, why, sizeof why);
        check(st >= WIRE_OK && st <= WIRE_BAD_BODY);
        check(strlen(why) < sizeof why);
        if (st == WIRE_OK)
            roundtrip(&key, &m);
        wire_msg_free(&m);
    }
    /* Third pass: sign the fuzzed JSON frames with the key, so the keyed path reaches
     * the parser too (a forger cannot, but a buggy client holding the key can). */
    for (size_t d = 0; d + 5 < n; d++) {
        if (frames[d].size == 9 && memcmp(frames[d].data, "<IDS|MSG>", 9) == 0) {
            char hex[65];
            wire_sign(&key, &frames[d + 2], hex);
            wire_frame signed_frames[MAX_FUZZ_FRAMES];
            memcpy(signed_frames, frames, n * sizeof *frames);
            signed_frames[d + 1].data = hex;
            signed_frames[d + 1].size = 64;
            wire_msg m;
            int st = wire_decode(&key, signed_frames, n, &m, why, sizeof why);
            check(st != WIRE_BAD_SIGNATURE);
            if (st == WIRE_OK)
                roundtrip(&key, &m);
            wire_msg_free(&m);
            break;
        }
    }
    size_t outlen;
    char *clean = wire_utf8_sanitize((const char *)data, size, &outlen);
    if (clean) {
        json_t *s = json_stringn(clean, outlen);
        check(s != NULL);
        json_decref(s);
        free(clean);
    }
    size_t cut = wire_utf8_complete_prefix((const char *)data, size);
    check(cut <= size && size - cut <= 3);
    return 0;
}
