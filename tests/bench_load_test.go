package tests

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// reportLoad measures GET url under load beside the bare baseline (a plain
// handler serving the same bytes) in the same run, and reports both and
// their ratio: the machine is noisy, the ratio is the figure. The two take
// turns, in short rounds of the same length (at least 10 each, 6 with
// -short, whatever -benchtime), and the ratio is the median of the rounds'
// ratios: a noisy moment spoils one pair, not the figure.
func reportLoad(b *testing.B, url, bareURL string, header map[string]string, want int) {
	rounds, round := max(b.N, 10), 100*time.Millisecond
	if testing.Short() {
		rounds, round = max(b.N, 6), 40*time.Millisecond
	}
	var got, base loadResult
	ratios := make([]float64, rounds)
	for i := range ratios {
		g := loadRequests(b, url, header, want, round)
		o := loadRequests(b, bareURL, header, want, round)
		ratios[i] = g.rate() / o.rate()
		got.add(g)
		base.add(o)
	}
	slices.Sort(ratios)
	b.ReportMetric(got.rate(), "req/s")
	b.ReportMetric(got.p99(), "p99-ms")
	b.ReportMetric(base.rate(), "baseline-req/s")
	b.ReportMetric(base.p99(), "baseline-p99-ms")
	b.ReportMetric(ratios[len(ratios)/2], "ratio")
}

// loadResult is the latencies of a run of requests and its wall time.
type loadResult struct {
	lat     []time.Duration
	elapsed time.Duration
}

func (r *loadResult) add(o loadResult) {
	r.lat = append(r.lat, o.lat...)
	r.elapsed += o.elapsed
}

func (r *loadResult) rate() float64 { return float64(len(r.lat)) / r.elapsed.Seconds() }

// p99 is the 99th percentile latency in ms.
func (r *loadResult) p99() float64 {
	slices.Sort(r.lat)
	return float64(r.lat[len(r.lat)*99/100].Microseconds()) / 1000
}

// loadRequests sends GET url from 8 concurrent clients for about d (each
// client finishes the request it is in), with exactly the headers given
// (the transport adds no Accept-Encoding and unpacks nothing: both sides
// move the same bytes). Every answer must have status want and is read
// whole.
func loadRequests(b *testing.B, url string, header map[string]string, want int, d time.Duration) loadResult {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 8, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var mu sync.Mutex
	var lat []time.Duration
	get := func() (time.Duration, error) {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != want {
			return 0, fmt.Errorf("%s: %d, want %d", url, resp.StatusCode, want)
		}
		if resp.ContentLength >= 0 && n != resp.ContentLength {
			return 0, fmt.Errorf("%s: %d bytes of %d", url, n, resp.ContentLength)
		}
		return time.Since(t0), nil
	}
	start := time.Now()
	end := start.Add(d)
	failed := false
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for time.Now().Before(end) {
				took, err := get()
				mu.Lock()
				if err != nil {
					failed = true
					mu.Unlock()
					b.Error(err)
					return
				}
				lat = append(lat, took)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if failed || len(lat) == 0 {
		b.FailNow()
	}
	return loadResult{lat: lat, elapsed: elapsed}
}
