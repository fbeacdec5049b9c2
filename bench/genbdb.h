/* genbdb.h - deterministic Big Data Benchmark tables (see genbdb.c) */
#ifndef FB_GENBDB_H
#define FB_GENBDB_H

#include "flowbench.h"

/* The first and last visitDate that the generator draws (inclusive). */
#define FB_BDB_FIRST_DATE "1980-01-01"
#define FB_BDB_LAST_DATE "2010-12-31"
#define FB_BDB_DATE_LEN 10

/* Write dir/rankings.csv (about a tenth of size) and dir/uservisits.csv (the
 * rest), whole lines only; 0, or -1 with err set. */
int fb_gen_bdb(const char *dir, uint64_t size, char *err, size_t errlen);

/* Parsing the tables, the same way in engines and baselines. */
/* Cents of "D+" or "D+.D" or "D+.DD" in [p, p + n); 0, or -1 when malformed. */
int fb_bdb_cents(const char *p, size_t n, int64_t *out);
/* Split a line at commas into exactly n fields; 0, or -1 for another count. */
int fb_bdb_split(const flow_rec_t *line, flow_buf_t *fields, int n);

#endif
