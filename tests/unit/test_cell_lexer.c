/* test_cell_lexer.c — the C tokenizer under the cell model (kernel/cell/c_lexer.c):
 * tricky literals, comments, preprocessor continuations, numbers, punctuators,
 * positions and UTF-8 pass-through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernel/cell/c_lexer.h"
#include "check.h"

/* Tokens of text as "kind:text" joined by '|' into buf. */
static const char *lex_string(const char *text, int keep_comments, char *buf, size_t cap)
{
    static const char kinds[] = "EIKNSCP#/O";
    c_lexer lx;
    c_token t;
    c_lexer_init(&lx, text, strlen(text), keep_comments);
    size_t k = 0;
    buf[0] = 0;
    while (c_lexer_next(&lx, &t) != C_TOKEN_EOF) {
        int n = snprintf(buf + k, cap - k, "%s%c:%.*s%s", k ? "|" : "", kinds[t.kind], (int)(t.end - t.start),
                         text + t.start, (t.flags & C_TOKEN_UNTERMINATED) ? "!" : "");
        if (n < 0 || (size_t)n >= cap - k)
            break;
        k += (size_t)n;
    }
    return buf;
}

#define LEX(text) lex_string((text), 0, buf, sizeof buf)

int main(void)
{
    char buf[2048];

    /* Identifiers, keywords, punctuators (longest match). */
    CHECK(strcmp(LEX("int x=a->b>>=2;"), "K:int|I:x|P:=|I:a|P:->|I:b|P:>>=|N:2|P:;") == 0);
    CHECK(strcmp(LEX("a...b ++c--"), "I:a|P:...|I:b|P:++|I:c|P:--") == 0);

    /* Numbers: hex, float exponents with signs, suffixes, leading dot. */
    CHECK(strcmp(LEX("0x1Fu 1e+5f 0x1p-3 .5 10ULL 3.14e-2L 1.0e10"),
                 "N:0x1Fu|N:1e+5f|N:0x1p-3|N:.5|N:10ULL|N:3.14e-2L|N:1.0e10") == 0);
    CHECK(strcmp(LEX("1+2"), "N:1|P:+|N:2") == 0); /* '+' after a digit is not an exponent sign */
    CHECK(strcmp(LEX("x.y"), "I:x|P:.|I:y") == 0);

    /* Strings keep `;` and braces inside; escapes do not end them; prefixes glue. */
    CHECK(strcmp(LEX("s = \"a;{b}\\\"c\";"), "I:s|P:=|S:\"a;{b}\\\"c\"|P:;") == 0);
    CHECK(strcmp(LEX("u8\"x\" L'y' U\"z\" u'w'"), "S:u8\"x\"|C:L'y'|S:U\"z\"|C:u'w'") == 0);
    CHECK(strcmp(LEX("'\\'' '}'"), "C:'\\''|C:'}'") == 0);
    CHECK(strcmp(LEX("L x"), "I:L|I:x") == 0);

    /* Comments are skipped, or kept on request; braces inside do not count. */
    CHECK(strcmp(LEX("a /* { */ b // } ;\nc"), "I:a|I:b|I:c") == 0);
    CHECK(strcmp(lex_string("a /* x */ b", 1, buf, sizeof buf), "I:a|/:/* x */|I:b") == 0);
    CHECK(strcmp(LEX("a /* open"), "I:a|/:/* open!") == 0);
    CHECK(strcmp(LEX("\"open"), "S:\"open!") == 0);
    CHECK(strcmp(LEX("\"ab\ncd\""), "S:\"ab!|I:cd|S:\"!") == 0); /* a literal cannot cross a line */

    /* Preprocessor lines: whole, with continuations; only at the start of a line. */
    CHECK(strcmp(LEX("#define F(x) \\\n  ((x) + 1)\nint y;"), "#:#define F(x) \\\n  ((x) + 1)|K:int|I:y|P:;") == 0);
    CHECK(strcmp(LEX("  #include <stdio.h>\nx"), "#:#include <stdio.h>|I:x") == 0);
    CHECK(strcmp(LEX("a # b"), "I:a|P:#|I:b") == 0);
    CHECK(strcmp(LEX("/* c */ #define A 1\nA"), "#:#define A 1|I:A") == 0);
    CHECK(strcmp(LEX("#define S \"a // not a comment\"\n"), "#:#define S \"a // not a comment\"") == 0);
    CHECK(strcmp(LEX("#define X 1 \\"), "#:#define X 1 \\!") == 0);
    CHECK(strcmp(LEX("#define X /* a\n b */ 2\ny"), "#:#define X /* a\n b */ 2|I:y") == 0);

    /* UTF-8 passes through strings and comments; columns count characters. */
    CHECK(strcmp(LEX("s = \"héllo ∑\"; // ünïcode\nt"), "I:s|P:=|S:\"héllo ∑\"|P:;|I:t") == 0);
    {
        const char *text = "\"ü\" x\n  yy";
        c_lexer lx;
        c_token t;
        c_lexer_init(&lx, text, strlen(text), 0);
        c_lexer_next(&lx, &t);
        c_lexer_next(&lx, &t);
        CHECK(t.line == 1 && t.column == 5 && t.start == 5); /* "ü" is 4 bytes, 3 columns */
        c_lexer_next(&lx, &t);
        CHECK(t.line == 2 && t.column == 3 && t.start == 9);
        CHECK(t.flags & C_TOKEN_LINE_START);
    }

    /* c_lex_all returns the count and an EOF sentinel. */
    {
        size_t n = 0;
        c_token *v = c_lex_all("a b;", 4, &n);
        CHECK(v && n == 3 && v[3].kind == C_TOKEN_EOF);
        free(v);
    }
    CHECK(c_is_keyword("while", 5) && !c_is_keyword("mat", 3));
    return check_summary("cell_lexer");
}
