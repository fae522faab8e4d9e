/* SPDX-License-Identifier: GPL-2.0 */
/*
 * util.h - what several afmux selftests share: full reads and writes, a
 * TCP connection over loopback, frames of docs/protocol.md written by
 * hand (for tests that play a raw peer), the net.afmux.* sysctls, a
 * network namespace of one's own, and the module's reference count
 * (every afmux socket holds one; 0 once all are gone).
 */
#ifndef AFMUX_SELFTEST_UTIL_H
#define AFMUX_SELFTEST_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <fcntl.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <linux/afmux.h>

#include "afmux.h"

static inline int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until @len bytes or EOF: the count, or -1 if read(2) failed. */
static inline ssize_t read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* A connected pair of TCP sockets over loopback (IPv4, or IPv6 if @v6). */
static inline int tcp_pair_af(int *client, int *server, bool v6)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = v6 ? sizeof(*sin6) : sizeof(*sin);
	int af = v6 ? AF_INET6 : AF_INET;
	int l, c = -1, s = -1, err;

	if (v6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
	} else {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	l = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -1;
	if (bind(l, (struct sockaddr *)&ss, len) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&ss, &len))
		goto fail;
	c = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&ss, len))
		goto fail;
	s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		goto fail;
	close(l);
	*client = c;
	*server = s;
	return 0;
fail:
	err = errno;
	if (c >= 0)
		close(c);
	close(l);
	errno = err;
	return -1;
}

/* The same over 127.0.0.1. */
static inline int tcp_pair(int *client, int *server)
{
	return tcp_pair_af(client, server, false);
}

/*
 * Two muxes over a new loopback TCP connection, each offering a pool
 * (mux_new_pool()) if asked.  0, or -1 (either may be NULL then).
 */
static inline int mux_pair(struct mux **a, struct mux **b, bool pool_a,
			   bool pool_b)
{
	int c, s;

	*a = *b = NULL;
	if (tcp_pair(&c, &s))
		return -1;
	*a = pool_a ? mux_new_pool(c) : mux_new(c);
	*b = pool_b ? mux_new_pool(s) : mux_new(s);
	close(c);
	close(s);
	return *a && *b ? 0 : -1;
}

enum { FT_DATA, FT_OPEN, FT_END, FT_RESET, FT_WINDOW, FT_PING, FT_GOAWAY };
enum { E_NO_ERROR, E_PROTOCOL, E_FLOW_CONTROL, E_REFUSED_STREAM, E_CANCEL };
#define PREFACE_LEN	24
#define HEADER_LEN	12

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline size_t put_preface(uint8_t *p, uint32_t window,
				  uint32_t max_streams)
{
	memcpy(p, "AFMUX\r\n\0", 8);
	put_be16(p + 8, 1);
	put_be16(p + 10, 0);
	put_be32(p + 12, window);
	put_be32(p + 16, max_streams);
	put_be32(p + 20, 0);
	return PREFACE_LEN;
}

static inline size_t put_frame(uint8_t *p, uint8_t type, uint32_t stream,
			const void *payload, uint32_t len)
{
	p[0] = type;
	p[1] = 0;
	put_be16(p + 2, 0);
	put_be32(p + 4, len);
	put_be32(p + 8, stream);
	if (payload && len)
		memcpy(p + HEADER_LEN, payload, len);
	return HEADER_LEN + len;
}

/*
 * A raw peer (the test, writing frames by hand) at one end of a fresh TCP
 * connection, a mux attached to the other: prefaces exchanged (ours
 * announcing @window), reads on *@raw time out after 10 s.  Returns the
 * mux, or NULL (and *@raw is -1).
 */
static inline struct mux *raw_peer_new(int *raw, uint32_t window)
{
	struct timeval tv = { .tv_sec = 10 };
	uint8_t pf[PREFACE_LEN];
	struct mux *m = NULL;
	int tcp;

	if (tcp_pair(raw, &tcp))
		return NULL;
	if (!setsockopt(*raw, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		m = mux_new(tcp);
	close(tcp);
	put_preface(pf, window, 16);
	if (m && (write_all(*raw, pf, sizeof(pf)) ||
		  read_full(*raw, pf, sizeof(pf)) != sizeof(pf))) {
		mux_close(m);
		m = NULL;
	}
	if (!m) {
		close(*raw);
		*raw = -1;
	}
	return m;
}

/* The next frame from the mux: its header in @h, payload in @payload. */
static inline int raw_read_frame(int raw, uint8_t h[HEADER_LEN], uint8_t *payload,
		      uint32_t max)
{
	uint32_t len;

	if (read_full(raw, h, HEADER_LEN) != HEADER_LEN)
		return -1;
	len = get_be32(h + 4);
	if (len > max || read_full(raw, payload, len) != (ssize_t)len)
		return -1;
	return 0;
}

/*
 * Read frames from the mux until the answer (PING with ACK) to the PING
 * carrying @ping: once it arrives, the mux has processed everything the
 * test sent before that PING.  0, or -1 on EOF or a frame too long.
 */
static inline int wait_ping_ack(int fd, const uint8_t ping[8])
{
	uint8_t h[HEADER_LEN], payload[1024];

	for (;;) {
		uint32_t len;

		if (read_full(fd, h, sizeof(h)) != sizeof(h))
			return -1;
		len = get_be32(h + 4);
		if (len > sizeof(payload) ||
		    read_full(fd, payload, len) != (ssize_t)len)
			return -1;
		if (h[0] == FT_PING && (h[1] & 1) && len == 8 &&
		    !memcmp(payload, ping, 8))
			return 0;
	}
}

/*
 * Seed case 1's size: 500 MB per flow; 50 MB on the debug kernel (KASAN
 * makes it some 4 times slower), so that "make check" keeps its time.
 * streams, ktls and pool use it.
 */
static inline size_t case1_len(void)
{
	const char *k = getenv("AFMUX_VM_KERNEL");

	return k && !strcmp(k, "debug") ? 50000000 : 500000000;
}

/* Move the caller into a new network namespace and bring its lo up. */
static inline int netns_new(void)
{
	struct ifreq ifr = { 0 };
	int fd, err;

	if (unshare(CLONE_NEWNET))
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	strcpy(ifr.ifr_name, "lo");
	err = ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (!err)
		err = ioctl(fd, SIOCSIFFLAGS, &ifr);
	close(fd);
	return err;
}

/*
 * Move into a namespace of our own whose loopback carries 4 Mbit/s with
 * a 10 ms round trip and a 1500-byte MTU: a millisecond of it is 500
 * bytes, so the pump's TCP_NOTSENT_LOWAT sits at its floor.
 */
static inline int netns_slow_link(void)
{
	if (netns_new())
		return -1;
	return system("ip link set lo mtu 1500 && "
		      "tc qdisc add dev lo root netem delay 5ms rate 4mbit") ?
	       -1 : 0;
}

/* net.afmux.@name, or -1. */
static inline long sysctl_get(const char *name)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/net/afmux/%s", name);
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* 0, or -1 with errno as the write(2) of the value failed. */
static inline int sysctl_put(const char *name, long v)
{
	char path[128], val[32];
	int fd, n, err;

	snprintf(path, sizeof(path), "/proc/sys/net/afmux/%s", name);
	n = snprintf(val, sizeof(val), "%ld\n", v);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, val, n) != n) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return close(fd);
}

/* Write @s to the file @path (sysfs, debugfs, cgroupfs): 0 or -1. */
static inline int write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "we");
	int ret;

	if (!f)
		return -1;
	ret = fputs(s, f) < 0 ? -1 : 0;
	return fclose(f) || ret ? -1 : 0;
}

/* The counters of mux @m into @st: 0, or -1 with errno. */
static inline int mux_stats(struct mux *m, struct afmux_stats *st)
{
	socklen_t len = sizeof(*st);

	memset(st, 0, sizeof(*st));
	return getsockopt(mux_fd(m), SOL_AFMUX, AFMUX_STATS, st, &len);
}

/* The counters of mux @m; all bits set if AFMUX_STATS failed. */
static inline struct afmux_stats mux_stats_of(struct mux *m)
{
	struct afmux_stats st;
	socklen_t len = sizeof(st);

	memset(&st, 0xa5, sizeof(st));
	if (getsockopt(mux_fd(m), SOL_AFMUX, AFMUX_STATS, &st, &len))
		memset(&st, 0xff, sizeof(st));
	return st;
}

static inline int afmux_module_refcnt(void)
{
	FILE *f = fopen("/sys/module/afmux/refcnt", "r");
	int n = -1;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/* Teardown is a work item: wait up to @secs s for the count to reach 0. */
static inline int afmux_wait_refcnt_zero_for(int secs)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i, n = -1;

	for (i = 0; i < secs * 100; i++) {
		n = afmux_module_refcnt();
		if (n == 0)
			break;
		nanosleep(&ts, NULL);
	}
	return n;
}

static inline int afmux_wait_refcnt_zero(void)
{
	return afmux_wait_refcnt_zero_for(20);
}

#endif /* AFMUX_SELFTEST_UTIL_H */
