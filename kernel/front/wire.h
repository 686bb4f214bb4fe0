/* wire.h — the Jupyter wire protocol (5.3) as pure functions over frames.
 *
 * A message on a ROUTER socket is: routing identities, the delimiter "<IDS|MSG>", the
 * hex HMAC-SHA256 signature, then four JSON dicts (header, parent_header, metadata,
 * content) and optional binary buffers. The signature covers the four JSON frames as
 * they were sent, so it is checked on the raw bytes before anything is parsed: a
 * message that fails the check is never decoded further.
 *
 * Nothing here touches ZeroMQ: the front hands in frames it received and gets frames
 * to send. That keeps the decoder drivable by the fuzz target (tests/fuzz). */
#ifndef CAIRN_WIRE_H
#define CAIRN_WIRE_H

#include <jansson.h>
#include <stddef.h>

#define WIRE_DELIMITER "<IDS|MSG>"
#define WIRE_PROTOCOL_VERSION "5.3"
#define WIRE_MAX_IDS 16

typedef struct wire_frame {
    const void *data;
    size_t size;
} wire_frame;

/* An owned copy of a byte string (routing identities). */
typedef struct wire_blob {
    char *data;
    size_t size;
} wire_blob;

/* The signing key; an empty key means messages are neither signed nor checked. */
typedef struct wire_key {
    unsigned char *bytes;
    size_t size;
} wire_key;

enum wire_status {
    WIRE_OK = 0,
    WIRE_NO_DELIMITER,    /* no "<IDS|MSG>" or fewer than 5 frames after it */
    WIRE_BAD_SIGNATURE,   /* missing, malformed or wrong HMAC */
    WIRE_BAD_HEADER,      /* header frame is not a JSON object */
    WIRE_MISSING_FIELD,   /* header lacks msg_id, msg_type, session, username or version */
    WIRE_BAD_BODY         /* parent_header, metadata or content is not a JSON object */
};

typedef struct wire_msg {
    int nids;
    wire_blob ids[WIRE_MAX_IDS];
    json_t *header;          /* owned; NULL unless status >= WIRE_MISSING_FIELD */
    json_t *parent_header;   /* owned, may be NULL when status != WIRE_OK */
    json_t *metadata;        /* owned, may be NULL when status != WIRE_OK */
    json_t *content;         /* owned, may be NULL when status != WIRE_OK */
    const char *msg_type;    /* borrowed from header ("" when missing) */
    const char *msg_id;      /* borrowed from header ("" when missing) */
    const char *session;     /* borrowed from header ("" when missing) */
    size_t nbuffers;         /* binary frames after content (ignored by the kernel) */
} wire_msg;

/* Copy a key (the connection file's "key" string). */
int wire_key_set(wire_key *key, const char *text);

/* Wipe and free a key. */
void wire_key_free(wire_key *key);

/* Hex HMAC-SHA256 of the four JSON frames into hex (65 bytes); "" for an empty key. */
void wire_sign(const wire_key *key, const wire_frame parts[4], char hex[65]);

/* Decode frames into *out. Identities are copied even on error so the caller can send
 * an error reply; `why` receives a one-line reason (never key material). Returns a
 * wire_status. Always call wire_msg_free afterwards. */
int wire_decode(const wire_key *key, const wire_frame *frames, size_t nframes,
                wire_msg *out, char *why, size_t whylen);

/* Free what wire_decode allocated. */
void wire_msg_free(wire_msg *msg);

/* A serialized outgoing message: identities, delimiter, signature, four JSON frames. */
typedef struct wire_out {
    size_t nframes;
    wire_blob frames[WIRE_MAX_IDS + 6];
} wire_out;

/* Build a new header for msg_type (fresh msg_id, current date, our session). */
json_t *wire_header_new(const char *msg_type, const char *session);

/* Serialize: ids (may be NULL/0), then header/parent/metadata/content (NULL = {}),
 * signed with key. Returns 0 or -1 (out of memory, or content not serializable). */
int wire_encode(const wire_key *key, const wire_blob *ids, int nids, const json_t *header,
                const json_t *parent, const json_t *metadata, const json_t *content,
                wire_out *out);

/* Free an encoded message. */
void wire_out_free(wire_out *out);

/* A random hex id of 32 characters into buf (33 bytes). */
void wire_new_id(char buf[33]);

/* Replace invalid UTF-8 in [s, s+n) by U+FFFD; returns a malloc'd NUL-terminated string
 * and its length in *outlen. */
char *wire_utf8_sanitize(const char *s, size_t n, size_t *outlen);

/* Length of the longest prefix of [s, s+n) that does not end inside a UTF-8 sequence. */
size_t wire_utf8_complete_prefix(const char *s, size_t n);

#endif
