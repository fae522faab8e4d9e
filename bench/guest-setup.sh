# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# bench/guest-setup.sh: sourced by bench/run and bench/ab-modules inside
# the test VM, as root, so that both measure the same guest the same way:
# busy CPU time and memory (busy_jiffies, meminfo), waiting for a server
# (wait_for), the commands before a workload's server and client
# (workload_prefixes), and the limits raised in the guest (guest_limits).

AFMUX_SYSCTL=/proc/sys/net/afmux

busy_jiffies() { # user + nice + system + irq + softirq, all CPUs
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat
}
meminfo() { # $1: field -> kB
	awk -v f="$1:" '$1 == f { print $2; exit }' /proc/meminfo
}

# wait_for FILE REGEX SECONDS PID: 0 once a line of FILE matches, 1 if PID
# died or the time ran out.
wait_for() {
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		kill -0 "$4" 2>/dev/null || { grep -qE "$2" "$1" 2>/dev/null; return; }
		sleep 0.05
	done
	return 1
}

# workload_prefixes NAME: append to the caller's srvpre and clipre arrays
# the commands bench/run puts before a server and a client of workload
# NAME.  Idle ping-pong: the client on CPU 0 and the server on CPU 1, as
# on two hosts, for every contender (left to the scheduler, the two shared
# a CPU in some runs and not in others, and p50 moved by up to 40 %
# between runs of the same program).  Many connections: one event loop a
# side (the kernel's own work still runs where it runs).
workload_prefixes() {
	if [ "$1" = pingpong ] && [ "$(nproc)" -ge 2 ]; then
		srvpre+=(taskset -c 1) clipre+=(taskset -c 0)
	fi
	if [[ $1 == many* ]]; then
		srvpre+=(env MUXBENCH_WORKERS=1 GOMAXPROCS=1)
		clipre+=(env GOMAXPROCS=1)
	fi
}

# Limits that are not what is measured; again after each insmod of afmux.
guest_limits() {
	local pages

	ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	[ "$(cat /proc/sys/fs/file-max)" -ge 2097152 ] || echo 2097152 >/proc/sys/fs/file-max
	# 100000 TCP connections: 30000 per source address need a wide range,
	# one that stays clear of the servers' ports (7100 and up).
	echo "10000 65535" >/proc/sys/net/ipv4/ip_local_port_range
	# ... and TCP limits that are not what is measured: by default 200000
	# sockets (both ends) holding up to a page of forward-allocated memory
	# each pass tcp_mem (about 9% of RAM) and TCP goes into memory pressure,
	# and closing 100000 of them at once passes tcp_max_orphans (the kernel
	# then resets them instead of ending them).
	pages=$(( $(meminfo MemTotal) / 4 ))
	echo "$pages $pages $pages" >/proc/sys/net/ipv4/tcp_mem
	# The same for afmux's pool (net.afmux.mem): it charges every stream's
	# initial window (256 KiB) up front, both ends in this one guest, so
	# 8000 streams (many1000x8) are 4 GiB of credit, past its default hard
	# limit of half the free memory.
	[ -w $AFMUX_SYSCTL/mem ] && echo "$pages $pages $pages" >$AFMUX_SYSCTL/mem
	echo 1048576 >/proc/sys/net/ipv4/tcp_max_orphans
	# Closing 100000 loopback connections at once queues more FINs than the
	# default per-CPU backlog of loopback (1000 packets) holds; those dropped
	# are retransmitted, but orphans give up after a few tries and leave the
	# server's end established for ever.
	echo 262144 >/proc/sys/net/core/netdev_max_backlog
}
