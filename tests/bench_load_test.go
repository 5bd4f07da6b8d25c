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
// their ratio: the machine is noisy, the ratio is the figure. The two are
// measured in turn, twice, so that a noisy moment falls on both.
func reportLoad(b *testing.B, url, bareURL string, header map[string]string, want int) {
	// At least 400 requests a side (160 with -short), whatever -benchtime.
	per := max((b.N+7)/8, 50)
	if testing.Short() {
		per = max((b.N+7)/8, 20)
	}
	var got, base loadResult
	for _, half := range []int{per / 2, per - per/2} {
		got.add(loadRequests(b, url, header, want, half))
		base.add(loadRequests(b, bareURL, header, want, half))
	}
	b.ReportMetric(got.rate(), "req/s")
	b.ReportMetric(got.p99(), "p99-ms")
	b.ReportMetric(base.rate(), "baseline-req/s")
	b.ReportMetric(base.p99(), "baseline-p99-ms")
	b.ReportMetric(got.rate()/base.rate(), "ratio")
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

// loadRequests sends GET url from 8 concurrent clients, per requests each,
// with exactly the headers given (the transport adds no Accept-Encoding
// and unpacks nothing: both sides move the same bytes). Every answer must
// have status want and is read whole.
func loadRequests(b *testing.B, url string, header map[string]string, want, per int) loadResult {
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
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range per {
				d, err := get()
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(lat) != 8*per {
		b.FailNow()
	}
	return loadResult{lat: lat, elapsed: elapsed}
}
