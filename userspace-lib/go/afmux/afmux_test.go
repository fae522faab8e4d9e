// SPDX-License-Identifier: LGPL-2.1-or-later

// The package's tests need the afmux module loaded: make check runs them
// in the 6.1 and 6.12 VMs (tools/test-bindings).  Case 0 and case 1 are
// the seed design's acceptance cases, as selftests/streams runs them in C.
package afmux

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// tcpPair returns the two ends of a new loopback TCP connection.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		done <- c
	}()
	cc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc := <-done
	if sc == nil {
		t.Fatal("accept failed")
	}
	return cc, sc
}

// pair returns two attached ends of one loopback TCP connection.
func pair(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	cc, sc := tcpPair(t)
	a, err := NewConn(cc)
	if err != nil {
		t.Fatalf("NewConn(client): %v", err)
	}
	b, err := NewConn(sc)
	if err != nil {
		t.Fatalf("NewConn(server): %v", err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func payload(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// Case 0: a stream each way with the seed API; keys, IDs and bytes.
func TestCase0(t *testing.T) {
	client, server := pair(t)
	msg, reply := payload(1, 300), payload(2, 200)

	w, err := client.Send("hello")
	if err != nil {
		t.Fatal(err)
	}
	if w.ID() != 1 || w.Key() != "hello" {
		t.Errorf("first stream: ID %d key %q, want 1 \"hello\"", w.ID(), w.Key())
	}
	if _, err := w.Write(msg); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	key, r, err := server.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if key != "hello" || r.ID() != 1 {
		t.Errorf("received %q ID %d, want \"hello\" 1", key, r.ID())
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("read %d bytes (%v), want the %d written", len(got), err, len(msg))
	}
	r.Close()

	w, err = server.Send("reply")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(reply)
	w.Close()
	key, r, err = client.Receive()
	if err != nil || key != "reply" {
		t.Fatalf("Receive: %q %v", key, err)
	}
	got, _ = io.ReadAll(r)
	if !bytes.Equal(got, reply) {
		t.Fatalf("reply: %d bytes, want %d", len(got), len(reply))
	}
	r.Close()
}

type digest struct {
	key string
	sum [sha256.Size]byte
	n   int64
	err error
}

// send writes n pseudo-random bytes on a new stream and returns their sum.
func send(c *Conn, key string, n int64, seed int64) digest {
	d := digest{key: key}
	w, err := c.Send(key)
	if err != nil {
		d.err = err
		return d
	}
	h := sha256.New()
	src := rand.New(rand.NewSource(seed))
	buf := make([]byte, 256<<10)
	for d.n < n {
		m := int64(len(buf))
		if n-d.n < m {
			m = n - d.n
		}
		src.Read(buf[:m])
		h.Write(buf[:m])
		if _, d.err = w.Write(buf[:m]); d.err != nil {
			return d
		}
		d.n += m
	}
	copy(d.sum[:], h.Sum(nil))
	d.err = w.Close()
	return d
}

func receive(c *Conn) digest {
	key, r, err := c.Receive()
	d := digest{key: key, err: err}
	if err != nil {
		return d
	}
	defer r.Close()
	h := sha256.New()
	d.n, d.err = io.CopyBuffer(h, r, make([]byte, 256<<10))
	copy(d.sum[:], h.Sum(nil))
	return d
}

// transfer moves n bytes on each of keys from one end to the other at
// once and checks every stream's length and SHA-256.
func transfer(t *testing.T, from, to *Conn, keys []string, n int64) {
	var wg sync.WaitGroup
	sent := make([]digest, len(keys))
	got := make([]digest, len(keys))
	for i := range keys {
		wg.Add(2)
		go func(i int) { defer wg.Done(); sent[i] = send(from, keys[i], n, int64(i+7)) }(i)
		go func(i int) { defer wg.Done(); got[i] = receive(to) }(i)
	}
	wg.Wait()
	for _, s := range sent {
		if s.err != nil {
			t.Fatalf("send %q: %v", s.key, s.err)
		}
		var r *digest
		for i := range got {
			if got[i].key == s.key {
				r = &got[i]
			}
		}
		if r == nil || r.err != nil {
			t.Fatalf("stream %q not received (%v)", s.key, r)
		}
		if r.n != n || r.sum != s.sum {
			t.Errorf("stream %q: %d bytes, sum %x; sent %d, %x", s.key, r.n, r.sum, n, s.sum)
		}
	}
}

// Case 1: 500 MB one way, then 2 x 500 MB the other way, by SHA-256.
func TestCase1(t *testing.T) {
	client, server := pair(t)
	n := int64(500 * 1000 * 1000)
	if testing.Short() {
		n = 50 * 1000 * 1000
	}
	start := time.Now()
	transfer(t, client, server, []string{"case1: client to server"}, n)
	transfer(t, server, client, []string{"case1: server to client #1",
		"case1: server to client #2"}, n)
	t.Logf("case1: 3 x %d bytes verified in %.1f s", n, time.Since(start).Seconds())
}

// A read with nothing to read honours its deadline through the poller,
// and a later deadline lets it finish.
func TestDeadlines(t *testing.T) {
	client, server := pair(t)
	w, err := client.Send("slow")
	if err != nil {
		t.Fatal(err)
	}
	_, r, err := server.Receive()
	if err != nil {
		t.Fatal(err)
	}
	r.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	start := time.Now()
	_, err = r.Read(make([]byte, 10))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 5*time.Second {
		t.Errorf("deadline fired after %v", d)
	}
	r.SetReadDeadline(time.Time{})
	w.Write([]byte("now"))
	w.CloseWrite()
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "now" {
		t.Fatalf("after the deadline: %q %v", got, err)
	}
	// The writer's own deadline: the peer's window (256 KiB) and the send
	// buffer fill, and Write stops at the deadline.
	w2, _ := client.Send("full")
	_, r2, err := server.Receive() // kept: a dropped Stream is closed
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	w2.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	_, err = w2.Write(make([]byte, 64<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write into a full window: %v, want os.ErrDeadlineExceeded", err)
	}
}

// Receive returns io.EOF once the peer closed its end and nothing is left,
// and a waiting Receive returns when its own Conn is closed.
func TestEnd(t *testing.T) {
	client, server := pair(t)
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := server.Receive(); err != io.EOF {
		t.Fatalf("Receive after the peer's close: %v, want io.EOF", err)
	}
	c2, s2 := pair(t)
	_ = c2
	errc := make(chan error, 1)
	go func() { _, _, err := s2.Receive(); errc <- err }()
	time.Sleep(50 * time.Millisecond)
	s2.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("Receive on a closed Conn: %v, want os.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Receive still waiting 5 s after Close")
	}
}

// A key of any bytes, up to KeyMax; longer is refused before the kernel.
func TestKeys(t *testing.T) {
	client, server := pair(t)
	key := make([]byte, KeyMax)
	for i := range key {
		key[i] = byte(i)
	}
	w, err := client.Open(key)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	got, r, err := server.Receive()
	if err != nil || got != string(key) {
		t.Fatalf("key of %d bytes came as %d (%v)", len(key), len(got), err)
	}
	r.Close()
	if _, err := client.Open(make([]byte, KeyMax+1)); err != ErrKeyTooLong {
		t.Fatalf("key of %d bytes: %v", KeyMax+1, err)
	}
}

// A pool of two: both ends join a second TCP connection; idle connections
// take new streams in turn, and each stream carries its bytes.
func TestPool(t *testing.T) {
	cc, sc := tcpPair(t)
	a, err := NewPoolConn(cc)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewPoolConn(sc)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cc, sc = tcpPair(t)
	joined := make(chan error, 1)
	go func() {
		n, err := b.Join(sc)
		if err == nil && n != 1 {
			err = errors.New("peer's link is not 1")
		}
		joined <- err
	}()
	if n, err := a.Join(cc); err != nil || n != 1 {
		t.Fatalf("Join: %d, %v", n, err)
	}
	if err := <-joined; err != nil {
		t.Fatalf("peer's Join: %v", err)
	}
	for i := 0; i < 4; i++ {
		w, err := a.Send(string(rune('a' + i)))
		if err != nil {
			t.Fatal(err)
		}
		if l, err := w.Link(); err != nil || l != i%2 {
			t.Fatalf("stream %d on link %d (%v), want %d", i, l, err, i%2)
		}
		w.Write(bytes.Repeat([]byte{'x'}, i+1))
		w.Close()
	}
	for i := 0; i < 4; i++ {
		key, r, err := b.Receive()
		if err != nil {
			t.Fatal(err)
		}
		n := int(key[0] - 'a')
		if l, err := r.Link(); err != nil || l != n%2 {
			t.Fatalf("stream %q came on link %d (%v)", key, l, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, bytes.Repeat([]byte{'x'}, n+1)) {
			t.Fatalf("stream %q: %d bytes (%v)", key, len(got), err)
		}
	}
}
