package tests

import (
	"context"
	"fmt"
	"testing"

	"wharf/services/packages/cleanup"
)

// cleanupAuthzRows are the authorization matrix's rows of an
// organisation's cleanup rules: the owners of the organisation and
// administrators only (and the owner's tokens with the package scope);
// members of any role are refused, as is anyone for an organisation they
// may not see (not found).
func cleanupAuthzRows(t *testing.T, s *server, org, vis string) []authzRow {
	t.Helper()
	admin, err := s.App.Users.GetByName(context.Background(), s.AdminName)
	if err != nil {
		t.Fatal(err)
	}
	generic := "generic"
	rule, err := s.App.Cleanup.CreateRule(context.Background(), admin, org, cleanup.RuleOptions{Type: &generic})
	if err != nil {
		t.Fatal(err)
	}
	api := "/api/v1/packages/" + org + "/-"
	id := fmt.Sprint(rule.ID)
	read := pick(vis,
		w(401, 403, 403, 403, 200, 200, 200, 200, 403, 403, 403, 200),
		w(401, 403, 403, 403, 200, 200, 200, 200, 403, 403, 403, 200),
		w(401, 404, 403, 403, 200, 200, 200, 200, 403, 403, 403, 200))
	write := func(ok int) st {
		return pick(vis,
			w(401, 403, 403, 403, ok, ok, 403, ok, 403, 403, 403, ok),
			w(401, 403, 403, 403, ok, ok, 403, ok, 403, 403, 403, ok),
			w(401, 404, 403, 403, ok, ok, 403, ok, 403, 403, 403, ok))
	}
	// Each caller that may creates a rule of its own type (one per type).
	typeOf := map[int]string{cOwner: "npm", cAdmin: "composer", cPkgW: "cargo", cAll: "rubygems"}
	return []authzRow{
		{method: "GET", path: api + "/rules", want: read},
		{method: "POST", path: api + "/rules", want: write(201), body: func(c int) string {
			typ, ok := typeOf[c]
			if !ok {
				typ = "npm"
			}
			return `{"type":"` + typ + `","keep_count":3}`
		}},
		{method: "GET", path: api + "/rules/" + id, want: read},
		{method: "GET", path: api + "/rules/" + id + "/preview", want: read},
		{method: "PATCH", path: api + "/rules/" + id, want: write(200), body: func(c int) string { return fmt.Sprintf(`{"keep_count":%d}`, c) }},
		{method: "POST", path: api + "/rules/" + id + "/run", want: write(200)},
		{method: "DELETE", path: api + "/rules/999999", want: write(404)},
		{method: "GET", path: api + "/storage", want: read},
	}
}

// cleanupAdminAuthzRows: the administrators' cleanup tasks.
func cleanupAdminAuthzRows() []authzRow {
	admin := w(401, 403, 403, 403, 403, 200, 403, 403, 403, 403, 403, 403)
	return []authzRow{
		{method: "GET", path: "/api/v1/admin/cleanup", want: admin},
		{method: "POST", path: "/api/v1/admin/cleanup/uploads", want: admin},
	}
}
