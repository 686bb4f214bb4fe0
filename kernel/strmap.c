/* strmap.c — the string -> size_t hash map of strmap.h. */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

char strmap_tombstone[1];

static int key_eq(const char *k, const char *s, size_t n) { return strncmp(k, s, n) == 0 && k[n] == 0; }

static int strmap_grow(strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    while (m->live * 2 >= cap)
        cap *= 2;
    strmap_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        char *k = m->slots[i].key;
        if (!k || k == strmap_tombstone)
            continue;
        size_t j = m->slots[i].hash & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    m->used = m->live;
    return 0;
}

int strmap_put(strmap *m, const char *key, size_t n, size_t value)
{
    if ((m->used + 1) * 4 >= m->cap * 3 && strmap_grow(m) < 0)
        return -1;
    size_t h = strmap_hash(key, n), j = h & (m->cap - 1);
    size_t tomb = (size_t)-1;
    while (m->slots[j].key) {
        if (m->slots[j].key == strmap_tombstone) {
            if (tomb == (size_t)-1)
                tomb = j;
        } else if (m->slots[j].hash == h && key_eq(m->slots[j].key, key, n)) {
            m->slots[j].value = value;
            return 0;
        }
        j = (j + 1) & (m->cap - 1);
    }
    char *k = malloc(n + 1);
    if (!k)
        return -1;
    memcpy(k, key, n);
    k[n] = 0;
    if (tomb != (size_t)-1)
        j = tomb;
    else
        m->used++;
    m->slots[j].key = k;
    m->slots[j].value = value;
    m->slots[j].hash = h;
    m->live++;
    return 0;
}

static strmap_slot *strmap_find(const strmap *m, const char *key, size_t n)
{
    if (!m->cap)
        return NULL;
    size_t h = strmap_hash(key, n), j = h & (m->cap - 1);
    while (m->slots[j].key) {
        /* a tombstone's hash is that of the key it held: key_eq rejects it */
        if (m->slots[j].hash == h && m->slots[j].key != strmap_tombstone && key_eq(m->slots[j].key, key, n))
            return &m->slots[j];
        j = (j + 1) & (m->cap - 1);
    }
    return NULL;
}

int strmap_get(const strmap *m, const char *key, size_t n, size_t *value)
{
    strmap_slot *sl = strmap_find(m, key, n);
    if (sl && value)
        *value = sl->value;
    return sl != NULL;
}

void strmap_del(strmap *m, const char *key, size_t n)
{
    strmap_slot *sl = strmap_find(m, key, n);
    if (!sl)
        return;
    free(sl->key);
    sl->key = strmap_tombstone;
    m->live--;
}

void strmap_free(strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != strmap_tombstone)
            free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof *m);
}
