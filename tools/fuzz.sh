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
    go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$t"
  done
done
