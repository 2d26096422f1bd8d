/* CHECK() for the C tests: a failed condition is printed with its place and a
 * message, counted in `failures`, and the test goes on (main returns
 * failures ? 1 : 0). */
#ifndef CR_TESTS_CHECK_H
#define CR_TESTS_CHECK_H

#include <stdio.h>

static int failures;
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			failures++;                                                                \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

#endif
