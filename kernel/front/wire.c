/* wire.c — decode, verify, encode and sign Jupyter messages (see wire.h).
 *
 * The HMAC is computed with libsodium's incremental HMAC-SHA256 over the four JSON
 * frames exactly as received and compared with sodium_memcmp, which takes the same time
 * whatever the first differing byte: a forger learns nothing from reply timing. The key
 * lives only in wire_key and is wiped on free; no log line ever includes it. */
#include "wire.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int wire_key_set(wire_key *key, const char *text)
{
    size_t n = text ? strlen(text) : 0;
    key->bytes = NULL;
    key->size = 0;
    if (n == 0)
        return 0;
    key->bytes = malloc(n);
    if (!key->bytes)
        return -1;
    memcpy(key->bytes, text, n);
    key->size = n;
    return 0;
}

void wire_key_free(wire_key *key)
{
    if (key->bytes) {
        sodium_memzero(key->bytes, key->size);
        free(key->bytes);
    }
    key->bytes = NULL;
    key->size = 0;
}

static void hmac_parts(const wire_key *key, const wire_frame parts[4],
                       unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key->bytes, key->size);
    for (int i = 0; i < 4; i++)
        crypto_auth_hmacsha256_update(&st, parts[i].data, parts[i].size);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
}

void wire_sign(const wire_key *key, const wire_frame parts[4], char hex[65])
{
    if (key->size == 0) {
        hex[0] = 0;
        return;
    }
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    hmac_parts(key, parts, mac);
    sodium_bin2hex(hex, 65, mac, sizeof mac);
}

/* Constant time in the signature's content: hex decoding of a fixed-length string and
 * sodium_memcmp. The length check leaks only the length, which is public. */
static int signature_ok(const wire_key *key, const wire_frame *sig, const wire_frame parts[4])
{
    if (key->size == 0)
        return 1;
    if (sig->size != 2 * crypto_auth_hmacsha256_BYTES)
        return 0;
    unsigned char got[crypto_auth_hmacsha256_BYTES];
    size_t gotlen = 0;
    if (sodium_hex2bin(got, sizeof got, sig->data, sig->size, NULL, &gotlen, NULL) != 0 ||
        gotlen != sizeof got)
        return 0;
    unsigned char want[crypto_auth_hmacsha256_BYTES];
    hmac_parts(key, parts, want);
    return sodium_memcmp(got, want, sizeof want) == 0;
}

static json_t *load_object(const wire_frame *f)
{
    json_error_t err;
    json_t *v = json_loadb(f->data, f->size, JSON_REJECT_DUPLICATES, &err);
    if (v && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

static const char *header_string(json_t *header, const char *field)
{
    json_t *v = json_object_get(header, field);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int wire_decode(const wire_key *key, const wire_frame *frames, size_t nframes,
                wire_msg *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    out->msg_type = out->msg_id = out->session = "";
    size_t d = 0;
    const size_t dlen = sizeof WIRE_DELIMITER - 1;
    while (d < nframes && !(frames[d].size == dlen && memcmp(frames[d].data, WIRE_DELIMITER, dlen) == 0))
        d++;
    /* Keep the routing identities even for a broken message so that a reply could go back. */
    for (size_t i = 0; i < d && i < WIRE_MAX_IDS; i++) {
        out->ids[i].data = malloc(frames[i].size ? frames[i].size : 1);
        if (!out->ids[i].data)
            break;
        memcpy(out->ids[i].data, frames[i].data, frames[i].size);
        out->ids[i].size = frames[i].size;
        out->nids = (int)i + 1;
    }
    if (d >= nframes || nframes - d < 6) {
        snprintf(why, whylen, "%s", d >= nframes ? "no <IDS|MSG> delimiter"
                                                 : "fewer than 5 frames after the delimiter");
        return WIRE_NO_DELIMITER;
    }
    if (d > WIRE_MAX_IDS) {
        snprintf(why, whylen, "%zu routing identities (at most %d)", d, WIRE_MAX_IDS);
        return WIRE_NO_DELIMITER;
    }
    const wire_frame *sig = &frames[d + 1];
    const wire_frame *parts = &frames[d + 2];
    out->nbuffers = nframes - d - 6;
    if (!signature_ok(key, sig, parts)) {
        snprintf(why, whylen, "%s", sig->size == 0 ? "missing signature" : "signature mismatch");
        return WIRE_BAD_SIGNATURE;
    }
    out->header = load_object(&parts[0]);
    if (!out->header) {
        snprintf(why, whylen, "header is not a JSON object");
        return WIRE_BAD_HEADER;
    }
    static const char *required[] = {"msg_id", "msg_type", "session", "username", "version"};
    const char *missing = NULL;
    for (size_t i = 0; i < sizeof required / sizeof *required; i++)
        if (!header_string(out->header, required[i])) {
            missing = required[i];
            break;
        }
    const char *s;
    if ((s = header_string(out->header, "msg_type")))
        out->msg_type = s;
    if ((s = header_string(out->header, "msg_id")))
        out->msg_id = s;
    if ((s = header_string(out->header, "session")))
        out->session = s;
    if (missing) {
        snprintf(why, whylen, "header has no string field '%s'", missing);
        return WIRE_MISSING_FIELD;
    }
    out->parent_header = load_object(&parts[1]);
    out->metadata = load_object(&parts[2]);
    out->content = load_object(&parts[3]);
    if (!out->parent_header || !out->metadata || !out->content) {
        snprintf(why, whylen, "%s is not a JSON object",
                 !out->parent_header ? "parent_header" : !out->metadata ? "metadata" : "content");
        return WIRE_BAD_BODY;
    }
    if (whylen)
        why[0] = 0;
    return WIRE_OK;
}

void wire_msg_free(wire_msg *msg)
{
    for (int i = 0; i < msg->nids; i++)
        free(msg->ids[i].data);
    json_t *owned[] = {msg->header, msg->parent_header, msg->metadata, msg->content};
    for (int i = 0; i < 4; i++)
        if (owned[i])
            json_decref(owned[i]);
    memset(msg, 0, sizeof *msg);
    msg->msg_type = msg->msg_id = msg->session = "";
}

void wire_new_id(char buf[33])
{
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(buf, 33, raw, sizeof raw);
}

json_t *wire_header_new(const char *msg_type, const char *session)
{
    char id[33];
    wire_new_id(id);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char date[64];
    snprintf(date, sizeof date, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "msg_id", id, "msg_type", msg_type,
                     "session", session, "username", "cairn", "date", date, "version",
                     WIRE_PROTOCOL_VERSION);
}

static int blob_set(wire_blob *b, const void *data, size_t size)
{
    b->data = malloc(size ? size : 1);
    if (!b->data)
        return -1;
    if (size)
        memcpy(b->data, data, size);
    b->size = size;
    return 0;
}

static int blob_take_json(wire_blob *b, const json_t *v)
{
    if (!v) {
        return blob_set(b, "{}", 2);
    }
    b->data = json_dumps(v, JSON_COMPACT);
    if (!b->data)
        return -1;
    b->size = strlen(b->data);
    return 0;
}

int wire_encode(const wire_key *key, const wire_blob *ids, int nids, const json_t *header,
                const json_t *parent, const json_t *metadata, const json_t *content,
                wire_out *out)
{
    memset(out, 0, sizeof *out);
    if (nids > WIRE_MAX_IDS)
        nids = WIRE_MAX_IDS;
    size_t n = 0;
    for (int i = 0; i < nids; i++)
        if (blob_set(&out->frames[n++], ids[i].data, ids[i].size) < 0)
            goto fail;
    if (blob_set(&out->frames[n++], WIRE_DELIMITER, sizeof WIRE_DELIMITER - 1) < 0)
        goto fail;
    size_t sigi = n++;
    const json_t *bodies[4] = {header, parent, metadata, content};
    wire_frame parts[4];
    for (int i = 0; i < 4; i++) {
        if (blob_take_json(&out->frames[n], bodies[i]) < 0) {
            out->nframes = n;
            goto fail;
        }
        parts[i].data = out->frames[n].data;
        parts[i].size = out->frames[n].size;
        n++;
    }
    char hex[65];
    wire_sign(key, parts, hex);
    out->nframes = n;
    if (blob_set(&out->frames[sigi], hex, strlen(hex)) < 0)
        goto fail;
    return 0;
fail:
    out->nframes = n;
    wire_out_free(out);
    return -1;
}

void wire_out_free(wire_out *out)
{
    for (size_t i = 0; i < out->nframes; i++)
        free(out->frames[i].data);
    memset(out, 0, sizeof *out);
}

/* Length of the valid UTF-8 sequence starting at s (1..4), 0 if invalid, -1 if it is
 * valid so far but cut by the end of the buffer. */
static int utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    int len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
    } else
        return 0;
    unsigned cp = c & (0xFFu >> (len + 1));
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return -1;
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
        /* Reject overlong forms, surrogates and > U+10FFFF as early as the second byte
         * allows, so a truncated prefix is only "incomplete" when it could still be valid. */
        if (i == 1) {
            if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) ||
                (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
                return 0;
        }
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

char *wire_utf8_sanitize(const char *s, size_t n, size_t *outlen)
{
    /* Worst case: every byte becomes the 3-byte replacement character. Zero bytes
     * are dropped: they cannot travel in a JSON string produced by jansson's C API. */
    char *out = malloc(3 * n + 1);
    if (!out)
        return NULL;
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (u[i] == 0) {
            i++;
            continue;
        }
        int len = utf8_seq(u + i, n - i);
        if (len > 0) {
            memcpy(out + o, u + i, (size_t)len);
            o += (size_t)len;
            i += (size_t)len;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = 0;
    if (outlen)
        *outlen = o;
    return out;
}

size_t wire_utf8_complete_prefix(const char *s, size_t n)
{
    /* Only the last 3 bytes can start an unfinished sequence. */
    size_t start = n > 3 ? n - 3 : 0;
    for (size_t i = start; i < n; i++) {
        const unsigned char *u = (const unsigned char *)s + i;
        if (*u >= 0xC2 && *u <= 0xF4 && utf8_seq(u, n - i) == -1)
            return i;
    }
    return n;
}
