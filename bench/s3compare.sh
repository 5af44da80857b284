#!/usr/bin/env bash
# Compares ftpkit's bundled server over S3 (cmd/ftpserver -s3-bucket, the s3fs module) with
# rclone's FTP server over the same bucket (rclone serve ftp), and both with what the AWS SDK for
# Go moves to that S3 server by itself (bench/s3ceiling), side by side in one run. The S3 server
# is versitygw with its posix back-end on tmpfs, so that no disk decides the result; every FTP
# figure comes from bench/ftpload, as in bench/compare.sh. Run it from anywhere in the
# repository:
#
#	bash bench/s3compare.sh
#
# Scenarios: one RETR and one STOR of a SIZE_MIB file over one connection, SMALL_FILES 4 KiB
# files downloaded and uploaded over 16 connections, and LIST of a directory of LIST_ENTRIES
# objects; the SDK does the same with GetObject (one streamed GET, and the transfer manager's
# ranged GETs), the transfer manager's multipart upload, GetObject and PutObject over 16
# goroutines, and ListObjectsV2 (see bench/s3ceiling). Each server runs with its defaults, except
# that rclone's LIST is measured on a second instance with no directory cache and S3's
# modification times, so that it asks S3 for the listing every time and only that, as ftpkit
# does (see start_rclone below).
#
# rclone: Debian's package has no "serve ftp", so the script uses RCLONE when set, else an rclone
# on PATH that has it, else it builds RCLONE_VERSION with go install into RCLONE_CACHE (once;
# later runs reuse the binary). versitygw: on PATH or in $(go env GOPATH)/bin (.ci/run installs
# it).
#
# Environment: REPS (5) repetitions, of which the median and the range are shown; SIZE_MIB
# (1024) size of the RETR/STOR file; SMALL_FILES (4096) small files per run; LIST_ENTRIES
# (10000); LIST_RUNS (5) counted LISTs per run, after one that is not counted; ONLY (all) the
# scenarios to run, by id, separated by commas (ONLY=retr,list); PROFILE (unset) set to 1 also
# profiles ftpkit (cmd/ftpserver -cpuprofile) over REPS runs of each scenario on a fresh
# instance, into PROFILE_DIR (bench/profile-s3), with a summary.md; FTPKIT_ARGS (empty) more
# flags for ftpkit's server.
#
# It prints a Markdown report on stdout and its progress on stderr. It exits 1 if something
# could not be started or a measurement failed (the report then shows n/a), after measuring the
# rest. Everything it starts is stopped when it exits, by PID, and its temporary directories are
# removed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
LOG_NAME=s3compare.sh

REPS="${REPS:-5}"
SIZE_MIB="${SIZE_MIB:-1024}"
SMALL_FILES="${SMALL_FILES:-4096}"
LIST_ENTRIES="${LIST_ENTRIES:-10000}"
LIST_RUNS="${LIST_RUNS:-5}"
ONLY="${ONLY:-}"
FTPKIT_ARGS="${FTPKIT_ARGS:-}"
RCLONE_VERSION="${RCLONE_VERSION:-v1.76.0}"
RCLONE_CACHE="${RCLONE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ftpkit-bench}"
SMALL_SIZE=4096
CONNS=16
HOST=127.0.0.1
BUCKET=bench
COLUMNS_=(ftpkit rclone sdk)
# Time limits of one measurement, so that nothing waits for ever.
BIG_TIMEOUT=300
SMALL_TIMEOUT=180

# The credentials of the throw-away gateway, for the bundled server and the SDK alike.
export AWS_ACCESS_KEY_ID=ftpkit-bench AWS_SECRET_ACCESS_KEY=ftpkit-bench-secret AWS_REGION=us-east-1

WORK=""
DATA=""
cleanup() {
	stop_started
	[ -n "$DATA" ] && rm -rf "$DATA"
	[ -n "$WORK" ] && rm -rf "$WORK"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# SCENARIOS: id|label|unit|higher is better (1) or lower (0)
SCENARIOS=(
	"retr|RETR of $SIZE_MIB MiB, one connection|MB/s|1"
	"stor|STOR of $SIZE_MIB MiB, one connection|MB/s|1"
	"small16|RETR of $SMALL_FILES files of 4 KiB, 16 connections|files/s|1"
	"stor16|STOR of $SMALL_FILES files of 4 KiB, 16 connections|files/s|1"
	"list|LIST of $LIST_ENTRIES objects|ms|0"
)

# ---------------------------------------------------------------------------------------------
# Machine, tools, temporary directories
# ---------------------------------------------------------------------------------------------

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v n="$(nproc)" '{ exit !($1 > n / 2) }' /proc/loadavg; then
	log "warning: load average ${LOAD_START%% *} on $(nproc) cores: other work will blur the figures"
fi

for tool in go awk curl; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is needed"
done
PATH="$PATH:$(go env GOPATH)/bin"
command -v versitygw >/dev/null 2>&1 ||
	die "versitygw is needed: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

WORK=$(mktemp -d)
if [ "$(stat -f -c %T /dev/shm 2>/dev/null || true)" = tmpfs ]; then
	DATA=$(mktemp -d -p /dev/shm s3bench.XXXXXX)
else
	log "warning: /dev/shm is not tmpfs; versitygw stores the objects in $(dirname "$WORK")"
	DATA=$(mktemp -d)
fi

# The bucket holds the big file, one upload of it per column, the small files and their
# uploads, and versitygw's parts of a multipart upload in progress.
mem_mib=$(($(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo) / 1024))
avail_mib=$(($(df -Pk "$DATA" | awk 'NR == 2 { print $4 }') / 1024))
need_mib=$((6 * SIZE_MIB + 512))
[ "$need_mib" -le "$mem_mib" ] && [ "$need_mib" -le "$avail_mib" ] ||
	die "need $need_mib MiB free in memory and on $DATA ($mem_mib and $avail_mib MiB are); lower SIZE_MIB"
SIZE=$((SIZE_MIB << 20))

log "== building ftpkit, the load client and the SDK ceiling tool"
go build -o "$WORK/ftpserver" ./cmd/ftpserver || die "go build ./cmd/ftpserver failed"
go build -o "$WORK/ftpload" ./bench/ftpload || die "go build ./bench/ftpload failed"
go build -o "$WORK/s3ceiling" ./bench/s3ceiling || die "go build ./bench/s3ceiling failed"

declare -A FAILED=()

# has_serve_ftp tells whether rclone binary $1 has the FTP server (an rclone without it prints
# the help of "serve" instead, and succeeds).
has_serve_ftp() { "$1" serve ftp --help 2>/dev/null | grep -q -- --passive-port; }

# find_rclone sets RCLONE to an rclone with "serve ftp", building one if needed.
find_rclone() {
	if [ -n "${RCLONE:-}" ]; then
		has_serve_ftp "$RCLONE" && return 0
		log "   RCLONE=$RCLONE has no serve ftp"
		return 1
	fi
	if command -v rclone >/dev/null 2>&1 && has_serve_ftp "$(command -v rclone)"; then
		RCLONE=$(command -v rclone)
		return 0
	fi
	RCLONE="$RCLONE_CACHE/rclone-$RCLONE_VERSION/rclone"
	[ -x "$RCLONE" ] && return 0
	log "   building rclone $RCLONE_VERSION into $(dirname "$RCLONE") (once; a few minutes)"
	mkdir -p "$(dirname "$RCLONE")"
	GOBIN="$(dirname "$RCLONE")" go install "github.com/rclone/rclone@$RCLONE_VERSION" >"$WORK/rclone-build.log" 2>&1 || {
		tail -n 5 "$WORK/rclone-build.log" >&2
		return 1
	}
}
find_rclone || FAILED[rclone]="has no serve ftp and could not be built"

# ---------------------------------------------------------------------------------------------
# versitygw, the bucket and its objects
# ---------------------------------------------------------------------------------------------

# free_port sets FREE_PORT to a free loopback port below the ephemeral range, so that the
# clients' own ports never take one, and above the ports it gave before.
NEXT_PORT=$(($(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range) - 10000 - RANDOM % 2000))
FREE_PORT=""
free_port() {
	while ! port_free "$NEXT_PORT"; do
		NEXT_PORT=$((NEXT_PORT + 1))
	done
	FREE_PORT=$NEXT_PORT
	NEXT_PORT=$((NEXT_PORT + 1))
}

# PASV_SPAN passive ports for each FTP server: rclone opens a listener per transfer, and a
# download leaves its port in TIME_WAIT.
PASV_SPAN=3000
declare -A PORT=() PID_OF=() PASV=()
reserve() {
	free_port
	PORT[$1]=$FREE_PORT
	PASV[$1]="$NEXT_PORT-$((NEXT_PORT + PASV_SPAN - 1))"
	NEXT_PORT=$((NEXT_PORT + PASV_SPAN))
}

GW_ROOT="$DATA/gw"
mkdir -p "$GW_ROOT"
free_port
GW_PORT=$FREE_PORT
ENDPOINT="http://$HOST:$GW_PORT"
log "== starting versitygw (posix on $(stat -f -c %T "$DATA")) at $ENDPOINT"
versitygw --access "$AWS_ACCESS_KEY_ID" --secret "$AWS_SECRET_ACCESS_KEY" --port "$HOST:$GW_PORT" --quiet \
	posix "$GW_ROOT" >"$WORK/versitygw.log" 2>&1 &
start_pid $!
PID_OF[versitygw]=$!

# sdk runs bench/s3ceiling on the bucket with time limit $1 and the rest of the arguments.
sdk() {
	local limit=$1
	shift
	timeout "$limit" "$WORK/s3ceiling" -endpoint "$ENDPOINT" -bucket "$BUCKET" "$@"
}

for _ in $(seq 100); do
	kill -0 "${PID_OF[versitygw]}" 2>/dev/null || {
		sed 's/^/     /' "$WORK/versitygw.log" >&2
		die "versitygw exited at start"
	}
	sdk 5 -create-bucket -mode put-small -key 'ready/%d' -size 1 >/dev/null 2>&1 && break
	sleep 0.1
done
sdk 5 -mode put-small -key 'ready/%d' -size 1 >/dev/null || die "versitygw did not answer within 10 s"

log "== the objects: a $SIZE_MIB MiB file, $SMALL_FILES files of 4 KiB, $LIST_ENTRIES empty objects to list"
sdk "$BIG_TIMEOUT" -mode put -key big.bin -size "$SIZE" >/dev/null || die "uploading big.bin failed"
sdk "$SMALL_TIMEOUT" -mode put-small -key 'small/%04d.bin' -count "$SMALL_FILES" -size "$SMALL_SIZE" \
	-conns "$CONNS" >/dev/null || die "uploading the small files failed"
sdk "$SMALL_TIMEOUT" -mode put-small -key 'list/entry-%05d.txt' -count "$LIST_ENTRIES" -size 0 \
	-conns "$CONNS" >/dev/null || die "creating the listed objects failed"

# ---------------------------------------------------------------------------------------------
# The FTP servers
# ---------------------------------------------------------------------------------------------

# load runs ftpload against server $1 with time limit $2 and the rest of the arguments.
load() {
	local server=$1 limit=$2
	shift 2
	timeout "$limit" "$WORK/ftpload" -addr "$HOST:${PORT[$server]}" -user test -pass test "$@"
}

# start_ftpkit starts the bundled server on the bucket, with more flags in its arguments.
read -r -a FTPKIT_ARGV <<<"$FTPKIT_ARGS"
start_ftpkit() {
	reserve ftpkit
	"$WORK/ftpserver" -s3-bucket "$BUCKET" -s3-endpoint "$ENDPOINT" -listen "$HOST:${PORT[ftpkit]}" \
		-pasv-ports "${PASV[ftpkit]}" -user test -pass test -no-transfer-log -idle-timeout 120 \
		-max-clients 0 -max-clients-per-ip 0 "${FTPKIT_ARGV[@]}" "$@" >"$WORK/ftpkit.log" 2>&1 &
	start_pid $!
	PID_OF[ftpkit]=$!
	wait_ready ftpkit "$!" 20
}

# start_rclone starts rclone's FTP server on the bucket as server $1 (rclone, or rclone_list for
# the LIST scenario), with more flags in the rest of its arguments: an S3 remote set by its
# environment variables (path-style, the gateway's endpoint and credentials), no VFS cache (its
# default).
start_rclone() {
	local name=$1
	shift
	reserve "$name"
	: >"$WORK/rclone.conf"
	RCLONE_CONFIG="$WORK/rclone.conf" RCLONE_S3_PROVIDER=Other RCLONE_S3_ENDPOINT="$ENDPOINT" \
		RCLONE_S3_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" RCLONE_S3_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
		RCLONE_S3_REGION="$AWS_REGION" RCLONE_S3_FORCE_PATH_STYLE=true \
		"$RCLONE" serve ftp ":s3:$BUCKET" --addr "$HOST:${PORT[$name]}" --passive-port "${PASV[$name]}" \
		--user test --pass test "$@" >"$WORK/$name.log" 2>&1 &
	start_pid $!
	PID_OF[$name]=$!
	wait_ready "$name" "$!" 20
}

# The upload directories exist before the uploads, as they would on a real server.
mkdir_ftp() {
	curl -sS --max-time 20 -u test:test "ftp://$HOST:${PORT[$1]}/" -Q "MKD $2" -o /dev/null
}

log "== starting the FTP servers"
start_ftpkit || die "ftpkit's server did not start; nothing to compare"
VERSION_FTPKIT="$(git log -1 --format=%h 2>/dev/null || echo '?') (working tree)"
# rclone keeps a directory's listing for 5 minutes by default, which serves its transfers; its
# LIST, measured on a second instance without that cache, asks S3 every time, as ftpkit's does,
# and shows S3's LastModified, as ftpkit's does (by default rclone reads each object's time from
# its metadata, one HEAD per object: 33 s for 10,000 objects on a loaded machine).
if [ -z "${FAILED[rclone]:-}" ]; then
	start_rclone rclone || FAILED[rclone]="did not start"
fi
if [ -z "${FAILED[rclone]:-}" ] && selected list; then
	start_rclone rclone_list --dir-cache-time 0s --use-server-modtime || FAILED[rclone]="did not start"
fi
for server in ftpkit rclone; do
	[ -z "${FAILED[$server]:-}" ] || continue
	mkdir_ftp "$server" "up-$server" || {
		log "   $server: MKD up-$server failed"
		FAILED[$server]="could not create its upload directory"
	}
done

# ---------------------------------------------------------------------------------------------
# Measurements: one number each, from bench/ftpload or bench/s3ceiling
# ---------------------------------------------------------------------------------------------

# clear_uploads removes what column $1 uploaded, straight from versitygw's directory, so that
# every run uploads new objects.
clear_uploads() {
	rm -f "$GW_ROOT/$BUCKET/stor-$1.bin"
	[ ! -d "$GW_ROOT/$BUCKET/up-$1" ] || find "$GW_ROOT/$BUCKET/up-$1" -mindepth 1 -type f -delete
}

# measure prints the figure of scenario $1 for column $2.
measure() {
	local id=$1 column=$2 small=(-count "$SMALL_FILES" -size "$SMALL_SIZE" -conns "$CONNS")
	case "$column:$id" in
	sdk:retr) sdk "$BIG_TIMEOUT" -mode get -key big.bin -size "$SIZE" ;;
	sdk:retr_parts) sdk "$BIG_TIMEOUT" -mode get-parts -key big.bin -size "$SIZE" ;;
	sdk:stor) sdk "$BIG_TIMEOUT" -mode put -key stor-sdk.bin -size "$SIZE" ;;
	sdk:small16) sdk "$SMALL_TIMEOUT" -mode get-small -key 'small/%04d.bin' "${small[@]}" ;;
	sdk:stor16) sdk "$SMALL_TIMEOUT" -mode put-small -key 'up-sdk/%04d.bin' "${small[@]}" ;;
	sdk:list) sdk "$SMALL_TIMEOUT" -mode list -key list -count "$LIST_RUNS" -size "$LIST_ENTRIES" ;;
	*:retr) load "$column" "$BIG_TIMEOUT" -scenario retr -path big.bin -size "$SIZE" ;;
	*:stor) load "$column" "$BIG_TIMEOUT" -scenario stor -path "stor-$column.bin" -size "$SIZE" ;;
	*:small16) load "$column" "$SMALL_TIMEOUT" -scenario small -path 'small/%04d.bin' "${small[@]}" ;;
	*:stor16) load "$column" "$SMALL_TIMEOUT" -scenario smallstor -path "up-$column/%04d.bin" "${small[@]}" ;;
	rclone:list) load rclone_list "$SMALL_TIMEOUT" -scenario list -path list -count "$LIST_RUNS" -size "$LIST_ENTRIES" ;;
	*:list) load "$column" "$SMALL_TIMEOUT" -scenario list -path list -count "$LIST_RUNS" -size "$LIST_ENTRIES" ;;
	esac
}

# cpu_ticks prints the CPU time (user + system, in clock ticks) of process $1 so far, all its
# threads included.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# child_ticks sets CHILD_TICKS to the CPU time of this shell's waited-for children so far (the
# clients), read without a subshell of its own.
CHILD_TICKS=0
child_ticks() {
	local stat
	read -r -a stat <"/proc/$BASHPID/stat"
	CHILD_TICKS=$((stat[15] + stat[16]))
}

TICK=$(calc "1 / $(getconf CLK_TCK)")

# measure_cpu runs measure $1 $2 and prints its figure, then the CPU seconds of the FTP server
# (or of the SDK client), of versitygw and of the client (ftpload) during the run.
measure_cpu() {
	local id=$1 column=$2 server_pid gw0 srv0 cli0 value
	server_pid=${PID_OF[$column]:-}
	[ "$column:$id" != rclone:list ] || server_pid=${PID_OF[rclone_list]}
	gw0=$(cpu_ticks "${PID_OF[versitygw]}")
	srv0=0
	[ -z "$server_pid" ] || srv0=$(cpu_ticks "$server_pid")
	child_ticks
	cli0=$CHILD_TICKS
	value=$(measure "$id" "$column") || return 1
	child_ticks
	local gw=$(($(cpu_ticks "${PID_OF[versitygw]}") - gw0)) cli=$((CHILD_TICKS - cli0)) srv
	if [ -n "$server_pid" ]; then
		srv=$(($(cpu_ticks "$server_pid") - srv0))
	else
		srv=$cli cli=0 # the SDK column: its client is the one moving the bytes
	fi
	echo "$value $(calc "$srv * $TICK") $(calc "$gw * $TICK") $(calc "$cli * $TICK")"
}

declare -A RESULT=() RANGE=() CPU=()
STATUS=0

# columns_of prints the columns of scenario $1 that can run; retr has a second SDK column.
columns_of() {
	local column
	for column in "${COLUMNS_[@]}"; do
		[ -z "${FAILED[$column]:-}" ] && echo "$column"
	done
	[ "$1" != retr ] || echo sdk_parts
}

for scenario in "${SCENARIOS[@]}"; do
	IFS='|' read -r id label _ _ <<<"$scenario"
	selected "$id" || continue
	log "== $label ($REPS runs each, interleaved)"
	declare -A values=() cpus=()
	mapfile -t columns < <(columns_of "$id")
	for rep in $(seq "$REPS"); do
		# The order turns each run, so that no column always comes first.
		for k in $(seq 0 $((${#columns[@]} - 1))); do
			column=${columns[$(((k + rep) % ${#columns[@]}))]}
			run_id=$id run_column=$column
			[ "$column" != sdk_parts ] || run_id=retr_parts run_column=sdk
			[ "$id" != stor ] && [ "$id" != stor16 ] || clear_uploads "$run_column"
			if out=$(measure_cpu "$run_id" "$run_column"); then
				values[$column]+="${out%% *} "
				cpus[$column]+="${out#* }|"
				log "   run $rep: $column ${out%% *} (CPU s: server/SDK, versitygw, client: ${out#* })"
			else
				values[$column]+="fail "
				log "   run $rep: $column FAILED"
			fi
		done
	done
	for column in "${columns[@]}"; do
		if [[ " ${values[$column]}" == *" fail "* ]]; then
			RESULT[$id,$column]=n/a
			STATUS=1
			continue
		fi
		# shellcheck disable=SC2086 # numbers separated by spaces
		RESULT[$id,$column]=$(median ${values[$column]})
		# shellcheck disable=SC2086
		RANGE[$id,$column]=$(spread ${values[$column]})
		for field in 1 2 3; do
			# shellcheck disable=SC2046
			CPU[$id,$column,$field]=$(median $(tr '|' '\n' <<<"${cpus[$column]}" | awk -v f="$field" 'NF { print $f }'))
		done
	done
	unset values cpus
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------
# Profiles (PROFILE=1), after the measurements
# ---------------------------------------------------------------------------------------------

if [ -n "${PROFILE:-}" ]; then
	PROFILE_DIR=${PROFILE_DIR:-bench/profile-s3}
	mkdir -p "$PROFILE_DIR"
	PROFILE_DIR=$(cd "$PROFILE_DIR" && pwd)
	summary="$PROFILE_DIR/summary.md"
	echo "# Profiles of ftpkit over S3, $(git log -1 --format=%h 2>/dev/null || echo '?'), $(date -u '+%Y-%m-%d %H:%M UTC')" >"$summary"
	main_port=${PORT[ftpkit]} main_pid=${PID_OF[ftpkit]}
	for scenario in "${SCENARIOS[@]}"; do
		IFS='|' read -r id label _ _ <<<"$scenario"
		selected "$id" || continue
		log "== profile: $label"
		# The upload directory exists already, made through the first instance.
		if ! start_ftpkit -cpuprofile "$PROFILE_DIR/ftpkit-$id.pprof"; then
			log "   ftpkit did not start with -cpuprofile"
			continue
		fi
		for rep in $(seq "$REPS"); do
			clear_uploads ftpkit
			measure "$id" ftpkit >/dev/null || log "   run $rep under the profiler FAILED"
		done
		stop_pid "${PID_OF[ftpkit]}"
		forget_pid "${PID_OF[ftpkit]}"
		go tool pprof -top -cum -nodecount=40 "$WORK/ftpserver" "$PROFILE_DIR/ftpkit-$id.pprof" \
			>"$PROFILE_DIR/ftpkit-$id.cum.txt" 2>/dev/null || log "   go tool pprof failed"
		{
			echo
			echo "## $label ($id)"
			echo
			echo "Go CPU profile of ftpkit over $REPS runs (\`go tool pprof -top -cum\`):"
			echo
			echo '```'
			sed -n '1,46p' "$PROFILE_DIR/ftpkit-$id.cum.txt"
			echo '```'
		} >>"$summary"
	done
	PORT[ftpkit]=$main_port PID_OF[ftpkit]=$main_pid
	log "== profiles in $PROFILE_DIR (summary.md)"
fi

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

# best_sdk prints the SDK's best figure for scenario $1: for retr, the better of one GET and
# the ranged GETs.
best_sdk() {
	local one=${RESULT[$1,sdk]:-n/a} parts=${RESULT[$1,sdk_parts]:-n/a}
	if [ "$parts" = n/a ] || { [ "$one" != n/a ] && awk -v a="$one" -v b="$parts" 'BEGIN { exit !(a >= b) }'; }; then
		echo "$one"
	else
		echo "$parts"
	fi
}

# cpu_of prints CPU seconds $1 with two decimals, or n/a.
cpu_of() { if [ -z "$1" ]; then echo n/a; else calc "sprintf(\"%.2f\", $1)"; fi; }

CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
GW_VERSION=$(go version -m "$(command -v versitygw)" 2>/dev/null | awk '$1 == "mod" { print $3; exit }')
RCLONE_VERSION_RUN=n/a
[ -n "${FAILED[rclone]:-}" ] || RCLONE_VERSION_RUN=$("$RCLONE" version 2>/dev/null | awk 'NR == 1 { print $2 }')

cat <<EOF
- Machine: $(nproc) cores, ${CPU_MODEL:-unknown CPU}, Linux $(uname -r), $(go version | awk '{ print $3 }'),
  versitygw ${GW_VERSION:-?} (posix back-end on $(stat -f -c %T "$DATA"), plain HTTP on loopback)
- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average $LOAD_START at the start, $LOAD_END at the end
- Servers: ftpkit $VERSION_FTPKIT over s3fs, rclone $RCLONE_VERSION_RUN (\`rclone serve ftp\`); the
  SDK column is bench/s3ceiling (aws-sdk-go-v2, the client of s3fs.NewClient)
- Command: \`REPS=$REPS SIZE_MIB=$SIZE_MIB SMALL_FILES=$SMALL_FILES LIST_ENTRIES=$LIST_ENTRIES${ONLY:+ ONLY=$ONLY}${FTPKIT_ARGS:+ FTPKIT_ARGS='$FTPKIT_ARGS'} bash bench/s3compare.sh\`
- Each cell: the median of $REPS interleaved runs, then (min–max); ratios above 1 mean ftpkit is
  faster.

| Scenario | ftpkit | rclone | SDK (ceiling) | ftpkit/SDK | ftpkit/rclone |
| --- | --- | --- | --- | --- | --- |
EOF
for scenario in "${SCENARIOS[@]}"; do
	IFS='|' read -r id label unit higher <<<"$scenario"
	selected "$id" || continue
	sdk_best=$(best_sdk "$id")
	sdk_column=sdk
	[ "$sdk_best" = "${RESULT[$id,sdk]:-n/a}" ] || sdk_column=sdk_parts
	echo "| $label | $(cell "${RESULT[$id,ftpkit]:-n/a}" "$unit" "${RANGE[$id,ftpkit]:-}")" \
		"| $(cell "${RESULT[$id,rclone]:-n/a}" "$unit" "${RANGE[$id,rclone]:-}")" \
		"| $(cell "$sdk_best" "$unit" "${RANGE[$id,$sdk_column]:-}")" \
		"| $(ratio "${RESULT[$id,ftpkit]:-n/a}" "$sdk_best" "$higher")" \
		"| $(ratio "${RESULT[$id,ftpkit]:-n/a}" "${RESULT[$id,rclone]:-n/a}" "$higher") |"
done

if selected retr; then
	cat <<EOF

The SDK's RETR figure is the better of one streamed GetObject, $(cell "${RESULT[retr,sdk]:-n/a}" MB/s "${RANGE[retr,sdk]:-}"),
and the transfer manager's ranged GETs (8 MiB parts, 2 at once, s3fs's upload defaults),
$(cell "${RESULT[retr,sdk_parts]:-n/a}" MB/s "${RANGE[retr,sdk_parts]:-}"). ftpkit reads a file with one streamed GET.
EOF
fi

cat <<EOF

CPU seconds per run (medians) of the process between the client and S3 (the FTP server, or the
SDK's own client for the SDK column), then of versitygw in the same runs:

| Scenario | ftpkit | rclone | SDK | versitygw under ftpkit | under rclone | under the SDK |
| --- | --- | --- | --- | --- | --- | --- |
EOF
for scenario in "${SCENARIOS[@]}"; do
	IFS='|' read -r id label _ _ <<<"$scenario"
	selected "$id" || continue
	echo "| $label | $(cpu_of "${CPU[$id,ftpkit,1]:-}") | $(cpu_of "${CPU[$id,rclone,1]:-}") | $(cpu_of "${CPU[$id,sdk,1]:-}")" \
		"| $(cpu_of "${CPU[$id,ftpkit,2]:-}") | $(cpu_of "${CPU[$id,rclone,2]:-}") | $(cpu_of "${CPU[$id,sdk,2]:-}") |"
done

for column in "${!FAILED[@]}"; do
	log "$LOG_NAME: $column ${FAILED[$column]}; its column shows n/a"
	STATUS=1
done
[ "$STATUS" -eq 0 ] || log "$LOG_NAME: some measurements failed (n/a in the table)"
exit "$STATUS"
