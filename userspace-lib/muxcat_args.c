// SPDX-License-Identifier: GPL-2.0
/*
 * muxcat_args.c - muxcat's command line: the usage text, messages, keys
 * (hex, percent-encoded for names) and the options of each mode.
 */
#include "muxcat.h"

int verbose;

const char usage_text[] =
"usage: muxcat [-l] [-4|-6] [-x] [-v] [-w BYTES] [--connections N]\n"
"              [--zerocopy]\n"
"              [--tls [--cert FILE --key FILE] [--ca FILE] [--insecure]]\n"
"              HOST PORT MODE [ARGS...]\n"
"\n"
"Connects to HOST PORT over TCP (with -l: listens there and accepts one\n"
"connection), attaches the connection to an AF_MUX socket and runs MODE\n"
"on its streams.  The other end must be AF_MUX too, e.g. another muxcat.\n"
"\n"
"Options:\n"
"  -l        listen on HOST PORT ('' or '*' as HOST: every address)\n"
"  -4, -6    IPv4 or IPv6 only\n"
"  -x        KEY is hex (any bytes: -x 00ff)\n"
"  -v        report the connection and each stream (ID, key; send: the\n"
"            bytes sent and received) on stderr\n"
"  -w BYTES  receive window of each stream, 4k to 64m (suffix k, m)\n"
"  --connections N\n"
"            N TCP connections (1 to 16, default 1) in one mux (a pool):\n"
"            with -l, accept N; else connect N times.  Each stream lives\n"
"            on one of them.  The other end needs the same N\n"
"  --tls     run the connection inside TLS (1.3 or 1.2, in the kernel's\n"
"            TLS once the handshake is done); the other end needs --tls\n"
"            too.  The client checks the server's certificate against\n"
"            --ca (else the system's CAs) and HOST\n"
"  --cert FILE, --key FILE\n"
"            this end's certificate and key (PEM); required with -l\n"
"  --ca FILE the CAs (PEM) to check the peer with; with -l the client\n"
"            must then show a certificate they signed\n"
"  --insecure  (client) do not check the server's certificate: tests only\n"
"  --zerocopy  (send) send regular files with MSG_ZEROCOPY: the kernel\n"
"            sends the file's pages without copying them (other inputs,\n"
"            or a kernel without it, are sent as usual)\n"
"  -h        this help\n"
"\n"
"Modes:\n"
"  send KEY [FILE]\n"
"      open a stream under KEY, send FILE (default or -: stdin) on it and\n"
"      end it; meanwhile copy what the peer sends back to stdout until\n"
"      the peer ends the stream\n"
"  send KEY FILE KEY FILE...\n"
"      several streams at once: open one per KEY FILE pair, send the\n"
"      FILEs concurrently (one FILE may be -: stdin) and end each stream\n"
"      when its FILE is sent; the peer must send nothing back (else\n"
"      muxcat names the stream and exits 1) and end every stream\n"
"  recv [-n N] [-d DIR]\n"
"      accept N streams (default 1; 0: until the connection ends) and\n"
"      write their data to stdout one stream after the other, or with -d\n"
"      concurrently, each into the file DIR/ID-KEY (ID: the stream ID;\n"
"      KEY: bytes other than A-Z a-z 0-9 . _ - as %XX, cut to a 255-byte\n"
"      name ending in + if too long; existing files are overwritten)\n"
"  exec [-n N] CMD [ARG...]\n"
"      for each of N accepted streams (default 1; 0: until the connection\n"
"      ends) run CMD, concurrently, with stdin and stdout on the stream\n"
"      and MUXCAT_KEY (the key up to any NUL byte), MUXCAT_KEY_HEX and\n"
"      MUXCAT_STREAM_ID in its environment\n"
"  run KEY CMD [ARG...]\n"
"      open a stream under KEY and run CMD on it like exec does\n"
"\n"
"A KEY or CMD that starts with - needs -- before it.\n"
"\n"
"Exit status: 2 on usage errors; 1 if muxcat failed (it says why, as\n"
"\"muxcat: what: why\"; a stream cut short is reset, not ended); else,\n"
"for exec and run, the status of the first CMD (in stream order) that\n"
"failed: its exit status, 128+N if killed by signal N, 126 or 127 if it\n"
"could not be run; else 0: every stream went through (the peer ended\n"
"it and all of its data was written out).\n";


/* "muxcat: WHAT: strerror(err)", or without the ": ..." if err is 0. */
__attribute__((format(printf, 2, 3)))
void msg(int err, const char *fmt, ...)
{
	char what[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* One fprintf, so lines from several threads do not mix. */
	if (err)
		fprintf(stderr, "muxcat: %s: %s\n", what, strerror(err));
	else
		fprintf(stderr, "muxcat: %s\n", what);
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fprintf(stderr, "muxcat: %s\nTry 'muxcat -h' for more information.\n",
		what);
	return EXIT_USAGE;
}

/* Keys as text */

static int key_byte_plain(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static size_t escape_byte(char *out, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";

	if (key_byte_plain(c)) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '%';
	out[1] = hex[c >> 4];
	out[2] = hex[c & 15];
	return 3;
}

/* Percent-encodes @key into @out, which has room for 3 * @len + 1. */
void escape_key(char *out, const unsigned char *key, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += escape_byte(out + n, key[i]);
	out[n] = '\0';
}

/*
 * The file name recv -d gives a stream: "ID-" then the escaped key.  The
 * ID prefix makes it unique on a connection and never empty, ".", ".."
 * or an option; it never contains "/".  A name that would be longer than
 * NAME_MAX is cut at an escape boundary and ends in "+", which an escaped
 * key never contains.
 */
void stream_filename(char name[NAME_MAX + 1], uint32_t id,
			    const unsigned char *key, size_t len)
{
	size_t n, full, i;
	char esc[3];
	int cut;

	n = (size_t)snprintf(name, NAME_MAX + 1, "%" PRIu32 "-", id);
	full = n;
	for (i = 0; i < len; i++)
		full += key_byte_plain(key[i]) ? 1 : 3;
	cut = full > NAME_MAX;
	for (i = 0; i < len; i++) {
		size_t e = escape_byte(esc, key[i]);

		if (cut && n + e + 1 > NAME_MAX)
			break;
		memcpy(name + n, esc, e);
		n += e;
	}
	if (cut)
		name[n++] = '+';
	name[n] = '\0';
}

void hex_encode(char *out, const unsigned char *key, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[key[i] >> 4];
		out[2 * i + 1] = hex[key[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Argument parsing */

/* A decimal number, digits only (no sign, no spaces). */
int parse_count(const char *s, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (*s < '0' || *s > '9' || v > (ULONG_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* 1 to AFMUX_LINKS_MAX, in decimal. */
static int parse_connections(const char *s, unsigned int *out)
{
	char *end;
	unsigned long n;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || *end || n < 1 || n > AFMUX_LINKS_MAX)
		return -1;
	*out = (unsigned int)n;
	return 0;
}

/* BYTES[k|K|m|M], within the kernel's window limits. */
int parse_window(const char *s, uint32_t *out)
{
	char digits[32];
	size_t len = strlen(s);
	unsigned long v, mult = 1;

	if (len && (s[len - 1] == 'k' || s[len - 1] == 'K'))
		mult = 1024;
	else if (len && (s[len - 1] == 'm' || s[len - 1] == 'M'))
		mult = 1024 * 1024;
	if (mult != 1)
		len--;
	if (len >= sizeof(digits))
		return -1;
	memcpy(digits, s, len);
	digits[len] = '\0';
	if (parse_count(digits, &v) < 0 || v > AFMUX_WINDOW_MAX / mult)
		return -1;
	v *= mult;
	if (v < AFMUX_WINDOW_MIN)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* KEY as given on the command line into @key; 0, or EXIT_USAGE. */
int parse_key(const char *arg, int hex, unsigned char *key,
		     size_t *key_len)
{
	size_t len = strlen(arg), i;

	if (!hex) {
		if (len > AFMUX_KEY_MAX)
			return usage_error("KEY is longer than %d bytes",
					   AFMUX_KEY_MAX);
		memcpy(key, arg, len);
		*key_len = len;
		return 0;
	}
	if (len % 2)
		return usage_error("hex KEY has an odd number of digits: %s",
				   arg);
	if (len / 2 > AFMUX_KEY_MAX)
		return usage_error("KEY is longer than %d bytes",
				   AFMUX_KEY_MAX);
	for (i = 0; i < len; i += 2) {
		int hi = hex_digit(arg[i]), lo = hex_digit(arg[i + 1]);

		if (hi < 0 || lo < 0)
			return usage_error("KEY is not hex: %s", arg);
		key[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	*key_len = len / 2;
	return 0;
}

static int set_key(struct opts *o, const char *arg)
{
	return parse_key(arg, o->hexkey, o->key, &o->key_len);
}

/*
 * send's arguments, KEY [FILE] or KEY FILE pairs, into o->pairs and
 * o->npairs.  The keys are checked here and decoded again by send.
 */
static int send_args(int argc, char **argv, struct opts *o)
{
	unsigned char key[AFMUX_KEY_MAX];
	size_t i, len, stdins = 0;
	int r;

	if (argc < 1)
		return usage_error("send: missing KEY");
	if (argc > 2 && argc % 2)
		return usage_error("send: KEY without FILE: %s",
				   argv[argc - 1]);
	o->pairs = argv;
	o->npairs = argc > 2 ? (size_t)argc / 2 : 1;
	for (i = 0; i < o->npairs; i++) {
		const char *file = argv[2 * i + 1];

		r = parse_key(argv[2 * i], o->hexkey, key, &len);
		if (r)
			return r;
		if (!file || !strcmp(file, "-"))
			stdins++;
	}
	if (stdins > 1)
		return usage_error("send: stdin (-) can feed one stream only");
	return 0;
}

/* A mode's own options; argv[0] is the mode's name. */
static int mode_options(int argc, char **argv, const char *optstring,
			struct opts *o)
{
	int c;

	optind = 0;		/* glibc: start over, at argv[1] */
	opterr = 0;
	while ((c = getopt(argc, argv, optstring)) != -1) {
		switch (c) {
		case 'n':
			if (parse_count(optarg, &o->count) < 0)
				return usage_error("%s: -n: not a count: %s",
						   argv[0], optarg);
			break;
		case 'd':
			if (!*optarg)
				return usage_error("%s: -d: empty DIR",
						   argv[0]);
			o->dir = optarg;
			break;
		case ':':
			return usage_error("%s: option -%c needs an argument",
					   argv[0], optopt);
		default:
			return usage_error("%s: unknown option -%c", argv[0],
					   optopt);
		}
	}
	return 0;
}

/* --tls and what goes with it. */
enum { OPT_TLS = 256, OPT_CERT, OPT_KEY, OPT_CA, OPT_INSECURE,
       OPT_CONNECTIONS, OPT_ZEROCOPY };

static const struct option long_options[] = {
	{ "tls", no_argument, NULL, OPT_TLS },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "connections", required_argument, NULL, OPT_CONNECTIONS },
	{ "zerocopy", no_argument, NULL, OPT_ZEROCOPY },
	{ NULL, 0, NULL, 0 },
};

/* The TLS options make sense together (after the others are read). */
static int tls_args(struct opts *o)
{
	struct mux_tls *t = &o->tls_opts;

	if (!o->tls) {
		if (t->cert || t->key || t->ca || t->insecure)
			return usage_error("--cert, --key, --ca and --insecure need --tls");
		return 0;
	}
	if (!t->cert != !t->key)
		return usage_error("--cert and --key go together");
	if (o->listen && !t->cert)
		return usage_error("--tls with -l needs --cert and --key");
	if (o->listen && t->insecure)
		return usage_error("--insecure is for the client (without -l)");
	if (t->insecure && t->ca)
		return usage_error("--insecure and --ca exclude each other");
	t->server = o->listen;
	return 0;
}

/*
 * Fills @o from the command line.  Returns 0, PARSE_HELP for -h, or
 * EXIT_USAGE after printing what is wrong.  @argv must be NULL-terminated
 * (o->cmd points into it).
 */
int parse_args(int argc, char **argv, struct opts *o)
{
	int c, r, left, fam4 = 0, fam6 = 0, sargc;
	const char *mode;
	char **sargv;

	memset(o, 0, sizeof(*o));
	o->family = AF_UNSPEC;
	o->count = 1;
	o->connections = 1;
	optind = 0;
	opterr = 0;
	/* "+": stop at HOST, so a mode's options stay the mode's. */
	while ((c = getopt_long(argc, argv, "+:46hlvxw:", long_options,
				NULL)) != -1) {
		switch (c) {
		case OPT_TLS:
			o->tls = 1;
			break;
		case OPT_CERT:
			o->tls_opts.cert = optarg;
			break;
		case OPT_KEY:
			o->tls_opts.key = optarg;
			break;
		case OPT_CA:
			o->tls_opts.ca = optarg;
			break;
		case OPT_INSECURE:
			o->tls_opts.insecure = 1;
			break;
		case OPT_ZEROCOPY:
			o->zerocopy = 1;
			break;
		case OPT_CONNECTIONS:
			if (parse_connections(optarg, &o->connections) < 0)
				return usage_error("--connections: not a number from 1 to %d: %s",
						   AFMUX_LINKS_MAX, optarg);
			break;
		case '4':
			fam4 = 1;
			o->family = AF_INET;
			break;
		case '6':
			fam6 = 1;
			o->family = AF_INET6;
			break;
		case 'h':
			return PARSE_HELP;
		case 'l':
			o->listen = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'x':
			o->hexkey = 1;
			break;
		case 'w':
			if (parse_window(optarg, &o->window) < 0)
				return usage_error("-w: not a window size from %d to %d bytes: %s",
						   AFMUX_WINDOW_MIN,
						   AFMUX_WINDOW_MAX, optarg);
			break;
		case ':':
			if (optopt >= OPT_TLS)
				return usage_error("option %s needs an argument",
						   argv[optind - 1]);
			return usage_error("option -%c needs an argument",
					   optopt);
		default:
			if (optopt)
				return usage_error("unknown option -%c", optopt);
			return usage_error("unknown option %s",
					   argv[optind - 1]);
		}
	}
	if (fam4 && fam6)
		return usage_error("-4 and -6 exclude each other");
	r = tls_args(o);
	if (r)
		return r;
	left = argc - optind;
	if (left < 3)
		return usage_error(left == 0 ? "missing HOST, PORT and MODE" :
				   left == 1 ? "missing PORT and MODE" :
				   "missing MODE");
	o->host = argv[optind];
	o->port = argv[optind + 1];
	if (!*o->port)
		return usage_error("empty PORT");
	if (!o->listen && (!*o->host || !strcmp(o->host, "*")))
		return usage_error("'%s' as HOST needs -l", o->host);
	mode = argv[optind + 2];
	sargc = left - 2;
	sargv = argv + optind + 2;

	if (!strcmp(mode, "send")) {
		o->mode = MODE_SEND;
		r = mode_options(sargc, sargv, "+:", o);
		if (r)
			return r;
		r = send_args(sargc - optind, sargv + optind, o);
		if (r)
			return r;
	} else if (!strcmp(mode, "recv")) {
		o->mode = MODE_RECV;
		r = mode_options(sargc, sargv, "+:n:d:", o);
		if (r)
			return r;
		if (optind < sargc)
			return usage_error("recv: unexpected argument: %s",
					   sargv[optind]);
	} else if (!strcmp(mode, "exec")) {
		o->mode = MODE_EXEC;
		r = mode_options(sargc, sargv, "+:n:", o);
		if (r)
			return r;
		if (optind >= sargc)
			return usage_error("exec: missing CMD");
		o->cmd = sargv + optind;
	} else if (!strcmp(mode, "run")) {
		o->mode = MODE_RUN;
		r = mode_options(sargc, sargv, "+:", o);
		if (r)
			return r;
		left = sargc - optind;
		if (left < 1)
			return usage_error("run: missing KEY and CMD");
		if (left < 2)
			return usage_error("run: missing CMD");
		r = set_key(o, sargv[optind]);
		if (r)
			return r;
		o->cmd = sargv + optind + 1;
	} else {
		return usage_error("unknown MODE: %s (send, recv, exec or run)",
				   mode);
	}
	if (o->hexkey && o->mode != MODE_SEND && o->mode != MODE_RUN)
		return usage_error("-x: %s takes no KEY", mode);
	if (o->zerocopy && o->mode != MODE_SEND)
		return usage_error("--zerocopy is for send");
	return 0;
}

