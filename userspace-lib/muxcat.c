// SPDX-License-Identifier: GPL-2.0
/*
 * muxcat - the streams of an AF_MUX connection from the shell, in the
 * spirit of nc and socat.
 *
 *   muxcat [-l] [-4|-6] [-x] [-v] [-w BYTES] HOST PORT MODE [ARGS...]
 *
 *   send KEY [FILE]            one outgoing stream: FILE (or stdin) in,
 *                              the peer's reply to stdout
 *   send KEY FILE KEY FILE...  several at once, concurrently, no reply
 *   recv [-n N] [-d DIR]       N incoming streams to stdout, or to files
 *   exec [-n N] CMD [ARG...]   CMD per incoming stream, on the stream
 *   run KEY CMD [ARG...]       CMD on one outgoing stream
 *
 * usage_text below is the full description.  How it works:
 *
 * - Data moves with sendfile() from regular files and splice() through a
 *   pipe otherwise, falling back to read()/write() where the kernel says
 *   EINVAL, ENOSYS or EOPNOTSUPP (a tty, an O_APPEND file).
 * - send copies both directions at once (a thread per stream sends), so a
 *   peer that answers while it reads cannot deadlock on the stream windows.
 *   With several streams the main thread polls them all for replies.
 * - A stream is ended (END) only once everything received on it has been
 *   written out, so "send" exiting 0 means the peer stored all of it.  On
 *   an error the stream is reset (SO_LINGER 0, RESET CANCEL) rather than
 *   ended, so the peer never takes a cut-off transfer for a complete one;
 *   send then resets every stream that is not over and exits.
 * - recv -d copies the streams concurrently (a thread each), exec runs
 *   the commands concurrently (like inetd); recv to stdout is sequential.
 * - Keys: bytes as given (-x: in hex).  Shown and used as file names
 *   percent-encoded: bytes other than [A-Za-z0-9._-] become %XX.
 */
#include "muxcat.h"

/* Streams */

/* Close @fd with RESET CANCEL (docs/protocol.md §9), not END. */
void reset_stream(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

void abort_stream(int fd)
{
	reset_stream(fd);
	close(fd);
}

void report_stream(const char *what, uint32_t id,
			  const unsigned char *key, size_t len)
{
	char esc[3 * AFMUX_KEY_MAX + 1];

	if (!verbose)
		return;
	escape_key(esc, key, len);
	msg(0, "%s stream %" PRIu32 " key '%s'", what, id, esc);
}

int set_window(int fd, uint32_t id, uint32_t window)
{
	if (window && mux_stream_set_window(fd, window) < 0) {
		msg(errno, "setting the window of stream %" PRIu32, id);
		return -1;
	}
	return 0;
}


/* The next incoming stream into @s: 0, or -1 with errno set. */
int accept_stream(struct mux *m, struct stream *s)
{
	for (;;) {
		s->key_len = sizeof(s->key);
		s->fd = mux_accept(m, s->key, &s->key_len, AFMUX_O_CLOEXEC,
				   &s->id);
		if (s->fd >= 0)
			break;
		if (errno != EINTR)
			return -1;
	}
	report_stream("accepted", s->id, s->key, s->key_len);
	return 0;
}

/*
 * After accepting @done of @count streams (0: no limit) accept failed
 * with @err: 0 if that is the expected end, else 1 (reported).
 */
int accept_failed(int err, unsigned long done, unsigned long count)
{
	if (err == EPIPE && !count)
		return 0;
	if (err == EPIPE)
		msg(0, "the connection ended after %lu of %lu streams", done,
		    count);
	else
		msg(err, "accepting a stream");
	return 1;
}

int finish_mux(struct mux *m, int status)
{
	if (mux_close(m) < 0) {
		msg(errno, "closing the mux socket");
		return status ? status : 1;
	}
	return status;
}

/* send */

/* One stream of send: KEY and FILE. */
struct xfer {
	unsigned char key[AFMUX_KEY_MAX];
	size_t key_len;
	const char *iname;		/* FILE, or "stdin" */
	int in;				/* FILE's fd; -1: not open */
	int fd;				/* the stream; -1: not open */
	uint32_t id;
	uint64_t sent, received;
	pthread_t sender;
	char sname[3 * AFMUX_KEY_MAX + 32];	/* "stream ID[ key 'KEY']" */
};

/* Global, so that any thread can reset them all (die_sending). */
static struct xfer *xfers;
static size_t nxfers;
static int send_zerocopy;		/* --zerocopy */

/* Opens every FILE of send, before we connect.  0, or -1 (reported). */
static int open_inputs(const struct opts *o)
{
	size_t i;

	xfers = calloc(o->npairs, sizeof(*xfers));
	if (!xfers) {
		msg(errno, "allocating memory");
		return -1;
	}
	nxfers = o->npairs;
	for (i = 0; i < nxfers; i++)
		xfers[i].in = xfers[i].fd = -1;
	for (i = 0; i < nxfers; i++) {
		struct xfer *x = &xfers[i];
		const char *file = o->pairs[2 * i + 1];
		struct stat st;

		/* Cannot fail: parse_args checked every KEY. */
		parse_key(o->pairs[2 * i], o->hexkey, x->key, &x->key_len);
		if (!file || !strcmp(file, "-")) {
			x->in = STDIN_FILENO;
			x->iname = "stdin";
			continue;
		}
		x->iname = file;
		x->in = open(file, O_RDONLY | O_CLOEXEC);
		if (x->in < 0 || fstat(x->in, &st) < 0) {
			msg(errno, "%s", file);
			return -1;
		}
		if (S_ISDIR(st.st_mode)) {
			msg(EISDIR, "%s", file);
			return -1;
		}
	}
	return 0;
}

static void close_inputs(void)
{
	size_t i;

	for (i = 0; i < nxfers; i++)
		if (xfers[i].in > STDIN_FILENO)
			close(xfers[i].in);
	free(xfers);
	xfers = NULL;
	nxfers = 0;
}

/*
 * send failed, in any thread: resets every stream that is open (the peer
 * sees RESET CANCEL, not END, so it never takes a cut-off transfer for a
 * complete one) and exits.  The exit closes the fds, which sends the
 * RESETs; streams the peer has ended too are over and stay so.
 */
__attribute__((noreturn))
static void die_sending(void)
{
	size_t i;

	for (i = 0; i < nxfers; i++)
		if (xfers[i].fd >= 0)
			reset_stream(xfers[i].fd);
	_exit(1);
}

/* A sender thread: FILE onto the stream, then END. */
static void *sender_main(void *arg)
{
	struct xfer *x = arg;

	/* A regular file with MSG_ZEROCOPY; the rest (if any) as usual. */
	if (send_zerocopy &&
	    copy_zerocopy(x->in, x->iname, x->fd, x->sname, &x->sent) < 0)
		die_sending();
	if (copy_count(x->in, x->iname, x->fd, x->sname, &x->sent) < 0)
		die_sending();
	if (shutdown(x->fd, SHUT_WR) < 0) {
		msg(errno, "ending %s", x->sname);
		die_sending();
	}
	return NULL;
}

/*
 * With several streams: reads what the peer sends back on each, to the
 * peer's END, counting it in x->received (it must be nothing: the caller
 * checks).  0, or -1 (reported).
 */
static int read_replies(void)
{
	struct pollfd *p = calloc(nxfers, sizeof(*p));
	size_t i, open = nxfers;
	char buf[COPY_CHUNK];

	if (!p) {
		msg(errno, "allocating memory");
		return -1;
	}
	for (i = 0; i < nxfers; i++)
		p[i] = (struct pollfd){ .fd = xfers[i].fd, .events = POLLIN };
	while (open) {
		if (poll(p, (nfds_t)nxfers, -1) < 0) {
			if (errno == EINTR)
				continue;
			msg(errno, "waiting for the streams");
			goto fail;
		}
		for (i = 0; i < nxfers; i++) {
			ssize_t n;

			if (!p[i].revents)
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n < 0) {
				msg(errno, "reading %s", xfers[i].sname);
				goto fail;
			}
			if (n == 0) {		/* the peer's END */
				p[i].fd = -1;	/* poll skips it now */
				open--;
			}
			xfers[i].received += (uint64_t)n;
		}
	}
	free(p);
	return 0;
fail:
	free(p);
	return -1;
}

/*
 * Opens a stream per KEY FILE pair and sends the FILEs concurrently (a
 * thread each), ending each stream when its FILE is sent.  With one
 * stream, what the peer sends back goes to stdout; with several, it must
 * be nothing.  Each stream is closed once the peer has ended it too.
 */
static int do_send(struct mux *m, const struct opts *o)
{
	char esc[3 * AFMUX_KEY_MAX + 1];
	size_t i;
	int err, status = 0;

	send_zerocopy = o->zerocopy;
	for (i = 0; i < nxfers; i++) {
		struct xfer *x = &xfers[i];

		x->fd = mux_open(m, x->key, x->key_len, AFMUX_O_CLOEXEC,
				 &x->id);
		if (x->fd < 0) {
			msg(errno, "opening a stream");
			goto fail;
		}
		report_stream("opened", x->id, x->key, x->key_len);
		escape_key(esc, x->key, x->key_len);
		/* One stream keeps "stream ID"; several name their keys. */
		snprintf(x->sname, sizeof(x->sname),
			 nxfers > 1 ? "stream %" PRIu32 " key '%s'" :
				      "stream %" PRIu32,
			 x->id, esc);
		if (set_window(x->fd, x->id, o->window) < 0)
			goto fail;
	}
	for (i = 0; i < nxfers; i++) {
		err = pthread_create(&xfers[i].sender, NULL, sender_main,
				     &xfers[i]);
		if (err) {
			msg(err, "creating a thread");
			die_sending();
		}
	}
	if (nxfers == 1) {
		if (copy_count(xfers[0].fd, xfers[0].sname, STDOUT_FILENO,
			       "stdout", &xfers[0].received) < 0)
			die_sending();
	} else if (read_replies() < 0) {
		die_sending();
	}
	/* A sender exits the process itself if it fails. */
	for (i = 0; i < nxfers; i++)
		pthread_join(xfers[i].sender, NULL);

	for (i = 0; i < nxfers; i++) {
		struct xfer *x = &xfers[i];

		if (nxfers > 1 && x->received) {
			msg(0, "%s: the peer sent %" PRIu64 " bytes back (with several streams there must be no reply)",
			    x->sname, x->received);
			status = 1;
		} else if (verbose) {
			escape_key(esc, x->key, x->key_len);
			msg(0, "stream %" PRIu32 " key '%s': sent %" PRIu64 " bytes, received %" PRIu64,
			    x->id, esc, x->sent, x->received);
		}
		if (close(x->fd) < 0) {
			msg(errno, "closing %s", x->sname);
			status = 1;
		}
		x->fd = -1;
	}
	return finish_mux(m, status);
fail:
	/* No thread yet. */
	for (i = 0; i < nxfers; i++) {
		if (xfers[i].fd >= 0)
			abort_stream(xfers[i].fd);
		xfers[i].fd = -1;
	}
	return finish_mux(m, 1);
}

/* recv */

static int recv_stdout(struct mux *m, const struct opts *o)
{
	struct stream st, *s = &st;
	unsigned long n;
	int status = 0;
	char sname[32];

	for (n = 0; !o->count || n < o->count; n++) {
		if (accept_stream(m, s) < 0) {
			status = accept_failed(errno, n, o->count);
			break;
		}
		snprintf(sname, sizeof(sname), "stream %" PRIu32, s->id);
		if (set_window(s->fd, s->id, o->window) < 0 ||
		    copy(s->fd, sname, STDOUT_FILENO, "stdout") < 0) {
			abort_stream(s->fd);
			status = 1;
			break;
		}
		/* Ends our direction: the peer learns it all arrived. */
		if (close(s->fd) < 0) {
			msg(errno, "closing %s", sname);
			status = 1;
			break;
		}
	}
	return finish_mux(m, status);
}

/* recv -d: one thread per stream, counted in "active". */
static pthread_mutex_t save_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t save_idle = PTHREAD_COND_INITIALIZER;
static unsigned long save_active;
static int save_failed;

struct save_job {
	struct stream s;
	int dirfd;
	const char *dir;
	uint32_t window;
};

/* Writes stream @s into DIR/<its name>; closes its fd.  0 or -1. */
static int save_stream(const struct save_job *j)
{
	const struct stream *s = &j->s;
	char name[NAME_MAX + 1], sname[32], path[PATH_MAX + NAME_MAX + 2];
	int out;

	stream_filename(name, s->id, s->key, s->key_len);
	snprintf(sname, sizeof(sname), "stream %" PRIu32, s->id);
	snprintf(path, sizeof(path), "%s/%s", j->dir, name);
	if (set_window(s->fd, s->id, j->window) < 0)
		goto fail;
	out = openat(j->dirfd, name,
		     O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		     0666);
	if (out < 0) {
		msg(errno, "%s", path);
		goto fail;
	}
	if (copy(s->fd, sname, out, path) < 0) {
		close(out);
		goto fail;
	}
	if (close(out) < 0) {
		msg(errno, "writing %s", path);
		goto fail;
	}
	if (close(s->fd) < 0) {
		msg(errno, "closing %s", sname);
		return -1;
	}
	return 0;
fail:
	abort_stream(s->fd);
	return -1;
}

static void save_done(int failed)
{
	pthread_mutex_lock(&save_lock);
	save_failed |= failed;
	if (!--save_active)
		pthread_cond_signal(&save_idle);
	pthread_mutex_unlock(&save_lock);
}

static void *save_main(void *arg)
{
	struct save_job *j = arg;
	int failed = save_stream(j) < 0;

	free(j);
	save_done(failed);
	return NULL;
}

static int recv_dir(struct mux *m, const struct opts *o, int dirfd)
{
	pthread_attr_t attr;
	unsigned long n;
	int status = 0;

	if (pthread_attr_init(&attr) ||
	    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED)) {
		msg(0, "cannot set up threads");
		return finish_mux(m, 1);
	}
	for (n = 0; !o->count || n < o->count; n++) {
		struct save_job *j = malloc(sizeof(*j));
		pthread_t thread;
		int err;

		if (!j) {
			msg(errno, "allocating memory");
			status = 1;
			break;
		}
		if (accept_stream(m, &j->s) < 0) {
			status = accept_failed(errno, n, o->count);
			free(j);
			break;
		}
		j->dirfd = dirfd;
		j->dir = o->dir;
		j->window = o->window;
		pthread_mutex_lock(&save_lock);
		save_active++;
		pthread_mutex_unlock(&save_lock);
		err = pthread_create(&thread, &attr, save_main, j);
		if (err)	/* no thread: do it here, then carry on */
			save_main(j);
	}
	pthread_attr_destroy(&attr);
	/* No more streams (GOAWAY); those accepted carry on. */
	status = finish_mux(m, status);
	pthread_mutex_lock(&save_lock);
	while (save_active)
		pthread_cond_wait(&save_idle, &save_lock);
	if (save_failed)
		status = 1;
	pthread_mutex_unlock(&save_lock);
	return status;
}

/* main */

/* Fds 0-2 open, so stream fds are never 0-2 (dup2 in spawn). */
static int open_std_fds(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (open("/dev/null", O_RDWR) != fd) {
			msg(errno, "/dev/null");
			return -1;
		}
	}
	return 0;
}

/* TLS on @tcp if asked for; -1 (reported) on failure. */
static int tls_setup(const struct opts *o, int tcp)
{
	struct mux_tls t = o->tls_opts;

	if (!o->tls)
		return 0;
	t.hostname = o->host;
	if (mux_tls_handshake(tcp, &t) == 0)
		return 0;
	msg(0, "TLS: %s", mux_tls_error());
	return -1;
}

/*
 * The mux over the first TCP connection @tcp (closed here: the mux holds
 * its own reference), offering a pool with --connections; NULL
 * (reported) on failure.
 */
static struct mux *mux_setup(const struct opts *o, int tcp)
{
	struct mux *m = NULL;
	int err;

	if (tls_setup(o, tcp) == 0) {
		m = o->connections > 1 ? mux_new_pool(tcp) : mux_new(tcp);
		if (!m) {
			err = errno;
			msg(err, "attaching the TCP connection to an AF_MUX socket");
		}
	}
	close(tcp);
	return m;
}

/*
 * --connections N: N - 1 more TCP connections (accepted on @lfd with -l,
 * else connected), each joined to @m's pool.  0, or -1 (reported).
 */
static int join_pool(const struct opts *o, struct mux *m, int lfd)
{
	unsigned int i;
	int tcp, link;

	for (i = 1; i < o->connections; i++) {
		tcp = o->listen ? tcp_accept(o, lfd) : tcp_connect(o);
		if (tcp < 0)
			return -1;
		if (tls_setup(o, tcp) < 0) {
			close(tcp);
			return -1;
		}
		link = mux_join(m, tcp);
		if (link < 0)
			msg(errno, "joining TCP connection %u to the mux", i + 1);
		close(tcp);
		if (link < 0)
			return -1;
		if (verbose)
			msg(0, "TCP connection %u joined the pool as link %d",
			    i + 1, link);
	}
	return 0;
}

static int muxcat(const struct opts *o)
{
	int dirfd = -1, lfd = -1, probe, tcp, err, status = 1;
	struct mux *m = NULL;

	verbose = o->verbose;
	if (open_std_fds() < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);	/* EPIPE is reported as an error */
	signal(SIGCHLD, SIG_DFL);	/* else waitpid() loses statuses */

	/* What can fail locally fails before we connect. */
	if (o->mode == MODE_SEND && open_inputs(o) < 0)
		goto out;
	if (o->dir) {
		dirfd = open(o->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0) {
			msg(errno, "%s", o->dir);
			goto out;
		}
	}
	probe = afmux_socket(SOCK_CLOEXEC);
	if (probe < 0) {
		err = errno;
		msg(err, "cannot create an AF_MUX socket%s",
		    err == EAFNOSUPPORT ? " (is the afmux module loaded?)" : "");
		goto out;
	}
	close(probe);

	if (o->listen) {
		lfd = tcp_listen(o);
		tcp = lfd < 0 ? -1 : tcp_accept(o, lfd);
	} else {
		tcp = tcp_connect(o);
	}
	if (tcp < 0)
		goto out;
	m = mux_setup(o, tcp);
	if (!m)
		goto out;
	if (join_pool(o, m, lfd) < 0) {
		mux_close(m);
		goto out;
	}

	switch (o->mode) {
	case MODE_SEND:
		status = do_send(m, o);
		break;
	case MODE_RECV:
		status = o->dir ? recv_dir(m, o, dirfd) : recv_stdout(m, o);
		break;
	case MODE_EXEC:
		status = do_exec(m, o);
		break;
	default:
		status = do_run(m, o);
		break;
	}
out:
	if (lfd >= 0)
		close(lfd);
	close_inputs();
	if (dirfd >= 0)
		close(dirfd);
	return status;
}

#ifdef MUXCAT_TEST		/* test/test-muxcat.c #includes this file */
#define MUXCAT_MAIN muxcat_main
int MUXCAT_MAIN(int argc, char **argv);
#else
#define MUXCAT_MAIN main
#endif

int MUXCAT_MAIN(int argc, char **argv)
{
	static struct opts o;	/* 1 KiB key: not on the stack */
	int r = parse_args(argc, argv, &o);

	if (r == PARSE_HELP) {
		fputs(usage_text, stdout);
		return fflush(stdout) ? 1 : 0;
	}
	return r ? r : muxcat(&o);
}

