/* test_strbuf.c — the runtime's growing string (runtime/core/strbuf.h): exact text after
 * many small and some long appends, HTML escaping, and the failure state that makes a
 * caller drop the whole text rather than show a truncated one. */
#include "../../runtime/core/strbuf.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    strbuf b = {0};
    CHECK(b.s == NULL && b.len == 0);
    strbuf_html(&b, NULL); /* nothing to append: still empty */
    CHECK(b.s == NULL && b.len == 0);

    /* 20000 small appends, against the same text written in one go */
    enum { N = 20000 };
    char *want = malloc((size_t)N * 8), *w = want;
    for (int i = 0; i < N; i++) {
        strbuf_printf(&b, "%d,", i);
        w += sprintf(w, "%d,", i);
    }
    CHECK(b.len == (size_t)(w - want));
    CHECK(b.s && strcmp(b.s, want) == 0);
    CHECK(b.cap > b.len && (b.cap & (b.cap - 1)) == 0); /* doubled from 256 */
    free(want);
    free(b.s);

    /* one printf longer than the first capacity, after some text */
    char big[5001];
    memset(big, 'x', 5000);
    big[5000] = '\0';
    b = (strbuf){0};
    strbuf_puts(&b, "ab");
    strbuf_printf(&b, "[%s]%d", big, 7);
    CHECK(b.len == 2 + 1 + 5000 + 2);
    CHECK(b.s && strncmp(b.s, "ab[x", 4) == 0 && strcmp(b.s + 5003, "]7") == 0);
    CHECK(strlen(b.s) == b.len);

    /* strbuf_add takes a length: text with no NUL after it */
    strbuf_add(&b, "cdef", 2);
    CHECK(strcmp(b.s + b.len - 3, "7cd") == 0);
    free(b.s);

    b = (strbuf){0};
    strbuf_html(&b, "<a href=\"x\">R&D</a>");
    CHECK(b.s && strcmp(b.s, "&lt;a href=&quot;x&quot;&gt;R&amp;D&lt;/a&gt;") == 0);
    strbuf_html(&b, "plain");
    CHECK(strcmp(b.s + b.len - 5, "plain") == 0);

    /* a size that cannot be had: the text is dropped, not truncated, and stays dropped */
    strbuf_add(&b, "x", SIZE_MAX / 2);
    CHECK(b.failed && b.s == NULL && b.len == 0);
    strbuf_printf(&b, "more");
    strbuf_puts(&b, "more");
    CHECK(b.failed && b.s == NULL && b.len == 0);

    return check_summary("strbuf");
}
