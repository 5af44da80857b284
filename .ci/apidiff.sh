#!/usr/bin/env bash
# Checks that ftpkit's API is a drop-in for ftpserverlib's: apidiff compares the exported API of
# github.com/fclairamb/ftpserverlib at OLD_VERSION with this checkout's package and the check
# fails on any incompatible change but the ones listed in ALLOWED, each with its reason.
#
# It needs the network only through the Go module proxy (ftpserverlib, its dependencies and
# apidiff). Run it from anywhere: .ci/apidiff.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

OLD_MODULE=github.com/fclairamb/ftpserverlib
OLD_VERSION=v0.32.3
NEW_PACKAGE=github.com/ftpkit/ftpserver
# golang.org/x/exp has no releases; this is the pseudo-version apidiff is pinned to.
APIDIFF_VERSION=v0.0.0-20261113113407-e3970619a1a4

# Incompatible changes that are deliberate, one exact apidiff line each.
ALLOWED=(
	# The logger is go-kit's (docs/compatibility.md, "Logger").
	'- FtpServer.Logger: changed from *log/slog.Logger to github.com/go-kit/log.Logger'
	# Exported methods of ftpserverlib's unexported client handler, which apidiff reaches through
	# the type of CommandDescription.Fn. No program can name the type; ftpkit runs transfers and
	# the command loop itself (docs/compatibility.md, "API").
	'- (*clientHandler).GetTranferInfo: removed'
	'- (*clientHandler).HandleCommands: removed'
	'- (*clientHandler).TransferClose: removed'
	'- (*clientHandler).TransferOpen: removed'
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

GOBIN="$work/bin" go install "golang.org/x/exp/cmd/apidiff@${APIDIFF_VERSION}"
apidiff="$work/bin/apidiff"

old_dir=$(go mod download -json "${OLD_MODULE}@${OLD_VERSION}" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
if [ -z "$old_dir" ] || [ ! -d "$old_dir" ]; then
	echo "apidiff.sh: could not download ${OLD_MODULE}@${OLD_VERSION}" >&2
	exit 1
fi

# apidiff loads a package from the module around the current directory: the old one from its
# own module in the module cache, outside any workspace.
(cd "$old_dir" && GOWORK=off GOFLAGS=-mod=readonly "$apidiff" -w "$work/old.export" "$OLD_MODULE")

report=$("$apidiff" -incompatible "$work/old.export" "$NEW_PACKAGE")

echo "apidiff ${OLD_MODULE}@${OLD_VERSION} -> ${NEW_PACKAGE}, incompatible changes:"
echo "${report:-(none)}"

unexpected=$(grep -vxF -f <(printf '%s\n' "${ALLOWED[@]}") <<<"$report" || true)
if [ -n "$unexpected" ]; then
	printf '\napidiff.sh: incompatible with %s@%s beyond the allowed changes:\n%s\n' \
		"$OLD_MODULE" "$OLD_VERSION" "$unexpected" >&2
	exit 1
fi

echo "apidiff.sh: ok"
