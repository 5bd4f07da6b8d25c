package tests

import (
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// reportLoad measures GET url under load beside the bare baseline (a plain
// handler serving the same bytes) in the same run, and reports both and
// their ratio: the machine is noisy, the ratio is the figure.
func reportLoad(b *testing.B, url, bareURL string, header map[string]string, want int) {
	rate, p99 := loadRequests(b, url, header, want)
	base, _ := loadRequests(b, bareURL, header, want)
	b.ReportMetric(rate, "req/s")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(base, "baseline-req/s")
	b.ReportMetric(rate/base, "ratio")
}

// loadRequests sends GET url from 8 concurrent clients (at least 400
// requests, whatever -benchtime), each answer of status want read whole,
// and returns requests/s and the p99 latency in ms.
func loadRequests(b *testing.B, url string, header map[string]string, want int) (float64, float64) {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var mu sync.Mutex
	var lat []time.Duration
	per := max((b.N+7)/8, 50)
	start := time.Now()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range per {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				for k, v := range header {
					req.Header.Set(k, v)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					b.Errorf("%s: %d, want %d", url, resp.StatusCode, want)
					return
				}
				mu.Lock()
				lat = append(lat, time.Since(t0))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(lat) == 0 {
		b.FailNow()
	}
	slices.Sort(lat)
	return float64(len(lat)) / elapsed.Seconds(), float64(lat[len(lat)*99/100].Microseconds()) / 1000
}
