#!/usr/bin/env bash
# Runs every go fuzz target in the module for the given time each
# (default 15s). Crashers are written under the package's
# testdata/fuzz/ and replayed by plain `go test` from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-15s}
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "== $pkg $target ($t)"
    # Go's fuzzing coordinator sometimes ends a run with "context
    # deadline exceeded" when the time runs out while a worker is still
    # minimising a new input: no crash, no failing input written. Such a
    # run is repeated once; a real failure writes its input and fails.
    if ! out=$(go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$t" 2>&1); then
      echo "$out"
      if grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
        echo "== $pkg $target: fuzzing engine timed out without a failing input; running it again"
        go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$t"
      else
        exit 1
      fi
    else
      echo "$out"
    fi
  done
done
