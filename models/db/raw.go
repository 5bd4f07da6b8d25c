package db

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"xorm.io/xorm"
	"xorm.io/xorm/schemas"
)

// QueryRow runs a one-row query with database/sql itself, on the engine or
// inside the transaction e is. It is for the few lookups every request
// makes (an owner by name, a package by name): there xorm's statement
// building and reflective scanning cost several times the query, which
// the driver runs from its statement cache. Write the query with ?
// placeholders and quoted identifiers where a name is reserved ("user").
func QueryRow(ctx context.Context, e Engine, query string, args ...any) *sql.Row {
	q, tx, pool := plain(ctx, e, query)
	if tx != nil {
		return tx.QueryRowContext(ctx, q, args...)
	}
	return pool.QueryRowContext(ctx, q, args...)
}

// Query is QueryRow for several rows; close them.
func Query(ctx context.Context, e Engine, query string, args ...any) (*sql.Rows, error) {
	q, tx, pool := plain(ctx, e, query)
	if tx != nil {
		return tx.QueryContext(ctx, q, args...)
	}
	return pool.QueryContext(ctx, q, args...)
}

// plain is e's transaction, or else its pool, and the query in the
// database's placeholders.
func plain(ctx context.Context, e Engine, query string) (string, *sql.Tx, *sql.DB) {
	if x, ok := e.(*xorm.Engine); ok {
		// Not x.Context(ctx): that builds a session this does not need.
		return bind(x.Dialect().URI().DBType, query), nil, x.DB().DB
	}
	s := e.Context(ctx)
	q := bind(s.Engine().Dialect().URI().DBType, query)
	if s.IsInTx() {
		return q, s.Tx().Tx, nil
	}
	return q, nil, s.DB().DB
}

// bind turns ? placeholders into PostgreSQL's $1, $2, …; SQLite takes ?.
func bind(t schemas.DBType, query string) string {
	if t != schemas.POSTGRES || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
