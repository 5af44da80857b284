# demo-lib.sh: what docs/deploy-check.sh and docs/fleet-demo.sh share, sourced by both after
# they set SCRIPT_NAME: steps and failures, a work directory removed at exit, the processes
# they start (listed in pids) stopped by PID whatever happened, and waits for a port or a
# condition. On a failure the tail of every log of the work directory is printed.

step() { printf '== %s\n' "$*"; }
fail() {
	printf '%s: FAILED: %s\n' "$SCRIPT_NAME" "$*" >&2
	exit 1
}

work="$(mktemp -d "${TMPDIR:-/tmp}/ftpkit-$SCRIPT_NAME.XXXXXX")"
pids=()

cleanup() {
	local status=$?
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ "$status" -ne 0 ]; then
		echo "$SCRIPT_NAME: failed (exit $status)" >&2
		for log in "$work"/*.log; do
			[ -f "$log" ] || continue
			printf -- '---- %s\n' "$(basename "$log")" >&2
			# Without the lines of HAProxy's health checks.
			grep -v -e 'code=220 msg=' -e 'event=read_failed' -e 'reason=client_gone' "$log" | tail -n 40 >&2
		done
	fi
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# listening PORT IP: whether something listens on IP:PORT, from /proc (no connection made, so
# the round-robin order is left alone).
listening() {
	local port hex octets
	port="$(printf '%04X' "$1")"
	IFS=. read -r -a octets <<<"$2"
	# /proc/net/tcp writes an IPv4 address as a little-endian 32-bit hex number.
	hex="$(printf '%02X%02X%02X%02X' "${octets[3]}" "${octets[2]}" "${octets[1]}" "${octets[0]}")"
	awk -v want="$hex:$port" '$2 == want && $4 == "0A" { found = 1 } END { exit !found }' /proc/net/tcp
}

# wait_for DESCRIPTION COMMAND...: runs COMMAND until it succeeds, 20 seconds at most.
wait_for() {
	local what="$1"
	shift
	for _ in $(seq 200); do
		if "$@"; then
			return 0
		fi
		sleep 0.1
	done
	fail "timed out waiting for $what"
}

# haproxy_head PUBLIC_IP CONTROL_PORT [DEFAULTS]: the start of both set-ups' haproxy.cfg: TCP
# mode with a log line per connection on stdout, the lines DEFAULTS added to the defaults, and
# the control port on PUBLIC_IP balanced round-robin with health checks; the script adds a
# server line per instance, then its passive ports.
haproxy_head() {
	cat <<HAPROXY
global
    log stdout format raw local0 info
    maxconn 2000

defaults
    mode tcp
    log global
    option tcplog
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    # A check may wait this long for the welcome, so that a loaded machine does not take a
    # slow instance down; the connection itself still must succeed within inter, and a node
    # that died refuses it at once.
    timeout check 5s
${3:+$3
}    # The instances trust PROXY headers from this address only.
    source $1

frontend ftp_control
    bind $1:$2
    default_backend ftp_control

backend ftp_control
    balance roundrobin
    # Health check: connect with a PROXY header, expect the FTP welcome.
    option tcp-check
    tcp-check expect string 220
HAPROXY
}

# start_haproxy PUBLIC_IP CONTROL_PORT: checks $work/haproxy.cfg, starts HAProxy with it (its
# log in $work/haproxy.log) and waits until it listens on the control port.
start_haproxy() {
	haproxy -c -q -f "$work/haproxy.cfg" || fail "haproxy refused the configuration"
	haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
	pids+=($!)
	wait_for "haproxy to listen" listening "$2" "$1"
}
