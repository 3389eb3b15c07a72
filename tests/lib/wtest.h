/* wtest: the minimal unit-test harness every C test in tests/unit uses.
 * Output is TAP ("ok N - name" / "not ok N - name"), so meson and our own
 * runner (tests/run.sh) count cases; a failed check prints file:line and the
 * expression, and the case goes on so one run shows every failure. */
#ifndef WEIR_WTEST_H
#define WEIR_WTEST_H

#include <stdio.h>
#include <string.h>

static int wt_case_failed;
static int wt_cases, wt_failed;

#define WT_CHECK(cond)                                                    \
	do {                                                              \
		if (!(cond)) {                                            \
			printf("#   %s:%d: check failed: %s\n", __FILE__, \
			       __LINE__, #cond);                          \
			wt_case_failed = 1;                               \
		}                                                         \
	} while (0)

#define WT_CHECK_EQ(a, b)                                                    \
	do {                                                                 \
		long long wt_a_ = (long long)(a), wt_b_ = (long long)(b);    \
		if (wt_a_ != wt_b_) {                                        \
			printf("#   %s:%d: %s == %s failed: %lld != %lld\n", \
			       __FILE__, __LINE__, #a, #b, wt_a_, wt_b_);    \
			wt_case_failed = 1;                                  \
		}                                                            \
	} while (0)

#define WT_RUN(fn)                                                     \
	do {                                                           \
		wt_case_failed = 0;                                    \
		fn();                                                  \
		wt_cases++;                                            \
		if (wt_case_failed)                                    \
			wt_failed++;                                   \
		printf("%sok %d - %s\n", wt_case_failed ? "not " : "", \
		       wt_cases, #fn);                                 \
		fflush(stdout);                                        \
	} while (0)

/* Prints the TAP plan and returns the process exit status. */
static inline int wt_done(void)
{
	printf("1..%d\n# %d passed, %d failed\n", wt_cases,
	       wt_cases - wt_failed, wt_failed);
	return wt_failed ? 1 : 0;
}

#endif
