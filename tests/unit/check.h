/* check.h — the assertions every C unit test uses. Each CHECK counts as one passed or
 * failed check; a failure prints file, line and the values involved. The test's main
 * returns check_summary(), which prints "N passed, N failed" and the exit code. */
#ifndef CAIRN_CHECK_H
#define CAIRN_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (cond) {                                                                  \
            check_passed++;                                                          \
        } else {                                                                     \
            check_failed++;                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

/* |a - b| <= tol * max(1, |b|): relative for large values, absolute near zero. */
#define CHECK_NEAR(a, b, tol)                                                              \
    do {                                                                                   \
        double check_a_ = (a), check_b_ = (b), check_t_ = (tol);                           \
        double check_s_ = fabs(check_b_) > 1 ? fabs(check_b_) : 1;                         \
        if (fabs(check_a_ - check_b_) <= check_t_ * check_s_) {                            \
            check_passed++;                                                                \
        } else {                                                                           \
            check_failed++;                                                                \
            fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.17g, expected %s = %.17g\n", \
                    __FILE__, __LINE__, #a, check_a_, #b, check_b_);                        \
        }                                                                                  \
    } while (0)

static inline int check_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
