#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# muxcat.sh - userspace-lib/muxcat end to end over the afmux module: a 50 MB
# file (10 MB on the debug kernel) through send/recv (and with --zerocopy), dd | send into recv | sha256sum, a tree through
# tar and exec, exec's environment, recv -d writing one ID-KEY file per
# stream, and --tls (certificates made here with openssl): a file through
# a verified TLS connection, refused with the wrong CA; --connections 3
# (a pool), plain and inside TLS: three files at once, each intact.  Both ends run here on 127.0.0.1: a listener on port 0 (its
# -v output says the port) and a connecting muxcat.  Needs root in a test
# VM with the module loaded.  TAP output; exit status 0 only if all passed.
#
# Environment: MUXCAT (default ../userspace-lib/muxcat), TMPDIR (scratch,
# about 250 MB), MUXCAT_TIMEOUT (seconds per muxcat, default 300).
set -u
here=$(cd "$(dirname "$0")" && pwd)
MUXCAT=$(readlink -f "${MUXCAT:-$here/../userspace-lib/muxcat}")
TO=${MUXCAT_TIMEOUT:-300}
. "$here/tap.sh"

echo "TAP version 13"
if ! "$MUXCAT" -h >/dev/null 2>&1; then
	echo "Bail out! $MUXCAT does not run"
	exit 1
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/muxcat-test.XXXXXX") || exit 1
DRAIN=
trap 'rm -rf "$W"' EXIT

# listen NAME ARGS...: "muxcat -v -l 127.0.0.1 0 ARGS..." in the
# background; its stdout (through the command $LPIPE if set) goes to
# $W/NAME.out, its stderr to $W/NAME.err, its exit status to $W/NAME.rc.
# Returns once the listener has said which port it listens on (read from
# a FIFO, so nothing sleeps), with LPID and PORT set; 1 if it never does.
listen() {
	local name=$1 line
	shift
	LNAME=$name
	PORT=
	mkfifo "$W/$name.fifo" || return 1
	{
		# shellcheck disable=SC2086 # LOPTS: words, no spaces
		timeout "$TO" "$MUXCAT" -v -l ${LOPTS:-} 127.0.0.1 0 "$@" \
			2>"$W/$name.fifo"
		echo $? >"$W/$name.rc"
	} | ${LPIPE:-cat} >"$W/$name.out" &
	LPID=$!
	exec 3<"$W/$name.fifo"
	while IFS= read -r -t "$TO" line <&3; do
		echo "$line" >>"$W/$name.err"
		case $line in
		*"listening on "*" port "*) PORT=${line##* port }; break ;;
		esac
	done
	# The rest of its stderr, until it exits.
	cat <&3 >>"$W/$name.err" &
	DRAIN=$!
	exec 3<&-
	if [ -z "$PORT" ]; then
		echo "# the listener did not start:"
		diag "$W/$name.err"
		lwait
		return 1
	fi
}
# lwait: wait for the listener; its exit status in LRC.
lwait() {
	wait "$LPID"
	wait "$DRAIN"
	LRC=$(cat "$W/$LNAME.rc" 2>/dev/null || echo none)
}
# conn ARGS...: the connecting muxcat, to 127.0.0.1 $PORT (options
# before HOST in COPTS, as LOPTS for listen).
# shellcheck disable=SC2086
conn() { timeout "$TO" "$MUXCAT" -v ${COPTS:-} 127.0.0.1 "$PORT" "$@"; }
# statuses WANT NAME GOT: one TAP line; on failure, both ends' stderr.
statuses() {
	if [ "$3" = "$1" ]; then
		ok "$2"
	else
		nok "$2: exit statuses $3, expected $1"
		diag "$W/conn.err" "$W/$LNAME.err" 2>/dev/null
	fi
}

# The data: 50 MB of random bytes (10 MB on the debug kernel, where
# KASAN makes each copy slow), and a small tree for tar.
BIG=50
[ "${AFMUX_VM_KERNEL:-}" = debug ] && BIG=10
head -c $((BIG * 1000000)) /dev/urandom >"$W/big" || exit 1
mkdir -p "$W/tree/sub/deeper" "$W/untar"
head -c 1 /dev/urandom >"$W/tree/one-byte"
: >"$W/tree/empty"
head -c 100000 /dev/urandom >"$W/tree/sub/small"
head -c 5000000 /dev/urandom >"$W/tree/sub/deeper/medium"
ln -s ../one-byte "$W/tree/sub/link"

# 1. send KEY FILE -> recv > FILE: 50 MB, the same bytes.
if listen recv recv; then
	conn send big "$W/big" >"$W/conn.out" 2>"$W/conn.err"
	CRC=$?
	lwait
	statuses 00 "send KEY ${BIG}MB-FILE -> recv: both exit 0" "$CRC$LRC"
	t "send KEY ${BIG}MB-FILE -> recv: sha256 matches" \
		test "$(sum "$W/recv.out")" = "$(sum "$W/big")"
else
	nok "send KEY ${BIG}MB-FILE -> recv: no listener"
	nok "send KEY ${BIG}MB-FILE -> recv: sha256: no listener"
fi
rm -f "$W/recv.out"

# 1b. --zerocopy send KEY FILE -> recv: the file's pages with MSG_ZEROCOPY
# (-v says how many sends took it), the same bytes.
if LPIPE=sha256sum listen zc recv; then
	COPTS=--zerocopy conn send zc "$W/big" >"$W/conn.out" 2>"$W/conn.err"
	CRC=$?
	lwait
	statuses 00 "--zerocopy send KEY ${BIG}MB-FILE -> recv: both exit 0" "$CRC$LRC"
	t "--zerocopy send: sha256 matches" \
		test "$(cut -d' ' -f1 "$W/zc.out")" = "$(sum "$W/big")"
	t "--zerocopy send: the file went with MSG_ZEROCOPY" \
		grep -q "bytes with MSG_ZEROCOPY in [1-9][0-9]* sends" "$W/conn.err"
else
	nok "--zerocopy send -> recv: no listener"
	nok "--zerocopy send: sha256: no listener"
	nok "--zerocopy send: MSG_ZEROCOPY: no listener"
fi

# 2. dd | send KEY -> recv | sha256sum: from and to pipes.
if LPIPE=sha256sum listen piped recv; then
	dd if="$W/big" bs=65536 status=none |
		conn send piped >"$W/conn.out" 2>"$W/conn.err"
	CRC="${PIPESTATUS[0]}${PIPESTATUS[1]}"
	lwait
	statuses 000 "dd | send KEY -> recv | sha256sum: all exit 0" "$CRC$LRC"
	t "dd | send KEY -> recv | sha256sum: the sum matches" \
		test "$(cut -d' ' -f1 "$W/piped.out")" = "$(sum "$W/big")"
else
	nok "dd | send -> recv | sha256sum: no listener"
	nok "dd | send -> recv | sha256sum: sum: no listener"
fi

# 3. tar -c | send -> exec tar -x: a tree through a command on the stream.
if listen tar exec tar -C "$W/untar" -xf -; then
	tar -C "$W/tree" -cf - . | conn send tree >"$W/conn.out" 2>"$W/conn.err"
	CRC="${PIPESTATUS[0]}${PIPESTATUS[1]}"
	lwait
	statuses 000 "tar -c | send -> exec tar -x: all exit 0" "$CRC$LRC"
	t "tar -c | send -> exec tar -x: the tree arrived intact" \
		diff -r --no-dereference "$W/tree" "$W/untar"
else
	nok "tar -c | send -> exec tar -x: no listener"
	nok "tar -c | send -> exec tar -x: tree: no listener"
fi
rm -rf "$W/untar"

# 4. exec gives CMD the key and stream ID; CMD's output is the reply.
# shellcheck disable=SC2016 # expanded by the sh that exec runs
if listen env exec sh -c \
	'cat >/dev/null && echo "$MUXCAT_KEY $MUXCAT_KEY_HEX $MUXCAT_STREAM_ID"'; then
	echo data | conn send envkey >"$W/conn.out" 2>"$W/conn.err"
	CRC=${PIPESTATUS[1]}
	lwait
	id=$(sed -n "s/^muxcat: opened stream \([0-9]*\) key 'envkey'$/\1/p" \
		"$W/conn.err")
	if [ "$CRC$LRC" = 00 ] && [ -n "$id" ] &&
	   [ "$(cat "$W/conn.out")" = "envkey 656e766b6579 $id" ]; then
		ok "exec: MUXCAT_KEY, MUXCAT_KEY_HEX, MUXCAT_STREAM_ID; the reply comes back"
	else
		nok "exec: expected the reply 'envkey 656e766b6579 ${id:-?}' and exit 00, got '$(cat "$W/conn.out")', exit $CRC$LRC"
		diag "$W/conn.err" "$W/env.err"
	fi
else
	nok "exec: environment: no listener"
fi

# 5. recv -n 3 -d DIR: one file DIR/ID-KEY per stream (KEY %XX-escaped).
head -c 1000000 /dev/urandom >"$W/f2"
head -c 3000 /dev/urandom >"$W/f3"
keys=("k1" "k2" "a b/c")
escaped=("k1" "k2" "a%20b%2Fc")
files=("$W/big" "$W/f2" "$W/f3")
mkdir "$W/dir"
if listen dir recv -n 3 -d "$W/dir"; then
	conn send "${keys[0]}" "${files[0]}" "${keys[1]}" "${files[1]}" \
		"${keys[2]}" "${files[2]}" >"$W/conn.out" 2>"$W/conn.err"
	CRC=$?
	lwait
	statuses 00 "send 3 KEY FILE pairs -> recv -n 3 -d DIR: both exit 0" \
		"$CRC$LRC"
	t "recv -d DIR: exactly 3 files" test "$(ls -A "$W/dir" | wc -l)" = 3
	for i in 0 1 2; do
		# The stream's ID as the sender reported it (-v), key escaped.
		id=$(sed -n "s/^muxcat: opened stream \([0-9]*\) key '${escaped[i]}'$/\1/p" \
			"$W/conn.err")
		f="$W/dir/$id-${escaped[i]}"
		if [ -n "$id" ] && [ -f "$f" ] &&
		   [ "$(sum "$f")" = "$(sum "${files[i]}")" ]; then
			ok "recv -d: key '${keys[i]}' is in DIR/$id-${escaped[i]}, intact"
		else
			nok "recv -d: key '${keys[i]}': expected DIR/${id:-ID}-${escaped[i]} with its data; DIR has: $(ls -A "$W/dir" | tr '\n' ' ')"
		fi
	done
else
	nok "send 3 pairs -> recv -d: no listener"
	nok "recv -d DIR: files: no listener"
	for i in 0 1 2; do nok "recv -d: key '${keys[i]}': no listener"; done
fi

# 6. --tls: a CA, a server certificate for 127.0.0.1 it signed, and a CA
# that signed nothing.
modprobe tls 2>/dev/null
o() { openssl "$@" 2>>"$W/openssl.err"; }
k='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'
# shellcheck disable=SC2086
if o req -x509 $k -keyout "$W/ca.key" -out "$W/ca.pem" -subj /CN=ca -days 2 &&
   o req -x509 $k -keyout "$W/other.key" -out "$W/other.pem" -subj /CN=o -days 2 &&
   o req $k -keyout "$W/srv.key" -out "$W/srv.csr" -subj /CN=localhost &&
   echo "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$W/srv.ext" &&
   o x509 -req -in "$W/srv.csr" -CA "$W/ca.pem" -CAkey "$W/ca.key" \
	-CAcreateserial -out "$W/srv.pem" -days 2 -extfile "$W/srv.ext"; then
	certs=1
else
	certs=0
	diag "$W/openssl.err"
fi
LOPTS="--tls --cert $W/srv.pem --key $W/srv.key"
if [ $certs = 1 ] && LPIPE=sha256sum listen tls recv; then
	COPTS="--tls --ca $W/ca.pem" conn send secret "$W/big" \
		>"$W/conn.out" 2>"$W/conn.err"
	CRC=$?
	lwait
	statuses 00 "--tls: send ${BIG}MB-FILE -> recv | sha256sum: both exit 0" \
		"$CRC$LRC"
	t "--tls: the sum matches" \
		test "$(cut -d' ' -f1 "$W/tls.out")" = "$(sum "$W/big")"
else
	nok "--tls: send -> recv: no listener"
	nok "--tls: the sum: no listener"
fi
if [ $certs = 1 ] && listen tlsbad recv; then
	COPTS="--tls --ca $W/other.pem" conn send secret "$W/f3" \
		>"$W/conn.out" 2>"$W/conn.err"
	CRC=$?
	lwait
	if [ "$CRC" = 1 ] && [ "$LRC" != 0 ] &&
	   grep -q "^muxcat: TLS: the peer's certificate" "$W/conn.err"; then
		ok "--tls with the wrong CA: refused, both exit non-zero"
	else
		nok "--tls with the wrong CA: exit statuses $CRC$LRC"
		diag "$W/conn.err" "$W/tlsbad.err"
	fi
else
	nok "--tls with the wrong CA: no listener"
fi
LOPTS=

# 7. --connections 3: a pool of three TCP connections (inside TLS too),
# three files sent at once into recv -d, each intact; -v names the joins.
pool_case() {
	local name=$1 what=$2 f
	rm -rf "$W/pool" && mkdir "$W/pool"
	if listen "$name" recv -n 3 -d "$W/pool"; then
		conn send a "$W/big" b "$W/tree/sub/deeper/medium" \
			c "$W/tree/sub/small" >"$W/conn.out" 2>"$W/conn.err"
		CRC=$?
		lwait
		statuses 00 "$what: send 3 files -> recv -d: both exit 0" "$CRC$LRC"
		t "$what: both ends joined connections 2 and 3" \
			test "$(grep -c 'joined the pool as link [12]$' \
				"$W/conn.err" "$W/$name.err" | cut -d: -f2 |
				tr -d '\n')" = 22
		for f in a:big b:tree/sub/deeper/medium c:tree/sub/small; do
			t "$what: ${f%%:*} arrived intact" test \
				"$(sum "$W"/pool/*-"${f%%:*}")" = "$(sum "$W/${f#*:}")"
		done
	else
		for f in 1 2 3 4 5; do nok "$what: no listener"; done
	fi
}
LOPTS="--connections 3" COPTS="--connections 3" pool_case pool "--connections 3"
if [ $certs = 1 ]; then
	LOPTS="--connections 3 --tls --cert $W/srv.pem --key $W/srv.key" \
	COPTS="--connections 3 --tls --ca $W/ca.pem" \
		pool_case pooltls "--connections 3 --tls"
else
	for f in 1 2 3 4 5; do nok "--connections 3 --tls: no certificates"; done
fi

echo "1..$n"
echo "# Totals: pass:$((n - failed)) fail:$failed xfail:0 xpass:0 skip:0 error:0"
[ "$failed" = 0 ]
