// SPDX-License-Identifier: GPL-2.0
/*
 * sys_fuzz.c - the syscall fuzzer (docs/security.md, "Fuzzers"): random
 * sequences of what a local user can do with afmux fds - socket, the
 * ioctls with any struct size, options, read/write in every form,
 * splice, sendfile, poll, epoll, shutdown, close, dup, fork and fd
 * passing - from several threads at once on one shared table of fds,
 * so that closes race everything else and a number may be reused by
 * another kind of fd while a thread still uses it.
 *
 * Whatever the sequence, the kernel must never block a call past its
 * timeout (every fd is non-blocking or has 50 ms timeouts; a watchdog
 * fails the run when a thread makes no progress for 20 s), never return
 * a kernel-internal errno (>= 512) or EFAULT for the valid buffers we
 * pass, never claim more bytes than asked, and free every afmux socket
 * once every fd is closed (the module's reference count goes back to 0).
 * The kernel's own checks (KASAN, lockdep, kmemleak on the debug kernel)
 * and tools/vm-run's console scan catch the rest.
 *
 *   sys_fuzz [--time S] [--seed N] [--threads N] [-v]
 *
 * The budget defaults to $AFMUX_FUZZ_TIME or 60 s.  Threads make the
 * order of calls differ between runs with one seed; --threads 1 replays
 * a sequence closely.
 */
#include <sys/syscall.h>

#include "sys_fuzz_ops.h"

static void sf_run_ops(struct sf_thread *t, unsigned long n);

/* A child with copies of every fd: some calls, then exit. */
static void sf_op_fork(struct sf_thread *t)
{
	pid_t pid;

	pthread_mutex_lock(&sf.lock);
	if (sf.in_child || sf.nchildren >= SF_CHILDREN) {
		pthread_mutex_unlock(&sf.lock);
		return;
	}
	pid = fork();
	if (!pid) {
		/* Alone in here: the lock was ours at fork. */
		sf.in_child = true;
		atomic_store(&sf.failures, 0);	/* the parent's, not ours */
		pthread_mutex_unlock(&sf.lock);
		alarm(30);
		sf_run_ops(t, 50 + sf_below(&t->rng, 200));
		_exit(atomic_load(&sf.failures) ? 1 : 0);
	}
	if (pid > 0)
		sf.children[sf.nchildren++] = pid;
	pthread_mutex_unlock(&sf.lock);
}

static void sf_op_new(uint64_t *s)
{
	int p[2];

	switch (sf_below(s, 6)) {
	case 0:
	case 1:
		sf_op_connect(s);
		break;
	case 2:
		sf_add(sf_mux(), K_MUX);
		break;
	case 3:
		if (!pipe2(p, O_NONBLOCK | O_CLOEXEC)) {
			sf_add(p[0], K_PIPE_R);
			sf_add(p[1], K_PIPE_W);
		}
		break;
	case 4:
		sf_add(epoll_create1(EPOLL_CLOEXEC), K_EPOLL);
		break;
	default:
		sf_add(open("/proc/self/exe", O_RDONLY | O_CLOEXEC), K_FILE);
		break;
	}
}

static void sf_run_ops(struct sf_thread *t, unsigned long n)
{
	uint64_t *s = &t->rng;
	unsigned long i;
	int op, fd;

	for (i = 0; i < n && !atomic_load(&sf.stop); i++) {
		op = (int)sf_below(s, 32);
		atomic_store(&t->op, op);
		switch (op) {
		case 0: case 1:
			sf_op_new(s);
			break;
		case 2: case 3: case 4: case 5: case 6: case 7:
			sf_op_mux_ioctl(t, op);
			break;
		case 8: case 9: case 10: case 11: case 12:
			sf_op_io(t, op, false);
			break;
		case 13: case 14: case 15: case 16: case 17:
			sf_op_io(t, op, true);
			break;
		case 18: case 19:
			sf_op_splice(t, op);
			break;
		case 20: case 21: case 22:
			sf_op_poll(t, op);
			break;
		case 23: case 24: case 25:
			sf_op_sockopt(t, op);
			break;
		case 26: case 27:
			sf_op_misc(t, op);
			break;
		case 28:
			sf_op_pass(t, op);
			break;
		case 29:
			if (!sf_below(s, 16))
				sf_op_fork(t);
			break;
		default:
			/* Close: the table stays between 1/4 and full. */
			fd = sf_take(s, sf_below(s, 2) ? K_STREAM : K_NONE);
			if (fd >= 0)
				close(fd);
			break;
		}
		atomic_fetch_add(&t->progress, 1);
	}
}

/* Print /proc/self/task/@task/@what, each line as a TAP comment. */
static void sf_print_task_file(int task, const char *what)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", task, what);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		printf("# %s: %s%s", what, line,
		       strchr(line, '\n') ? "" : "\n");
	fclose(f);
}

/*
 * Where a stuck thread is: its system call and arguments, what it waits
 * in and its kernel stack, what the fd in the first argument is; and
 * every blocked task's stack on the console (sysrq w), which
 * tools/vm-run keeps in its log.
 */
static void sf_report_hang(int task)
{
	char path[64], link[128], line[128] = "";
	FILE *f;
	long nr = -1, fd = -1;
	ssize_t n;

	sf_print_task_file(task, "syscall");
	sf_print_task_file(task, "wchan");
	sf_print_task_file(task, "stack");
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", task);
	f = fopen(path, "r");
	if (f) {
		if (fgets(line, sizeof(line), f) &&
		    sscanf(line, "%ld %lx", &nr, &fd) == 2 && fd >= 0 &&
		    fd < 1 << 20) {
			snprintf(path, sizeof(path), "/proc/self/fd/%ld", fd);
			n = readlink(path, link, sizeof(link) - 1);
			if (n > 0) {
				link[n] = 0;
				printf("# fd %ld: %s\n", fd, link);
			}
		}
		fclose(f);
	}
	fflush(stdout);
	write_file("/proc/sysrq-trigger", "w");
}

static void *sf_thread_main(void *arg)
{
	struct sf_thread *t = arg;

	atomic_store(&t->task, (int)syscall(SYS_gettid));
	while (!atomic_load(&sf.stop))
		sf_run_ops(t, 1000);
	return NULL;
}

/* Reap children that exited; with @wait, all of them (for up to 60 s). */
static void sf_reap(bool wait)
{
	time_t until = time(NULL) + 60;
	int i, status;

	pthread_mutex_lock(&sf.lock);
	for (i = 0; i < sf.nchildren; i++) {
		pid_t r;

		for (;;) {
			r = waitpid(sf.children[i], &status, WNOHANG);
			if (r || !wait || time(NULL) > until)
				break;
			usleep(10000);
		}
		if (!r && !wait)
			continue;
		if (!r) {
			sf_fail("child hung", -1, "no exit in 60 s");
			kill(sf.children[i], SIGKILL);
		} else if (r > 0 && (!WIFEXITED(status) ||
				     WEXITSTATUS(status))) {
			char msg[64];

			snprintf(msg, sizeof(msg), "status %#x", status);
			sf_fail("child", -1, msg);
		}
		sf.children[i--] = sf.children[--sf.nchildren];
	}
	pthread_mutex_unlock(&sf.lock);
}

/* What still holds the module: afmux sockets, TCP sockets by state. */
static void sf_print_holders(void)
{
	unsigned int states[16] = { 0 };
	char line[512], st[8];
	FILE *f;

	f = fopen("/proc/net/protocols", "re");
	while (f && fgets(line, sizeof(line), f)) {
		char name[32];
		int sockets;

		if (sscanf(line, "%31s %*u %d", name, &sockets) == 2 &&
		    !strncmp(name, "AF_MUX", 6))
			printf("# %s: %d sockets\n", name, sockets);
	}
	if (f)
		fclose(f);
	f = fopen("/proc/net/sockstat", "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "TCP:", 4))
			printf("# %s", line);
	if (f)
		fclose(f);
	f = fopen("/proc/net/tcp", "re");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned int s;

		if (sscanf(line, "%*s %*s %*s %7s", st) == 1 &&
		    sscanf(st, "%x", &s) == 1 && s < 16)
			states[s]++;
	}
	if (f)
		fclose(f);
	printf("# tcp sockets by state (1 ESTABLISHED .. 11 CLOSING):");
	for (unsigned int s = 1; s < 16; s++)
		if (states[s])
			printf(" %u:%u", s, states[s]);
	printf(", module refcount %d\n", afmux_module_refcnt());
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static struct sf_thread th[SF_THREADS_MAX];
	const char *env = getenv("AFMUX_FUZZ_TIME");
	unsigned long last[SF_THREADS_MAX] = { 0 }, total = 0;
	time_t start, stuck[SF_THREADS_MAX];
	uint64_t seed = 0;
	int budget = env ? atoi(env) : 60, nthreads = 4, i, refs;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--time") && i + 1 < argc)
			budget = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			nthreads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-v"))
			sf.verbose = true;
		else {
			fprintf(stderr, "usage: sys_fuzz [--time S] [--seed N] [--threads N] [-v]\n");
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > SF_THREADS_MAX || budget < 1)
		return 2;
	if (!seed)
		seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL ^
		       (uint64_t)getpid();
	signal(SIGPIPE, SIG_IGN);
	/* kTLS, for sf_ktls(), before any thread can fork. */
	if (system("modprobe tls 2>/dev/null"))
		printf("# tls.ko not loaded: kTLS may be built in\n");
	printf("TAP version 13\n1..1\n# sys_fuzz: seed %#llx, %d threads, %d s\n",
	       (unsigned long long)seed, nthreads, budget);
	fflush(stdout);
	sf.family = afmux_family();
	if (sf.family < 0) {
		printf("not ok 1 sys_fuzz: no afmux family: %s\n",
		       strerror(errno));
		return 1;
	}

	start = time(NULL);
	for (i = 0; i < nthreads; i++) {
		th[i].rng = seed + (uint64_t)i * 0x632be59bd9b4e019ULL;
		th[i].buf = calloc(1, SF_BUF);
		if (!th[i].buf || pthread_create(&th[i].tid, NULL,
						 sf_thread_main, &th[i]))
			return 1;
		stuck[i] = start;
	}
	while (time(NULL) - start < budget && !atomic_load(&sf.failures)) {
		sleep(1);
		sf_reap(false);
		for (i = 0; i < nthreads; i++) {
			unsigned long p = atomic_load(&th[i].progress);

			if (p != last[i]) {
				last[i] = p;
				stuck[i] = time(NULL);
			} else if (time(NULL) - stuck[i] > 20) {
				char msg[64];

				snprintf(msg, sizeof(msg),
					 "thread %d made no progress for 20 s",
					 i);
				sf_fail("hang", atomic_load(&th[i].op), msg);
				sf_report_hang(atomic_load(&th[i].task));
				printf("not ok 1 sys_fuzz: seed %#llx\n",
				       (unsigned long long)seed);
				fflush(stdout);
				_exit(1);
			}
		}
	}
	atomic_store(&sf.stop, true);
	for (i = 0; i < nthreads; i++) {
		pthread_join(th[i].tid, NULL);
		total += atomic_load(&th[i].progress);
		free(th[i].buf);
	}
	sf_reap(true);
	for (i = 0; i < SF_SLOTS; i++) {
		if (sf.slot[i].kind != K_NONE) {
			if (sf.verbose)
				printf("# closing %s %d\n",
				       sf_kind_names[sf.slot[i].kind],
				       sf.slot[i].fd);
			close(sf.slot[i].fd);
			sf.slot[i].kind = K_NONE;
		}
	}
	/* Nothing may be left open here: else it is the fuzzer's leak. */
	for (i = 3; i < 4096; i++) {
		char link[64], path[32];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", i);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = 0;
		printf("# still open: fd %d %s\n", i, link);
		close(i);
	}
	/* Every afmux socket freed once every fd is gone (linger included). */
	for (i = 0; i < 6000; i++) {
		refs = afmux_module_refcnt();
		if (refs <= 0)
			break;
		if (sf.verbose && !(i % 1000))
			sf_print_holders();
		usleep(10000);
	}
	printf("# %lu calls in %ld s\n", total, (long)(time(NULL) - start));
	if (refs != 0) {
		char msg[64];

		snprintf(msg, sizeof(msg), "module refcount %d after 60 s",
			 refs);
		sf_fail("leak", -1, msg);
	}
	if (atomic_load(&sf.failures)) {
		printf("not ok 1 sys_fuzz: seed %#llx\n",
		       (unsigned long long)seed);
		return 1;
	}
	printf("ok 1 sys_fuzz: %lu calls, seed %#llx\n", total,
	       (unsigned long long)seed);
	return 0;
}
