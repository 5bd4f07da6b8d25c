package tests

// virtualAuthzRows: an organisation's virtual registry configuration.
// Anyone who may read the organisation's packages sees it (with a token
// that carries the package scope); only its owners and administrators
// set it.
func virtualAuthzRows(org, vis string) []authzRow {
	api := "/api/v1/packages/" + org + "/-/virtual/npm"
	read := pick(vis,
		w(200, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200),
		w(404, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200),
		w(404, 404, 200, 200, 200, 200, 200, 200, 403, 403, 403, 200))
	write := pick(vis,
		w(401, 403, 403, 403, 200, 200, 403, 200, 403, 403, 403, 200),
		w(401, 403, 403, 403, 200, 200, 403, 200, 403, 403, 403, 200),
		w(401, 404, 403, 403, 200, 200, 403, 200, 403, 403, 403, 200))
	return []authzRow{
		{method: "GET", path: api, want: read},
		{method: "PUT", path: api, want: write, body: func(int) string { return `{"members":[]}` }},
	}
}
