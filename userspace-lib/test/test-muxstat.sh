#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# test-muxstat.sh MUXSTAT: muxstat over the fixture files in
# test/muxstat/ (two connections, three streams): the list, -e, every
# filter, -s, and its usage errors.  Prints "test-muxstat: N checks, N
# failed"; exit status 0 only if none failed.
set -u
M=$1
D=$(dirname "$0")/muxstat
n=0 bad=0
check() {	# check NAME EXPECTED-OUTPUT MUXSTAT-ARGS...
	name=$1 want=$2
	shift 2
	n=$((n + 1))
	got=$("$M" -P "$D" "$@" 2>&1)
	if [ "$got" != "$want" ]; then
		bad=$((bad + 1))
		printf 'FAIL %s\n--- want\n%s\n--- got\n%s\n' "$name" "$want" "$got"
	fi
}
ids() { "$M" -P "$D" -H "$@" | awk '{ print $2 }' | tr '\n' ' '; }
check_ids() {	# check_ids NAME IDS FILTER...
	name=$1 want=$2
	shift 2
	n=$((n + 1))
	got=$(ids "$@")
	[ "$got" = "$want" ] || { bad=$((bad + 1)); echo "FAIL $name: ids '$got', want '$want'"; }
}
check_ids "all" "3 4 "
check_ids "src :35122" "3 " src :35122
check_ids "src 127.0.0.1" "3 " src 127.0.0.1
check_ids "src [::1]:7000" "4 " src '[::1]:7000'
check_ids "dst ::1" "4 " dst ::1
check_ids "dst :9" "" dst :9
check_ids "state failed" "4 " state failed
check_ids "id 4" "4 " id 4
check_ids "key alpha" "3 " key alpha
check_ids "-x key 01FF" "3 " -x key 01FF
check "-e key alpha" "open            3       2       0    100001000            0 127.0.0.1:35122          127.0.0.1:7000
	 ino:1139 uid:0 opened:3 accepted:0 orphans:0 frames_tx:1663 frames_rx:100 rx_credit:262144 tls:1.3:aes-gcm-128 pool:3/0
	stream 1 local open key \"alpha\" fd:open sent:1000 recv:0 credit:261144 window:262144 rxq:0 txq:0 ino:1140" -H -e key alpha
check "err column" "failed          4       1       0            0    100001000 [::1]:7000               [::1]:35122 err:104 (Connection reset by peer)" -H state failed
check "-s" "Connections: 2 (open 1, failed 1)
Streams: 3 (open 2, half-closed-remote 1)

Frames: InData 5 InOpen 6
Conns: Attached 2 Failed 0" -s
n=$((n + 1))
"$M" -P "$D" bogus x >/dev/null 2>&1
[ $? = 2 ] || { bad=$((bad + 1)); echo "FAIL unknown filter: exit status not 2"; }
n=$((n + 1))
"$M" -P "$D/none" >/dev/null 2>&1
[ $? = 1 ] || { bad=$((bad + 1)); echo "FAIL missing files: exit status not 1"; }
echo "test-muxstat: $n checks, $bad failed"
[ "$bad" = 0 ]
