# Helpers shared by the benchmark scripts (bench/compare.sh, bench/s3compare.sh), which source
# this file. It defines functions only; they read the scripts' own variables and functions:
# LOG_NAME (the script's name in messages), HOST, REPS, ONLY, WORK and load.

# log prints a progress line on stderr, after the seconds since the start.
log() { printf '[%4ds] %s\n' "$SECONDS" "$*" >&2; }
die() {
	log "${LOG_NAME:-bench}: $*"
	exit 1
}

# selected tells whether scenario $1 is in ONLY (all are when ONLY is empty).
selected() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }

# ---------------------------------------------------------------------------------------------
# Processes: every one a script starts is recorded, and stopped by its PID at the end
# ---------------------------------------------------------------------------------------------

declare -a STARTED_PIDS=()

# start_pid records process $1, just started in the background, for stop_started.
start_pid() { STARTED_PIDS+=("$1"); }

# stop_started stops every process recorded by start_pid that is still running.
stop_started() {
	local pid
	for pid in "${STARTED_PIDS[@]}"; do
		stop_pid "$pid"
	done
}

# stop_pid ends one process the script started: SIGTERM, then SIGKILL after 5 seconds. The
# session processes it forked are ended first, by their own PIDs.
stop_pid() {
	local pid=$1 child
	kill -0 "$pid" 2>/dev/null || return 0
	for child in $(ps -o pid= --ppid "$pid" 2>/dev/null || true); do
		kill -TERM "$child" 2>/dev/null || true
	done
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# forget_pid removes process $1, stopped already, from STARTED_PIDS, so that the cleanup never
# signals another process that gets its number later.
forget_pid() {
	local pid kept=()
	for pid in "${STARTED_PIDS[@]}"; do
		[ "$pid" = "$1" ] || kept+=("$pid")
	done
	STARTED_PIDS=("${kept[@]}")
}

# wait_ready waits up to $3 seconds (10) for server $1, process $2, to accept a login, tried
# with the script's load function; if it does not, it shows the server's output, WORK/$1.log.
wait_ready() {
	local server=$1 pid=$2 seconds=${3:-10}
	for _ in $(seq $((seconds * 10))); do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "   $server exited at start; its output:"
			sed 's/^/     /' "$WORK/$server.log" >&2
			return 1
		fi
		load "$server" 2 -scenario logins -count 1 >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	log "   $server did not accept a login within $seconds s; its output:"
	sed 's/^/     /' "$WORK/$server.log" >&2
	return 1
}

# port_free tells whether nothing listens on HOST:$1.
port_free() { ! (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------

# median prints the median of its arguments (the lower middle one for an even count).
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# spread prints the smallest and the largest of its arguments, as "min–max".
spread() {
	printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "–" hi }'
}

# calc evaluates an awk expression.
calc() { awk "BEGIN { printf \"%s\", $1 }"; }

# group formats a number with a thousands separator and the given decimals.
group() {
	[ "$1" = n/a ] && {
		echo n/a
		return
	}
	awk -v n="$1" -v d="${2:-0}" 'BEGIN {
		s = sprintf("%." d "f", n); frac = ""
		if (index(s, ".")) { frac = substr(s, index(s, ".")); s = substr(s, 1, index(s, ".") - 1) }
		out = ""
		while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
		print s out frac
	}'
}

# cell formats a result for the table, with the range of the runs ("min–max") if given.
cell() {
	local value=$1 unit=$2 range=${3:-} decimals=0
	[ "$value" = n/a ] && {
		echo n/a
		return
	}
	[ "$unit" = ms ] && decimals=1
	if [ -n "$range" ] && [ "$REPS" -gt 1 ]; then
		echo "$(group "$value" "$decimals") $unit ($(group "${range%%–*}" "$decimals")–$(group "${range##*–}" "$decimals"))"
	else
		echo "$(group "$value" "$decimals") $unit"
	fi
}

# ratio prints how many times faster ftpkit's figure $1 is than a peer's $2 (>1: ftpkit is
# faster); $3 is 1 when a higher figure is better, 0 when a lower one is.
ratio() {
	local ours=$1 theirs=$2 higher=$3
	if [ "$ours" = n/a ] || [ "$theirs" = n/a ]; then
		echo n/a
	elif [ "$higher" = 1 ]; then
		echo "$(calc "sprintf(\"%.2f\", $ours / $theirs)")×"
	else
		echo "$(calc "sprintf(\"%.2f\", $theirs / $ours)")×"
	fi
}
