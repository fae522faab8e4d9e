/* SPDX-License-Identifier: GPL-2.0 */
/*
 * proc_util.h - reading afmux's /proc/net files in selftests: a whole
 * file in chunks of a given size, and one field of a line picked by the
 * value of another (or by a mux's inode), columns found by the header
 * line's names.
 */
#ifndef _AFMUX_PROC_UTIL_H
#define _AFMUX_PROC_UTIL_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "afmux.h"

#define PROC_FIELDS	32

/* The whole of @path, NUL-terminated, read @chunk bytes per read(). */
static char *proc_read(const char *path, size_t chunk)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	for (;;) {
		if (cap - len < chunk + 1) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, chunk);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len > (64u << 20))	/* a listing that never ends */
			break;
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

/*
 * Field @col of the line of @path whose field @key_col is @key (0: the
 * first data line), copied to @out; 0 if found.
 */
static int proc_field(const char *path, const char *key_col, const char *key,
		    const char *col, char *out, size_t outsz)
{
	char *text = proc_read(path, 4096), *line, *save = NULL;
	char *names[PROC_FIELDS], *f[PROC_FIELDS];
	int nn = 0, n, i, kc = -1, c = -1, ret = -1;

	if (!text)
		return -1;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *s2 = NULL, *tok;

		n = 0;
		for (tok = strtok_r(line, " ", &s2); tok && n < PROC_FIELDS;
		     tok = strtok_r(NULL, " ", &s2))
			f[n++] = tok;
		if (!nn) {
			memcpy(names, f, sizeof(f));
			nn = n;
			for (i = 0; i < nn; i++) {
				if (key_col && !strcmp(names[i], key_col))
					kc = i;
				if (!strcmp(names[i], col))
					c = i;
			}
			if (c < 0 || (key_col && kc < 0))
				break;
			continue;
		}
		if (n != nn || (key_col && strcmp(f[kc], key)))
			continue;
		snprintf(out, outsz, "%s", f[c]);
		ret = 0;
		break;
	}
	free(text);
	return ret;
}

/* Field @col of @m's line in /proc/net/afmux (found by its inode). */
static int proc_conn_field(struct mux *m, const char *col, char *out,
			   size_t outsz)
{
	struct stat st;
	char ino[32];

	if (fstat(mux_fd(m), &st))
		return -1;
	snprintf(ino, sizeof(ino), "%lu", (unsigned long)st.st_ino);
	return proc_field("/proc/net/afmux", "inode", ino, col, out, outsz);
}

#endif /* _AFMUX_PROC_UTIL_H */
