// SPDX-License-Identifier: LGPL-2.1-or-later

// Package afmux gives Go programs the AF_MUX socket family of the afmux
// kernel module: many keyed byte streams over one TCP connection, with
// flow control, stream numbers and framing in the kernel and each stream
// an ordinary file descriptor.
//
// The API is the seed design's:
//
//	c, err := afmux.NewConn(tcpConn)   // attach the TCP connection
//	w, err := c.Send("report.pdf")      // a new stream: write, then Close
//	key, r, err := c.Receive()          // the next stream the peer opened
//	c.Close()                           // no more streams; open ones go on
//
// A pool (several TCP connections under one mux, afmux(7) "Pools"):
// both ends attach with NewPoolConn, then both Join their ends of each
// further TCP connection; Stream.Link says where a stream lives.
//
// Every stream is an io.ReadWriteCloser whose file descriptor is
// non-blocking and in Go's network poller, so blocked reads and writes
// cost no thread and honour SetDeadline, SetReadDeadline and
// SetWriteDeadline (os.ErrDeadlineExceeded).  See afmux(7) for the
// socket family and libafmux(3) for the C library.
package afmux

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// The ABI of <linux/afmux.h> (x86-64).
const (
	familyPath    = "/sys/module/afmux/parameters/family"
	familyDefault = 19
	iocAttach     = 0x4010af01 // _IOW(0xaf, 1, struct afmux_attach)
	iocOpen       = 0xc018af02 // _IOWR(0xaf, 2, struct afmux_open)
	iocAccept     = 0xc018af03 // _IOWR(0xaf, 3, struct afmux_accept)
	iocJoin       = 0xc010af04 // _IOWR(0xaf, 4, struct afmux_join)
	attachPool    = 1          // AFMUX_ATTACH_POOL
	solAfmux      = 299        // SOL_AFMUX
	optStreamInfo = 2          // AFMUX_STREAM_INFO
	oCloexec      = 0x80000
	oNonblock     = 0x800

	// KeyMax is the longest key, in bytes (AFMUX_KEY_MAX).
	KeyMax = 1024
)

type attachArg struct {
	fd       int32
	flags    uint32
	reserved uint64
}

type joinArg struct {
	fd       int32
	flags    uint32
	link     uint32
	reserved uint32
}

// struct afmux_stream_info
type streamInfo struct {
	streamID uint32
	flags    uint32
	keyLen   uint32
	window   uint32
	key      [KeyMax]byte
	link     uint32
	reserved uint32
}

// struct afmux_open and struct afmux_accept, with the key buffer in the
// same allocation: the pointer the kernel follows stays valid because
// the whole object escapes to the heap through the ioctl's argument.
type streamArg struct {
	key      uint64
	keyLen   uint32
	flags    uint32
	streamID uint32
	reserved uint32
	buf      [KeyMax]byte
}

// ErrKeyTooLong is returned by Send for a key over KeyMax bytes.
var ErrKeyTooLong = errors.New("afmux: key longer than 1024 bytes")

// Family returns the address family number the loaded module registered
// (read from /sys/module/afmux/parameters/family), or 19 when the module
// is not loaded yet: creating a socket of that family loads it.
func Family() int {
	b, err := os.ReadFile(familyPath)
	if err != nil {
		return familyDefault
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return familyDefault
	}
	return n
}

func ioctl(fd uintptr, req uintptr, arg unsafe.Pointer) (uintptr, syscall.Errno) {
	r, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg))
	return r, e
}

// Conn is one afmux connection: a mux socket with a TCP connection
// attached.  Its methods may be called from several goroutines.
type Conn struct {
	f      *os.File
	rc     syscall.RawConn
	closed atomic.Bool
}

// NewConn attaches the connected TCP connection c (a *net.TCPConn or
// anything else whose SyscallConn gives a TCP socket) to a new mux
// socket.  From then on the TCP socket belongs to the kernel's mux: on
// success NewConn closes c, and the connection lives until Close and the
// last stream are done.  The other end must attach too (afmux, libafmux,
// muxcat) or speak the wire protocol.
func NewConn(c net.Conn) (*Conn, error) {
	return newConn(c, 0)
}

// NewPoolConn is NewConn offering the peer a pool (AFMUX_ATTACH_POOL):
// once both ends attached with it, more TCP connections can Join.
func NewPoolConn(c net.Conn) (*Conn, error) {
	return newConn(c, attachPool)
}

func rawConn(c net.Conn) (syscall.RawConn, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("afmux: %T has no file descriptor", c)
	}
	return sc.SyscallConn()
}

func newConn(c net.Conn, flags uint32) (*Conn, error) {
	raw, err := rawConn(c)
	if err != nil {
		return nil, err
	}
	fd, err := syscall.Socket(Family(), syscall.SOCK_STREAM|
		syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	var aerr syscall.Errno
	cerr := raw.Control(func(tfd uintptr) {
		arg := &attachArg{fd: int32(tfd), flags: flags}
		_, aerr = ioctl(uintptr(fd), iocAttach, unsafe.Pointer(arg))
	})
	if cerr == nil && aerr != 0 {
		cerr = os.NewSyscallError("AFMUX_IOC_ATTACH", aerr)
	}
	if cerr != nil {
		syscall.Close(fd)
		return nil, cerr
	}
	c.Close() // the mux holds its own reference to the TCP socket
	f := os.NewFile(uintptr(fd), "afmux")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Conn{f: f, rc: rc}, nil
}

// Join adds the connected TCP connection tc to the pool of a Conn made
// by NewPoolConn (AFMUX_IOC_JOIN); the peer joins its end of the same
// TCP connection at the same time.  It returns the connection's number
// in the pool (the first, attached one is 0) once the peer's end has
// been checked, and closes tc either way (it is the mux's from then on).
// Join waits in the kernel, holding its thread: join the pool before
// other goroutines use the Conn (a Receive meanwhile may hold a thread
// too).
func (c *Conn) Join(tc net.Conn) (int, error) {
	defer tc.Close()
	raw, err := rawConn(tc)
	if err != nil {
		return 0, err
	}
	arg := new(joinArg)
	var e syscall.Errno
	cerr := c.rc.Control(func(mfd uintptr) {
		err = raw.Control(func(tfd uintptr) {
			arg.fd = int32(tfd)
			// The mux fd is non-blocking, for Go's poller; a
			// non-blocking JOIN would only start the join.
			if e = setNonblock(mfd, false); e != 0 {
				return
			}
			_, e = ioctl(mfd, iocJoin, unsafe.Pointer(arg))
			if ne := setNonblock(mfd, true); e == 0 {
				e = ne
			}
		})
	})
	switch {
	case cerr != nil:
		return 0, cerr
	case err != nil:
		return 0, err
	case e != 0:
		return 0, os.NewSyscallError("AFMUX_IOC_JOIN", e)
	}
	return int(arg.link), nil
}

func setNonblock(fd uintptr, on bool) syscall.Errno {
	if err := syscall.SetNonblock(int(fd), on); err != nil {
		return err.(syscall.Errno)
	}
	return 0
}

// Send opens a new outgoing stream under key and returns it: write the
// payload, then Close it (or CloseWrite to end the sending direction and
// read the peer's answer).  It does not wait for the peer.
func (c *Conn) Send(key string) (*Stream, error) {
	return c.Open([]byte(key))
}

// Open is Send with a key of any bytes (at most KeyMax).
func (c *Conn) Open(key []byte) (*Stream, error) {
	if len(key) > KeyMax {
		return nil, ErrKeyTooLong
	}
	arg := new(streamArg)
	copy(arg.buf[:], key)
	arg.key = uint64(uintptr(unsafe.Pointer(&arg.buf[0])))
	arg.keyLen = uint32(len(key))
	arg.flags = oNonblock | oCloexec
	var fd uintptr
	var e syscall.Errno
	if err := c.rc.Control(func(mfd uintptr) {
		fd, e = ioctl(mfd, iocOpen, unsafe.Pointer(arg))
	}); err != nil {
		return nil, err
	}
	if e != 0 {
		return nil, os.NewSyscallError("AFMUX_IOC_OPEN", e)
	}
	return newStream(int(fd), string(key), arg.streamID), nil
}

// Receive waits for the next stream the peer opened and returns its key
// and the stream: read it until io.EOF.  Once the connection has ended
// and no stream is left, it returns io.EOF after a clean end and the
// connection's error otherwise; after Close it returns os.ErrClosed.
func (c *Conn) Receive() (string, *Stream, error) {
	arg := new(streamArg)
	var st *Stream
	var e syscall.Errno
	err := c.rc.Read(func(mfd uintptr) bool {
		arg.key = uint64(uintptr(unsafe.Pointer(&arg.buf[0])))
		arg.keyLen = KeyMax
		arg.flags = oNonblock | oCloexec
		var fd uintptr
		fd, e = ioctl(mfd, iocAccept, unsafe.Pointer(arg))
		if e == syscall.EAGAIN {
			return false // wait for POLLIN
		}
		if e == 0 {
			key := string(arg.buf[:arg.keyLen])
			st = newStream(int(fd), key, arg.streamID)
		}
		return true
	})
	switch {
	case err != nil && c.closed.Load():
		return "", nil, os.ErrClosed
	case err != nil:
		return "", nil, err
	case e == syscall.EPIPE:
		return "", nil, io.EOF
	case e != 0:
		return "", nil, os.NewSyscallError("AFMUX_IOC_ACCEPT", e)
	}
	return st.key, st, nil
}

// Close closes the mux socket: the peer can open no more streams, and
// streams already open carry on; the TCP connection ends after the last
// one.  A Receive waiting on another goroutine returns os.ErrClosed.
func (c *Conn) Close() error {
	c.closed.Store(true)
	return c.f.Close()
}

// Stream is one stream: an io.ReadWriteCloser over its own non-blocking
// file descriptor, in Go's poller.
type Stream struct {
	f   *os.File
	key string
	id  uint32
	rc  syscall.RawConn
}

func newStream(fd int, key string, id uint32) *Stream {
	f := os.NewFile(uintptr(fd), "afmux-stream")
	rc, _ := f.SyscallConn()
	return &Stream{f: f, key: key, id: id, rc: rc}
}

// Key is the stream's key.
func (s *Stream) Key() string { return s.key }

// ID is the stream's number, as the end that opened it assigned it.
func (s *Stream) ID() uint32 { return s.id }

// Read reads what the peer wrote; io.EOF once it ended its direction.
func (s *Stream) Read(p []byte) (int, error) { return s.f.Read(p) }

// Write writes all of p, waiting for the peer's credit as needed.
func (s *Stream) Write(p []byte) (int, error) { return s.f.Write(p) }

// Close closes the stream's fd: its sending direction ends (after what
// was written), or the stream is reset if unread data is left.  A Stream
// dropped without Close is closed by the garbage collector, as an
// *os.File is: keep it while the stream is in use.
func (s *Stream) Close() error { return s.f.Close() }

// CloseWrite ends the sending direction (shutdown(SHUT_WR)); reading
// goes on until the peer ends its own.
func (s *Stream) CloseWrite() error {
	var serr error
	if err := s.rc.Control(func(fd uintptr) {
		serr = syscall.Shutdown(int(fd), syscall.SHUT_WR)
	}); err != nil {
		return err
	}
	return os.NewSyscallError("shutdown", serr)
}

// SetDeadline sets the read and write deadlines, as net.Conn does.
func (s *Stream) SetDeadline(t time.Time) error { return s.f.SetDeadline(t) }

// SetReadDeadline sets the deadline of Read.
func (s *Stream) SetReadDeadline(t time.Time) error { return s.f.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline of Write.
func (s *Stream) SetWriteDeadline(t time.Time) error {
	return s.f.SetWriteDeadline(t)
}

// Link is the number of the pool's TCP connection the stream lives on
// (0: the first, attached one; always 0 without a pool).
func (s *Stream) Link() (int, error) {
	info := new(streamInfo)
	size := uint32(unsafe.Sizeof(*info))
	var e syscall.Errno
	if err := s.rc.Control(func(fd uintptr) {
		_, _, e = syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, solAfmux,
			optStreamInfo, uintptr(unsafe.Pointer(info)),
			uintptr(unsafe.Pointer(&size)), 0)
	}); err != nil {
		return 0, err
	}
	if e != 0 {
		return 0, os.NewSyscallError("getsockopt(AFMUX_STREAM_INFO)", e)
	}
	return int(info.link), nil
}

// File returns the stream's *os.File, for code that wants the fd
// (splice, sendfile through io.Copy, fstat); it stays the Stream's.
func (s *Stream) File() *os.File { return s.f }
