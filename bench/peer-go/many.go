// many: the many-connections workload of docs/benchmarks.md for yamux
// and smux: conns sessions, each its own TCP connection, with streams E
// streams each; every stream makes rounds round trips of size bytes, the
// next as soon as the last came back.  A goroutine per stream: Go's
// runtime polls every socket from one netpoller (bench/run runs it with
// GOMAXPROCS=1, as muxbench drives the other contenders from one epoll
// loop).
package main

import (
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

func many(first session, dial func() session, conns, streams, rounds, size int64) {
	if conns < 1 || streams < 1 || rounds < 1 || size < 1 {
		die("many: need conns, streams, rounds and size >= 1")
	}
	start := time.Now()
	sessions := []session{first}
	for c := int64(1); c < conns; c++ {
		sessions = append(sessions, dial())
	}
	type lane struct {
		st  io.ReadWriteCloser
		lat []time.Duration
	}
	lanes := make([]lane, 0, conns*streams)
	for _, s := range sessions {
		for i := int64(0); i < streams; i++ {
			st := open(s, "many")
			if _, err := st.Write([]byte{'E'}); err != nil {
				die("many: write: %v", err)
			}
			lanes = append(lanes, lane{st: st, lat: make([]time.Duration, 0, rounds)})
		}
	}
	setup := time.Since(start)
	work := time.Now()
	var wg sync.WaitGroup
	for i := range lanes {
		wg.Add(1)
		go func(l *lane, id int) {
			defer wg.Done()
			out := make([]byte, size)
			in := make([]byte, size)
			for r := int64(0); r < rounds; r++ {
				for j := range out {
					out[j] = byte(int64(id) + r)
				}
				t := time.Now()
				if _, err := l.st.Write(out); err != nil {
					die("many: write: %v", err)
				}
				if err := readFull(l.st, in); err != nil {
					die("many: read: %v", err)
				}
				// Round 0 (every stream's first request at once) is
				// a warm-up, as in muxbench.
				if r > 0 {
					l.lat = append(l.lat, time.Since(t))
				}
				if string(in) != string(out) {
					die("many: echo mismatch in round %d", r)
				}
			}
		}(&lanes[i], i)
	}
	wg.Wait()
	secs := time.Since(work).Seconds()
	var all []time.Duration
	var sum time.Duration
	for _, l := range lanes {
		l.st.Close()
		all = append(all, l.lat...)
		for _, d := range l.lat {
			sum += d
		}
	}
	for _, s := range sessions[1:] {
		s.close()
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	p50, p99, mean := 0.0, 0.0, 0.0
	if n := len(all); n > 0 {
		p50, p99 = us(all[(n-1)/2]), us(all[(n*99+99)/100-1])
		mean = us(sum) / float64(n)
	}
	fmt.Printf("result many seconds=%.6f bytes=%d streams=%d setup_s=%.3f p50_us=%.1f p99_us=%.1f mean_us=%.1f\n",
		secs, conns*streams*rounds*size, conns*streams, setup.Seconds(), p50, p99, mean)
}
