/* test_plot_ticks.c — tick placement and tick labels (runtime/plot/ticks.c).
 *
 * Linear ticks are checked against matplotlib's MaxNLocator on the ranges in
 * tests/fixtures/plot_ticks.txt (made by plot_ticks.py), then edge ranges one by one:
 * zero width, negative, 1e-12, 1e12, narrow far from zero, non-finite, and log axes. */
#include "cairn.h"
#include "check.h"
#include "../../runtime/plot/plot_internal.h"

static int has(const tick_set *t, const char *label)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->label[i], label) == 0)
            return 1;
    return 0;
}

static void check_against_matplotlib(void)
{
    FILE *fp = fopen(FIXTURES_DIR "/plot_ticks.txt", "r");
    CHECK(fp != NULL);
    if (!fp)
        return;
    int cases = 0, agree = 0;
    double lo, hi;
    int bins, n;
    while (fscanf(fp, "%lf %lf %d %d", &lo, &hi, &bins, &n) == 4) {
        double want[TICKS_MAX];
        for (int i = 0; i < n; i++)
            if (fscanf(fp, "%lf", &want[i]) != 1)
                n = i;
        tick_set t;
        ticks_linear(lo, hi, bins, &t);
        int same = t.n == n;
        for (int i = 0; same && i < n; i++)
            same = fabs(t.value[i] - want[i]) <= fmax((hi - lo) * 1e-9, fabs(hi) * 1e-15);
        if (!same) {
            fprintf(stderr, "ticks differ for [%.17g, %.17g] bins %d: got %d (", lo, hi, bins, t.n);
            for (int i = 0; i < t.n; i++)
                fprintf(stderr, " %g", t.value[i]);
            fprintf(stderr, " ), matplotlib %d\n", n);
        }
        CHECK(same);
        /* Labels must tell every tick apart. */
        for (int i = 1; i < t.n; i++)
            CHECK(strcmp(t.label[i], t.label[i - 1]) != 0);
        cases++;
        agree += same;
    }
    fclose(fp);
    CHECK(cases >= 60);
    printf("matplotlib agreement: %d of %d ranges\n", agree, cases);
}

int main(void)
{
    check_against_matplotlib();
    tick_set t;

    /* 0 .. 1: labels with one decimal, as matplotlib prints them. */
    CHECK(ticks_linear(0, 1, 9, &t) == 6);
    CHECK(strcmp(t.label[0], "0.0") == 0 && strcmp(t.label[1], "0.2") == 0 && strcmp(t.label[5], "1.0") == 0);
    CHECK(t.note[0] == '\0');
    /* 2.5 steps need two decimals */
    ticks_linear(-1, 1, 9, &t);
    CHECK(t.n == 9 && has(&t, "0.25") && has(&t, "0.00"));
    /* negative labels use the Unicode minus */
    CHECK(has(&t, "\xe2\x88\x92" "0.75"));
    ticks_linear(-7.3, -2.1, 6, &t);
    CHECK(t.n == 5 && strcmp(t.label[0], "\xe2\x88\x92" "7") == 0);

    /* zero width: one tick on the value; the axis range is widened around it */
    CHECK(ticks_linear(5, 5, 9, &t) == 1);
    CHECK(t.value[0] == 5 && strcmp(t.label[0], "5") == 0);
    double lo = 5, hi = 5;
    ticks_nonsingular(&lo, &hi, 0);
    CHECK(lo < 5 && hi > 5);
    CHECK_NEAR(hi - lo, 0.5, 1e-12);
    lo = hi = 0;
    ticks_nonsingular(&lo, &hi, 0);
    CHECK(lo == -1 && hi == 1);
    lo = 1e-12, hi = 1e-12;
    ticks_nonsingular(&lo, &hi, 0);
    CHECK(lo < 1e-12 && hi > 1e-12 && hi - lo < 1e-12);
    lo = NAN, hi = 3;
    ticks_nonsingular(&lo, &hi, 0);
    CHECK(lo == 0 && hi == 1);
    lo = 3, hi = 1; /* reversed */
    ticks_nonsingular(&lo, &hi, 0);
    CHECK(lo == 1 && hi == 3);

    /* 1e-12: short labels and a shared factor */
    ticks_linear(0, 1e-12, 9, &t);
    CHECK(t.n == 6);
    CHECK(strcmp(t.note, "1e-12") == 0);
    CHECK(strcmp(t.label[5], "1.0") == 0 && strcmp(t.label[1], "0.2") == 0);
    ticks_linear(-1e-12, 1e-12, 7, &t);
    CHECK(t.n >= 3 && strcmp(t.note, "1e-12") == 0);
    /* 1e12 */
    ticks_linear(0, 1e12, 9, &t);
    CHECK(t.n == 6 && strcmp(t.note, "1e12") == 0 && strcmp(t.label[3], "0.6") == 0);
    ticks_linear(-3e12, -1e12, 9, &t);
    CHECK(t.n >= 5 && strcmp(t.note, "1e12") == 0 && strcmp(t.label[0], "\xe2\x88\x92" "3.00") == 0);
    /* a narrow range far from zero shares an offset */
    ticks_linear(1e12, 1e12 + 10, 5, &t);
    CHECK(t.n >= 3);
    CHECK(strcmp(t.note, "+1e12") == 0);
    CHECK(strlen(t.label[t.n - 1]) <= 4);
    /* non-finite ranges give no ticks, never a hang */
    CHECK(ticks_linear(NAN, 1, 9, &t) == 0);
    CHECK(ticks_linear(0, INFINITY, 9, &t) == 0);
    /* tiny bin budgets still give two ticks */
    CHECK(ticks_linear(0, 1, 1, &t) == 2);

    /* log axes: decades with superscript exponents */
    CHECK(ticks_log(1e-3, 1e3, 9, &t) == 7);
    CHECK(t.value[0] == 1e-3 && t.value[6] == 1e3);
    CHECK(strcmp(t.label[3], "10\xe2\x81\xb0") == 0);                   /* 10⁰ */
    CHECK(strcmp(t.label[0], "10\xe2\x81\xbb\xc2\xb3") == 0);           /* 10⁻³ */
    /* many decades: every k-th one, on multiples of k */
    ticks_log(1, 1e20, 5, &t);
    CHECK(t.n >= 2 && t.n <= 6);
    for (int i = 0; i < t.n; i++) {
        double e = log10(t.value[i]);
        CHECK(fabs(e - round(e)) < 1e-9);
    }
    /* within a decade: 1-2-5 multiples */
    ticks_log(1.5, 60, 9, &t);
    CHECK(t.n == 5 && t.value[0] == 2 && t.value[1] == 5 && t.value[4] == 50);
    /* a sliver of a decade falls back to linear ticks */
    ticks_log(1.5, 1.9, 9, &t);
    CHECK(t.n >= 2 && t.value[0] >= 1.5 && t.value[t.n - 1] <= 1.9 + 1e-12);
    /* bad log ranges */
    CHECK(ticks_log(-1, 10, 9, &t) == 0);
    CHECK(ticks_log(0, 10, 9, &t) == 0);
    lo = -1, hi = 10;
    ticks_nonsingular(&lo, &hi, 1);
    CHECK(lo > 0 && hi > lo);
    lo = 1e-12, hi = 1e12;
    ticks_log(lo, hi, 9, &t);
    CHECK(t.n >= 2 && t.n <= 10 && t.value[0] >= 1e-12 && t.value[t.n - 1] <= 1e12);
    return check_summary("plot_ticks");
}
