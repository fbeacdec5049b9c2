/* testutil.h - helpers shared by the test suites */
#ifndef FLOW_TESTUTIL_H
#define FLOW_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"

/* The master URLs that integration tests sweep: index 0 "local", 1 "local[4]". */
extern const char *const test_masters[];
#define TEST_NMASTERS 2

/* Open a started context on master, failing the test when it cannot. */
flow_context_t *test_context(const char *master);

/* A seeded generator (splitmix64) for test inputs. */
uint64_t test_rand(uint64_t *state);

/* A fresh temporary directory (mkdtemp under $TMPDIR or /tmp); free with
 * test_rmtree + free. */
char *test_tmpdir(void);
/* Remove a tree (best effort). */
void test_rmtree(const char *path);
/* Write len bytes to path, creating it. */
void test_write_file(const char *path, const void *data, size_t len);
/* Read a whole file into a malloc'd buffer (NUL-terminated); NULL if missing. */
char *test_read_file(const char *path, size_t *out_len);

#endif
