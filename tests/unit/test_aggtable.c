/* test_aggtable.c - the aggregation hash table against a plain C model */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggtable.h"
#include "mem.h"
#include "suites.h"
#include "testutil.h"

/* A check inside a loop over many operations: only failures are reported. */
#define EXPECT(cond, ...)                                                    \
    do {                                                                     \
        if (!(cond))                                                         \
            ck_abort_msg(__VA_ARGS__);                                       \
    } while (0)

/* ---- The model: a fixed pool of distinct keys and each one's value ------ */

#define NKEYS 3000
#define MAXLEN 64

typedef struct model {
    uint8_t key[NKEYS][MAXLEN]; /* Key bytes. */
    size_t klen[NKEYS];         /* Key lengths. */
    uint8_t val[NKEYS][MAXLEN]; /* Current values. */
    size_t vlen[NKEYS];         /* Their lengths. */
    int present[NKEYS];         /* The key is in the table. */
    size_t count;               /* Keys present. */
} model_t;

/* Distinct keys of every length class: empty, short (inline), exactly 16,
 * long, and pairs that differ only by trailing zero bytes. */
static void model_init(model_t *m, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    for (int i = 0; i < NKEYS; i++) {
        size_t len;
        switch (i % 5) {
        case 0: len = 2 + test_rand(&seed) % 15; break;
        case 1: len = 16; break;
        case 2: len = 17 + test_rand(&seed) % (MAXLEN - 17); break;
        case 3: len = 8 + i % 3; break;
        default: len = 2 + test_rand(&seed) % (MAXLEN - 2); break;
        }
        for (size_t j = 0; j < len; j++)
            m->key[i][j] = (uint8_t)(test_rand(&seed) % 3); /* Many zero bytes. */
        /* The key index in the last two bytes keeps the keys distinct. */
        m->key[i][len - 2] = (uint8_t)(i >> 8);
        m->key[i][len - 1] = (uint8_t)i;
        m->klen[i] = len;
    }
    m->klen[0] = 0; /* The empty key. */
    /* Keys that differ only by a trailing zero byte. */
    memcpy(m->key[5], "ab", 2);
    m->klen[5] = 2;
    memcpy(m->key[10], "ab\0", 3);
    m->klen[10] = 3;
}

/* The hash to insert a key under: the real one, or a constant so that every
 * key collides on its tag and home slot (probing and key comparison only). */
static uint64_t key_hash(const model_t *m, int i, int collide)
{
    return collide ? 0x5555 : flow__agg_hash(m->key[i], m->klen[i]);
}

static void check_entry(model_t *m, int i, flow__agg_entry_t *e)
{
    EXPECT(flow__agg_klen(e) == m->klen[i], "key %d: length %zu, expected %zu", i,
           flow__agg_klen(e), m->klen[i]);
    EXPECT(m->klen[i] == 0 || memcmp(flow__agg_key(e), m->key[i], m->klen[i]) == 0,
           "key %d: bytes differ", i);
    EXPECT(flow__agg_vlen(e) == m->vlen[i], "key %d: value length %zu, expected %zu", i,
           flow__agg_vlen(e), m->vlen[i]);
    EXPECT(m->vlen[i] == 0 || memcmp(flow__agg_val(e), m->val[i], m->vlen[i]) == 0,
           "key %d: value bytes differ", i);
    EXPECT(((uintptr_t)flow__agg_val(e) & 7) == 0, "key %d: value not 8-aligned", i);
}

/* The key index of an entry (a linear search of the model). */
static int find_key(const model_t *m, flow__agg_entry_t *e)
{
    for (int i = 0; i < NKEYS; i++)
        if (m->klen[i] == flow__agg_klen(e) &&
            (m->klen[i] == 0 || memcmp(m->key[i], flow__agg_key(e), m->klen[i]) == 0))
            return i;
    return -1;
}

/* Every entry of the table is a present key with its value, once. */
static void check_table(model_t *m, flow__aggtable_t *t)
{
    EXPECT(t->count == m->count, "count %zu, expected %zu", t->count, m->count);
    int *seen = calloc(NKEYS, sizeof *seen);
    size_t n = 0;
    for (size_t s = 0; s < t->cap; s++) {
        flow__agg_entry_t *e = &t->slots[s];
        if (!flow__agg_used(e))
            continue;
        int i = find_key(m, e);
        EXPECT(i >= 0 && m->present[i] && !seen[i], "slot %zu: unexpected key", s);
        seen[i] = 1;
        check_entry(m, i, e);
        flow_rec_t r = flow__agg_rec(e);
        EXPECT(r.klen == m->klen[i] && r.vlen == m->vlen[i], "record of key %d", i);
        n++;
    }
    EXPECT(n == m->count, "%zu entries, expected %zu", n, m->count);
    free(seen);
}

/* Random upserts and value changes (inline, in the arena, growing and
 * shrinking in place), checked against the model after every step. */
static void run_ops(int collide, uint64_t seed, int nops)
{
    model_t *m = malloc(sizeof *m);
    model_init(m, seed);
    flow__aggtable_t t;
    flow__agg_init(&t, FLOW_AGG_SALT_MAP, (size_t)1 << 30);
    int nkeys = collide ? 300 : NKEYS;
    for (int op = 0; op < nops; op++) {
        int i = (int)(test_rand(&seed) % (uint64_t)nkeys), isnew;
        flow__agg_entry_t *e =
            flow__agg_upsert(&t, m->key[i], m->klen[i], key_hash(m, i, collide), &isnew);
        EXPECT(isnew == !m->present[i], "op %d key %d: isnew %d", op, i, isnew);
        if (isnew) {
            EXPECT(flow__agg_vlen(e) == 0, "op %d: a new entry has a value", op);
            m->present[i] = 1;
            m->count++;
            m->vlen[i] = 0;
        }
        check_entry(m, i, e);
        size_t vlen;
        switch (test_rand(&seed) % 4) {
        case 0: vlen = test_rand(&seed) % 9; break;       /* Inline. */
        case 1: vlen = 9 + test_rand(&seed) % 20; break;  /* In the arena. */
        case 2: vlen = test_rand(&seed) % MAXLEN; break;
        default: vlen = m->vlen[i] ? m->vlen[i] - 1 : 0; break; /* From its own bytes. */
        }
        uint8_t v[MAXLEN];
        if (vlen && vlen < m->vlen[i] && test_rand(&seed) % 2) {
            /* The new value is the old one's tail: v points into the entry. */
            flow__agg_set_val(&t, e, (uint8_t *)flow__agg_val(e) + (m->vlen[i] - vlen), vlen);
            memmove(m->val[i], m->val[i] + (m->vlen[i] - vlen), vlen);
        } else {
            for (size_t j = 0; j < vlen; j++)
                v[j] = (uint8_t)test_rand(&seed);
            flow__agg_set_val(&t, e, v, vlen);
            memcpy(m->val[i], v, vlen);
        }
        m->vlen[i] = vlen;
        check_entry(m, i, e);
        if (op % 997 == 0)
            check_table(m, &t);
    }
    check_table(m, &t);
    if (!collide)
        ck_assert_uint_gt(t.cap, 1024); /* It grew. */
    flow__agg_free(&t);
    free(m);
}

START_TEST(test_agg_matches_model)
{
    run_ops(0, 1 + (uint64_t)_i, 60000);
}
END_TEST

START_TEST(test_agg_colliding_hashes)
{
    /* Every key under one hash: one probe run, told apart by key alone. */
    run_ops(1, 77, 6000);
}
END_TEST

START_TEST(test_agg_keys_differing_by_trailing_zero)
{
    flow__aggtable_t t;
    flow__agg_init(&t, FLOW_AGG_SALT_REDUCE, (size_t)1 << 30);
    static const char *const keys[] = {"", "\0", "\0\0", "a", "a\0", "abcdefghijklmnop",
                                       "abcdefghijklmnop\0", "abcdefghijklmno"};
    static const size_t lens[] = {0, 1, 2, 1, 2, 16, 17, 15};
    for (int round = 0; round < 2; round++) {
        for (int k = 0; k < 8; k++) {
            int isnew;
            flow__agg_entry_t *e = flow__agg_upsert(&t, keys[k], lens[k], 42, &isnew);
            ck_assert_int_eq(isnew, round == 0);
            ck_assert_uint_eq(flow__agg_klen(e), lens[k]);
            if (round == 0)
                flow__agg_set_val(&t, e, &k, sizeof k);
            else
                ck_assert_int_eq(*(int *)flow__agg_val(e), k);
        }
    }
    ck_assert_uint_eq(t.count, 8);
    flow__agg_free(&t);
}
END_TEST

static uint32_t part_mod3(uint64_t hash, void *ud)
{
    (void)ud;
    return (uint32_t)(hash % 3);
}

START_TEST(test_agg_sorted_by_part_then_key)
{
    uint64_t seed = 9;
    flow__aggtable_t t;
    flow__agg_init(&t, FLOW_AGG_SALT_MAP, (size_t)1 << 30);
    for (int i = 0; i < 5000; i++) {
        char key[32];
        int n = snprintf(key, sizeof key, "k%llu", (unsigned long long)(test_rand(&seed) % 4000));
        if (i % 7 == 0)
            n = snprintf(key, sizeof key, "a-long-key-past-sixteen-%d", i % 50);
        int isnew;
        flow__agg_upsert(&t, key, (size_t)n, flow__agg_hash(key, (size_t)n), &isnew);
    }
    for (int with_part = 0; with_part < 2; with_part++) {
        flow__agg_entry_t **v = flow__agg_sorted(&t, with_part ? part_mod3 : NULL, NULL);
        for (size_t i = 1; i < t.count; i++) {
            flow_rec_t a = flow__agg_rec(v[i - 1]), b = flow__agg_rec(v[i]);
            uint32_t pa = with_part ? part_mod3(flow__agg_entry_hash(v[i - 1]), NULL) : 0;
            uint32_t pb = with_part ? part_mod3(flow__agg_entry_hash(v[i]), NULL) : 0;
            size_t n = a.klen < b.klen ? a.klen : b.klen;
            int c = memcmp(a.key, b.key, n);
            EXPECT(pa < pb || (pa == pb && (c < 0 || (c == 0 && a.klen < b.klen))),
                   "entries %zu and %zu out of order", i - 1, i);
        }
        flow__free(v);
    }
    flow__agg_free(&t);
}
END_TEST

START_TEST(test_agg_clear_and_clear_only)
{
    flow__aggtable_t t;
    flow__agg_init(&t, FLOW_AGG_SALT_MAP, (size_t)1 << 30);
    int isnew;
    for (int i = 0; i < 2000; i++) {
        uint64_t k = (uint64_t)i * 7919;
        flow__agg_entry_t *e = flow__agg_upsert(&t, &k, sizeof k, flow__agg_hash(&k, 8), &isnew);
        flow__agg_set_val(&t, e, "a value longer than eight", 25);
    }
    ck_assert_uint_eq(t.count, 2000);
    flow__agg_clear(&t);
    ck_assert_uint_eq(t.count, 0);
    for (size_t s = 0; s < t.cap; s++)
        EXPECT(!flow__agg_used(&t.slots[s]), "slot %zu used after clear", s);
    /* One entry at a time, emptied alone. */
    for (int i = 0; i < 100; i++) {
        char key[40];
        int n = snprintf(key, sizeof key, "the key number %d, long enough", i);
        flow__agg_entry_t *e =
            flow__agg_upsert(&t, key, (size_t)n, flow__agg_hash(key, (size_t)n), &isnew);
        ck_assert_int_eq(isnew, 1);
        ck_assert_uint_eq(flow__agg_vlen(e), 0);
        flow__agg_set_val(&t, e, key, (size_t)n);
        ck_assert_uint_eq(t.count, 1);
        flow__agg_clear_only(&t, e);
        ck_assert_uint_eq(t.count, 0);
    }
    for (size_t s = 0; s < t.cap; s++)
        EXPECT(!flow__agg_used(&t.slots[s]), "slot %zu used after clear_only", s);
    flow__agg_free(&t);
    flow__agg_release_spare();
}
END_TEST

/* A big table's slot array is kept for the thread's next table, again and
 * again (each task of an executor thread starts at the size the last one
 * reached), and starts empty. */
START_TEST(test_agg_slots_kept_for_next_table)
{
    size_t big = 0;
    for (int round = 0; round < 3; round++) {
        flow__aggtable_t t;
        flow__agg_init(&t, FLOW_AGG_SALT_MAP, (size_t)1 << 30);
        if (round > 0)
            ck_assert_uint_eq(t.cap, big);
        ck_assert_uint_eq(t.count, 0);
        for (size_t s = 0; s < t.cap; s++)
            EXPECT(!flow__agg_used(&t.slots[s]), "round %d: slot %zu used", round, s);
        for (uint64_t k = 0; k < 50000; k++) {
            int isnew;
            flow__agg_upsert(&t, &k, sizeof k, flow__agg_hash(&k, sizeof k), &isnew);
            EXPECT(isnew, "round %d: key %llu found in a new table", round,
                   (unsigned long long)k);
        }
        big = t.cap;
        flow__agg_free(&t);
    }
    flow__agg_release_spare();
}
END_TEST

/* Appending to values of every starting shape (none, inline, out of line)
 * gives their concatenation, and the arena stays linear in the bytes. */
START_TEST(test_agg_append_val)
{
    flow__aggtable_t t;
    flow__agg_init(&t, FLOW_AGG_SALT_MAP, (size_t)1 << 30);
    static uint8_t want[3][40000];
    size_t len[3] = {0, 5, 20};
    flow__agg_entry_t *e[3];
    uint64_t seed = 11;
    for (uint64_t k = 0; k < 3; k++) {
        int isnew;
        e[k] = flow__agg_upsert(&t, &k, sizeof k, flow__agg_hash(&k, sizeof k), &isnew);
        for (size_t i = 0; i < len[k]; i++)
            want[k][i] = (uint8_t)test_rand(&seed);
        flow__agg_set_val(&t, e[k], want[k], len[k]);
    }
    for (int round = 0; round < 4000; round++) {
        uint64_t k = (uint64_t)round % 3;
        uint8_t v[9];
        size_t n = (size_t)round % 10;
        for (size_t i = 0; i < n; i++)
            v[i] = (uint8_t)test_rand(&seed);
        flow__agg_append_val(&t, e[k], v, n);
        memcpy(want[k] + len[k], v, n);
        len[k] += n;
        EXPECT(flow__agg_vlen(e[k]) == len[k], "round %d: %zu bytes, want %zu", round,
               flow__agg_vlen(e[k]), len[k]);
    }
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(memcmp(flow__agg_val(e[k]), want[k], len[k]), 0);
    ck_assert_uint_lt(t.arena.allocated, 8 * (len[0] + len[1] + len[2]) + (256u << 10));
    flow__agg_free(&t);
    flow__agg_release_spare();
}
END_TEST

Suite *aggtable_suite(void)
{
    Suite *s = suite_create("aggtable");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_agg_matches_model, 0, 3);
    tcase_add_test(tc, test_agg_colliding_hashes);
    tcase_add_test(tc, test_agg_keys_differing_by_trailing_zero);
    tcase_add_test(tc, test_agg_sorted_by_part_then_key);
    tcase_add_test(tc, test_agg_clear_and_clear_only);
    tcase_add_test(tc, test_agg_slots_kept_for_next_table);
    tcase_add_test(tc, test_agg_append_val);
    suite_add_tcase(s, tc);
    return s;
}
