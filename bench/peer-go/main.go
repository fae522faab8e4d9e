// peer-go: the yamux and smux contenders of `make bench` (docs/benchmarks.md).
//
//	peer-go yamux|smux|yamux-tls server PORT
//	peer-go yamux|smux|yamux-tls client HOST PORT WORKLOAD [key=value ...]
//
// It owns the Go side of the benchmark: one TCP connection carrying a
// hashicorp/yamux or xtaci/smux (protocol v2) session, the server's S/E/I
// stream roles and the client's six workloads, one function each (many
// in many.go).
// yamux-tls: the yamux session inside TLS 1.3 (Go's crypto/tls, the
// cipher it picks; bulk's result line names it as cipher=), the server's
// certificate and key from the PEM files $MUXBENCH_CERT and $MUXBENCH_KEY,
// not checked by the client (as every TLS contender of bench/run).
//
// One deviation from the contract, forced by the libraries: neither can
// half-close a stream.  yamux (Debian's 2019 snapshot) returns EOF from
// Read as soon as the local side has called Close, and smux has no
// half-close at all (Close drops the stream).  So an S stream cannot be
// "half-closed, then read the count".  Instead the client declares the
// length after the role byte: `S` + 8 bytes big-endian length L, then the
// data.  The server reads exactly L bytes (or to EOF, if L is
// sinkUntilEOF), writes back the count it read as 8 bytes big-endian and
// closes; the client reads and checks the count, then closes.  That is one
// 8-byte header per stream and nothing per write.  Pingpong's background
// S streams send sinkUntilEOF and are closed at the end without reading
// their count (it could not be read back).  E and I streams follow the
// contract unchanged.
package main

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/xtaci/smux"
)

// sinkUntilEOF as an S stream's declared length: read until EOF.
const sinkUntilEOF = ^uint64(0)

const ioSize = 64 << 10 // application read size for bulk data

// session is what the workloads need of either mux.
type session interface {
	open() (io.ReadWriteCloser, error)
	accept() (io.ReadWriteCloser, error)
	close() error
}

// yamux: DefaultConfig, keep-alive off, logs discarded.  AcceptBacklog
// bounds both the server's queue of unaccepted streams and the client's
// count of SYNs not yet acknowledged (the same config is used on both
// ends), so the client never overflows the server's queue: 4096 is enough
// for 1000+ concurrent streams and for idle's 100000 (opened 64 at a time).
func yamuxConfig() *yamux.Config {
	c := yamux.DefaultConfig()
	c.MaxStreamWindowSize = 256 << 10 // its default, stated
	c.EnableKeepAlive = false
	c.LogOutput = io.Discard
	c.AcceptBacklog = 4096
	return c
}

// smux: DefaultConfig, protocol v2 (per-stream flow control), a 256 KiB
// per-stream window.  MaxReceiveBuffer is the session-wide receive budget:
// 64 MiB is four times 64 streams x 256 KiB, so it never binds before the
// per-stream windows do.
func smuxConfig() *smux.Config {
	c := smux.DefaultConfig()
	c.Version = 2
	c.MaxStreamBuffer = 256 << 10
	c.MaxReceiveBuffer = 64 << 20
	c.KeepAliveDisabled = true
	return c
}

type yamuxSession struct{ s *yamux.Session }

func (y yamuxSession) open() (io.ReadWriteCloser, error)   { return y.s.OpenStream() }
func (y yamuxSession) accept() (io.ReadWriteCloser, error) { return y.s.AcceptStream() }
func (y yamuxSession) close() error                        { return y.s.Close() }

type smuxSession struct{ s *smux.Session }

func (m smuxSession) open() (io.ReadWriteCloser, error)   { return m.s.OpenStream() }
func (m smuxSession) accept() (io.ReadWriteCloser, error) { return m.s.AcceptStream() }
func (m smuxSession) close() error                        { return m.s.Close() }

func newSession(mux string, conn net.Conn, server bool) (session, error) {
	switch mux {
	case "yamux":
		if server {
			s, err := yamux.Server(conn, yamuxConfig())
			return yamuxSession{s}, err
		}
		s, err := yamux.Client(conn, yamuxConfig())
		return yamuxSession{s}, err
	case "smux":
		if server {
			s, err := smux.Server(conn, smuxConfig())
			return smuxSession{s}, err
		}
		s, err := smux.Client(conn, smuxConfig())
		return smuxSession{s}, err
	}
	return nil, fmt.Errorf("unknown mux %q (yamux or smux)", mux)
}

// tlsCipher is the TLS cipher of the session ("" without TLS).
var tlsCipher string

// tlsWrap puts conn inside TLS 1.3 for a "-tls" mux and returns the
// mux's own name.
func tlsWrap(mux string, conn net.Conn, server bool) (string, net.Conn) {
	base := strings.TrimSuffix(mux, "-tls")
	if base == mux {
		return mux, conn
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS13}
	var c *tls.Conn
	if server {
		cert, err := tls.LoadX509KeyPair(os.Getenv("MUXBENCH_CERT"),
			os.Getenv("MUXBENCH_KEY"))
		if err != nil {
			die("TLS: set MUXBENCH_CERT and MUXBENCH_KEY: %v", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
		c = tls.Server(conn, cfg)
	} else {
		cfg.InsecureSkipVerify = true
		c = tls.Client(conn, cfg)
	}
	if err := c.Handshake(); err != nil {
		die("TLS handshake: %v", err)
	}
	tlsCipher = tls.CipherSuiteName(c.ConnectionState().CipherSuite)
	return base, c
}

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "peer-go: "+format+"\n", args...)
	os.Exit(1)
}

func usage() {
	die("usage: peer-go yamux|smux|yamux-tls server PORT\n" +
		"       peer-go yamux|smux|yamux-tls client HOST PORT WORKLOAD [key=value ...]")
}

func main() {
	raiseNofile()
	a := os.Args[1:]
	if len(a) < 3 {
		usage()
	}
	switch {
	case a[1] == "server" && len(a) == 3:
		server(a[0], a[2])
	case a[1] == "client" && len(a) >= 5:
		client(a[0], a[2], a[3], a[4], a[5:])
	default:
		usage()
	}
}

// raiseNofile lifts the soft RLIMIT_NOFILE to the hard one.  Go 1.19 does
// this itself at start-up and a session needs one socket, but say so.
func raiseNofile() {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) == nil && r.Cur < r.Max {
		r.Cur = r.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	}
}

// ---------------------------------------------------------------- server

// server listens (Go sets SO_REUSEADDR on listeners), serves each
// connection (one for most workloads, conns for many) as a session with
// one goroutine per stream, and exits 0 once every session has ended
// because its client went (EOF, reset, or a broken pipe when yamux's send
// loop notices first) and no further connection is waiting; any other end
// of a session (a protocol error) is an error exit.  A client connects
// all its connections before it ends any.
func server(mux, port string) {
	ln, err := net.Listen("tcp4", "0.0.0.0:"+port)
	if err != nil {
		die("listen: %v", err)
	}
	tl := ln.(*net.TCPListener)
	fmt.Println("ready")
	var live int64
	for seen := false; ; {
		// Every session known has ended: one seen before the accept
		// below means the client is done connecting, so only a
		// connection already waiting can still come.
		over := seen && atomic.LoadInt64(&live) == 0
		tl.SetDeadline(time.Now().Add(100 * time.Millisecond))
		conn, err := tl.Accept()
		if err == nil {
			seen = true
			atomic.AddInt64(&live, 1)
			go func() {
				serveSession(mux, conn)
				atomic.AddInt64(&live, -1)
			}()
			continue
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			die("accept: %v", err)
		}
		if over {
			return
		}
	}
}

func serveSession(mux string, conn net.Conn) {
	mux, conn = tlsWrap(mux, conn, true)
	sess, err := newSession(mux, conn, true)
	if err != nil {
		die("%s server: %v", mux, err)
	}
	gone := make(chan struct{})
	for {
		st, err := sess.accept()
		if err != nil {
			close(gone)
			sess.close()
			if !clientGone(err) {
				die("%s server: session ended: %v", mux, err)
			}
			return
		}
		go serveStream(st, gone)
	}
}

func clientGone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}

// serveStream dispatches on the role byte.  A stream error is fatal unless
// the session ends around it (the client closing its connection at the end
// of a run, with pingpong's background streams still sending).
func serveStream(st io.ReadWriteCloser, gone <-chan struct{}) {
	var role [1]byte
	err := readFull(st, role[:])
	if err == nil {
		switch role[0] {
		case 'S':
			err = serveSink(st)
		case 'E':
			err = serveEcho(st, make([]byte, ioSize))
		case 'I':
			// Held open by the thousand: a small buffer keeps the
			// per-stream cost honest (only "x" ever comes).
			err = serveEcho(st, make([]byte, 64))
		default:
			err = fmt.Errorf("unknown role byte %q", role[0])
		}
	}
	st.Close()
	if err != nil {
		select {
		case <-gone:
		case <-time.After(2 * time.Second):
			die("server stream: %v", err)
		}
	}
}

// serveSink: read the declared length, then that many bytes (or to EOF),
// and write back the count read.
func serveSink(st io.ReadWriteCloser) error {
	var hdr [8]byte
	if err := readFull(st, hdr[:]); err != nil {
		return err
	}
	want := binary.BigEndian.Uint64(hdr[:])
	buf := make([]byte, ioSize)
	var got uint64
	for got < want {
		b := buf
		if left := want - got; left < uint64(len(b)) {
			b = b[:left]
		}
		n, err := st.Read(b)
		got += uint64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	binary.BigEndian.PutUint64(hdr[:], got)
	_, err := st.Write(hdr[:])
	return err
}

// serveEcho writes back every byte until EOF.
func serveEcho(st io.ReadWriteCloser, buf []byte) error {
	for {
		n, err := st.Read(buf)
		if n > 0 {
			if _, werr := st.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readFull is io.ReadFull with a clean EOF reported as unexpected.
func readFull(r io.Reader, b []byte) error {
	_, err := io.ReadFull(r, b)
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ---------------------------------------------------------------- client

type params map[string]int64

func client(mux, host, port, workload string, args []string) {
	defaults := map[string]params{
		"bulk":      {"streams": 1, "bytes": 1 << 30, "io": 65536},
		"small":     {"streams": 1000, "msgs": 100, "size": 256},
		"pingpong":  {"count": 2000, "size": 64, "bulk": 0},
		"openclose": {"count": 2000, "parallel": 8},
		"idle":      {"streams": 10000},
		"many":      {"conns": 1000, "streams": 8, "rounds": 8, "size": 4096},
	}
	p, ok := defaults[workload]
	if !ok {
		die("unknown workload %q", workload)
	}
	for _, kv := range args {
		i := strings.IndexByte(kv, '=')
		if i < 0 {
			die("bad parameter %q (want key=value)", kv)
		}
		if _, ok := p[kv[:i]]; !ok {
			die("%s takes no parameter %q", workload, kv[:i])
		}
		v, err := strconv.ParseInt(kv[i+1:], 10, 64)
		if err != nil || v < 0 {
			die("bad value in %q", kv)
		}
		p[kv[:i]] = v
	}

	sess := dialSession(mux, host, port)
	switch workload {
	case "bulk":
		bulk(sess, p["streams"], p["bytes"], p["io"])
	case "small":
		small(sess, p["streams"], p["msgs"], p["size"])
	case "pingpong":
		pingpong(sess, p["count"], p["size"], p["bulk"])
	case "openclose":
		openclose(sess, p["count"], p["parallel"])
	case "idle":
		idle(sess, p["streams"])
	case "many":
		many(sess, func() session { return dialSession(mux, host, port) },
			p["conns"], p["streams"], p["rounds"], p["size"])
	}
	sess.close()
}

// dialSession connects to the server and starts a session over it.
func dialSession(mux, host, port string) session {
	conn, err := net.Dial("tcp", net.JoinHostPort(host, port))
	if err != nil {
		die("connect: %v", err)
	}
	mux, conn = tlsWrap(mux, conn, false)
	sess, err := newSession(mux, conn, false)
	if err != nil {
		die("%s client: %v", mux, err)
	}
	return sess
}

func open(sess session, what string) io.ReadWriteCloser {
	st, err := sess.open()
	if err != nil {
		die("%s: open: %v", what, err)
	}
	return st
}

// startSink writes the S header declaring n bytes.
func startSink(st io.Writer, n uint64, what string) {
	var hdr [9]byte
	hdr[0] = 'S'
	binary.BigEndian.PutUint64(hdr[1:], n)
	if _, err := st.Write(hdr[:]); err != nil {
		die("%s: write: %v", what, err)
	}
}

// checkCount reads the server's 8-byte count and checks it.
func checkCount(st io.Reader, want uint64, what string) {
	var c [8]byte
	if err := readFull(st, c[:]); err != nil {
		die("%s: reading the count: %v", what, err)
	}
	if got := binary.BigEndian.Uint64(c[:]); got != want {
		die("%s: server read %d bytes, sent %d", what, got, want)
	}
}

// bulk: streams concurrent S streams of bytes/streams each (bytes must
// divide evenly), written in io-byte writes.
func bulk(sess session, streams, bytes, iosz int64) {
	if streams < 1 || iosz < 1 || bytes%streams != 0 {
		die("bulk: need streams>=1, io>=1 and bytes divisible by streams")
	}
	per := bytes / streams
	buf := make([]byte, iosz)
	sts := make([]io.ReadWriteCloser, streams)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range sts {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			st := open(sess, "bulk")
			sts[i] = st
			startSink(st, uint64(per), "bulk")
			for left := per; left > 0; {
				n := iosz
				if left < n {
					n = left
				}
				if _, err := st.Write(buf[:n]); err != nil {
					die("bulk: write: %v", err)
				}
				left -= n
			}
			checkCount(st, uint64(per), "bulk")
		}(i)
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	for _, st := range sts {
		st.Close()
	}
	cipher := ""
	if tlsCipher != "" {
		cipher = " cipher=" + tlsCipher
	}
	fmt.Printf("result bulk seconds=%.6f bytes=%d%s\n", secs, bytes, cipher)
}

// small: streams concurrent S streams, each msgs writes of size bytes.
// msgs= in the result is the total over all streams.
func small(sess session, streams, msgs, size int64) {
	if streams < 1 {
		die("small: need streams>=1")
	}
	msg := make([]byte, size)
	sts := make([]io.ReadWriteCloser, streams)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range sts {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			st := open(sess, "small")
			sts[i] = st
			startSink(st, uint64(msgs*size), "small")
			for j := int64(0); j < msgs; j++ {
				if _, err := st.Write(msg); err != nil {
					die("small: write: %v", err)
				}
			}
			checkCount(st, uint64(msgs*size), "small")
		}(i)
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	for _, st := range sts {
		st.Close()
	}
	fmt.Printf("result small seconds=%.6f msgs=%d\n", secs, streams*msgs)
}

// pingpong: count round trips of size bytes on one E stream, optionally
// beside bulk background S streams; the first 10% are warm-up.
func pingpong(sess session, count, size, nbulk int64) {
	if count < 10 || size < 1 {
		die("pingpong: need count>=10 and size>=1")
	}
	var stop int32
	var bg sync.WaitGroup
	bgs := make([]io.ReadWriteCloser, nbulk)
	for i := range bgs {
		st := open(sess, "pingpong bulk")
		bgs[i] = st
		startSink(st, sinkUntilEOF, "pingpong bulk")
		bg.Add(1)
		go func() {
			defer bg.Done()
			buf := make([]byte, ioSize)
			for atomic.LoadInt32(&stop) == 0 {
				if _, err := st.Write(buf); err != nil {
					if atomic.LoadInt32(&stop) == 0 {
						die("pingpong bulk: write: %v", err)
					}
				}
			}
		}()
	}

	st := open(sess, "pingpong")
	if _, err := st.Write([]byte{'E'}); err != nil {
		die("pingpong: write: %v", err)
	}
	out := make([]byte, size)
	in := make([]byte, size)
	warm := count / 10
	rtts := make([]time.Duration, 0, count-warm)
	for i := int64(0); i < count; i++ {
		for j := range out {
			out[j] = byte(i + int64(j))
		}
		t := time.Now()
		if _, err := st.Write(out); err != nil {
			die("pingpong: write: %v", err)
		}
		if err := readFull(st, in); err != nil {
			die("pingpong: read: %v", err)
		}
		d := time.Since(t)
		if string(in) != string(out) {
			die("pingpong: echo mismatch in round %d", i)
		}
		if i >= warm {
			rtts = append(rtts, d)
		}
	}
	atomic.StoreInt32(&stop, 1)
	st.Close()
	for _, b := range bgs {
		b.Close() // unblocks a writer waiting for window
	}
	bg.Wait()

	sort.Slice(rtts, func(a, b int) bool { return rtts[a] < rtts[b] })
	n := len(rtts)
	var sum time.Duration
	for _, d := range rtts {
		sum += d
	}
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	fmt.Printf("result pingpong p50_us=%.1f p99_us=%.1f mean_us=%.1f\n",
		us(rtts[n*50/100]), us(rtts[n*99/100]), us(sum)/float64(n))
}

// openclose: parallel workers open, sink nothing, read the count (0) and
// close, count streams in all.
func openclose(sess session, count, parallel int64) {
	if parallel < 1 {
		die("openclose: need parallel>=1")
	}
	var next int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := int64(0); w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for atomic.AddInt64(&next, 1) <= count {
				st := open(sess, "openclose")
				startSink(st, 0, "openclose")
				checkCount(st, 0, "openclose")
				st.Close()
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	fmt.Printf("result openclose seconds=%.6f streams=%d\n", secs, count)
}

// idle: open streams I streams (64 at a time), send "x" on each and read
// it back, say ready, wait for stdin to reach EOF, then close them all.
func idle(sess session, streams int64) {
	const workers = 64
	sts := make([]io.ReadWriteCloser, streams)
	var next int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var x [1]byte
			for {
				i := atomic.AddInt64(&next, 1) - 1
				if i >= streams {
					return
				}
				st := open(sess, "idle")
				sts[i] = st
				if _, err := st.Write([]byte("Ix")); err != nil {
					die("idle: write: %v", err)
				}
				if err := readFull(st, x[:]); err != nil {
					die("idle: read: %v", err)
				}
				if x[0] != 'x' {
					die("idle: echo mismatch")
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("ready streams=%d\n", streams) // os.Stdout is unbuffered
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		die("idle: stdin: %v", err)
	}
	for _, st := range sts {
		st.Close()
	}
	fmt.Printf("result idle streams=%d\n", streams)
}
