#!/usr/bin/env bash
# run.sh - check the example programs against independent shell tools
#
#   bash tests/examples/run.sh BUILD_DIR
#
# Runs wordcount, sort and join from BUILD_DIR on small inputs made by gentext
# and gencsv (plus a few hand-made tricky lines), on the masters local and
# local[4], and compares their outputs with tr/sort/uniq and awk computing the
# same answers. Also checks a spilling wordcount (--memory 1m), the usage and
# error paths. pagerank and kmeans run on inputs made by gengraph and
# genpoints, at every storage level and under a 1 MiB budget, and are compared
# with single-threaded C references (pagerank_ref.c, kmeans_ref.c here, built
# with cc into the scratch directory). Prints one line per check; exits
# nonzero on any mismatch.
set -euo pipefail
export LC_ALL=C

if [ $# -ne 1 ] || [ ! -x "$1/wordcount" ]; then
    echo "usage: run.sh BUILD_DIR   (with the examples built in BUILD_DIR)" >&2
    exit 2
fi
B=$(cd "$1" && pwd)
S=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/flow-examples.XXXXXX")
trap 'rm -rf "$W"' EXIT
# Keep spill and shuffle files inside the scratch directory.
export FLOW_LOCAL_DIR="$W"

failures=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1" >&2; failures=$((failures + 1)); }
# run NAME CMD...: run an example; when it fails, count a failure and show its stderr.
run() {
    local name=$1 rc=0
    shift
    "$@" 2> "$W/log" || rc=$?
    [ "$rc" -eq 0 ] && return 0
    fail "$name: exit status $rc"; tail -5 "$W/log" >&2
    return 1
}
# check NAME FILE1 FILE2: the two files are byte-identical.
check() {
    if cmp -s "$2" "$3"; then pass "$1"; else
        fail "$1"; diff "$2" "$3" | head -5 >&2 || true
    fi
}

# ---- Inputs -------------------------------------------------------------------------------
"$B/gentext" 2m "$W/text1.txt" 1
"$B/gentext" 512k "$W/text2.txt" 2
# Tricky lines: duplicates, an empty line, lines that are prefixes of each other,
# leading and inner whitespace of every kind, a lone \r inside a line, bytes
# above 0x7f, and a last line without a newline. (A \r right before \n is
# dropped by text_file, so it does not appear here: sort(1) would keep it.)
printf 'abc\nabc\n\nab\nabcd\n  lead\ttab\n\tx\vy\fz\n' >> "$W/text2.txt"
printf 'a\rb\n\rstart\nend\r x\n\xff\xfe high\n\xc3\xa9t\xc3\xa9\nabc\nzz last' >> "$W/text2.txt"
cat "$W/text1.txt" "$W/text2.txt" > "$W/all.txt"
"$B/gencsv" 500 30000 "$W/rankings.csv" "$W/uservisits.csv" 7

# ---- Expected answers from independent tools ------------------------------------------------
tr -s '[:space:]' '\n' < "$W/all.txt" | { grep -v '^$' || true; } | sort | uniq -c |
    awk '{ print $2 "\t" $1 }' | sort > "$W/wc.expected"
sort "$W/all.txt" > "$W/sort.expected"
awk -F, 'NR == FNR { bucket[$1] = int($2 / 10); next }
         ($2 in bucket) { total[bucket[$2]] += $4 }
         END { for (b in total) printf "%d\t%.2f\n", b, total[b] }' \
    "$W/rankings.csv" "$W/uservisits.csv" | sort -n > "$W/join.expected"

# join_matches NAME GOT EXPECTED: the same buckets in the same order, totals within 0.01.
join_matches() {
    if paste "$2" "$3" | awk -F'\t' '
           NF != 4 || $1 != $3 || ($2 - $4 > 0.011) || ($4 - $2 > 0.011) { bad = 1 }
           END { exit bad || NR == 0 }' && [ "$(wc -l < "$2")" = "$(wc -l < "$3")" ]; then
        pass "$1"
    else
        fail "$1"; diff "$2" "$3" | head -5 >&2 || true
    fi
}

# ---- Runs on each master --------------------------------------------------------------------
for master in local 'local[4]'; do
    out="$W/out"
    rm -rf "$out"; mkdir -p "$out"

    run "wordcount $master" "$B/wordcount" --master "$master" "$W/text1.txt" "$W/text2.txt" \
        "$out/wc" || continue
    cat "$out/wc"/part-* | sort > "$W/wc.got"
    check "wordcount $master: counts equal tr | sort | uniq -c" "$W/wc.got" "$W/wc.expected"
    if [ -f "$out/wc/_SUCCESS" ]; then pass "wordcount $master: _SUCCESS"; else
        fail "wordcount $master: _SUCCESS"; fi

    run "sort $master" "$B/sort" --master "$master" "$W/all.txt" "$out/sort" || continue
    cat "$out/sort"/part-* > "$W/sort.got"
    check "sort $master: parts in name order equal LC_ALL=C sort" "$W/sort.got" "$W/sort.expected"

    run "sort $master --partitions 7" "$B/sort" --master "$master" --partitions 7 \
        "$W/all.txt" "$out/sort7" || continue
    cat "$out/sort7"/part-* > "$W/sort.got"
    n=$(ls "$out/sort7"/part-* | wc -l)
    if [ "$n" -eq 7 ]; then pass "sort $master --partitions 7: 7 parts"; else
        fail "sort $master --partitions 7: $n parts"; fi
    check "sort $master --partitions 7: equal LC_ALL=C sort" "$W/sort.got" "$W/sort.expected"

    run "join $master" "$B/join" --master "$master" "$W/rankings.csv" "$W/uservisits.csv" \
        "$out/join" || continue
    cat "$out/join"/part-* > "$W/join.got"
    join_matches "join $master: totals per bucket equal awk" "$W/join.got" "$W/join.expected"
done

# ---- Spilling: the same answers under a 1 MiB budget ----------------------------------------
rm -rf "$W/out"; mkdir -p "$W/out"
if run "wordcount --memory 1m" "$B/wordcount" --master 'local[2]' --memory 1m \
    "$W/text1.txt" "$W/text2.txt" "$W/out/wc"; then
    cat "$W/out/wc"/part-* | sort > "$W/wc.got"
    check "wordcount --memory 1m: same counts" "$W/wc.got" "$W/wc.expected"
    grep -q 'spilled [1-9]' "$W/log" && pass "wordcount --memory 1m: spilled" ||
        echo "note wordcount --memory 1m did not spill: $(tail -1 "$W/log")"
fi

if run "sort --memory 1m" "$B/sort" --master 'local[2]' --memory 1m "$W/all.txt" \
    "$W/out/sort"; then
    cat "$W/out/sort"/part-* > "$W/sort.got"
    check "sort --memory 1m: equal LC_ALL=C sort" "$W/sort.got" "$W/sort.expected"
fi

# The join shuffling both sides: by default the small rankings are broadcast.
if run "join shuffled" env FLOW_JOIN_BROADCAST_THRESHOLD=0 "$B/join" --master 'local[4]' \
    --memory 1m "$W/rankings.csv" "$W/uservisits.csv" "$W/out/join"; then
    cat "$W/out/join"/part-* > "$W/join.got"
    join_matches "join without broadcast, --memory 1m: equal awk" "$W/join.got" "$W/join.expected"
fi

# ---- pagerank and kmeans against plain-C references ------------------------------------------
# The references share no code with libflow or the examples: they read the same files and
# compute the same answers with plain loops.
cc -O2 -o "$W/pagerank_ref" "$S/pagerank_ref.c" -lm
cc -O2 -o "$W/kmeans_ref" "$S/kmeans_ref.c" -lm
"$B/gengraph" 2000 20000 5 "$W/graph.txt"
"$B/genpoints" 5000 10 5 9 "$W/points.txt"
"$B/genpoints" 20000 10 5 11 "$W/points2.txt" # 1.6 MB as doubles: more than 1 MiB holds.
"$W/pagerank_ref" 10 "$W/graph.txt" "$W/pr.expected"
"$W/pagerank_ref" 0 "$W/graph.txt" "$W/pr0.expected"
"$W/pagerank_ref" 25 "$W/graph.txt" "$W/pr25.expected"
# k = 8 centres for 5 clusters, so that the centres keep moving for all 10 iterations.
"$W/kmeans_ref" 8 10 "$W/points.txt" "$W/km.expected"
"$W/kmeans_ref" 8 10 "$W/points2.txt" "$W/km2.expected"

# numbers_match NAME GOT EXPECTED EXACT FLOOR: the files have the same lines with the same
# fields; the first EXACT fields of a line are equal as text, each other number is within
# 1e-9 of the expected one relative to the larger of the two magnitudes and FLOOR. The
# engine adds the same terms in another order (per partition, then across partitions), so
# the last bits differ; ranks are at least 0.15 (FLOOR 0: purely relative), while a centre
# coordinate near 0 is a difference of large sums, so its error is relative to the sums'
# scale (FLOOR 1).
numbers_match() {
    local name=$1 got=$2 expected=$3 exact=$4 floor=$5
    if [ -s "$expected" ] && [ "$(wc -l < "$got")" = "$(wc -l < "$expected")" ] &&
        paste -d '|' "$got" "$expected" | awk -F'|' -v exact="$exact" -v floor="$floor" '
            function abs(x) { return x < 0 ? -x : x }
            {
                n = split($1, a, " ")
                if (n == 0 || n != split($2, b, " ")) { bad = 1; next }
                for (i = 1; i <= n; i++) {
                    if (i <= exact) { if (a[i] "" != b[i] "") bad = 1; continue }
                    s = abs(a[i]) > abs(b[i]) ? abs(a[i]) : abs(b[i])
                    if (s < floor) s = floor
                    if (abs(a[i] - b[i]) > 1e-9 * s) bad = 1
                }
            }
            END { exit bad }'; then
        pass "$name"
    else
        fail "$name"; diff "$got" "$expected" | head -5 >&2 || true
    fi
}
# pagerank_check NAME EXPECTED ARGS...: pagerank with ARGS --out FILE on the graph equals
# EXPECTED, and printed its per-iteration times.
pagerank_check() {
    local name=$1 expected=$2
    shift 2
    rm -f "$W/pr.got"
    run "$name" "$B/pagerank" "$@" --out "$W/pr.got" "$W/graph.txt" || return 0
    numbers_match "$name: ranks equal the reference" "$W/pr.got" "$expected" 1 0
}
# kmeans_check NAME EXPECTED POINTS ARGS...: kmeans --k 8 with ARGS on POINTS equals
# EXPECTED.
kmeans_check() {
    local name=$1 expected=$2 points=$3
    shift 3
    rm -f "$W/km.got"
    run "$name" "$B/kmeans" --k 8 "$@" --out "$W/km.got" "$points" || return 0
    numbers_match "$name: centres equal the reference" "$W/km.got" "$expected" 0 1
}

for master in local 'local[4]'; do
    for storage in memory memory_and_disk disk none; do
        pagerank_check "pagerank $master --storage $storage" "$W/pr.expected" \
            --master "$master" --storage "$storage"
        kmeans_check "kmeans $master --storage $storage" "$W/km.expected" "$W/points.txt" \
            --master "$master" --storage "$storage"
    done
done
pagerank_check "pagerank --storage memory_ser" "$W/pr.expected" --master 'local[2]' \
    --storage memory_ser
if grep -q '^iteration 10: [0-9.]* s' "$W/log" && grep -q '^total: [0-9.]* s' "$W/log"; then
    pass "pagerank: per-iteration and total times on stderr"
else
    fail "pagerank: per-iteration and total times on stderr"; tail -3 "$W/log" >&2
fi
grep -q '^iteration 10: .*cache hits [1-9]' "$W/log" &&
    pass "pagerank: links and ranks read from the cache" ||
    fail "pagerank --storage memory_ser: no cache hits in iteration 10"
kmeans_check "kmeans --storage memory_ser" "$W/km.expected" "$W/points.txt" \
    --master 'local[2]' --storage memory_ser
grep -q '^iteration 10: [0-9.]* s' "$W/log" &&
    pass "kmeans: per-iteration times on stderr" || fail "kmeans: per-iteration times on stderr"
pagerank_check "pagerank --partitions 3" "$W/pr.expected" --master 'local[4]' --partitions 3
kmeans_check "kmeans --partitions 3" "$W/km.expected" "$W/points.txt" --master 'local[4]' \
    --partitions 3
pagerank_check "pagerank --iterations 0" "$W/pr0.expected" --master 'local[2]' \
    --iterations 0
pagerank_check "pagerank --iterations 25 --checkpoint 4" "$W/pr25.expected" \
    --master 'local[2]' --iterations 25 --checkpoint 4
pagerank_check "pagerank --storage none --checkpoint 1" "$W/pr.expected" \
    --master 'local[2]' --storage none --checkpoint 1
# By default pagerank joins its co-partitioned links and ranks in place; allowed to, the
# engine broadcasts the (small) ranks instead.
FLOW_JOIN_BROADCAST_THRESHOLD=10m pagerank_check "pagerank, broadcast join" \
    "$W/pr.expected" --master 'local[2]'
# Under 1 MiB per executor cached blocks are evicted (and recomputed, or read back from
# disk) and shuffles spill. The larger points in 4 partitions of 0.4 MB: one executor
# cannot keep them all.
for master in local 'local[2]'; do
    for storage in memory memory_and_disk; do
        pagerank_check "pagerank $master --storage $storage --memory 1m" "$W/pr.expected" \
            --master "$master" --storage "$storage" --memory 1m
        kmeans_check "kmeans $master --storage $storage --memory 1m" "$W/km2.expected" \
            "$W/points2.txt" --master "$master" --storage "$storage" --memory 1m \
            --partitions 4
        grep -q 'evicted [1-9]' "$W/log" ||
            echo "note kmeans $master --storage $storage --memory 1m evicted nothing"
    done
done
"$B/gengraph" 2000 20000 5 "$W/graph2.txt"
"$B/genpoints" 5000 10 5 9 "$W/points3.txt"
cmp -s "$W/graph.txt" "$W/graph2.txt" && cmp -s "$W/points.txt" "$W/points3.txt" &&
    pass "gengraph, genpoints: deterministic" || fail "gengraph, genpoints: deterministic"

# ---- Usage and errors ----------------------------------------------------------------------
# expect_rc NAME RC PATTERN CMD...: CMD exits with RC and its stderr+stdout matches PATTERN.
expect_rc() {
    local name=$1 want=$2 pattern=$3 rc=0
    shift 3
    "$@" > "$W/log" 2>&1 || rc=$?
    if [ "$rc" -eq "$want" ] && grep -q -- "$pattern" "$W/log"; then pass "$name"; else
        fail "$name (exit $rc, wanted $want and /$pattern/)"; head -3 "$W/log" >&2
    fi
}
for ex in wordcount sort join gencsv pagerank kmeans gengraph genpoints; do
    expect_rc "$ex --help" 0 "usage: $ex" "$B/$ex" --help
done
expect_rc "wordcount without OUTDIR: usage" 2 "usage:" "$B/wordcount" "$W/text1.txt"
expect_rc "sort bad --partitions: usage" 2 "partitions" "$B/sort" --partitions x "$W/all.txt" "$W/o"
expect_rc "join unknown option: usage" 2 "unknown option" "$B/join" --bogus a b c
expect_rc "gencsv bad rows: usage" 2 "usage:" "$B/gencsv" ten 1 "$W/r" "$W/v"
expect_rc "wordcount existing OUTDIR: error" 1 "already exists" \
    "$B/wordcount" --master local "$W/text1.txt" "$W/out/wc"
expect_rc "wordcount --overwrite: replaces OUTDIR" 0 "" \
    "$B/wordcount" --master local --overwrite "$W/text1.txt" "$W/out/wc"
expect_rc "wordcount missing input: error names it" 1 "$W/missing.txt" \
    "$B/wordcount" --master local "$W/missing.txt" "$W/out/wc2"
expect_rc "wordcount bad --memory: error names the key" 1 "executor.memory" \
    "$B/wordcount" --memory lots "$W/text1.txt" "$W/out/wc3"
expect_rc "sort bad --master: error" 1 "master" \
    "$B/sort" --master 'cluster://x' "$W/all.txt" "$W/out/sort2"
{ head -100 "$W/uservisits.csv"; echo 'not,a,visit'; tail -100 "$W/uservisits.csv"; } \
    > "$W/bad.csv"
expect_rc "join malformed line: error quotes it" 1 "malformed line 'not,a,visit'" \
    "$B/join" --master 'local[2]' "$W/rankings.csv" "$W/bad.csv" "$W/out/join2"
{ head -100 "$W/graph.txt"; echo '12 x'; tail -100 "$W/graph.txt"; } > "$W/badgraph.txt"
expect_rc "pagerank malformed line: error quotes it" 1 "malformed line '12 x'" \
    "$B/pagerank" --master 'local[2]' "$W/badgraph.txt"
{ head -100 "$W/graph.txt"; echo '1 2 3'; } > "$W/badgraph.txt"
expect_rc "pagerank line of three fields: error" 1 "malformed line '1 2 3'" \
    "$B/pagerank" --master local "$W/badgraph.txt"
{ head -100 "$W/points.txt"; echo '1.5 2 3'; tail -100 "$W/points.txt"; } \
    > "$W/badpoints.txt"
expect_rc "kmeans line of another dimension: error quotes it" 1 \
    "malformed line '1.5 2 3': wrong count of numbers (3; the first line has 10" \
    "$B/kmeans" --master 'local[2]' "$W/badpoints.txt"
{ head -100 "$W/points.txt"; echo '1 2 3 4 5 6 7 8 9 ten'; } > "$W/badpoints.txt"
expect_rc "kmeans line with a non-number: error quotes it" 1 \
    "malformed line '1 2 3 4 5 6 7 8 9 ten'" "$B/kmeans" --master local "$W/badpoints.txt"
head -5 "$W/points.txt" > "$W/fivepoints.txt"
expect_rc "kmeans fewer points than k: error" 1 "fewer than k = 8" \
    "$B/kmeans" --k 8 "$W/fivepoints.txt"
expect_rc "pagerank bad --storage: usage" 2 "storage" \
    "$B/pagerank" --storage fast "$W/graph.txt"
expect_rc "kmeans bad --k: usage" 2 "for --k" "$B/kmeans" --k 0 "$W/points.txt"
expect_rc "genpoints bad dims: usage" 2 "usage:" "$B/genpoints" 10 0 2 1 "$W/p"
"$B/gencsv" 500 30000 "$W/r2.csv" "$W/v2.csv" 7
cmp -s "$W/v2.csv" "$W/uservisits.csv" && cmp -s "$W/r2.csv" "$W/rankings.csv" &&
    pass "gencsv: deterministic" || fail "gencsv: deterministic"

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed" >&2
    exit 1
fi
echo "all example checks passed"
