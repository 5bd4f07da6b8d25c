package tests

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestReview12CutGem: a .gem cut off mid-body over a real socket (the
// client closes its side early; Content-Length lies in both directions)
// gets a 4xx or a closed connection, never a 5xx, and nothing is stored.
func TestReview12CutGem(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	key := packageToken(t, s, "alice", "gem", "write:package")
	gem, _ := gemFixture(t, "hola-1.0.0.gem")
	u, _ := url.Parse(s.URL)
	for _, c := range []struct {
		name string
		cl   int
		send int
	}{{"cut short", len(gem), len(gem) / 2}, {"content-length short", len(gem) / 2, len(gem)}, {"content-length long", len(gem) + 1000, len(gem)}} {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST %sapi/v1/gems HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", gemsPath("alice"), u.Host, key, c.cl)
		_, _ = conn.Write(gem[:c.send])
		_ = conn.(*net.TCPConn).CloseWrite()
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil {
			buf := new(strings.Builder)
			_, _ = fmt.Fprint(buf, resp.Status)
			if resp.StatusCode >= 500 || resp.StatusCode == 200 && c.name != "content-length long" {
				t.Errorf("%s: %s", c.name, resp.Status)
			}
			t.Logf("%s: %s %s", c.name, resp.Status, resp.Header.Get("Content-Type"))
			resp.Body.Close()
		} else {
			t.Logf("%s: no response (%v)", c.name, err)
		}
		conn.Close()
	}
	st, _, body := s.do(t, "GET", gemsPath("alice")+"versions", "", nil)
	if st != 200 || strings.Contains(body, "hola") {
		t.Errorf("versions after cut pushes: %d\n%s", st, body)
	}
	st, _, body = s.do(t, "GET", gemsPath("alice")+"info/hola", "", nil)
	t.Logf("info/hola: %d %q", st, body)
}
