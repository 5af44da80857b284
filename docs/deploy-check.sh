#!/usr/bin/env bash
# deploy-check.sh: runs the set-up of docs/deploying.md on this machine, on loopback only, and
# checks that it works: two bundled-server instances behind HAProxy, the control port balanced
# round-robin with the PROXY protocol, a passive port range per instance, shared storage. A file
# uploaded with curl through one instance is downloaded through the other and compared.
#
#   docs/deploy-check.sh                  # builds cmd/ftpserver, installs haproxy if missing
#   FTPSERVER_BIN=/path/to/ftpserver docs/deploy-check.sh
#   MULTIPLEX=0 docs/deploy-check.sh      # a listener per PASV instead of shared passive ports
#
# Addresses: HAProxy stands for the public address at 127.0.0.1, the instances listen on
# 127.0.0.2 and 127.0.0.3 (Linux routes all of 127.0.0.0/8 to loopback), and curl plays a
# client at 127.0.0.5, so the instances must learn its address from the PROXY headers. Every
# process it starts is stopped by PID when it exits, whatever happened.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# ---- Storage ----------------------------------------------------------------------------------
# STORAGE=dir: both instances serve one directory, standing in for the shared bucket.
# STORAGE=s3:  both instances use the S3 back-end (cmd/ftpserver's -s3-endpoint and -s3-bucket,
#              being added), with S3_ENDPOINT and S3_BUCKET set, and credentials in the usual
#              AWS environment variables.
STORAGE="${STORAGE:-dir}"
MULTIPLEX="${MULTIPLEX:-1}"
CLIENT_IP=127.0.0.5
PUBLIC_IP=127.0.0.1
INSTANCE_IPS=(127.0.0.2 127.0.0.3)
PASV_PORTS_PER_INSTANCE=3

SCRIPT_NAME=deploy-check
# shellcheck source=docs/demo-lib.sh
source docs/demo-lib.sh

sudo_if_needed() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	else
		sudo "$@"
	fi
}

step "tools"
if ! command -v haproxy >/dev/null 2>&1; then
	echo "installing haproxy"
	sudo_if_needed apt-get update
	sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y haproxy
fi
command -v curl >/dev/null 2>&1 || fail "curl is needed (apt-get install -y curl)"
haproxy -v | sed -n 1p

if [ -z "${FTPSERVER_BIN:-}" ]; then
	FTPSERVER_BIN="$work/ftpserver"
	go build -o "$FTPSERVER_BIN" ./cmd/ftpserver
fi

case "$STORAGE" in
dir)
	mkdir -p "$work/shared"
	storage_flags=(-root "$work/shared")
	;;
s3)
	storage_flags=(-s3-endpoint "${S3_ENDPOINT:?STORAGE=s3 needs S3_ENDPOINT}"
		-s3-bucket "${S3_BUCKET:?STORAGE=s3 needs S3_BUCKET}")
	;;
*) fail "STORAGE must be dir or s3, not $STORAGE" ;;
esac
echo "shared storage: ${storage_flags[*]}"

# Ports below Linux's ephemeral range (32768 and up), so no client takes them meanwhile: the
# public control port, then each instance's passive range.
base=$((20000 + RANDOM % 10000))
control_port=$base
pasv_first=() pasv_last=()
for i in "${!INSTANCE_IPS[@]}"; do
	pasv_first[i]=$((base + 1 + i * PASV_PORTS_PER_INSTANCE))
	pasv_last[i]=$((pasv_first[i] + PASV_PORTS_PER_INSTANCE - 1))
done

step "ftpserver instances"
multiplex_flags=()
if [ "$MULTIPLEX" = 1 ]; then
	multiplex_flags=(-pasv-multiplex)
fi

instance_addrs=()
for i in "${!INSTANCE_IPS[@]}"; do
	n=$((i + 1))
	"$FTPSERVER_BIN" -listen "${INSTANCE_IPS[i]}:0" "${storage_flags[@]}" \
		-pasv-ports "${pasv_first[i]}-${pasv_last[i]}" "${multiplex_flags[@]}" -public-host "$PUBLIC_IP" \
		-proxy-protocol -proxy-allowed "$PUBLIC_IP" -debug \
		>"$work/ftp$n.out" 2>"$work/ftp$n.log" &
	pids+=($!)
	wait_for "instance $n to start" grep -q '^credentials:' "$work/ftp$n.out"
	addr="$(sed -n 's/^listening on \([^ ]*\).*/\1/p' "$work/ftp$n.out" | sed -n 1p)"
	[ -n "$addr" ] || fail "instance $n printed no address"
	instance_addrs+=("$addr")
	echo "ftp$n: control $addr, passive ${INSTANCE_IPS[i]}:${pasv_first[i]}-${pasv_last[i]}"
done

step "haproxy"
{
	haproxy_head "$PUBLIC_IP" "$control_port"
	for i in "${!INSTANCE_IPS[@]}"; do
		echo "    server ftp$((i + 1)) ${instance_addrs[i]} send-proxy check check-send-proxy inter 200ms"
	done
	for i in "${!INSTANCE_IPS[@]}"; do
		n=$((i + 1))
		cat <<EOF

# Passive ports of ftp$n: forwarded to the same port, each connection with its own header.
frontend ftp${n}_passive
    bind $PUBLIC_IP:${pasv_first[i]}-${pasv_last[i]}
    default_backend ftp${n}_passive

backend ftp${n}_passive
    server ftp$n ${INSTANCE_IPS[i]} send-proxy
EOF
	done
} >"$work/haproxy.cfg"

start_haproxy "$PUBLIC_IP" "$control_port"
for i in "${!INSTANCE_IPS[@]}"; do
	wait_for "haproxy to listen on the passive ports" listening "${pasv_last[i]}" "$PUBLIC_IP"
done
echo "haproxy: control $PUBLIC_IP:$control_port"
for n in 1 2; do
	# The first check: HAProxy's header accepted, the welcome sent.
	wait_for "haproxy's health check of ftp$n" grep -q 'code=220' "$work/ftp$n.log"
done

step "upload through one instance, download through the other"
head -c 3000000 /dev/urandom >"$work/upload.bin"
url="ftp://test:test@$PUBLIC_IP:$control_port/deploy-check.bin"
curl --silent --show-error --max-time 60 --interface "$CLIENT_IP" -T "$work/upload.bin" "$url"
curl --silent --show-error --max-time 60 --interface "$CLIENT_IP" -o "$work/download.bin" "$url"

sent="$(sha256sum <"$work/upload.bin" | cut -d ' ' -f 1)"
received="$(sha256sum <"$work/download.bin" | cut -d ' ' -f 1)"
echo "sent     $sent"
echo "received $received"
[ "$sent" = "$received" ] || fail "the downloaded file differs from the uploaded one"

# Which instance served what, from their debug logs: round-robin sends the two connections to
# different instances, and each must have seen the client, not HAProxy.
stored_by="" retrieved_by=""
for n in 1 2; do
	if grep -q 'STOR deploy-check.bin' "$work/ftp$n.log"; then stored_by=$n; fi
	if grep -q 'RETR deploy-check.bin' "$work/ftp$n.log"; then retrieved_by=$n; fi
done
[ -n "$stored_by" ] || fail "no instance logged the upload"
[ -n "$retrieved_by" ] || fail "no instance logged the download"
[ "$stored_by" != "$retrieved_by" ] || fail "upload and download both went to ftp$stored_by"
echo "uploaded through ftp$stored_by, downloaded through ftp$retrieved_by"
for n in "$stored_by" "$retrieved_by"; do
	grep -q "$CLIENT_IP" "$work/ftp$n.log" || fail "ftp$n never saw the client address $CLIENT_IP"
done
echo "both instances saw the client as $CLIENT_IP:"
grep -h 'deploy-check.bin' "$work/ftp$stored_by.log" "$work/ftp$retrieved_by.log" | grep "$CLIENT_IP" | sed 's/^/  /'

! grep -q 'is DOWN' "$work/haproxy.log" || fail "haproxy took an instance down: $(grep 'is DOWN' "$work/haproxy.log")"

step "deploy-check passed"
