#!/usr/bin/env bash
# run.sh - check every flowbench workload at a small size
#
#   bash tests/bench/run.sh BUILD_DIR
#
# For each workload that `flowbench list` names: a checked run at 1m (the
# engine's answer equals the baseline's, and the --json file parses), a run
# with FLOWBENCH_WRONG_ANSWER=1 that the check must catch (nonzero exit and
# "WRONG ANSWER"), and `flowbench gen` twice at 100k giving identical bytes.
# Also checks that `flowbench list` lists every bench/wl_NAME.c of the source
# tree. Prints one line per check; exits nonzero on any failure.
set -uo pipefail
export LC_ALL=C

if [ $# -ne 1 ] || [ ! -x "$1/flowbench" ]; then
    echo "usage: run.sh BUILD_DIR   (with flowbench built in BUILD_DIR)" >&2
    exit 2
fi
B=$(cd "$1" && pwd)
FB="$B/flowbench"
W=$(mktemp -d "${TMPDIR:-/tmp}/flow-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
# Keep spill and shuffle files inside the scratch directory.
export FLOW_LOCAL_DIR="$W"
unset FLOWBENCH_WRONG_ANSWER

failures=0
failed_workloads=""
pass() { echo "ok   $1"; }
fail() {
    echo "FAIL $1" >&2
    failures=$((failures + 1))
    case " $failed_workloads " in
    *" $2 "*) ;;
    *) failed_workloads="$failed_workloads $2" ;;
    esac
}
# show FILE: the end of a log, indented, on stderr.
show() { tail -5 "$1" | sed 's/^/     /' >&2; }

# ---- flowbench list -------------------------------------------------------------------------
rc=0
"$FB" list > "$W/list" 2> "$W/log" || rc=$?
if [ "$rc" -ne 0 ]; then
    fail "flowbench list: exit status $rc" list
    show "$W/log"
    exit 1
fi
workloads=$(awk '{ print $1 }' "$W/list")
if [ -n "$workloads" ]; then pass "flowbench list: $(echo $workloads)"; else
    fail "flowbench list: no workloads" list
fi
# Every workload in the source tree (bench/wl_NAME.c, an underscore in NAME
# standing for a hyphen: wl_cache_reuse.c is cache-reuse) is listed.
S=$(cd "$(dirname "$0")/../.." && pwd)
for f in "$S"/bench/wl_*.c; do
    w=$(basename "$f" .c)
    w=${w#wl_}
    w=${w//_/-}
    if echo "$workloads" | grep -qx -- "$w"; then pass "flowbench list: lists $w"; else
        fail "flowbench list: does not list $w ($(basename "$f"))" "$w"
    fi
done

# The revision --json reports is the source tree's as built: its commit, with
# "-dirty" when tracked files differ from it ("unknown" outside a git checkout).
if rev=$(git -C "$S" rev-parse --short=12 HEAD 2> /dev/null); then
    git -C "$S" diff --quiet HEAD -- 2> /dev/null || rev="$rev-dirty"
else
    rev=unknown
fi

# ---- Each workload ----------------------------------------------------------------------------
for w in $workloads; do
    # A checked run: exit 0, and JSON that parses with a result for the workload.
    if "$FB" run "$w" --size 1m --runs 1 --data-dir "$W/data" --json "$W/out.json" \
        > "$W/log" 2>&1; then
        pass "$w: checked run at 1m"
        if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert [r["workload"] for r in d["results"]] == [sys.argv[2]]
assert d["libflow_revision"] == sys.argv[3], \
    "libflow_revision %r, the source tree is at %r" % (d["libflow_revision"], sys.argv[3])
' "$W/out.json" "$w" "$rev" 2> "$W/log"; then
            pass "$w: --json output parses, at revision $rev"
        else
            fail "$w: --json output does not parse, lacks the result or the revision" "$w"
            show "$W/log"
        fi
    else
        fail "$w: checked run at 1m: exit status $?" "$w"
        show "$W/log"
    fi
    rm -f "$W/out.json"

    # The wrong-answer switch must be caught.
    rc=0
    FLOWBENCH_WRONG_ANSWER=1 "$FB" run "$w" --size 1m --runs 1 --data-dir "$W/data" \
        > "$W/log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ] && grep -q "WRONG ANSWER" "$W/log"; then
        pass "$w: FLOWBENCH_WRONG_ANSWER=1 is caught"
    else
        fail "$w: FLOWBENCH_WRONG_ANSWER=1 gave exit status $rc without WRONG ANSWER" "$w"
        show "$W/log"
    fi

    # gen is deterministic.
    if "$FB" gen "$w" --size 100k --out "$W/gen1" > "$W/log" 2>&1 &&
        "$FB" gen "$w" --size 100k --out "$W/gen2" >> "$W/log" 2>&1; then
        same=1
        for f in "$W/gen1"/*; do
            cmp -s "$f" "$W/gen2/$(basename "$f")" || same=0
        done
        [ "$(ls "$W/gen1")" = "$(ls "$W/gen2")" ] && [ -n "$(ls "$W/gen1")" ] || same=0
        if [ "$same" -eq 1 ]; then pass "$w: gen twice at 100k gives identical bytes"; else
            fail "$w: gen twice at 100k gives different files" "$w"
        fi
    else
        fail "$w: gen at 100k failed" "$w"
        show "$W/log"
    fi
    rm -rf "$W/gen1" "$W/gen2" "$W/data"
done

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed; workloads failing:$failed_workloads" >&2
    exit 1
fi
echo "all flowbench checks passed"
