// SPDX-License-Identifier: GPL-2.0
/*
 * family.c - selftests for the AF_MUX family itself: the number published
 * in sysfs, socket creation and the errors for what AF_MUX does not do.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"

TEST(family_published)
{
	int family = afmux_family();

	ASSERT_GT(family, 0);
	EXPECT_LT(family, 46);
}

TEST(socket_create)
{
	int family = afmux_family();
	int fd, val;
	socklen_t len = sizeof(val);
	struct stat st;

	ASSERT_GT(family, 0);
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(fstat(fd, &st), 0);
	EXPECT_TRUE(S_ISSOCK(st.st_mode));
	ASSERT_EQ(getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &val, &len), 0);
	EXPECT_EQ(val, family);
	ASSERT_EQ(getsockopt(fd, SOL_SOCKET, SO_TYPE, &val, &len), 0);
	EXPECT_EQ(val, SOCK_STREAM);
	EXPECT_EQ(close(fd), 0);
}

TEST(socket_create_lib)
{
	int fd = afmux_socket(SOCK_NONBLOCK);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(close(fd), 0);
}

TEST(socket_bad_type)
{
	int family = afmux_family();

	ASSERT_GT(family, 0);
	EXPECT_EQ(socket(family, SOCK_DGRAM, 0), -1);
	EXPECT_EQ(errno, ESOCKTNOSUPPORT);
	EXPECT_EQ(socket(family, SOCK_SEQPACKET, 0), -1);
	EXPECT_EQ(errno, ESOCKTNOSUPPORT);
}

TEST(socket_bad_protocol)
{
	int family = afmux_family();

	ASSERT_GT(family, 0);
	EXPECT_EQ(socket(family, SOCK_STREAM, 6), -1);
	EXPECT_EQ(errno, EPROTONOSUPPORT);
}

/*
 * A mux socket does nothing it has not been told how to do: data goes
 * over streams, not the mux socket; listen() only sets the accept backlog.
 */
TEST(socket_unsupported_ops)
{
	int fd = afmux_socket(0);
	struct sockaddr sa = { .sa_family = AF_INET };
	char c = 0;

	ASSERT_GE(fd, 0);
	EXPECT_EQ(listen(fd, 1), 0);
	EXPECT_EQ(connect(fd, &sa, sizeof(sa)), -1);
	EXPECT_EQ(errno, EOPNOTSUPP);
	EXPECT_EQ(send(fd, &c, 1, MSG_NOSIGNAL), -1);
	EXPECT_EQ(errno, EOPNOTSUPP);
	EXPECT_EQ(ioctl(fd, _IO(0xaf, 99)), -1);
	EXPECT_EQ(errno, ENOTTY);
	close(fd);
}

TEST_HARNESS_MAIN
