#!/usr/bin/env bash
# Runs the test suite as separate pytest processes, one per group given as an argument
# (each starts its own PostgreSQL and SeaweedFS), and exits with the first failing
# group's status. Called by `make pytest`; see the Makefile for why there are groups.
#
# A group whose pytest process dies of a signal (a native crash, exit status > 128) is
# reported with the crashing thread's native backtrace from its core file (when gdb and
# core files are available) and run again, whole, up to three runs in all. The crash seen
# was Polars' cloud concurrency loop calling getenv while Python code sets environment
# variables (benchmarks/README.md, "Root cause, found by that backtrace"); it struck the
# p-z group in about half of the clean-clone runs until the store stopped reading S3
# through Polars. The reruns stay as a net for any other native crash. A test that failed before a crash
# fails the group whatever a rerun gives (tests/conftest.py records each failure as it
# happens). A third death, a test failure or a group that collected no tests (pytest's
# exit 5) fails the run; nothing is retried silently and no test is skipped.
set -u

python=${PYTHON_BIN:-.venv/bin/python}
ulimit -c unlimited 2>/dev/null || true

report_crash() {
    local code=$1 since=$2 core
    echo "!! pytest died of signal $((code - 128)) (exit $code)"
    core=$(find . -maxdepth 1 -name 'core*' -type f -newer "$since" 2>/dev/null | head -n 1)
    if [ -n "$core" ] && command -v gdb >/dev/null 2>&1; then
        echo "!! native backtrace of the crashing thread ($core), after the thread list:"
        gdb -batch -nx -iex 'set auto-load off' -ex 'set print frame-arguments none' \
            -ex 'info threads' -ex 'bt 40' "$python" "$core" 2>&1 \
            | grep -v -E '^\[New LWP|^warning:' | tail -n 120
    else
        echo "!! no native backtrace: core file found: ${core:-none}," \
            "gdb: $(command -v gdb || echo none)," \
            "core_pattern: $(cat /proc/sys/kernel/core_pattern 2>/dev/null || echo unknown)"
    fi
    find . -maxdepth 1 -name 'core*' -type f -newer "$since" -delete 2>/dev/null
}

run_group() {
    local group=$1 attempt code stamp failures earlier=""
    for attempt in first second third; do
        echo "== pytest $group ($attempt run)"
        stamp=$(mktemp)
        failures=$(mktemp)
        # stdin from /dev/null: with none at all (a closed descriptor 0), pytest's stand-in
        # stdin fails whatever asks for its encoding (IPython's import, in the notebook
        # and Sail tests).
        TESTS_FAILURES_FILE=$failures "$python" -m pytest $group </dev/null
        code=$?
        if [ "$code" -gt 128 ]; then
            report_crash "$code" "$stamp"
            if [ -s "$failures" ]; then
                echo "!! failed before the crash (these fail the group whatever the rerun gives):"
                cat "$failures"
                earlier+=$(cat "$failures")$'\n'
            fi
            rm -f "$stamp" "$failures"
            continue
        fi
        rm -f "$stamp" "$failures"
        [ "$code" -eq 5 ] && echo "pytest collected no tests in $group"
        if [ "$code" -eq 0 ] && [ -n "$earlier" ]; then
            echo "!! $group passed on its $attempt run, but these failed before a crash:"
            printf '%s' "$earlier"
            return 1
        fi
        return "$code"
    done
    echo "!! $group died of a native crash on all three runs"
    return "$code"
}

status=0
for group in "$@"; do
    run_group "$group"
    code=$?
    if [ "$code" -ne 0 ] && [ "$status" -eq 0 ]; then status=$code; fi
done
exit "$status"
