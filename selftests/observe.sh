#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# observe.sh - docs/observe.md's tools on live transfers: muxstat(8) on 64
# streams each way held open mid-transfer (every stream listed, filters
# by address and key, the summary), then `perf record -e 'afmux:*'` and a
# bpftrace program over a 2 MB transfer, whose events must add up to the
# bytes sent (bpftrace only where the kernel has CONFIG_BPF_EVENTS: not
# the debug kernel).  Both muxcat ends run here on 127.0.0.1.  Needs root
# in a test VM with the module loaded, perf and bpftrace.  TAP output; exit
# status 0 only if all passed.  The muxstat screen is printed as # lines.
set -u
here=$(cd "$(dirname "$0")" && pwd)
MUXCAT=$(readlink -f "$here/../userspace-lib/muxcat")
MUXSTAT=$(readlink -f "$here/../userspace-lib/muxstat")
# 64 streams; 32 on the debug kernel, where each of the processes this
# starts per stream costs a good part of a second.
N=64
[ "${AFMUX_VM_KERNEL:-}" = debug ] && N=32
. "$here/tap.sh"
# until SECONDS CMD...: run CMD every 20 ms until it succeeds (0) or
# SECONDS pass (1).
until_ok() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.02
	done
}
listening() { ss -Hltn "sport = :$1" | grep -q .; }

echo "TAP version 13"
W=$(mktemp -d "${TMPDIR:-/tmp}/observe-test.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT

# N streams whose FILEs are FIFOs this script holds open read-write
# (opened after the muxcats start, which must not inherit them): each
# carries 256 KiB, then stays open until the fds are closed.
declare -a fds
args=() fifos=()
head -c $((N * 262144)) /dev/urandom | split -a 3 -d -b 262144 - "$W/d" ||
	exit 1
for i in $(seq 0 $((N - 1))); do
	fifos+=("$W/p$i")
	args+=("s$i" "$W/p$i")
done
mkfifo "${fifos[@]}" || exit 1
mkdir "$W/rx"
timeout 300 "$MUXCAT" -l 127.0.0.1 7100 recv -n $N -d "$W/rx" \
	2>"$W/recv.err" &
rpid=$!
until_ok 10 listening 7100
timeout 300 "$MUXCAT" 127.0.0.1 7100 send "${args[@]}" >"$W/send.out" \
	2>"$W/send.err" &
spid=$!
for i in $(seq 0 $((N - 1))); do
	exec {fd}<>"$W/p$i"
	fds[$i]=$fd
done
wpids=()
for i in $(seq 0 $((N - 1))); do
	printf -v d '%s/d%03d' "$W" "$i"
	cat "$d" >&"${fds[$i]}" &
	wpids+=($!)
done
wait "${wpids[@]}"
# Every stream, both ends, with its 256 KiB received.
received() {
	[ "$(awk '$2 == "peer" && $8 == 262144' /proc/net/afmux_streams |
		wc -l)" = $N ]
}
t "all $N streams open with 256 KiB each received" until_ok 60 received

"$MUXSTAT" >"$W/ls"
"$MUXSTAT" -e >"$W/screen"
"$MUXSTAT" -s >"$W/summary"
diag "$W/screen"
diag "$W/summary"
# "goaway" once a muxcat has opened or accepted all it will.
t "muxstat: two connections, open (or goaway)" \
	test "$(grep -cE '^(open|goaway) ' "$W/ls")" = 2 -a "$(wc -l <"$W/ls")" = 3
t "muxstat -e: $N streams under each" \
	test "$(grep -c $'^\tstream .* local open key "s' "$W/screen")" = $N \
	-a "$(grep -c $'^\tstream .* peer open key "s' "$W/screen")" = $N
t "muxstat src :7100 is the listener's end only" \
	test "$("$MUXSTAT" -H src :7100 | wc -l)" = 1 -a \
	"$("$MUXSTAT" -H src 127.0.0.1:7100 | awk '{print $7}')" = 127.0.0.1:7100
t "muxstat dst :7100 is the connecting end only" \
	test "$("$MUXSTAT" -H dst :7100 | awk '{print $8}')" = 127.0.0.1:7100 \
	-a "$("$MUXSTAT" -H dst 10.9.9.9 | wc -l)" = 0
t "muxstat -e key s17 (and -x 733137): one stream each side" \
	test "$("$MUXSTAT" -e key s17 | grep -c 'key "s17"')" = 2 -a \
	"$("$MUXSTAT" -e -x key 733137 | grep -c 'key "s17"')" = 2
t "muxstat -s: 2 connections, $((2 * N)) open streams" \
	grep -qxE "Connections: 2 \(((open|goaway) 2|open 1, goaway 1|goaway 1, open 1)\)" "$W/summary"
grep -q "^Streams: $((2 * N)) (open $((2 * N)))\$" "$W/summary" ||
	nok "muxstat -s: streams line"

for i in $(seq 0 $((N - 1))); do
	eval "exec ${fds[$i]}>&-"
done
wait $spid
src=$?
wait $rpid
rrc=$?
# Two sha256sum runs in all (a process per file is slow on the debug
# kernel): each received file "...-sI" against the Ith one sent.
same=0
declare -A want
sha256sum "$W"/d[0-9][0-9][0-9] >"$W/sent.sum"
sha256sum "$W/rx/"*-s* >"$W/rx.sum" 2>/dev/null
while read -r h f; do
	want[${f##*/d}]=$h
done <"$W/sent.sum"
while read -r h f; do
	printf -v k '%03d' "$((10#${f##*-s}))"
	[ "${want[$k]:-}" = "$h" ] && same=$((same + 1))
done <"$W/rx.sum"
t "the $N streams arrived whole (sha256), both muxcats exit 0" \
	test "$same" = $N -a "$src" = 0 -a "$rrc" = 0
if [ "$same" != $N ] || [ "$src" != 0 ] || [ "$rrc" != 0 ]; then
	echo "# $same whole; muxcat send exit $src, recv exit $rrc"
	diag "$W/send.err" "$W/recv.err"
	ls "$W/rx" | head -n 3 | diag
fi
gone() { [ "$(wc -l </proc/net/afmux)" = 1 ]; }
t "the connections leave /proc/net/afmux" until_ok 30 gone

# One 2 MB transfer, for perf and bpftrace.
head -c 2000000 /dev/urandom >"$W/f"
cat >"$W/xfer" <<EOF
#!/bin/sh
"$MUXCAT" -l 127.0.0.1 \$1 recv -n 1 >"$W/out" &
until ss -Hltn "sport = :\$1" | grep -q .; do sleep 0.02; done
"$MUXCAT" 127.0.0.1 \$1 send traced "$W/f"
wait
EOF
chmod +x "$W/xfer"
if perf record -q -e 'afmux:*' -a -o "$W/perf.data" -- "$W/xfer" 7101 \
	>"$W/perf.err" 2>&1 && perf script -i "$W/perf.data" >"$W/perf.txt" \
	2>>"$W/perf.err"; then
	grep -v afmux_frame_ "$W/perf.txt" | head -n 12 | diag
	c() { grep -c "afmux:$1:" "$W/perf.txt"; }
	data=$(grep 'afmux:afmux_frame_tx:.*type=DATA' "$W/perf.txt" |
		sed 's/.* len=\([0-9]*\) .*/\1/' | awk '{ s += $1 } END { print s }')
	t "perf: attach 2, open 1, incoming 1, accept 1; DATA sent adds up to 2000000" \
		test "$(c afmux_conn_attach)$(c afmux_stream_open)$(c afmux_stream_incoming)$(c afmux_stream_accept)" = 2111 \
		-a "$data" = 2000000 -a "$(sum "$W/out")" = "$(sum "$W/f")"
else
	diag "$W/perf.err"
	nok "perf record -e 'afmux:*'"
fi

# bpftrace attaches BPF programs to tracepoints: it needs
# CONFIG_BPF_EVENTS, which Debian's kernels have and the debug kernel
# (tools/debug-kernel) does not.
if grep -qx CONFIG_BPF_EVENTS=y "/boot/config-$(uname -r)" 2>/dev/null; then
	timeout 120 bpftrace -e '
tracepoint:afmux:afmux_frame_tx /args->type == 0/ { @data = sum(args->len); }
tracepoint:afmux:afmux_stream_end { @ends[args->rx] = count(); }' \
		-c "/bin/sh $W/xfer 7102" >"$W/bt.txt" 2>&1
	diag "$W/bt.txt"
	t "bpftrace: DATA frames sum to 2000000, two ENDs each way" \
		grep -qx '@data: 2000000' "$W/bt.txt"
	grep -qx '@ends\[0\]: 2' "$W/bt.txt" &&
		grep -qx '@ends\[1\]: 2' "$W/bt.txt" || nok "bpftrace: END counts"
else
	echo "# bpftrace not run: $(uname -r) has no CONFIG_BPF_EVENTS"
fi

echo "1..$n"
[ "$failed" = 0 ]
