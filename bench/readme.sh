#!/usr/bin/env bash
# Regenerates the benchmark table of the README: runs bench/compare.sh (as root, with the same
# environment: REPS, ONLY, SIZE_MIB, ...) and puts its report between the README's lines
# <!-- bench:start --> and <!-- bench:end --> with bench/readme, leaving the prose around them
# as it is:
#
#	sudo bash bench/readme.sh
#
# If a server could not be started or a measurement failed, the report (with its n/a cells) goes
# to stdout and the README is left as it was; the script then exits 1. With ALLOW_NA=1 the
# README gets such a report all the same (and the script still exits 1).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

report=$(mktemp)
tool=$(mktemp)
trap 'rm -f "$report" "$tool"' EXIT

(cd bench && go build -o "$tool" ./readme)

status=0
bash bench/compare.sh >"$report" || status=$?
if [ "$status" -ne 0 ] && [ "${ALLOW_NA:-}" != 1 ]; then
	cat "$report"
	echo "readme.sh: compare.sh failed; README.md is unchanged (ALLOW_NA=1 writes it all the same)" >&2
	exit 1
fi

"$tool" -file README.md -report "$report"
echo "readme.sh: README.md's benchmark table is regenerated; review it with git diff README.md" >&2
[ "$status" -eq 0 ] || echo "readme.sh: compare.sh failed, so the table has n/a cells" >&2
exit "$status"
