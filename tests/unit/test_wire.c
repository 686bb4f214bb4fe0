/* test_wire.c — the Jupyter wire codec (kernel/front/wire.c).
 *
 * HMAC against RFC 4231 test case 2 (the signature covers the four JSON frames as one
 * byte string), decode of a signed message, rejection of wrong/missing/short signatures,
 * the error classes for malformed frames, encode -> decode round trip, and the UTF-8
 * repair used for stream text. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "front/wire.h"

static void frames_from(wire_frame *f, const char **s, int n)
{
    for (int i = 0; i < n; i++) {
        f[i].data = s[i];
        f[i].size = strlen(s[i]);
    }
}

static void test_hmac_vector(void)
{
    wire_key key;
    wire_key_set(&key, "Jefe");
    const char *parts[4] = {"what do ", "ya want ", "for ", "nothing?"};
    wire_frame f[4];
    frames_from(f, parts, 4);
    char hex[65];
    wire_sign(&key, f, hex);
    CHECK(strcmp(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") == 0);
    wire_key_free(&key);
    wire_key empty;
    wire_key_set(&empty, "");
    wire_sign(&empty, f, hex);
    CHECK(hex[0] == 0);
}

static const char *HEADER =
    "{\"msg_id\":\"m1\",\"msg_type\":\"execute_request\",\"session\":\"s\",\"username\":\"u\",\"version\":\"5.3\"}";

static int decode_with(const char *keytext, const char *sig, const char *header, const char *content,
                       wire_msg *m)
{
    wire_key key;
    wire_key_set(&key, keytext);
    const char *s[7] = {"client-id", "<IDS|MSG>", sig ? sig : "", header, "{}", "{}", content};
    wire_frame f[7];
    frames_from(f, s, 7);
    char good[65];
    if (!sig) {
        wire_sign(&key, f + 3, good);
        f[2].data = good;
        f[2].size = strlen(good);
    }
    char why[128];
    int st = wire_decode(&key, f, 7, m, why, sizeof why);
    wire_key_free(&key);
    return st;
}

static void test_decode(void)
{
    wire_msg m;
    CHECK(decode_with("k3y", NULL, HEADER, "{\"code\":\"int x;\"}", &m) == WIRE_OK);
    CHECK(strcmp(m.msg_type, "execute_request") == 0);
    CHECK(strcmp(m.msg_id, "m1") == 0);
    CHECK(m.nids == 1 && m.ids[0].size == 9 && memcmp(m.ids[0].data, "client-id", 9) == 0);
    CHECK(strcmp(json_string_value(json_object_get(m.content, "code")), "int x;") == 0);
    wire_msg_free(&m);

    /* wrong key, missing signature, right length but not hex, one digit off */
    CHECK(decode_with("k3y", "0000000000000000000000000000000000000000000000000000000000000000", HEADER, "{}", &m) ==
          WIRE_BAD_SIGNATURE);
    CHECK(m.header == NULL && m.content == NULL);
    wire_msg_free(&m);
    CHECK(decode_with("k3y", "", HEADER, "{}", &m) == WIRE_BAD_SIGNATURE);
    wire_msg_free(&m);
    CHECK(decode_with("k3y", "zz", HEADER, "{}", &m) == WIRE_BAD_SIGNATURE);
    wire_msg_free(&m);
    /* empty key: unsigned session, any signature frame accepted */
    CHECK(decode_with("", "", HEADER, "{}", &m) == WIRE_OK);
    wire_msg_free(&m);

    CHECK(decode_with("k", NULL, "[1]", "{}", &m) == WIRE_BAD_HEADER);
    wire_msg_free(&m);
    CHECK(decode_with("k", NULL, "{\"msg_id\":\"a\",\"msg_type\":\"kernel_info_request\"}", "{}", &m) ==
          WIRE_MISSING_FIELD);
    CHECK(strcmp(m.msg_type, "kernel_info_request") == 0); /* known enough to reply */
    wire_msg_free(&m);
    CHECK(decode_with("k", NULL, HEADER, "{\"code\": ", &m) == WIRE_BAD_BODY);
    CHECK(m.header != NULL && m.content == NULL);
    wire_msg_free(&m);

    /* no delimiter; too few frames after it */
    wire_key key;
    wire_key_set(&key, "k");
    const char *s[3] = {"a", "b", "c"};
    wire_frame f[3];
    frames_from(f, s, 3);
    char why[128];
    CHECK(wire_decode(&key, f, 3, &m, why, sizeof why) == WIRE_NO_DELIMITER);
    CHECK(strstr(why, "delimiter") != NULL);
    wire_msg_free(&m);
    const char *s2[3] = {"<IDS|MSG>", "sig", "{}"};
    frames_from(f, s2, 3);
    CHECK(wire_decode(&key, f, 3, &m, why, sizeof why) == WIRE_NO_DELIMITER);
    wire_msg_free(&m);
    wire_key_free(&key);
}

static void test_roundtrip(void)
{
    wire_key key;
    wire_key_set(&key, "secret");
    json_t *h = wire_header_new("stream", "sess");
    CHECK(strcmp(json_string_value(json_object_get(h, "version")), "5.3") == 0);
    CHECK(strlen(json_string_value(json_object_get(h, "msg_id"))) == 32);
    const char *date = json_string_value(json_object_get(h, "date"));
    CHECK(date && strlen(date) == 27 && date[10] == 'T' && date[26] == 'Z');
    json_t *content = json_pack("{s:s, s:s}", "name", "stdout", "text", "h\xc3\xa9llo\n");
    wire_blob id = {"topic", 5};
    wire_out out;
    CHECK(wire_encode(&key, &id, 1, h, NULL, NULL, content, &out) == 0);
    CHECK(out.nframes == 7);
    wire_frame f[7];
    for (size_t i = 0; i < out.nframes; i++) {
        f[i].data = out.frames[i].data;
        f[i].size = out.frames[i].size;
    }
    wire_msg m;
    char why[128];
    CHECK(wire_decode(&key, f, out.nframes, &m, why, sizeof why) == WIRE_OK);
    CHECK(json_equal(m.content, content));
    CHECK(json_object_size(m.parent_header) == 0);
    wire_msg_free(&m);
    /* flipping one content byte breaks the signature */
    out.frames[6].data[2] ^= 1;
    CHECK(wire_decode(&key, f, out.nframes, &m, why, sizeof why) == WIRE_BAD_SIGNATURE);
    wire_msg_free(&m);
    wire_out_free(&out);
    json_decref(h);
    json_decref(content);
    wire_key_free(&key);
}

static void test_utf8(void)
{
    size_t n;
    char *s = wire_utf8_sanitize("ok \xc3\xa9 \xff \xed\xa0\x80 \xe2\x82", 14, &n);
    /* valid é kept; 0xff, a UTF-16 surrogate (3 bytes) and a cut sequence replaced */
    CHECK(strcmp(s, "ok \xc3\xa9 \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd") == 0);
    CHECK(n == strlen(s));
    free(s);
    s = wire_utf8_sanitize("a\0b", 3, &n);
    CHECK(n == 2 && strcmp(s, "ab") == 0);
    free(s);
    CHECK(wire_utf8_complete_prefix("caf\xc3", 4) == 3);
    CHECK(wire_utf8_complete_prefix("caf\xc3\xa9", 5) == 5);
    CHECK(wire_utf8_complete_prefix("x\xf0\x9f\x98", 4) == 1);
    CHECK(wire_utf8_complete_prefix("x\xff", 2) == 2); /* invalid, not unfinished: no wait */
}

int main(void)
{
    test_hmac_vector();
    test_decode();
    test_roundtrip();
    test_utf8();
    return check_summary("wire");
}
