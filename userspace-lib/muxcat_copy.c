// SPDX-License-Identifier: GPL-2.0
/*
 * muxcat_copy.c - moving bytes between two fds: sendfile() from regular
 * files, splice() through a pipe otherwise, read()/write() where the
 * kernel refuses both.
 */
#include "muxcat.h"

/* Copying data */

static void wait_fd(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
}

static int write_all(int fd, const char *buf, size_t len, const char *name)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			wait_fd(fd, POLLOUT);
			continue;
		}
		if (n <= 0) {
			msg(n < 0 ? errno : EIO, "writing %s", name);
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Errors that say "this fd does not do splice/sendfile", not "failed". */
static int no_splice(int err)
{
	return err == EINVAL || err == ENOSYS || err == EOPNOTSUPP;
}

static int copy_rw(int in, const char *iname, int out, const char *oname,
		   char *buf, uint64_t *bytes)
{
	for (;;) {
		ssize_t n = read(in, buf, COPY_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			wait_fd(in, POLLIN);
			continue;
		}
		if (n < 0) {
			msg(errno, "reading %s", iname);
			return -1;
		}
		if (n == 0)
			return 0;
		if (write_all(out, buf, (size_t)n, oname) < 0)
			return -1;
		*bytes += (uint64_t)n;
	}
}

/* 0: done, -1: failed (reported), 1: use read/write for the rest. */
static int copy_sendfile(int in, const char *iname, int out,
			 const char *oname, uint64_t *bytes)
{
	for (;;) {
		ssize_t n = sendfile(out, in, NULL, SENDFILE_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			wait_fd(out, POLLOUT);
			continue;
		}
		if (n < 0 && no_splice(errno))
			return 1;	/* the file offset is where it stopped */
		if (n < 0) {
			if (errno == EIO)
				msg(errno, "reading %s", iname);
			else
				msg(errno, "writing %s", oname);
			return -1;
		}
		if (n == 0)
			return 0;
		*bytes += (uint64_t)n;
	}
}

/*
 * splice() through a pipe of our own, so every error belongs to one side.
 * 0: done, -1: failed (reported), 1: use read/write for the rest (any
 * data already in the pipe has been written out).
 */
static int copy_splice(int in, const char *iname, int out, const char *oname,
		       char *buf, uint64_t *bytes)
{
	int p[2], ret = -1, size;

	if (pipe2(p, O_CLOEXEC) < 0)
		return 1;
	fcntl(p[1], F_SETPIPE_SZ, PIPE_SIZE);	/* only a hint */
	size = fcntl(p[1], F_GETPIPE_SZ);
	if (size <= 0)
		size = COPY_CHUNK;
	for (;;) {
		ssize_t n = splice(in, NULL, p[1], NULL, (size_t)size,
				   SPLICE_F_MOVE);
		size_t left;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			wait_fd(in, POLLIN);	/* our pipe is empty */
			continue;
		}
		if (n < 0 && no_splice(errno)) {
			ret = 1;
			goto out;
		}
		if (n < 0) {
			msg(errno, "reading %s", iname);
			goto out;
		}
		if (n == 0) {
			ret = 0;
			goto out;
		}
		left = (size_t)n;
		while (left) {
			ssize_t m = splice(p[0], NULL, out, NULL, left,
					   SPLICE_F_MOVE);

			if (m < 0 && errno == EINTR)
				continue;
			if (m < 0 && errno == EAGAIN) {
				wait_fd(out, POLLOUT);
				continue;
			}
			if (m < 0 && no_splice(errno))
				goto drain;
			if (m <= 0) {
				msg(m < 0 ? errno : EIO, "writing %s", oname);
				goto out;
			}
			left -= (size_t)m;
			*bytes += (uint64_t)m;
		}
	}

drain:	/* @out takes no splice: write what is in the pipe by hand. */
	while (1) {
		int avail = 0;
		ssize_t n;

		if (ioctl(p[0], FIONREAD, &avail) < 0 || avail <= 0)
			break;
		n = read(p[0], buf, COPY_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			msg(n < 0 ? errno : EIO, "reading a pipe");
			goto out;
		}
		if (write_all(out, buf, (size_t)n, oname) < 0)
			goto out;
		*bytes += (uint64_t)n;
	}
	ret = 1;
out:
	close(p[0]);
	close(p[1]);
	return ret;
}

/*
 * Copies @in to @out until EOF on @in, adding the bytes written to
 * *@bytes.  0 on success; -1 after reporting "reading INAME" or "writing
 * ONAME".
 */
int copy_count(int in, const char *iname, int out, const char *oname,
		      uint64_t *bytes)
{
	char buf[COPY_CHUNK];
	struct stat st;
	int r;

	if (fstat(in, &st) == 0 && S_ISREG(st.st_mode))
		r = copy_sendfile(in, iname, out, oname, bytes);
	else
		r = copy_splice(in, iname, out, oname, buf, bytes);
	if (r <= 0)
		return r;
	return copy_rw(in, iname, out, oname, buf, bytes);
}

int copy(int in, const char *iname, int out, const char *oname)
{
	uint64_t bytes = 0;

	return copy_count(in, iname, out, oname, &bytes);
}

