#!/usr/bin/env bash
# lean-check.sh: a program that imports only the library must not find in its module graph
# anything the library does not itself require. It builds such a program in a throwaway module
# (the library taken from this checkout through a replace directive), runs go mod tidy, and
# compares `go list -m all` with the library's own module graph. The AWS SDK and Prometheus,
# which only s3fs and the bundled server need, are named explicitly as well.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GOWORK=off GOFLAGS=-mod=mod

cd "$work"
go mod init example.com/leancheck >/dev/null 2>&1
cat >main.go <<'GO'
package main

import "github.com/ftpkit/ftpserver"

func main() { _ = ftpserver.NewFtpServer(nil) }
GO
go mod edit -require=github.com/ftpkit/ftpserver@v0.0.0 -replace=github.com/ftpkit/ftpserver="$root"
go mod tidy
go build ./...

go list -m -f '{{.Path}}' all | sort >consumer.txt
(cd "$root" && go list -m -f '{{.Path}}' all) | sort >library.txt

status=0
extra=$(comm -23 consumer.txt library.txt | grep -vx 'example.com/leancheck' || true)
if [ -n "$extra" ]; then
	echo "lean-check: modules in the importer's graph that the library does not require:"
	echo "$extra" | sed 's/^/  /'
	status=1
fi
if grep -E '^(github.com/aws/|github.com/prometheus/)' consumer.txt; then
	echo "lean-check: the AWS SDK or Prometheus is in the graph of a program that imports only the library"
	status=1
fi
if [ "$status" -eq 0 ]; then
	echo "lean-check passed: $(grep -vcx 'example.com/leancheck' consumer.txt) modules in the graph, all the library's own:"
	grep -vx 'example.com/leancheck' consumer.txt | sed 's/^/  /'
fi
exit "$status"
