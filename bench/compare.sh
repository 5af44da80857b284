#!/usr/bin/env bash
# Compares ftpkit's bundled server (cmd/ftpserver) with ftpserverlib (bench/fsl), vsftpd and
# pure-ftpd, side by side in one run, with one client (bench/ftpload, which is not the bottleneck:
# see its doc; over one connection or many at once) and with the
# same files on tmpfs, and measures in the same run what this machine can do without an FTP
# server (bench/ceiling): loopback TCP from memory and from a file, TCP into a file, and Go's
# TLS. Run it from anywhere in the repository, as root (vsftpd and pure-ftpd chroot and change
# user):
#
#	bash bench/compare.sh
#
# The peers are Debian's packages, fetched with `apt-get download` and unpacked into a
# temporary directory, never installed (Debian's FTP servers conflict with one another); a
# library they need that this machine lacks is fetched the same way. Everything the script
# starts is stopped when it exits, and its temporary directories are removed.
#
# Environment: REPS (5) repetitions of each measurement, of which the median and the range are
# shown; LOGINS (200) sequential logins per repetition; SIZE_MIB (1024) size of the RETR/STOR file,
# lowered when /dev/shm or the memory is short, never below 256; CONC_MIB (256) size of the file
# that 8 connections download at once; CONC_FILES (4096) 4 KiB files moved per run over 16 or 64
# connections; IDLE (1000) idle sessions held beside 16 busy ones; IDLE_SETTLE (10) seconds at
# most to wait for a server's memory to settle before and after the idle sessions log in;
# WARM_MIB (half the free memory, at most 8192) memory written once before the runs; ONLY (all)
# the scenarios to run, by their ids in SCENARIOS below, separated by commas
# (ONLY=retr,small16,idle); PROFILE (unset) set to 1 profiles ftpkit in each scenario run, after
# the measurements: Go's CPU profile (cmd/ftpserver -cpuprofile) over REPS runs on a fresh
# instance, perf record -g over one run if perf is installed, and strace -c -f over one run of
# ftpkit and of pure-ftpd for the system calls per unit of work; PROFILE_DIR (bench/profile)
# receives them, with a summary.md; FTPKIT_ARGS (-pasv-keep -max-clients 5000, the passive range's
# size) more flags for ftpkit's server, to compare its settings (FTPKIT_ARGS=-pasv-multiplex;
# FTPKIT_ARGS= for none).
#
# bench/readme.sh runs this script and writes its report into the README.
#
# It prints a Markdown report on stdout and its progress on stderr. It exits 1 if a server could
# not be started or a measurement failed (the report then shows n/a), after measuring the rest.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
LOG_NAME=compare.sh

REPS="${REPS:-5}"
LOGINS="${LOGINS:-200}"
SIZE_MIB="${SIZE_MIB:-1024}"
ONLY="${ONLY:-}"
CONC_MIB="${CONC_MIB:-256}"
CONC_FILES="${CONC_FILES:-4096}"
IDLE="${IDLE:-1000}"
IDLE_SETTLE="${IDLE_SETTLE:-10}"
SMALL_FILES=500
SMALL_SIZE=4096
LIST_ENTRIES=10000
LIST_RUNS=5
HOST=127.0.0.1
SERVERS=(ftpkit ftpserverlib vsftpd pure-ftpd)
# ftpload's time limits, so that nothing waits for ever.
BIG_TIMEOUT=120
SMALL_TIMEOUT=60

WORK=""
DATA=""

# cleanup stops every server this script started (and the session processes they forked),
# then removes the temporary directories.
cleanup() {
	stop_started
	[ -n "$DATA" ] && rm -rf "$DATA"
	[ -n "$WORK" ] && rm -rf "$WORK"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

# pick_ports sets CONTROL_PORT to a free port and PASV_MIN..PASV_MAX to the PASV_SPAN ports after
# it, all below the kernel's ephemeral range, so that the client's own ports never take one of
# them. There is room for one slot per server and one more, SPARE_PORT, which every short-lived
# instance (the idle sessions' memory, the profiles) reuses in turn: with SPARE set, pick_ports
# gives that slot.
# A download leaves the server's passive port in TIME_WAIT for a minute. pure-ftpd cannot bind
# such a port for a new transfer (the other servers can): with a range of 1,000 it answered
# "425 Unable to identify the local data socket: Address already in use" to some of 2,048
# uploads right after three runs of 2,048 downloads. Wide ranges and wait_ports avoid that.
PASV_SPAN=5000
NEXT_PORT=""
SPARE_PORT=""
SPARE=""
CONTROL_PORT=""
PASV_MIN=""
PASV_MAX=""
pick_ports() {
	local low
	if [ -z "$NEXT_PORT" ]; then
		low=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range)
		NEXT_PORT=$((low - (${#SERVERS[@]} + 1) * (PASV_SPAN + 1) - 1 - RANDOM % 2000))
		[ "$NEXT_PORT" -gt 1024 ] || die "the ephemeral ports start at $low: no room below for the passive ports"
	fi
	if [ -n "$SPARE" ] && [ -n "$SPARE_PORT" ]; then
		CONTROL_PORT=$SPARE_PORT
	else
		while ! port_free "$NEXT_PORT"; do
			NEXT_PORT=$((NEXT_PORT + 1))
		done
		CONTROL_PORT=$NEXT_PORT
		NEXT_PORT=$((NEXT_PORT + PASV_SPAN + 1))
		[ -z "$SPARE" ] || SPARE_PORT=$CONTROL_PORT
	fi
	PASV_MIN=$((CONTROL_PORT + 1))
	PASV_MAX=$((CONTROL_PORT + PASV_SPAN))
}

# start_spare starts another instance of server $1 on the spare ports, leaving PORT and
# SERVER_PID to it, for the caller to put back with end_spare once it is done.
MAIN_PORT=""
MAIN_PID=""
start_spare() {
	local status=0
	MAIN_PORT=${PORT[$1]} MAIN_PID=${SERVER_PID[$1]}
	SPARE=1
	"start_${1//-/_}" || status=1
	SPARE=""
	return "$status"
}

# end_spare stops the instance start_spare started for server $1 and restores the main one's.
end_spare() {
	if [ "${SERVER_PID[$1]}" != "$MAIN_PID" ]; then
		stop_pid "${SERVER_PID[$1]}"
		forget_pid "${SERVER_PID[$1]}"
	fi
	PORT[$1]=$MAIN_PORT SERVER_PID[$1]=$MAIN_PID
}

# ---------------------------------------------------------------------------------------------
# Machine, temporary directories, test data
# ---------------------------------------------------------------------------------------------

# The load before this script adds its own: other work running meanwhile blurs the figures.
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v n="$(nproc)" '{ exit !($1 > n / 2) }' /proc/loadavg; then
	log "warning: load average ${LOAD_START%% *} on $(nproc) cores: other work will blur the figures"
fi

for tool in go awk openssl dpkg-deb apt-get ldd ps; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is needed (apt-get install it)"
done

WORK=$(mktemp -d)
chmod 755 "$WORK"

if [ "$(stat -f -c %T /dev/shm 2>/dev/null || true)" = tmpfs ]; then
	DATA=$(mktemp -d -p /dev/shm ftpbench.XXXXXX)
else
	log "warning: /dev/shm is not tmpfs; the data goes to $(dirname "$WORK"), whose disk may decide the result"
	DATA=$(mktemp -d)
fi
chmod 755 "$DATA"

# Six copies of the big file may live on the data file system at once: the source, one per
# server, and one upload; and one copy of the file of the concurrent downloads per server.
avail_mib=$(($(df -Pk "$DATA" | awk 'NR == 2 { print $4 }') / 1024))
mem_mib=$(($(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo) / 1024))
limit_mib=$((((avail_mib < mem_mib ? avail_mib : mem_mib) - ${#SERVERS[@]} * CONC_MIB) / 7))
while [ "$SIZE_MIB" -gt "$limit_mib" ] && [ "$SIZE_MIB" -gt 256 ]; do
	SIZE_MIB=$((SIZE_MIB / 2))
done
[ "$SIZE_MIB" -ge 256 ] || SIZE_MIB=256
[ "$SIZE_MIB" -le "$limit_mib" ] ||
	die "need $((7 * SIZE_MIB + ${#SERVERS[@]} * CONC_MIB)) MiB free on $DATA and in memory; $avail_mib MiB and $mem_mib MiB are"
SIZE=$((SIZE_MIB << 20))

log "== building ftpkit, the load client and the ceiling tool"
go build -o "$WORK/ftpserver" ./cmd/ftpserver || die "go build ./cmd/ftpserver failed"
go build -o "$WORK/ceiling" ./bench/ceiling || die "go build ./bench/ceiling failed"
go build -o "$WORK/ftpload" ./bench/ftpload || die "go build ./bench/ftpload failed"
# bench/fsl is a module of its own, so that ftpserverlib stays out of the library's go.mod;
# it is built on its own requirements alone.
declare -A FAILED=()
(cd bench/fsl && GOWORK=off go build -o "$WORK/fsl" .) || {
	log "   go build bench/fsl (ftpserverlib) failed; its column shows n/a"
	FAILED[ftpserverlib]="did not build"
}

log "== test data in $DATA ($SIZE_MIB MiB file, $CONC_MIB MiB file, $SMALL_FILES and $CONC_FILES small files," \
	"$LIST_ENTRIES-entry directory)"
SRC="$DATA/src"
mkdir -p "$SRC/small" "$SRC/many" "$SRC/up" "$SRC/list" "$DATA/upload-src"
head -c "$SIZE" /dev/urandom >"$DATA/upload-src/big.bin"
cp "$DATA/upload-src/big.bin" "$SRC/big.bin"
head -c "$((CONC_MIB << 20))" /dev/urandom >"$SRC/conc.bin"
head -c $((SMALL_FILES * SMALL_SIZE)) /dev/urandom >"$WORK/small.all"
split -b "$SMALL_SIZE" -d -a 3 --numeric-suffixes=1 --additional-suffix=.bin "$WORK/small.all" "$SRC/small/"
head -c $((CONC_FILES * SMALL_SIZE)) /dev/urandom >"$WORK/small.all"
split -b "$SMALL_SIZE" -d -a 4 --numeric-suffixes=1 --additional-suffix=.bin "$WORK/small.all" "$SRC/many/"
rm "$WORK/small.all"
(cd "$SRC/list" && seq -f 'entry-%05g.txt' 1 "$LIST_ENTRIES" | xargs touch)

# Each server gets its own copy under ROOT/pub: vsftpd refuses a writable chroot, so every root
# is root's and read-only, and pub is writable by the user the server runs the session as.
for server in "${SERVERS[@]}"; do
	mkdir -p "$DATA/$server/pub"
	cp -a "$SRC/." "$DATA/$server/pub/"
done
rm -rf "$SRC"

# A virtual machine's memory can be slow the first time it is written (the host backs it only
# then): an upload into fresh tmpfs pages ran at a third of its speed here. Writing and
# freeing a large file first makes the pages the measurements get already backed.
warm_mib=$(($(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo) / 1024 / 2))
[ "$warm_mib" -le 8192 ] || warm_mib=8192
warm_mib=${WARM_MIB:-$warm_mib}
log "== touching $warm_mib MiB of memory once (see the comment in the script)"
head -c "$((warm_mib << 20))" /dev/zero >"$DATA/warm" 2>/dev/null || true
rm -f "$DATA/warm"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$HOST" \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null || die "openssl could not make a certificate"
chmod 644 "$WORK/cert.pem"

# ---------------------------------------------------------------------------------------------
# The peers: fetched and unpacked, not installed
# ---------------------------------------------------------------------------------------------

PEERS="$WORK/peers"
DEBS="$WORK/debs"
mkdir -p "$PEERS" "$DEBS"

# download fetches Debian packages into DEBS (after an apt-get update if the lists are stale).
download() {
	(cd "$DEBS" && apt-get download -o APT::Sandbox::User=root "$@" >/dev/null 2>&1) && return 0
	[ "$(id -u)" -eq 0 ] || return 1
	log "   apt-get download failed; running apt-get update once"
	apt-get update >/dev/null 2>&1 || return 1
	(cd "$DEBS" && apt-get download -o APT::Sandbox::User=root "$@" >/dev/null 2>&1)
}

# missing_libs prints the libraries that binary $1 cannot load from the system or from PEERS.
missing_libs() {
	LD_LIBRARY_PATH="$(peer_lib_path)" ldd "$1" 2>/dev/null | awk '/not found/ { print $1 }'
}

# peer_lib_path prints the directories of PEERS that hold shared libraries.
peer_lib_path() {
	find "$PEERS" -name '*.so*' -printf '%h\n' 2>/dev/null | sort -u | paste -sd:
}

# fetch_missing_deps downloads and unpacks the library packages that deb $1 depends on and this
# machine does not have, until binary $2 loads (three rounds at most, for their own deps).
fetch_missing_deps() {
	local debs=("$1") binary=$2 pkg fetched
	for _ in 1 2 3; do
		[ -z "$(missing_libs "$binary")" ] && return 0
		fetched=()
		for pkg in $(for deb in "${debs[@]}"; do dpkg-deb -f "$deb" Depends; done |
			tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' | grep '^lib' | sort -u); do
			dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' && continue
			[ -n "$(ls "$DEBS/${pkg}"_*.deb 2>/dev/null)" ] && continue
			log "   fetching $pkg for $(basename "$binary")"
			download "$pkg" || continue
			dpkg-deb -x "$DEBS/${pkg}"_*.deb "$PEERS"
			fetched+=("$(ls "$DEBS/${pkg}"_*.deb)")
		done
		[ "${#fetched[@]}" -gt 0 ] || break
		debs=("${fetched[@]}")
	done
	[ -z "$(missing_libs "$binary")" ]
}

declare -A VERSION=([ftpkit]="$(git log -1 --format=%h 2>/dev/null || echo '?') (working tree)"
	[ftpserverlib]="$(awk '$1 == "github.com/fclairamb/ftpserverlib" { print $2 }' bench/fsl/go.mod)")
declare -A PEER_OK=()

# get_peer fetches and unpacks Debian package $1 whose server binary is $2 (under PEERS).
get_peer() {
	local pkg=$1 binary="$PEERS/$2" deb
	download "$pkg" || {
		log "   cannot download $pkg"
		return 1
	}
	deb=$(ls "$DEBS/${pkg}"_*.deb)
	dpkg-deb -x "$deb" "$PEERS"
	VERSION[$pkg]=$(dpkg-deb -f "$deb" Version)
	fetch_missing_deps "$deb" "$binary" || {
		log "   $pkg: missing libraries: $(missing_libs "$binary" | paste -sd' ')"
		return 1
	}
}

if [ "$(id -u)" -ne 0 ]; then
	log "warning: not root; vsftpd and pure-ftpd need root to chroot and change user, skipping them"
else
	log "== fetching the peers"
	get_peer vsftpd usr/sbin/vsftpd && PEER_OK[vsftpd]=1
	get_peer pure-ftpd usr/sbin/pure-ftpd && PEER_OK[pure-ftpd]=1
fi

# ---------------------------------------------------------------------------------------------
# Starting the servers
# ---------------------------------------------------------------------------------------------

declare -A PORT=() CRED=() SERVER_PID=()

# load runs ftpload against server $1 with time limit $2 and the rest of the arguments.
load() {
	local server=$1 limit=$2
	shift 2
	timeout "$limit" "$WORK/ftpload" -addr "$HOST:${PORT[$server]}" -user "${CRED[$server]%%:*}" \
		-pass "${CRED[$server]#*:}" "$@"
}

# FTPKIT_FLAGS are more flags for ftpkit's server: FTPKIT_ARGS, split at spaces, to which the
# profiles below add -cpuprofile.
# By default ftpkit keeps each session's passive listener (KeepPassiveListener), which with a
# port range needs a client limit the range can hold; FTPKIT_ARGS= (empty) runs it bare. The
# server's default connection limits (2000, 50 per address) are lifted before FTPKIT_FLAGS,
# which may set them again: every client of the comparison comes from one address.
FTPKIT_ARGS="${FTPKIT_ARGS--pasv-keep -max-clients $PASV_SPAN}"
read -r -a FTPKIT_ARGV <<<"$FTPKIT_ARGS"
FTPKIT_FLAGS=("${FTPKIT_ARGV[@]}")
start_ftpkit() {
	pick_ports
	PORT[ftpkit]=$CONTROL_PORT
	CRED[ftpkit]=test:test
	"$WORK/ftpserver" -root "$DATA/ftpkit" -listen "$HOST:${PORT[ftpkit]}" -idle-timeout 60 \
		-pasv-ports "$PASV_MIN-$PASV_MAX" -tls -no-transfer-log -user test -pass test \
		-max-clients 0 -max-clients-per-ip 0 "${FTPKIT_FLAGS[@]}" \
		>"$WORK/ftpkit.log" 2>&1 &
	start_pid "$!"
	SERVER_PID[ftpkit]=$!
	wait_ready ftpkit "$!"
}

# start_ftpserverlib runs bench/fsl with the flags ftpkit's server gets; it makes its own
# self-signed certificate, as ftpkit's does.
start_ftpserverlib() {
	pick_ports
	PORT[ftpserverlib]=$CONTROL_PORT
	CRED[ftpserverlib]=test:test
	"$WORK/fsl" -root "$DATA/ftpserverlib" -listen "$HOST:${PORT[ftpserverlib]}" -idle-timeout 60 \
		-pasv-ports "$PASV_MIN-$PASV_MAX" -user test -pass test >"$WORK/ftpserverlib.log" 2>&1 &
	start_pid "$!"
	SERVER_PID[ftpserverlib]=$!
	wait_ready ftpserverlib "$!"
}

# vsftpd_user prints the user vsftpd runs anonymous sessions as: ftp when it exists (as on a
# host with Debian's vsftpd package), else daemon; vsftpd needs the user's home to exist.
vsftpd_user() {
	local user home
	for user in ftp daemon; do
		home=$(getent passwd "$user" | cut -d: -f6) || continue
		[ -d "$home" ] && {
			echo "$user"
			return 0
		}
	done
	return 1
}

VSFTPD_USER=""
start_vsftpd() {
	VSFTPD_USER=$(vsftpd_user) || {
		log "   vsftpd: no user ftp or daemon with an existing home directory"
		return 1
	}
	pick_ports
	PORT[vsftpd]=$CONTROL_PORT
	CRED[vsftpd]=anonymous:bench
	chown -R "$VSFTPD_USER:" "$DATA/vsftpd/pub"
	mkdir -p "$WORK/vsftpd-empty"
	cat >"$WORK/vsftpd.conf" <<-EOF
		listen=YES
		listen_ipv6=NO
		listen_address=$HOST
		listen_port=${PORT[vsftpd]}
		background=NO
		anonymous_enable=YES
		no_anon_password=YES
		ftp_username=$VSFTPD_USER
		anon_root=$DATA/vsftpd
		local_enable=NO
		write_enable=YES
		anon_upload_enable=YES
		anon_mkdir_write_enable=YES
		anon_other_write_enable=YES
		anon_umask=022
		secure_chroot_dir=$WORK/vsftpd-empty
		seccomp_sandbox=NO
		pasv_enable=YES
		pasv_min_port=$PASV_MIN
		pasv_max_port=$PASV_MAX
		max_clients=0
		max_per_ip=0
		idle_session_timeout=60
		xferlog_enable=NO
		dirmessage_enable=NO
		ssl_enable=YES
		allow_anon_ssl=YES
		force_anon_logins_ssl=NO
		force_anon_data_ssl=NO
		require_ssl_reuse=NO
		ssl_ciphers=HIGH
		rsa_cert_file=$WORK/cert.pem
		rsa_private_key_file=$WORK/key.pem
	EOF
	# vsftpd writes its "500 OOPS" errors to file descriptor 0, so that goes to the log too.
	LD_LIBRARY_PATH="$(peer_lib_path)" "$PEERS/usr/sbin/vsftpd" "$WORK/vsftpd.conf" >"$WORK/vsftpd.log" 2>&1 0>&1 &
	start_pid "$!"
	SERVER_PID[vsftpd]=$!
	wait_ready vsftpd "$!"
}

# MAX_CLIENTS is the sessions a peer must accept at once: the idle ones, the busy ones and a margin.
MAX_CLIENTS=$((IDLE + 64 + 50))

start_pure_ftpd() {
	local hash
	pick_ports
	PORT[pure-ftpd]=$CONTROL_PORT
	CRED[pure-ftpd]=test:test
	chown -R nobody:nogroup "$DATA/pure-ftpd/pub"
	# A virtual user in a PureDB, mapped to nobody and chrooted (/./) to the server's root. The
	# password is an MD5-crypt hash, cheap like ftpkit's comparison: pure-pw's default, argon2id,
	# would make the login figure a measure of the hash.
	hash=$(openssl passwd -1 -salt ftpbench test)
	printf 'test:%s:65534:65534::%s/./::::::::::::\n' "$hash" "$DATA/pure-ftpd" >"$WORK/pureftpd.passwd"
	"$PEERS/usr/bin/pure-pw" mkdb "$WORK/pureftpd.pdb" -f "$WORK/pureftpd.passwd" >/dev/null ||
		return 1
	LD_LIBRARY_PATH="$(peer_lib_path)" "$PEERS/usr/sbin/pure-ftpd" -S "$HOST,${PORT[pure-ftpd]}" \
		-l "puredb:$WORK/pureftpd.pdb" -E -A -H -u 1 -I 1 -c "$MAX_CLIENTS" -C "$MAX_CLIENTS" -L "$((2 * LIST_ENTRIES)):8" \
		-p "$PASV_MIN:$PASV_MAX" -Y 1 -2 "$WORK/cert.pem,$WORK/key.pem" \
		>"$WORK/pure-ftpd.log" 2>&1 &
	start_pid "$!"
	SERVER_PID[pure-ftpd]=$!
	wait_ready pure-ftpd "$!"
}

log "== starting the servers"
start_ftpkit || die "ftpkit's server did not start; nothing to compare"
# ftpserverlib was built with ftpkit, or FAILED says why not.
PEER_OK[ftpserverlib]=1
for server in ftpserverlib vsftpd pure-ftpd; do
	if [ -n "${FAILED[$server]:-}" ]; then
		:
	elif [ -z "${PEER_OK[$server]:-}" ]; then
		FAILED[$server]="not fetched"
	elif ! "start_${server//-/_}"; then
		FAILED[$server]="did not start"
	fi
	[ -n "${FAILED[$server]:-}" ] && log "   $server: ${FAILED[$server]}; its column shows n/a"
done

# ---------------------------------------------------------------------------------------------
# Measurements, all made by bench/ftpload, which speaks FTP itself and times only the server's
# part: for a big file, from EPSV to the 226 reply; for the small files, from the first EPSV to
# the last 226 over one connection; for a login, from the dial to the reply to PWD; for LIST, the
# mean of LIST_RUNS after one that is not counted. Each prints one number or returns non-zero.
# ---------------------------------------------------------------------------------------------

measure_retr() {
	local server=$1
	shift
	load "$server" "$BIG_TIMEOUT" -scenario retr -path pub/big.bin -size "$SIZE" "$@"
}

measure_stor() {
	local server=$1 out
	shift
	out=$(load "$server" "$BIG_TIMEOUT" -scenario stor -path pub/upload.bin -size "$SIZE" "$@") || return 1
	[ "$(stat -c %s "$DATA/$server/pub/upload.bin" 2>/dev/null)" = "$SIZE" ] || return 1
	rm -f "$DATA/$server/pub/upload.bin"
	echo "$out"
}

measure_retr_tls() { measure_retr "$1" -tls; }
measure_stor_tls() { measure_stor "$1" -tls; }

measure_small() {
	load "$1" "$SMALL_TIMEOUT" -scenario small -path 'pub/small/%03d.bin' -count "$SMALL_FILES" -size "$SMALL_SIZE"
}

measure_logins() {
	load "$1" "$SMALL_TIMEOUT" -scenario logins -count "$LOGINS"
}

# measure_list checks that the listing has at least LIST_ENTRIES lines (pure-ftpd stops at
# 2,000 unless told otherwise).
measure_list() {
	load "$1" "$SMALL_TIMEOUT" -scenario list -path pub/list -count "$LIST_RUNS" -size "$LIST_ENTRIES"
}

# measure_conns_small runs the CONC_FILES small files over $2 connections: downloads for mode
# small, uploads into pub/up for mode smallstor, which are checked and removed afterwards.
measure_conns_small() {
	local server=$1 conns=$2 mode=$3 out dir="$DATA/$1/pub/up"
	local path='pub/many/%04d.bin'
	[ "$mode" = small ] || path='pub/up/%04d.bin'
	out=$(load "$server" "$SMALL_TIMEOUT" -scenario "$mode" -conns "$conns" -path "$path" -count "$CONC_FILES" \
		-size "$SMALL_SIZE") || return 1
	if [ "$mode" = smallstor ]; then
		[ "$(find "$dir" -type f -size "${SMALL_SIZE}c" | wc -l)" = "$CONC_FILES" ] || {
			log "   $server: not $CONC_FILES files of $SMALL_SIZE bytes in pub/up"
			return 1
		}
		find "$dir" -type f -delete
	fi
	echo "$out"
}

measure_small16() { measure_conns_small "$1" 16 small; }
measure_small64() { measure_conns_small "$1" 64 small; }
measure_stor16() { measure_conns_small "$1" 16 smallstor; }
measure_stor64() { measure_conns_small "$1" 64 smallstor; }

# measure_retr8 downloads the CONC_MIB file over 8 connections at once.
measure_retr8() {
	load "$1" "$BIG_TIMEOUT" -scenario retr -conns 8 -path pub/conc.bin -size "$((CONC_MIB << 20))"
}

# tree_pss_kib prints the proportional set size (PSS, KiB) of process $1 and all its
# descendants: a forking server's sessions share pages, which PSS counts once, as RSS would not.
tree_pids() {
	local kids="" kid
	echo "$1"
	read -r kids <"/proc/$1/task/$1/children" 2>/dev/null || true
	for kid in $kids; do
		tree_pids "$kid"
	done
}
tree_pss_kib() {
	tree_pids "$1" | sed 's|.*|/proc/&/smaps_rollup|' | { xargs cat 2>/dev/null || true; } |
		awk '$1 == "Pss:" { sum += $2 } END { print sum + 0 }'
}

# measure_idle runs the CONC_FILES small files over 16 connections twice: alone, and beside IDLE
# logged-in idle sessions, in turn first and second (IDLE_TURN), since a second run on a warm
# server tends to be faster. It prints the rate beside the idle sessions, then "without" and the
# rate alone. The memory the idle sessions take is measured apart, by idle_memory.
declare -A IDLE_TURN=()
measure_idle() {
	local server=$1 without beside turn=$((IDLE_TURN[$1]++ % 2))
	if [ "$turn" = 0 ]; then
		without=$(measure_small16 "$server") || return 1
		wait_reaped "${SERVER_PID[$server]}" || true
		wait_ports "$server"
	fi
	beside=$(load "$server" "$SMALL_TIMEOUT" -scenario small -conns 16 -idle "$IDLE" -path 'pub/many/%04d.bin' \
		-count "$CONC_FILES" -size "$SMALL_SIZE") || return 1
	if [ "$turn" = 1 ]; then
		wait_reaped "${SERVER_PID[$server]}" || true
		wait_ports "$server"
		without=$(measure_small16 "$server") || return 1
	fi
	echo "$beside"
	echo "without $without"
}

# settled_pss_kib prints the PSS of process $1's tree once it has settled: when two readings half
# a second apart differ by less than 1 %, or after IDLE_SETTLE seconds.
settled_pss_kib() {
	local pid=$1 prev cur
	cur=$(tree_pss_kib "$pid")
	for _ in $(seq $((2 * IDLE_SETTLE))); do
		prev=$cur
		sleep 0.5
		cur=$(tree_pss_kib "$pid")
		awk -v a="$prev" -v b="$cur" 'BEGIN { d = a - b; exit !(d * d < a * a / 10000) }' && break
	done
	echo "$cur"
}

# idle_memory measures what IDLE logged-in idle sessions cost server $1 in memory, on a fresh
# instance of it started for this alone (and stopped after): a Go server that has served
# transfers holds freed heap that new sessions take without growing, so its growth would read
# low, and a long-running one may return memory meanwhile. It prints the KiB of PSS per idle
# session, then "base" and the server's PSS in KiB before the sessions. Both readings wait for
# the PSS to settle (settled_pss_kib); the idle sessions are held by ftpload -idle-wait until
# the second reading is made, and then checked with NOOP.
idle_memory() {
	local server=$1 fresh before after="" line status=0
	start_spare "$server" || {
		end_spare "$server"
		return 1
	}
	fresh=${SERVER_PID[$server]}
	before=$(settled_pss_kib "$fresh")
	coproc HOLDER { load "$server" "$SMALL_TIMEOUT" -scenario small -conns 1 -idle "$IDLE" -idle-wait \
		-path 'pub/many/%04d.bin' -count 1 -size "$SMALL_SIZE"; }
	# Copies of the coprocess's pipes: bash closes its own as soon as the coprocess exits, which
	# may be before its last line has been read.
	# shellcheck disable=SC2153 # bash sets HOLDER_PID for the coprocess HOLDER
	local holder_pid=$HOLDER_PID from_holder to_holder
	exec {from_holder}<&"${HOLDER[0]}" {to_holder}>&"${HOLDER[1]}"
	if read -r -t "$SMALL_TIMEOUT" line <&"$from_holder" && [ "$line" = idle ]; then
		after=$(settled_pss_kib "$fresh")
	fi
	{ echo go >&"$to_holder"; } 2>/dev/null || true
	exec {to_holder}>&-
	cat <&"$from_holder" >/dev/null
	wait "$holder_pid" || status=1
	exec {from_holder}<&-
	end_spare "$server"
	[ "$status" = 0 ] && [ -n "$after" ] || return 1
	calc "($after - $before) / $IDLE"
	echo
	echo "base $before"
}

# tls_suite prints the TLS version and cipher suite that server $1 negotiates with ftpload.
tls_suite() {
	load "$1" 10 -scenario list -path pub/small -count 1 -size 1 -tls -v 2>&1 >/dev/null |
		sed -n 's/^ftpload: //p'
}

# measure_ceiling runs bench/ceiling in mode $1 with the size of the big file.
# The sendfile ceiling sends the source of the servers' copies, a file on the same tmpfs.
measure_ceiling() { "$WORK/ceiling" -mode "$1" -size "$SIZE" -dir "$DATA" -file "$DATA/upload-src/big.bin"; }

# SCENARIOS: id|label|unit|function|higher is better (1) or lower (0)|ceiling mode measured
# in the same rounds, if any (several: separated by spaces)|unit of the server's CPU time|the work of one run in that unit's
# denominator|seconds per that unit's numerator.
GIB=$(calc "$SIZE_MIB / 1024")
SCENARIOS=(
	"retr|RETR ${SIZE_MIB} MiB, one stream|MB/s|measure_retr|1|tcp sendfile|ms per GiB|$GIB|0.001"
	"stor|STOR ${SIZE_MIB} MiB, one stream|MB/s|measure_stor|1|file|ms per GiB|$GIB|0.001"
	"small|RETR $SMALL_FILES × 4 KiB files, one connection|files/s|measure_small|1||µs per file|$SMALL_FILES|0.000001"
	"logins|Logins (connect, USER, PASS, PWD), sequential|logins/s|measure_logins|1||µs per login|$LOGINS|0.000001"
	"list|LIST of $(group "$LIST_ENTRIES") entries|ms|measure_list|0||ms per LIST|$((LIST_RUNS + 1))|0.001"
	"retr_tls|RETR ${SIZE_MIB} MiB, PROT P (TLS 1.3)|MB/s|measure_retr_tls|1|tls|ms per GiB|$GIB|0.001"
	"stor_tls|STOR ${SIZE_MIB} MiB, PROT P (TLS 1.3)|MB/s|measure_stor_tls|1|tls-file|ms per GiB|$GIB|0.001"
	"small16|RETR $(group "$CONC_FILES") × 4 KiB files over 16 connections|files/s|measure_small16|1||µs per file|$CONC_FILES|0.000001"
	"small64|RETR $(group "$CONC_FILES") × 4 KiB files over 64 connections|files/s|measure_small64|1||µs per file|$CONC_FILES|0.000001"
	"stor16|STOR $(group "$CONC_FILES") × 4 KiB files over 16 connections|files/s|measure_stor16|1||µs per file|$CONC_FILES|0.000001"
	"stor64|STOR $(group "$CONC_FILES") × 4 KiB files over 64 connections|files/s|measure_stor64|1||µs per file|$CONC_FILES|0.000001"
	"retr8|RETR ${CONC_MIB} MiB over 8 connections at once|MB/s|measure_retr8|1||ms per GiB|$(calc "8 * $CONC_MIB / 1024")|0.001"
	"idle|RETR $(group "$CONC_FILES") × 4 KiB files over 16 connections beside $(group "$IDLE") idle sessions|files/s|measure_idle|1||µs per busy file (¹)|$((2 * CONC_FILES))|0.000001"
)

# A server's CPU time is the time the whole machine was busy during a measurement (user,
# system, irq and softirq time from /proc/stat, not idle, iowait or steal) less the client's own
# (bash's time of ftpload): it takes in every process a server forks, however its sessions end,
# and the kernel's network work on its behalf. Less blurred by a noisy machine than a rate, it
# shows how much work each server does.
TICK=$(calc "1 / $(getconf CLK_TCK)")
TIMEFORMAT='%3U %3S'

# machine_ticks prints the clock ticks the processors have been busy since boot.
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }

# wait_ports waits, up to 65 seconds, until pure-ftpd ($1; other servers need no wait) has room
# for $2 (2 × CONC_FILES) more transfers on passive ports that no TIME_WAIT connection holds (see
# PASV_SPAN): the fewer are held, the rarer its 425 replies.
wait_ports() {
	local low=$((PORT[$1] + 1)) high=$((PORT[$1] + PASV_SPAN)) need=${2:-$((2 * CONC_FILES))} held
	# A run that needs more ports than the range has can at best start with all of them free.
	[ "$need" -le "$PASV_SPAN" ] || need=$PASV_SPAN
	[ "$1" = pure-ftpd ] && command -v ss >/dev/null 2>&1 || return 0
	for second in $(seq 65); do
		# A port may be held by several connections: count the ports.
		held=$(ss -Htan state time-wait "( sport >= :$low and sport <= :$high )" |
			awk '{ sub(/.*:/, "", $3); print $3 }' | sort -u | wc -l)
		[ $((held + need)) -gt "$PASV_SPAN" ] || return 0
		[ "$second" -gt 1 ] || log "   $1: $held of its passive ports held in TIME_WAIT; waiting for them"
		sleep 1
	done
}

# ports_needed prints how many passive ports a run of scenario $1 may take, for wait_ports: the
# runs of one big file or one LIST take one or a few.
ports_needed() {
	case $1 in
	small16 | small64 | stor16 | stor64 | idle) echo $((2 * CONC_FILES)) ;;
	small) echo $((2 * SMALL_FILES)) ;;
	*) echo 64 ;;
	esac
}

# wait_reaped waits up to 2 seconds for process $1 to have no child left, live or zombie, so
# that the sessions of the last measurement have ended. It reads /proc rather than run ps, whose
# own CPU time would count.
wait_reaped() {
	local kids
	for _ in $(seq 20); do
		kids=""
		read -r kids <"/proc/$1/task/$1/children" 2>/dev/null || true
		[ -z "$kids" ] && return 0
		sleep 0.1
	done
	return 1
}

declare -A RESULT=() RANGE=() CEILING=() CPU=() EXTRA=() EXTRA_RANGE=()
STATUS=0

declare -A SUITE=()
for server in "${SERVERS[@]}"; do
	[ -z "${FAILED[$server]:-}" ] || continue
	SUITE[$server]=$(tls_suite "$server") || SUITE[$server]=n/a
done

# Each round takes the servers in turn, and then the ceiling the scenario is compared with, so
# that a noisy moment of the machine falls on all of them alike.
for scenario in "${SCENARIOS[@]}"; do
	IFS='|' read -r id label unit fn _ ceiling _ work scale <<<"$scenario"
	if ! selected "$id"; then
		for server in "${SERVERS[@]}"; do
			RESULT[$id,$server]=n/a
			CPU[$id,$server]=n/a
		done
		for mode in $ceiling; do
			CEILING[$mode]=n/a
		done
		continue
	fi
	log "== $label ($unit, $REPS runs each)"
	declare -A values=() cpu_seconds=() ceiling_values=() extra_values=()
	for rep in $(seq "$REPS"); do
		for server in "${SERVERS[@]}"; do
			[ -z "${FAILED[$server]:-}" ] || continue
			pid=${SERVER_PID[$server]}
			wait_reaped "$pid" || true
			wait_ports "$server" "$(ports_needed "$id")"
			before=$(machine_ticks)
			# time reports on fd 2, into client-cpu; the measurement's own errors go to fd 3.
			if { time "$fn" "$server" >"$WORK/value" 2>&3; } 3>&2 2>"$WORK/client-cpu"; then
				# The first line is the figure; a measurement may add "name value" lines.
				value=$(head -n 1 "$WORK/value")
				values[$server]+="$value "
				while read -r name extra; do
					extra_values[$server,$name]+="$extra "
				done < <(tail -n +2 "$WORK/value")
				if [ "${cpu_seconds[$server]:-0}" != n/a ] && wait_reaped "$pid"; then
					busy=$(($(machine_ticks) - before))
					cpu_seconds[$server]=$(awk -v sum="${cpu_seconds[$server]:-0}" -v busy="$busy" -v tick="$TICK" \
						'{ printf "%.3f", sum + busy * tick - $1 - $2 }' "$WORK/client-cpu")
				else
					cpu_seconds[$server]=n/a
				fi
				log "   run $rep: $server $value"
			else
				values[$server]+="fail "
				log "   run $rep: $server FAILED"
			fi
		done
		for mode in $ceiling; do
			value=$(measure_ceiling "$mode") || die "bench/ceiling -mode $mode failed"
			ceiling_values[$mode]+="$value "
			log "   run $rep: ceiling ($mode) $value"
		done
	done
	for server in "${SERVERS[@]}"; do
		if [ -n "${FAILED[$server]:-}" ]; then
			RESULT[$id,$server]=n/a
		elif [[ " ${values[$server]}" == *" fail "* ]]; then
			RESULT[$id,$server]=n/a
			STATUS=1
		else
			# shellcheck disable=SC2086 # the values are numbers separated by spaces
			RESULT[$id,$server]=$(median ${values[$server]})
			# shellcheck disable=SC2086
			RANGE[$id,$server]=$(spread ${values[$server]})
			for key in "${!extra_values[@]}"; do
				[ "${key%%,*}" = "$server" ] || continue
				# shellcheck disable=SC2086
				EXTRA[$id,$key]=$(median ${extra_values[$key]})
				# shellcheck disable=SC2086
				EXTRA_RANGE[$id,$key]=$(spread ${extra_values[$key]})
			done
		fi
		if [ "${RESULT[$id,$server]}" = n/a ] || [ "${cpu_seconds[$server]:-n/a}" = n/a ]; then
			CPU[$id,$server]=n/a
		else
			# All the runs together: one run of a short scenario lasts only a few ticks.
			CPU[$id,$server]=$(calc "${cpu_seconds[$server]} / $scale / ($REPS * $work)")
		fi
	done
	for mode in $ceiling; do
		# shellcheck disable=SC2086 # the values are numbers separated by spaces
		CEILING[$mode]=$(median ${ceiling_values[$mode]})
	done
	unset values cpu_seconds ceiling_values extra_values
done

# The memory of the idle sessions, apart from the timed runs: each measurement starts a fresh
# instance of the server, whose start and logins are not the work the CPU table counts.
if selected idle; then
	log "== memory of $(group "$IDLE") idle sessions, on a fresh instance of each server ($REPS runs each)"
	declare -A kib_values=() base_values=()
	for rep in $(seq "$REPS"); do
		for server in "${SERVERS[@]}"; do
			[ -z "${FAILED[$server]:-}" ] || continue
			if idle_memory "$server" >"$WORK/value"; then
				kib_values[$server]+="$(head -n 1 "$WORK/value") "
				base_values[$server]+="$(awk '$1 == "base" { print $2 }' "$WORK/value") "
				log "   run $rep: $server $(head -n 1 "$WORK/value") KiB per idle session"
			else
				kib_values[$server]+="fail "
				log "   run $rep: $server FAILED"
			fi
		done
	done
	for server in "${SERVERS[@]}"; do
		[ -n "${kib_values[$server]:-}" ] || continue
		if [[ " ${kib_values[$server]}" == *" fail "* ]]; then
			STATUS=1
			continue
		fi
		# shellcheck disable=SC2086 # the values are numbers separated by spaces
		EXTRA[idle,$server,kib]=$(median ${kib_values[$server]})
		# shellcheck disable=SC2086
		EXTRA_RANGE[idle,$server,kib]=$(spread ${kib_values[$server]})
		# shellcheck disable=SC2086
		EXTRA[idle,$server,base]=$(median ${base_values[$server]})
	done
	unset kib_values base_values
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------
# Profiles (PROFILE=1): after the measurements, so that they never slow a measured run
# ---------------------------------------------------------------------------------------------

# strace_counts runs scenario function $2 once against server $1 under strace -c -f (every thread
# and every process it forks meanwhile) and writes strace's summary to file $3.
strace_counts() {
	local server=$1 fn=$2 out=$3 tracer status=0
	wait_ports "$server" "$PASV_SPAN"
	strace -c -f -q -o "$out" -p "${SERVER_PID[$server]}" 2>/dev/null &
	tracer=$!
	# strace is ready once it has attached: the server's status then names a tracer.
	for _ in $(seq 50); do
		[ "$(awk '/^TracerPid:/ { print $2 }' "/proc/${SERVER_PID[$server]}/status")" != 0 ] && break
		sleep 0.1
	done
	"$fn" "$server" >/dev/null || status=1
	wait_reaped "${SERVER_PID[$server]}" || true
	kill -INT "$tracer" 2>/dev/null || true
	wait "$tracer" 2>/dev/null || true
	return "$status"
}

# per_unit prints strace summary $1 as a Markdown table of the system calls per unit of work
# ($2 units in the run), the most frequent first, with the total.
per_unit() {
	# A row is "% time, seconds, usecs/call, calls, [errors,] name"; calls is the fourth field.
	awk '$1 ~ /^[0-9.]+$/ && $NF != "total" { print $4, $NF }' "$1" | sort -rn | awk -v units="$2" '
		{ sum += $1; if (NR <= 15) printf "| %s | %.2f |\n", $2, $1 / units }
		END { printf "| **all** | **%.2f** |\n", sum / units }'
}

if [ -n "${PROFILE:-}" ]; then
	PROFILE_DIR=${PROFILE_DIR:-bench/profile}
	mkdir -p "$PROFILE_DIR"
	PROFILE_DIR=$(cd "$PROFILE_DIR" && pwd)
	summary="$PROFILE_DIR/summary.md"
	echo "# Profiles of $(git log -1 --format=%h 2>/dev/null || echo '?'), $(date -u '+%Y-%m-%d %H:%M UTC')" >"$summary"
	for scenario in "${SCENARIOS[@]}"; do
		IFS='|' read -r id label _ fn _ _ cpu_unit work _ <<<"$scenario"
		selected "$id" || continue
		log "== profiles: $label"
		{
			echo
			echo "## $label ($id)"
		} >>"$summary"

		# Go's CPU profile of a fresh ftpkit that runs the scenario REPS times and nothing else.
		FTPKIT_FLAGS=("${FTPKIT_ARGV[@]}" -cpuprofile "$PROFILE_DIR/ftpkit-$id.pprof")
		if start_spare ftpkit; then
			for rep in $(seq "$REPS"); do
				"$fn" ftpkit >/dev/null || log "   run $rep under the profiler FAILED"
			done
			end_spare ftpkit
			for sort in flat cum; do
				go tool pprof -top "-$sort" -nodecount=30 "$WORK/ftpserver" "$PROFILE_DIR/ftpkit-$id.pprof" \
					>"$PROFILE_DIR/ftpkit-$id.$sort.txt" 2>/dev/null || log "   go tool pprof failed"
			done
			{
				echo
				echo "Go CPU profile of ftpkit, $REPS runs (\`go tool pprof -top -flat\`, then \`-cum\`):"
				echo
				echo '```'
				head -n 22 "$PROFILE_DIR/ftpkit-$id.flat.txt"
				echo '```'
				echo
				echo '```'
				sed -n '6,22p' "$PROFILE_DIR/ftpkit-$id.cum.txt"
				echo '```'
			} >>"$summary"
		else
			end_spare ftpkit
			log "   ftpkit did not start with -cpuprofile"
		fi
		FTPKIT_FLAGS=("${FTPKIT_ARGV[@]}")

		# perf, when installed: the whole process, the runtime's threads and the kernel included.
		if command -v perf >/dev/null 2>&1; then
			perf record -q -g -o "$PROFILE_DIR/ftpkit-$id.perf" -p "${SERVER_PID[ftpkit]}" 2>/dev/null &
			recorder=$!
			sleep 0.5
			"$fn" ftpkit >/dev/null || log "   run under perf FAILED"
			kill -INT "$recorder" 2>/dev/null || true
			wait "$recorder" 2>/dev/null || true
			perf_report() {
				perf report -q --stdio -g none "$@" -i "$PROFILE_DIR/ftpkit-$id.perf" 2>/dev/null | grep -v '^$' || true
			}
			{
				echo
				echo "perf, one run of ftpkit: the share of the kernel and of the program, then the"
				echo "system calls and the runtime's scheduler with what they call (\`perf report --children\`):"
				echo
				echo '```'
				perf_report --no-children --sort dso | head -n 3
				perf_report --children --sort sym |
					grep -E '__x64_sys_|__do_sys_|runtime\.(sysmon|schedule|findRunnable|netpoll|mallocgc|gcBgMarkWorker)$' |
					head -n 20
				echo '```'
			} >>"$summary"
		fi

		# System calls per unit of work, one run each under strace -c -f (which slows the run).
		if command -v strace >/dev/null 2>&1; then
			for server in ftpkit pure-ftpd; do
				[ -z "${FAILED[$server]:-}" ] || continue
				note=""
				strace_counts "$server" "$fn" "$PROFILE_DIR/$server-$id.strace" || {
					log "   $server under strace FAILED"
					note=" (the run failed part of the way: the figures are low)"
				}
				[ -s "$PROFILE_DIR/$server-$id.strace" ] || continue
				{
					echo
					echo "System calls of $server per unit of work (${cpu_unit#* per }; $work in one run), \`strace -c -f\`$note:"
					echo
					echo "| System call | Calls per unit |"
					echo "| --- | --- |"
					per_unit "$PROFILE_DIR/$server-$id.strace" "$work"
				} >>"$summary"
			done
		fi
	done
	log "== profiles in $PROFILE_DIR (summary.md)"
fi

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

# PEERS_OF_FTPKIT are the columns ftpkit is compared with.
PEERS_OF_FTPKIT=(ftpserverlib vsftpd pure-ftpd)

# cpu_cell formats a CPU time for the table, with three significant digits at most.
cpu_cell() {
	[ "$1" = n/a ] && {
		echo n/a
		return
	}
	awk -v v="$1" 'BEGIN { if (v >= 100) printf "%.0f", v; else if (v >= 10) printf "%.1f", v; else printf "%.2f", v }'
}

# percent prints ftpkit's result $1 as a percentage of ceiling $2.
percent() {
	{ [ "$1" = n/a ] || [ "$2" = n/a ]; } && {
		echo n/a
		return
	}
	echo "$(calc "sprintf(\"%.0f\", 100 * $1 / $2)") %"
}

CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)

cat <<EOF
- Machine: $(nproc) cores, ${CPU_MODEL:-unknown CPU}, Linux $(uname -r), $(go version | awk '{ print $3 }'),
  data on $(stat -f -c %T "$DATA")
- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average $LOAD_START at the start, $LOAD_END at the end
- Servers: ftpkit ${VERSION[ftpkit]}, ftpserverlib ${VERSION[ftpserverlib]:-n/a} (bench/fsl),
  vsftpd ${VERSION[vsftpd]:-n/a}, pure-ftpd ${VERSION[pure-ftpd]:-n/a} (Debian's packages)
- Command: \`REPS=$REPS SIZE_MIB=$SIZE_MIB CONC_FILES=$CONC_FILES IDLE=$IDLE${ONLY:+ ONLY=$ONLY}${FTPKIT_ARGS:+ FTPKIT_ARGS='$FTPKIT_ARGS'} bash bench/compare.sh\`
- Each cell: the median of $REPS interleaved runs, then (min–max) of the runs; ratios above 1 mean
  ftpkit is faster.

| Scenario | ftpkit | ftpserverlib | vsftpd | pure-ftpd | ftpkit/ftpserverlib | ftpkit/vsftpd | ftpkit/pure-ftpd |
| --- | --- | --- | --- | --- | --- | --- | --- |
EOF
for scenario in "${SCENARIOS[@]}"; do
	IFS='|' read -r id label unit _ higher _ <<<"$scenario"
	selected "$id" || continue
	row="| $label"
	for server in "${SERVERS[@]}"; do
		row+=" | $(cell "${RESULT[$id,$server]}" "$unit" "${RANGE[$id,$server]:-}")"
	done
	for server in "${PEERS_OF_FTPKIT[@]}"; do
		row+=" | $(ratio "${RESULT[$id,ftpkit]}" "${RESULT[$id,$server]}" "$higher")"
	done
	echo "$row |"
done

cat <<EOF

Server CPU time in the same runs: the machine's busy time less the client's, so the server's
processes and the kernel's work for them; lower is better, and ratios above 1 mean ftpkit uses
less:

| Scenario | Unit | ftpkit | ftpserverlib | vsftpd | pure-ftpd | ftpserverlib/ftpkit | vsftpd/ftpkit | pure-ftpd/ftpkit |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
EOF
for scenario in "${SCENARIOS[@]}"; do
	IFS='|' read -r id label _ _ _ _ cpu_unit _ _ <<<"$scenario"
	selected "$id" || continue
	row="| $label | $cpu_unit"
	for server in "${SERVERS[@]}"; do
		row+=" | $(cpu_cell "${CPU[$id,$server]}")"
	done
	for server in "${PEERS_OF_FTPKIT[@]}"; do
		row+=" | $(ratio "${CPU[$id,ftpkit]}" "${CPU[$id,$server]}" 0)"
	done
	echo "$row |"
done
if selected idle; then
	cat <<-EOF

		(¹) The CPU time of the idle scenario covers both of its runs (alone and beside the idle
		sessions) and the idle sessions' logins.

		Idle sessions: the same $(group "$CONC_FILES") files over 16 connections, alone and beside
		$(group "$IDLE") logged-in idle sessions, in the same runs; and the memory those sessions take,
		measured on a fresh instance of each server started for it: its PSS (proportional set size,
		summed over the server and every process it forked, so that pages they share count once)
		before the sessions log in and once they are logged in, each reading taken when the PSS
		has settled, divided by the number of sessions. A fresh instance, because a Go server that
		has served transfers keeps freed heap that new sessions fill without growing. A Go
		server's figure includes the garbage its collector has not reclaimed yet, which is part of
		what it costs.

		| Server | Busy alone | Beside the idle sessions | Change | PSS before the sessions | Memory per idle session |
		| --- | --- | --- | --- | --- | --- |
	EOF
	for server in "${SERVERS[@]}"; do
		without=${EXTRA[idle,$server,without]:-n/a}
		change=n/a
		if [ "$without" != n/a ] && [ "${RESULT[idle,$server]}" != n/a ]; then
			change="$(calc "sprintf(\"%+.1f\", 100 * (${RESULT[idle,$server]} - $without) / $without)") %"
		fi
		kib=n/a
		if [ -n "${EXTRA[idle,$server,kib]:-}" ]; then
			kib="$(calc "sprintf(\"%.1f\", ${EXTRA[idle,$server,kib]})") KiB"
			[ "$REPS" -eq 1 ] || kib+=" ($(calc "sprintf(\"%.1f\", ${EXTRA_RANGE[idle,$server,kib]%%–*})")–$(
				calc "sprintf(\"%.1f\", ${EXTRA_RANGE[idle,$server,kib]##*–})"))"
		fi
		base=n/a
		[ -z "${EXTRA[idle,$server,base]:-}" ] || base="$(calc "sprintf(\"%.1f\", ${EXTRA[idle,$server,base]} / 1024)") MiB"
		echo "| $server | $(cell "$without" files/s "${EXTRA_RANGE[idle,$server,without]:-}") |" \
			"$(cell "${RESULT[idle,$server]}" files/s "${RANGE[idle,$server]:-}") | $change | $base | $kib |"
	done
fi

selected retr || selected stor || selected retr_tls || selected stor_tls ||
	NO_CEILING=1
[ -n "${NO_CEILING:-}" ] || cat <<EOF

| Ceiling (bench/ceiling, no FTP) | MB/s | ftpkit's share of it |
| --- | --- | --- |
| Loopback TCP, memory to memory | $(group "${CEILING[tcp]}") | RETR: $(percent "${RESULT[retr,ftpkit]}" "${CEILING[tcp]}") |
| Loopback TCP from a file on the data file system (sendfile) into memory | $(group "${CEILING[sendfile]}") | RETR: $(percent "${RESULT[retr,ftpkit]}" "${CEILING[sendfile]}") |
| Loopback TCP into a file on the data file system | $(group "${CEILING[file]}") | STOR: $(percent "${RESULT[stor,ftpkit]}" "${CEILING[file]}") |
| Go crypto/tls 1.3 (AES-128-GCM), memory to memory | $(group "${CEILING[tls]}") | RETR: $(percent "${RESULT[retr_tls,ftpkit]}" "${CEILING[tls]}"), STOR: $(percent "${RESULT[stor_tls,ftpkit]}" "${CEILING[tls]}") |
| The same TLS into a file on the data file system | $(group "${CEILING[tls-file]}") | STOR: $(percent "${RESULT[stor_tls,ftpkit]}" "${CEILING[tls-file]}") |
EOF

cat <<EOF

How the servers ran: ftpkit as \`cmd/ftpserver -root DIR -idle-timeout 60 -pasv-ports MIN-MAX -tls
-no-transfer-log -max-clients 0 -max-clients-per-ip 0${FTPKIT_ARGS:+ $FTPKIT_ARGS}\` (user and password, no chroot, as root); ftpserverlib v0.32.3 as \`bench/fsl\` with
the same flags (an afero BasePathFs over the directory, explicit TLS with a self-signed certificate
made at start, as root); vsftpd standalone, anonymous with uploads, chrooted, sessions as
${VSFTPD_USER:-n/a}, isolate and isolate_network on (its defaults), seccomp_sandbox off, ssl_enable
without require_ssl_reuse, no transfer log; pure-ftpd standalone with a virtual user (PureDB,
MD5-crypt) mapped to nobody and chrooted, TLS optional, at most $MAX_CLIENTS clients. pure-ftpd
sleeps 0 to 15 ms at random before answering every non-anonymous PASS, on purpose, which bounds its
logins per second. Every data connection is passive (EPSV). PROT P negotiated ftpkit
${SUITE[ftpkit]:-n/a}, ftpserverlib ${SUITE[ftpserverlib]:-n/a}, vsftpd ${SUITE[vsftpd]:-n/a},
pure-ftpd ${SUITE[pure-ftpd]:-n/a}; the bare TLS ceiling uses TLS 1.3 with AES-128-GCM.
EOF

for server in "${SERVERS[@]}"; do
	if [ -n "${FAILED[$server]:-}" ]; then
		log "compare.sh: $server ${FAILED[$server]}; see the messages above"
		STATUS=1
	fi
done
[ "$STATUS" -eq 0 ] || log "compare.sh: some measurements failed (n/a in the table)"
exit "$STATUS"
