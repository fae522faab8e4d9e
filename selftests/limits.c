// SPDX-License-Identifier: GPL-2.0
/*
 * limits.c - the caller-facing side of docs/security.md: the net.afmux.*
 * sysctls (defaults, ranges, per namespace, and what they limit), the
 * extensible ioctl structs (any size from VER0 on, unknown bytes zero,
 * E2BIG otherwise), and every struct copied to userspace fully written
 * (buffers pre-filled with a pattern).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "util.h"

#define PAT	0xa5

static const struct {
	const char *name;
	long def, min, max;
} sysctls[] = {
	{ "window", 262144, 4096, 67108864 },
	{ "window_max", 67108864, 4096, 67108864 },
	{ "backlog", 4096, 1, 2147483647 },
	{ "max_streams", 1048576, 1, 2147483647 },
	{ "keepalive_idle_ms", 0, 0, 3600000 },
	{ "keepalive_timeout_ms", 20000, 1, 3600000 },
	{ "orphan_timeout_ms", 60000, 1, 3600000 },
	{ "orphans_max", 4096, 0, 2147483647 },
	{ "linger_ms", 10000, 0, 600000 },
	{ "conn_mem_max", 268435456, 4096, 2147483647 },
};

/* Each sysctl: its documented default, and its range enforced. */
TEST(sysctl_defaults_and_ranges)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sysctls); i++) {
		const char *n = sysctls[i].name;

		EXPECT_EQ(sysctl_get(n), sysctls[i].def) TH_LOG("%s", n);
		EXPECT_EQ(sysctl_put(n, sysctls[i].min - 1), -1)
			TH_LOG("%s below its range", n);
		if (sysctls[i].max < 2147483647)
			EXPECT_EQ(sysctl_put(n, sysctls[i].max + 1), -1)
				TH_LOG("%s above its range", n);
		EXPECT_EQ(sysctl_put(n, sysctls[i].max), 0) TH_LOG("%s", n);
		EXPECT_EQ(sysctl_get(n), sysctls[i].max) TH_LOG("%s", n);
		EXPECT_EQ(sysctl_put(n, sysctls[i].def), 0) TH_LOG("%s", n);
	}
}

/* The window a new mux announces in its preface is net.afmux.window. */
TEST(sysctl_window)
{
	uint8_t pf[PREFACE_LEN];
	struct mux *m;
	int c, s;

	ASSERT_EQ(sysctl_put("window", 65536), 0);
	ASSERT_EQ(tcp_pair(&c, &s), 0);
	m = mux_new(c);
	ASSERT_EQ(sysctl_put("window", 262144), 0);
	ASSERT_NE(m, NULL);
	ASSERT_EQ(read_full(s, pf, sizeof(pf)), sizeof(pf));
	EXPECT_EQ(get_be32(pf + 12), 65536U);
	mux_close(m);
	close(c);
	close(s);
}

/* Each namespace has its own: a new one starts from the defaults. */
TEST(sysctl_per_namespace)
{
	int status;
	pid_t pid;

	ASSERT_EQ(sysctl_put("backlog", 7), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		if (unshare(CLONE_NEWNET) || sysctl_get("backlog") != 4096 ||
		    sysctl_put("backlog", 9) || sysctl_get("backlog") != 9)
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_EQ(status, 0) TH_LOG("in a new namespace: not the default");
	EXPECT_EQ(sysctl_get("backlog"), 7);
	EXPECT_EQ(sysctl_put("backlog", 4096), 0);
}

/* net.afmux.max_streams: opening past it is ENOBUFS. */
TEST(sysctl_max_streams)
{
	struct mux *a, *b;
	int c, s, f1, f2;

	ASSERT_EQ(tcp_pair(&c, &s), 0);
	a = mux_new(c);
	b = mux_new(s);
	ASSERT_NE(a, NULL);
	ASSERT_NE(b, NULL);
	ASSERT_EQ(sysctl_put("max_streams", 2), 0);
	f1 = mux_send(a, "1");
	f2 = mux_send(a, "2");
	EXPECT_EQ(mux_send(a, "3"), -1);
	EXPECT_EQ(errno, ENOBUFS);
	ASSERT_EQ(sysctl_put("max_streams", 1048576), 0);
	EXPECT_GE(f1, 0);
	EXPECT_GE(f2, 0);
	close(f1);
	close(f2);
	mux_close(a);
	mux_close(b);
	close(c);
	close(s);
}

/* net.afmux.backlog also caps listen() (the preface says the backlog). */
TEST(sysctl_backlog_caps_listen)
{
	uint8_t pf[PREFACE_LEN];
	int c, s, mux;

	mux = afmux_socket(SOCK_CLOEXEC);
	ASSERT_GE(mux, 0);
	ASSERT_EQ(sysctl_put("backlog", 3), 0);
	EXPECT_EQ(listen(mux, 100), 0);
	ASSERT_EQ(sysctl_put("backlog", 4096), 0);
	ASSERT_EQ(tcp_pair(&c, &s), 0);
	ASSERT_EQ(ioctl(mux, AFMUX_IOC_ATTACH, &(struct afmux_attach){ .fd = c }),
		  0);
	ASSERT_EQ(read_full(s, pf, sizeof(pf)), sizeof(pf));
	EXPECT_EQ(get_be32(pf + 16), 3U);	/* max streams: the backlog */
	close(mux);
	close(c);
	close(s);
}

static int ioctl_sized(int fd, unsigned int dir, unsigned int nr,
		       size_t size, void *arg)
{
	return ioctl(fd, _IOC(dir, 0xaf, nr, size), arg);
}

/* The ioctls take a larger struct with a zero tail, or refuse clearly. */
TEST(ioctl_struct_sizes)
{
	uint8_t buf[64], key[8] = "k";
	struct afmux_open *op = (struct afmux_open *)buf;
	int c, s, mux, peer, fd;

	ASSERT_EQ(tcp_pair(&c, &s), 0);
	mux = afmux_socket(SOCK_CLOEXEC);
	peer = afmux_socket(SOCK_CLOEXEC);
	ASSERT_GE(mux, 0);
	ASSERT_GE(peer, 0);

	memset(buf, 0, sizeof(buf));
	*(int32_t *)buf = c;
	EXPECT_EQ(ioctl_sized(mux, _IOC_WRITE, 1, 8, buf), -1);
	EXPECT_EQ(errno, EINVAL);		/* below VER0 */
	EXPECT_EQ(ioctl_sized(mux, _IOC_READ, 1, 16, buf), -1);
	EXPECT_EQ(errno, EINVAL);		/* wrong direction */
	EXPECT_EQ(ioctl_sized(mux, _IOC_WRITE, 9, 16, buf), -1);
	EXPECT_EQ(errno, ENOTTY);		/* no such ioctl */
	buf[40] = 1;
	EXPECT_EQ(ioctl_sized(mux, _IOC_WRITE, 1, 48, buf), -1);
	EXPECT_EQ(errno, E2BIG);		/* unknown, not zero */
	buf[40] = 0;
	ASSERT_EQ(ioctl_sized(mux, _IOC_WRITE, 1, 48, buf), 0)
		TH_LOG("attach, 48 bytes: %s", strerror(errno));
	ASSERT_EQ(ioctl(peer, AFMUX_IOC_ATTACH,
			&(struct afmux_attach){ .fd = s }), 0);

	memset(buf, 0, sizeof(buf));
	op->key = (uintptr_t)key;
	op->key_len = 1;
	fd = ioctl_sized(mux, _IOC_READ | _IOC_WRITE, 2, 40, buf);
	ASSERT_GE(fd, 0) TH_LOG("open, 40 bytes: %s", strerror(errno));
	EXPECT_EQ(op->stream_id, 1U);
	close(fd);
	close(peer);
	close(mux);
	close(c);
	close(s);
}

/* Nothing of the pattern survives in what getsockopt writes. */
static bool has_pattern_word(const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i, j;

	for (i = 0; i + 4 <= len; i += 4) {
		for (j = 0; j < 4 && b[i + j] == PAT; j++)
			;
		if (j == 4)
			return true;
	}
	return false;
}

/* Structs copied to userspace are fully written: no stale bytes. */
TEST(structs_fully_written)
{
	struct afmux_stream_info info;
	struct afmux_stats st;
	struct afmux_keepalive ka;
	struct afmux_accept acc;
	struct mux *a, *b;
	socklen_t len;
	uint8_t key[16];
	int c, s, fs, fr;

	ASSERT_EQ(tcp_pair(&c, &s), 0);
	a = mux_new(c);
	b = mux_new(s);
	ASSERT_NE(a, NULL);
	ASSERT_NE(b, NULL);
	fs = mux_send(a, "abc");
	ASSERT_GE(fs, 0);

	memset(&st, PAT, sizeof(st));
	len = sizeof(st);
	ASSERT_EQ(getsockopt(mux_fd(a), SOL_AFMUX, AFMUX_STATS, &st, &len), 0);
	EXPECT_EQ(len, sizeof(st));
	EXPECT_FALSE(has_pattern_word(&st, sizeof(st)));
	memset(&ka, PAT, sizeof(ka));
	len = sizeof(ka);
	ASSERT_EQ(getsockopt(mux_fd(a), SOL_AFMUX, AFMUX_KEEPALIVE, &ka, &len),
		  0);
	EXPECT_FALSE(has_pattern_word(&ka, sizeof(ka)));

	memset(&acc, PAT, sizeof(acc));
	memset(key, PAT, sizeof(key));
	acc.key = (uintptr_t)key;
	acc.key_len = sizeof(key);
	acc.flags = 0;
	acc.reserved = 0;
	fr = ioctl(mux_fd(b), AFMUX_IOC_ACCEPT, &acc);
	ASSERT_GE(fr, 0);
	EXPECT_EQ(acc.key_len, 3U);
	EXPECT_EQ(acc.stream_id, 1U);
	EXPECT_EQ(acc.reserved, 0U);
	EXPECT_EQ(key[3], PAT);		/* only the key's bytes written */

	memset(&info, PAT, sizeof(info));
	len = sizeof(info);
	ASSERT_EQ(getsockopt(fr, SOL_AFMUX, AFMUX_STREAM_INFO, &info, &len), 0);
	EXPECT_EQ(len, sizeof(info));
	EXPECT_EQ(info.key_len, 3U);
	EXPECT_EQ(memcmp(info.key, "abc", 3), 0);
	EXPECT_FALSE(has_pattern_word(&info, sizeof(info)));
	close(fs);
	close(fr);
	mux_close(a);
	mux_close(b);
	close(c);
	close(s);
}

TEST_HARNESS_MAIN
