/* strmap.h — the kernel's string -> size_t hash map (keys copied), and its string hash.
 *
 * Open addressing with linear probing and tombstones; each slot keeps its key's hash so
 * a probe compares numbers before it touches a key's bytes (a long session's maps are
 * large and mostly cold after a fork). Used by the cell model (the session's indexes,
 * the translator's sets) and the executor (its record of the names the front holds). */
#ifndef CAIRN_STRMAP_H
#define CAIRN_STRMAP_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a of s[0..n), its high bits folded into the low ones (tables index by low bits). */
static inline size_t strmap_hash(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return (size_t)(h ^ (h >> 32));
}

typedef struct strmap_slot {
    char *key; /* NULL: empty; strmap_tombstone: deleted */
    size_t value;
    size_t hash; /* of key: probes compare it before touching the key's bytes */
} strmap_slot;

typedef struct strmap {
    strmap_slot *slots;
    size_t cap, used, live;
} strmap;

extern char strmap_tombstone[];
/* Set key[0..n) to value (the key is copied). 0, or -1 when out of memory. */
int strmap_put(strmap *m, const char *key, size_t n, size_t value);
/* Returns 1 and *value when key[0..n) is present. */
int strmap_get(const strmap *m, const char *key, size_t n, size_t *value);
/* Remove key[0..n) if present. */
void strmap_del(strmap *m, const char *key, size_t n);
/* Free the keys and slots; the map is empty and usable again. */
void strmap_free(strmap *m);

#endif
