#!/usr/bin/env bash
# fleet-demo.sh: runs the fleet of docs/fleet.md on this machine, on loopback only, and checks
# that it survives the death of a node: three bundled-server nodes behind HAProxy (PROXY
# protocol v2 on control and passive ports), one S3 bucket (versitygw), one Redis for the bans.
# An address that fails to log in through one node is refused by all of them. Then a client
# uploads a large random file and the node receiving it is killed with SIGKILL in the middle;
# the client resumes through HAProxy on another node (curl -C -: SIZE, then APPE). It downloads
# the file, and the node serving the download is killed in the middle too; the client resumes
# on the last node (REST + RETR), and the result must have the original's sha256. Each node's
# metrics must show what it did.
#
#   docs/fleet-demo.sh                      # builds cmd/ftpserver; needs haproxy, redis-server,
#                                           # versitygw (go install), curl, python3
#   SIZE_MIB=64 docs/fleet-demo.sh          # a smaller file (default 256 MiB, at least 64)
#   FTPSERVER_BIN=/path/to/ftpserver VERSITYGW=/path/to/versitygw docs/fleet-demo.sh
#   KEEP=1 docs/fleet-demo.sh               # leave the fleet running until Ctrl-C, to look around
#
# Addresses: HAProxy stands for the public address at 127.0.0.1, the nodes listen on 127.0.0.11
# to 127.0.0.13, the client is 127.0.0.15 and a password guesser 127.0.0.16 (Linux routes all
# of 127.0.0.0/8 to loopback). Every process it starts is stopped by PID when it exits, whatever
# happened; the node it kills is killed by PID too.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SIZE_MIB="${SIZE_MIB:-256}"
# The download is slowed to this rate (bytes per second, curl's --limit-rate) until the kill,
# so that the kill finds it in the middle.
KILL_RATE="${KILL_RATE:-40M}"
PUBLIC_IP=127.0.0.1
NODE_IPS=(127.0.0.11 127.0.0.12 127.0.0.13)
CLIENT_IP=127.0.0.15
GUESSER_IP=127.0.0.16
PASV_PORTS_PER_NODE=4
S3_KEY=fleet-demo
S3_SECRET=fleet-demo-secret
S3_REGION=us-east-1
BUCKET=fleet
FILE=fleet.bin

SCRIPT_NAME=fleet-demo
# shellcheck source=docs/demo-lib.sh
source docs/demo-lib.sh

# metric URL NAME{LABELS}: the value of one sample of a node's metrics, as an integer; 0 when
# the sample is absent.
metric() {
	curl --silent --show-error --max-time 10 "$1" |
		awk -v name="$2" '$1 == name { printf "%d\n", $2 + 0; found = 1 } END { if (!found) print 0 }'
}

# size FILE: its size in bytes, 0 when missing.
size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# reached FILE BYTES: whether FILE holds BYTES bytes or more.
reached() { [ "$(size "$1")" -ge "$2" ]; }

# node_with LINE: the number of the node whose log has LINE, or nothing.
node_with() {
	local n
	for n in "${!NODE_IPS[@]}"; do
		if grep -qF "$1" "$work/ftp$n.log"; then
			echo "$n"
			return 0
		fi
	done
}

# Below this, what is in flight in socket and HAProxy buffers (several MiB on loopback) can
# finish a transfer after its node is killed.
[ "$SIZE_MIB" -ge 64 ] || fail "SIZE_MIB must be 64 or more, not $SIZE_MIB"

step "tools"
for tool in haproxy redis-server curl python3; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool is needed (apt-get install -y $tool)"
done
if [ -z "${VERSITYGW:-}" ]; then
	VERSITYGW="$(command -v versitygw || true)"
	[ -n "$VERSITYGW" ] || VERSITYGW="$(go env GOPATH)/bin/versitygw"
fi
[ -x "$VERSITYGW" ] || fail "versitygw is needed (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)"
haproxy -v | sed -n 1p
redis-server --version

if [ -z "${FTPSERVER_BIN:-}" ]; then
	FTPSERVER_BIN="$work/ftpserver"
	go build -o "$FTPSERVER_BIN" ./cmd/ftpserver
fi

# Ports below Linux's ephemeral range (32768 and up), so no client takes them meanwhile: the
# public control port, a control port per node through HAProxy (to reach one node on purpose),
# each node's passive range, then Redis and the S3 gateway.
base=$((20000 + RANDOM % 10000))
control_port=$base
pinned_port=() pasv_first=() pasv_last=()
for n in "${!NODE_IPS[@]}"; do
	pinned_port[n]=$((base + 1 + n))
	pasv_first[n]=$((base + 10 + n * PASV_PORTS_PER_NODE))
	pasv_last[n]=$((pasv_first[n] + PASV_PORTS_PER_NODE - 1))
done
redis_port=$((base + 30))
s3_port=$((base + 31))

step "redis (the fleet's bans)"
redis-server --port "$redis_port" --bind "$PUBLIC_IP" --save '' --appendonly no \
	>"$work/redis.log" 2>&1 &
pids+=($!)
wait_for "redis-server" listening "$redis_port" "$PUBLIC_IP"
ban_store="redis://$PUBLIC_IP:$redis_port/0"
echo "ban store: $ban_store"

step "versitygw (the fleet's bucket)"
mkdir -p "$work/s3"
"$VERSITYGW" --access "$S3_KEY" --secret "$S3_SECRET" --port "$PUBLIC_IP:$s3_port" --quiet \
	posix "$work/s3" >"$work/versitygw.log" 2>&1 &
pids+=($!)
wait_for "versitygw" listening "$s3_port" "$PUBLIC_IP"
s3_endpoint="http://$PUBLIC_IP:$s3_port"
curl --silent --show-error --fail --max-time 10 -X PUT --aws-sigv4 "aws:amz:$S3_REGION:s3" \
	--user "$S3_KEY:$S3_SECRET" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$s3_endpoint/$BUCKET" >/dev/null || fail "creating bucket $BUCKET"
echo "bucket: $BUCKET at $s3_endpoint"

step "ftpserver nodes"
node_pid=() node_addr=() node_metrics=()
for n in "${!NODE_IPS[@]}"; do
	AWS_ACCESS_KEY_ID="$S3_KEY" AWS_SECRET_ACCESS_KEY="$S3_SECRET" AWS_REGION="$S3_REGION" \
		"$FTPSERVER_BIN" -listen "${NODE_IPS[n]}:0" \
		-s3-endpoint "$s3_endpoint" -s3-bucket "$BUCKET" -s3-region "$S3_REGION" \
		-pasv-ports "${pasv_first[n]}-${pasv_last[n]}" -public-host "$PUBLIC_IP" \
		-proxy-protocol -proxy-allowed "$PUBLIC_IP" \
		-ban-store "$ban_store" -ban-exempt "" -max-login-failures 3 -login-failure-delay 10ms \
		-metrics "${NODE_IPS[n]}:0" -debug \
		>"$work/ftp$n.out" 2>"$work/ftp$n.log" &
	node_pid[n]=$!
	pids+=($!)
	wait_for "node $n to start" grep -q '^metrics on ' "$work/ftp$n.out"
	node_addr[n]="$(sed -n 's/^listening on \([^ ]*\).*/\1/p' "$work/ftp$n.out" | sed -n 1p)"
	node_metrics[n]="$(sed -n 's/^metrics on //p' "$work/ftp$n.out")"
	echo "ftp$n: control ${node_addr[n]}, passive ${NODE_IPS[n]}:${pasv_first[n]}-${pasv_last[n]}," \
		"metrics ${node_metrics[n]}"
done

step "haproxy"
{
	# A node that refuses the connection (it died) is left for another at once.
	haproxy_head "$PUBLIC_IP" "$control_port" "    retries 2
    option redispatch 1"
	for n in "${!NODE_IPS[@]}"; do
		echo "    server ftp$n ${node_addr[n]} send-proxy-v2 check check-send-proxy inter 200ms fall 2 rise 2"
	done
	for n in "${!NODE_IPS[@]}"; do
		cat <<EOF

# ftp$n alone, for the ban check: the same PROXY header, no balancing.
frontend ftp${n}_pinned
    bind $PUBLIC_IP:${pinned_port[n]}
    default_backend ftp${n}_pinned

backend ftp${n}_pinned
    server ftp$n ${node_addr[n]} send-proxy-v2

# Passive ports of ftp$n: forwarded to the same port, each connection with its own header.
frontend ftp${n}_passive
    bind $PUBLIC_IP:${pasv_first[n]}-${pasv_last[n]}
    default_backend ftp${n}_passive

backend ftp${n}_passive
    server ftp$n ${NODE_IPS[n]} send-proxy-v2
EOF
	done
} >"$work/haproxy.cfg"

start_haproxy "$PUBLIC_IP" "$control_port"
for n in "${!NODE_IPS[@]}"; do
	wait_for "haproxy to listen for ftp$n" listening "${pasv_last[n]}" "$PUBLIC_IP"
	wait_for "haproxy's health check of ftp$n" grep -q 'code=220' "$work/ftp$n.log"
done
echo "haproxy: control $PUBLIC_IP:$control_port"

url="ftp://test:test@$PUBLIC_IP:$control_port/$FILE"
client=(curl --silent --show-error --max-time 300 --interface "$CLIENT_IP")
size_bytes=$((SIZE_MIB * 1024 * 1024))
dead=()

# kill_node N: kills node N with SIGKILL, by PID, and waits until HAProxy has taken it out.
kill_node() {
	kill -KILL "${node_pid[$1]}"
	wait "${node_pid[$1]}" 2>/dev/null || true
	dead+=("$1")
	wait_for "haproxy to take ftp$1 out" grep -q "ftp$1 is DOWN" "$work/haproxy.log"
}

# bucket_bytes: the bytes the S3 gateway holds, parts of unfinished uploads included.
bucket_bytes() { du -sb "$work/s3" 2>/dev/null | cut -f 1; }

# stored_at_least BYTES: whether the gateway holds BYTES bytes or more.
stored_at_least() { [ "$(bucket_bytes)" -ge "$1" ]; }

# check_resumer N COMMAND DIRECTION TEST BYTES: node N's metrics count one COMMAND ended well,
# and bytes moved in DIRECTION that pass [ moved TEST BYTES ], BYTES being those after the cut.
check_resumer() {
	local count moved
	count="$(metric "${node_metrics[$1]}" "ftpserver_transfers_total{command=\"$2\",result=\"ok\"}")"
	moved="$(metric "${node_metrics[$1]}" "ftpserver_transfer_bytes_total{direction=\"$3\"}")"
	[ "$count" -eq 1 ] || fail "ftp$1 counted $count $2, not 1"
	[ "$moved" "$4" "$5" ] || fail "ftp$1 counted $moved bytes ($3), not $4 $5, the bytes after the cut"
	echo "ftp$1 metrics: $2 ok $count, $3 bytes $moved"
}

step "a ban through one node refuses the address on the others"
banner=0 other=1
# The guesser holds a connection to ftp$other, opened before the ban and not logged in yet,
# while curl guesses through ftp$banner; the held connection must be refused (421) at its next
# USER, or at the PASS after it when the ban's announcement is slower than the client. Python's
# ftplib, as curl cannot pause between commands.
python3 - "$GUESSER_IP" "$PUBLIC_IP" "${pinned_port[other]}" "${pinned_port[banner]}" <<'PY' ||
import ftplib, subprocess, sys
guesser, public, other_port, banner_port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
held = ftplib.FTP(timeout=30, source_address=(guesser, 0))
held.connect(public, other_port)
for _ in range(3):
    if subprocess.run(["curl", "--silent", "--max-time", "30", "--interface", guesser, "-o", "/dev/null",
                       f"ftp://test:guess@{public}:{banner_port}/"]).returncode == 0:
        sys.exit("a wrong password was accepted")
try:
    held.sendcmd("USER test")
    held.sendcmd("PASS test")
    sys.exit("the connection opened before the ban logged in")
except ftplib.error_temp as err:
    if not str(err).startswith("421 "):
        raise
    print("the connection held on the other node:", err)
PY
	fail "the ban did not reach the connection held on ftp$other"
grep -q 'msg="address banned for the fleet" addr='"$GUESSER_IP" "$work/ftp$banner.log" ||
	fail "ftp$banner did not ban $GUESSER_IP"
for n in "${!NODE_IPS[@]}"; do
	# curl fails, as it should: the reply is in its trace.
	reply="$( (curl --silent --verbose --max-time 30 --interface "$GUESSER_IP" -o /dev/null \
		"ftp://test:test@$PUBLIC_IP:${pinned_port[n]}/" 2>&1 || true) | sed -n 's/^< \(421 .*\)/\1/p' | head -n 1)"
	[ -n "$reply" ] || fail "ftp$n did not refuse the banned $GUESSER_IP"
	echo "ftp$n to $GUESSER_IP: $reply"
done
"${client[@]}" -o /dev/null "ftp://test:test@$PUBLIC_IP:${pinned_port[other]}/" ||
	fail "the client, not banned, was refused"
for n in "${!NODE_IPS[@]}"; do
	failures="$(metric "${node_metrics[n]}" 'ftpserver_logins_total{result="failure"}')"
	made="$(metric "${node_metrics[n]}" 'ftpserver_fleet_bans_total{origin="made"}')"
	learned="$(metric "${node_metrics[n]}" 'ftpserver_fleet_bans_total{origin="learned"}')"
	up="$(metric "${node_metrics[n]}" 'ftpserver_ban_store_up')"
	want="0 0 1 1" # failures, bans made, bans learned, store up
	[ "$n" != "$banner" ] || want="3 1 0 1"
	[ "$failures $made $learned $up" = "$want" ] ||
		fail "ftp$n counted failures, bans made, bans learned, store up: $failures $made $learned $up, not $want"
	echo "ftp$n metrics: failed logins $failures, bans made $made, learned $learned, store up $up"
done

step "upload $SIZE_MIB MiB, its node killed in the middle"
head -c "$size_bytes" /dev/urandom >"$work/original.bin"
original="$(sha256sum <"$work/original.bin" | cut -d ' ' -f 1)"
echo "sha256 $original"
"${client[@]}" --limit-rate "$KILL_RATE" -T "$work/original.bin" "$url" 2>"$work/curl-upload.log" &
upload_curl=$!
pids+=($!)
wait_for "a third of the upload in the bucket" stored_at_least "$((size_bytes / 3))"
victim="$(node_with "STOR $FILE")"
[ -n "$victim" ] || fail "no node logged the upload"
echo "killing ftp$victim (pid ${node_pid[victim]}) with $(bucket_bytes) bytes in the bucket"
kill_node "$victim"
if wait "$upload_curl"; then
	fail "the upload finished before the kill: lower KILL_RATE"
fi
echo "the client stopped: $(tail -n 1 "$work/curl-upload.log")"

# curl -C - asks SIZE, which an unfinished upload answers with the bytes its parts hold, and
# sends the rest with APPE.
"${client[@]}" -C - -T "$work/original.bin" "$url"
upload_resumed_by="$(node_with "APPE $FILE")"
[ -n "$upload_resumed_by" ] || fail "no node logged APPE $FILE"
# The reply to SIZE is the next line of the same client: HAProxy's health checks, sessions of
# their own, may log lines in between.
kept="$(awk -v size="line=\"SIZE $FILE\"" '
	index($0, size) { for (i = 1; i <= NF; i++) if ($i ~ /^client=/) client = $i " "; next }
	client != "" && index($0, client) && /code=213 msg=/ { sub(/.*code=213 msg=/, ""); sub(/[^0-9].*/, ""); kept = $0; client = "" }
	END { print kept }' "$work/ftp$upload_resumed_by.log")"
echo "resumed through ftp$upload_resumed_by from byte ${kept:-?} (SIZE)"
[ "${kept:-0}" -gt 0 ] || fail "the resumed upload started again from 0"
# Read now: the download may go to this node and kill it.
check_resumer "$upload_resumed_by" APPE upload -eq "$((size_bytes - kept))"

step "download, its node killed in the middle"
"${client[@]}" --limit-rate "$KILL_RATE" -o "$work/download.bin" "$url" 2>"$work/curl-download.log" &
download_curl=$!
pids+=($!)
wait_for "a third of the download" reached "$work/download.bin" "$((size_bytes / 3))"
victim="$(node_with "RETR $FILE")"
[ -n "$victim" ] || fail "no node logged the download"
echo "killing ftp$victim (pid ${node_pid[victim]}) at $(size "$work/download.bin") bytes"
kill_node "$victim"
if wait "$download_curl"; then
	fail "the download finished before the kill: lower KILL_RATE"
fi
cut_at="$(size "$work/download.bin")"
echo "the client stopped at $cut_at bytes: $(tail -n 1 "$work/curl-download.log")"

"${client[@]}" -C - -o "$work/download.bin" "$url"
resumed_by="$(node_with "REST $cut_at")"
[ -n "$resumed_by" ] || fail "no node logged REST $cut_at"
received="$(sha256sum <"$work/download.bin" | cut -d ' ' -f 1)"
echo "resumed through ftp$resumed_by from byte $cut_at"
echo "original $original"
echo "received $received"
[ "$original" = "$received" ] || fail "the file uploaded and downloaded through dying nodes differs from the original"

step "each node's metrics"
for n in "${dead[@]}"; do
	if curl --silent --max-time 5 -o /dev/null "${node_metrics[n]}"; then
		fail "the killed ftp$n still serves its metrics"
	fi
done
echo "killed: ftp${dead[0]} (upload), ftp${dead[1]} (download): no metrics"
# At least: the downloads include listings.
check_resumer "$resumed_by" RETR download -ge "$((size_bytes - cut_at))"

if [ "${KEEP:-0}" = 1 ]; then
	step "the fleet runs: ftp://test:test@$PUBLIC_IP:$control_port/ (Ctrl-C stops it)"
	wait "${pids[0]}"
fi

step "fleet demo passed"
