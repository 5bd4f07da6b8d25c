//go:build cluster

package cluster

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// startRounds is how many times each start-up race is run: the races are
// a matter of timing, and a single start proves little either way.
const startRounds = 5

// TestClusterStartTogether: two processes started at the same instant both
// come up, and each sees what the other wrote. Issue 16 found one exiting
// on the hooks' temporary file; these are the other things start-up makes
// once for everyone:
//   - "empty database": the migrations and the first administrator
//     (WHARF_ADMIN_USER), which exactly one process must create and print;
//   - "no bucket": the MinIO bucket, which exactly one process creates.
func TestClusterStartTogether(t *testing.T) {
	for _, c := range []struct {
		name string
		o    options
	}{
		{"empty database", options{NoAdmin: true}},
		{"no bucket", options{NoBucket: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for round := range startRounds {
				t.Run(fmt.Sprint("round ", round+1), func(t *testing.T) {
					startTogether(t, c.o)
				})
			}
		})
	}
}

func startTogether(t *testing.T, o options) {
	c := newCluster(t, o)
	a, b := c.Procs[0], c.Procs[1]
	if o.NoAdmin {
		printed := 0
		for _, p := range c.Procs {
			if strings.Contains(p.stdout.String(), "username: "+adminUser) {
				printed++
			}
		}
		if printed != 1 {
			t.Fatalf("%d processes printed the first administrator's credentials; want exactly 1\nA: %s\nB: %s", printed, a.stdout.String(), b.stdout.String())
		}
	}
	var users int
	if err := c.DB.QueryRow(`SELECT count(*) FROM "user" WHERE lower_name = $1`, adminUser).Scan(&users); err != nil || users != 1 {
		t.Fatalf("administrators in the database: %d, %v", users, err)
	}
	createUser(t, a, "made-on-a")
	if status, _, body := do(t, "GET", b.URL+"/api/v1/users/made-on-a", nil, adminHeader()); status != http.StatusOK {
		t.Fatalf("B does not see the user A created: %d %s", status, body)
	}
}
