#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# module_load.sh - loading and unloading afmux: the family parameter, the
# refusal of a taken or invalid number, and autoload through net-pf-N.
# Needs root in a test VM (tools/vm-run sets AFMUX_MODULE).  TAP output.
set -u
mod=${AFMUX_MODULE:?run me under tools/vm-run}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"

family() { cat /sys/module/afmux/parameters/family; }
loaded() { grep -q '^afmux ' /proc/modules; }
# insmod must fail with errno $2 for family=$1 and say why in dmesg.
refused() {
	local out
	out=$(insmod "$mod" family="$1" 2>&1) && { rmmod afmux; return 1; }
	grep -q "$2" <<<"$out" && ! loaded && dmesg | tail -n 5 | grep -q "afmux: .*$3"
}
mksock() { # a mux socket of family $1 must be created
	python3 -c "import socket,sys; socket.socket(int(sys.argv[1]), socket.SOCK_STREAM).close()" "$1"
}

echo "TAP version 13"
echo "1..9"
t "loaded with the default family" test "$(family)" = 19
t "rmmod is clean" rmmod afmux
t "family=1 (AF_UNIX) refused: EEXIST" refused 1 "File exists" "already registered"
t "family=0 refused: EINVAL" refused 0 "Invalid" "not a valid"
t "family=46 refused: EINVAL" refused 46 "Invalid" "not a valid"
t "family=22 loads and is published" sh -c "insmod '$mod' family=22 && test \"\$(cat /sys/module/afmux/parameters/family)\" = 22"
t "socket(22) works" mksock 22
t "rmmod after family=22" rmmod afmux
# Autoload: socket(19) asks modprobe for net-pf-19, which the module's
# alias matches once it is installed.  depmod runs over a tree holding
# only this module (over the kernel's thousands, read through 9p, it
# took a minute), bind-mounted over the guest's own for the test.
autoload() {
	local rel base rc
	rel=$(uname -r)
	base=$(mktemp -d) || return 1
	mkdir -p "$base/lib/modules/$rel/extra" &&
		cp "$mod" "$base/lib/modules/$rel/extra/" &&
		{ cp /lib/modules/"$rel"/modules.builtin* "$base/lib/modules/$rel/" \
			2>/dev/null || :; } &&	# none in the debug kernel's
		touch "$base/lib/modules/$rel/modules.builtin" &&
		echo extra/afmux.ko >"$base/lib/modules/$rel/modules.order" &&
		depmod -b "$base" "$rel" && mkdir -p /lib/modules/"$rel" &&
		mount --bind "$base/lib/modules/$rel" /lib/modules/"$rel" || return 1
	mksock 19 && loaded && test "$(family)" = 19
	rc=$?
	umount /lib/modules/"$rel"
	return $rc
}
t "socket(19) autoloads the module" autoload
loaded || insmod "$mod"
echo "# Totals: pass:$((n - failed)) fail:$failed xfail:0 xpass:0 skip:0 error:0"
[ "$failed" = 0 ]
