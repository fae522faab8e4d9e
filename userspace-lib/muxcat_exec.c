// SPDX-License-Identifier: GPL-2.0
/*
 * muxcat_exec.c - the exec and run modes: a command per stream, with
 * its stdin and stdout on the stream.
 */
#include "muxcat.h"

/* exec, run */

static int exit_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 1;
}

/* Starts @cmd on stream @s (the caller closes s->fd); pid or -1. */
static pid_t spawn(char **cmd, const struct stream *s)
{
	char id[16], key[AFMUX_KEY_MAX + 1], hex[2 * AFMUX_KEY_MAX + 1];
	pid_t pid;
	int err;

	snprintf(id, sizeof(id), "%" PRIu32, s->id);
	memcpy(key, s->key, s->key_len);
	key[s->key_len] = '\0';		/* as far as any NUL in it */
	hex_encode(hex, s->key, s->key_len);
	pid = fork();
	if (pid != 0) {
		if (pid < 0)
			msg(errno, "starting %s", cmd[0]);
		return pid;
	}
	/* The child.  Ignored signals would stay ignored across exec. */
	signal(SIGPIPE, SIG_DFL);
	/* s->fd > 2 (main makes sure 0-2 are open) and close-on-exec. */
	if (dup2(s->fd, STDIN_FILENO) < 0 || dup2(s->fd, STDOUT_FILENO) < 0 ||
	    setenv("MUXCAT_KEY", key, 1) || setenv("MUXCAT_KEY_HEX", hex, 1) ||
	    setenv("MUXCAT_STREAM_ID", id, 1)) {
		msg(errno, "setting up %s", cmd[0]);
		_exit(126);
	}
	execvp(cmd[0], cmd);
	err = errno;
	msg(err, "%s", cmd[0]);
	_exit(err == ENOENT ? 127 : 126);
}

static int wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			msg(errno, "waiting for pid %d", (int)pid);
			return 1;
		}
	}
	return exit_code(st);
}

struct child {
	pid_t pid;
	uint32_t id;
	int status;		/* -1 while running */
};

static void child_done(const struct child *c, const char *cmd)
{
	if (verbose)
		msg(0, "stream %" PRIu32 ": %s exited with status %d", c->id,
		    cmd, c->status);
}

/* Collects the children that have exited, without waiting. */
static void reap(struct child *kids, size_t n, const char *cmd)
{
	pid_t pid;
	size_t i;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		/* Unknown pids: children of what exec'd muxcat. */
		for (i = 0; i < n; i++) {
			if (kids[i].pid == pid && kids[i].status < 0) {
				kids[i].status = exit_code(st);
				child_done(&kids[i], cmd);
				break;
			}
		}
	}
}

int do_exec(struct mux *m, const struct opts *o)
{
	struct child *kids = NULL;
	size_t nkids = 0, cap = 0, i;
	struct stream st, *s = &st;
	unsigned long n;
	int status = 0;

	for (n = 0; !o->count || n < o->count; n++) {
		pid_t pid;

		if (accept_stream(m, s) < 0) {
			status = accept_failed(errno, n, o->count);
			break;
		}
		if (nkids == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct child *k = realloc(kids, ncap * sizeof(*k));

			if (!k) {
				msg(errno, "allocating memory");
				abort_stream(s->fd);
				status = 1;
				break;
			}
			kids = k;
			cap = ncap;
		}
		if (set_window(s->fd, s->id, o->window) < 0) {
			abort_stream(s->fd);
			status = 1;
			break;
		}
		pid = spawn(o->cmd, s);
		if (pid < 0) {
			abort_stream(s->fd);
			status = 1;
			break;
		}
		/* The child's copies end the stream when it exits. */
		close(s->fd);
		kids[nkids++] = (struct child){ pid, s->id, -1 };
		reap(kids, nkids, o->cmd[0]);
	}
	status = finish_mux(m, status);
	for (i = 0; i < nkids; i++) {
		if (kids[i].status < 0) {
			kids[i].status = wait_child(kids[i].pid);
			child_done(&kids[i], o->cmd[0]);
		}
	}
	/* muxcat's own failure first, then the first failed CMD. */
	for (i = 0; !status && i < nkids; i++)
		status = kids[i].status;
	free(kids);
	return status;
}

int do_run(struct mux *m, const struct opts *o)
{
	struct stream st, *s = &st;
	int status;
	pid_t pid;

	s->fd = mux_open(m, o->key, o->key_len, AFMUX_O_CLOEXEC, &s->id);
	if (s->fd < 0) {
		msg(errno, "opening a stream");
		return finish_mux(m, 1);
	}
	memcpy(s->key, o->key, o->key_len);
	s->key_len = o->key_len;
	report_stream("opened", s->id, s->key, s->key_len);
	if (set_window(s->fd, s->id, o->window) < 0) {
		abort_stream(s->fd);
		return finish_mux(m, 1);
	}
	pid = spawn(o->cmd, s);
	if (pid < 0) {
		abort_stream(s->fd);
		return finish_mux(m, 1);
	}
	close(s->fd);
	status = wait_child(pid);
	if (verbose)
		msg(0, "%s exited with status %d", o->cmd[0], status);
	/* Our own failure wins over CMD's status, as in exec. */
	if (mux_close(m) < 0) {
		msg(errno, "closing the mux socket");
		status = 1;
	}
	return status;
}

