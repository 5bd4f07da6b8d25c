// Package db opens the database (SQLite or PostgreSQL through xorm) and
// gives services one way to run a transaction.
package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/lib/pq"
	"github.com/mattn/go-sqlite3"
	"xorm.io/xorm"
	xormlog "xorm.io/xorm/log"
	"xorm.io/xorm/names"

	"wharf/modules/setting"
)

// Engine is what model functions take: *xorm.Engine outside a transaction,
// *xorm.Session inside one. Start each query with e.Context(ctx).
type Engine interface {
	Context(ctx context.Context) *xorm.Session
}

// DB is an open database.
type DB struct {
	x   *xorm.Engine
	typ string
}

// Open connects to the database the configuration names. It does not
// migrate; see models/migrations.
func Open(ctx context.Context, cfg setting.Database) (*DB, error) {
	var driver, dsn string
	switch cfg.Type {
	case "sqlite3":
		if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o750); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
		driver = "sqlite3"
		// WAL lets readers run beside the writer; _txlock=immediate takes the
		// write lock at BEGIN, so two writers queue on the busy timeout
		// instead of deadlocking when both try to upgrade a read lock.
		// Each connection keeps its 128 most recent prepared statements:
		// preparing was a third of the cost of a warm cached document.
		dsn = "file:" + cfg.Path + "?_busy_timeout=5000&_journal_mode=WAL&_foreign_keys=on&_txlock=immediate&_synchronous=NORMAL&_stmt_cache_size=128"
	case "postgres":
		driver = "postgres"
		dsn = PostgresDSN(cfg)
	default:
		return nil, fmt.Errorf("unsupported database type %q", cfg.Type)
	}
	x, err := xorm.NewEngine(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", cfg.Type, err)
	}
	x.SetMapper(names.GonicMapper{})
	if cfg.LogSQL {
		x.SetLogger(xormlog.NewSimpleLogger(os.Stderr))
		x.ShowSQL(true)
	} else {
		// Errors reach callers as return values; xorm's own chatter (a line
		// per ping) would only duplicate them.
		x.SetLogger(xormlog.DiscardLogger{})
	}
	if cfg.MaxOpenConns > 0 {
		x.SetMaxOpenConns(cfg.MaxOpenConns)
	}
	x.SetMaxIdleConns(cfg.MaxIdleConns)
	x.SetConnMaxLifetime(cfg.ConnMaxLifetime)
	if err := x.PingContext(ctx); err != nil {
		_ = x.Close()
		return nil, fmt.Errorf("connect to %s database: %w", cfg.Type, err)
	}
	return &DB{x: x, typ: cfg.Type}, nil
}

// PostgresDSN builds a lib/pq connection URL, with a connect timeout of
// 10 seconds. A HOST that is a directory
// ("/var/run/postgresql") connects over the Unix socket there.
func PostgresDSN(cfg setting.Database) string {
	u := url.URL{Scheme: "postgres", Path: "/" + cfg.Name}
	if cfg.Passwd != "" {
		u.User = url.UserPassword(cfg.User, cfg.Passwd)
	} else if cfg.User != "" {
		u.User = url.User(cfg.User)
	}
	// connect_timeout bounds a connection attempt to a server that does
	// not answer (a host that drops packets): without it a request would
	// wait for the kernel's TCP timeout, minutes, instead of failing with
	// 503. A refused connection fails at once either way.
	q := url.Values{"sslmode": {cfg.SSLMode}, "connect_timeout": {"10"}}
	if strings.HasPrefix(cfg.Host, "/") {
		q.Set("host", cfg.Host)
	} else {
		u.Host = cfg.Host
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Engine returns the engine for queries outside a transaction.
func (d *DB) Engine() Engine { return d.x }

// Xorm returns the underlying engine, for migrations and schema checks.
func (d *DB) Xorm() *xorm.Engine { return d.x }

// SQL returns the connection pool, for health checks and pool metrics.
func (d *DB) SQL() *sql.DB { return d.x.DB().DB }

// Type is "sqlite3" or "postgres".
func (d *DB) Type() string { return d.typ }

// Close closes the pool.
func (d *DB) Close() error { return d.x.Close() }

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error { return d.x.PingContext(ctx) }

// WithTx runs fn in one transaction: committed if fn returns nil, rolled
// back otherwise (and on panic). Do not nest: pass tx down instead. A
// Fence on ctx (WithFence) is checked before the commit.
func (d *DB) WithTx(ctx context.Context, fn func(tx Engine) error) error {
	sess := d.x.NewSession().Context(ctx)
	defer sess.Close() // rolls back unless committed
	if err := sess.Begin(); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(sess); err != nil {
		return err
	}
	if fence := fenceOf(ctx); fence != nil {
		if err := fence(ctx, sess); err != nil {
			return err
		}
	}
	if err := sess.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// IsUniqueViolation reports whether err is a unique-constraint violation,
// which callers turn into a conflict for the client.
func IsUniqueViolation(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return false
}

// IsUnavailable reports whether err says that the database cannot be
// reached or is not serving now (stopped, restarting, shutting down, out of
// connection slots), as opposed to refusing this query: the request may
// succeed when tried again. It decides by the errors' types and the
// server's SQLSTATE codes:
//   - database/sql's and the driver's broken-connection errors;
//   - PostgreSQL's class 08 (connection exception), 57P01 admin_shutdown,
//     57P02 crash_shutdown, 57P03 cannot_connect_now and 53300
//     too_many_connections;
//   - a network failure (*net.OpError: refused or timed-out dial, reset or
//     closed connection). The caller must make sure it did not come from
//     the client's own connection (the HTTP server cancels the request's
//     context when that one breaks).
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case "57P01", "57P02", "57P03", "53300":
			return true
		}
		return pe.Code.Class() == "08"
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

// FindByIDs loads rows by primary key in one query, keyed by id.
func FindByIDs[T any](ctx context.Context, e Engine, ids []int64, idOf func(*T) int64) (map[int64]*T, error) {
	out := map[int64]*T{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []*T
	if err := e.Context(ctx).In("id", ids).Find(&rows); err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[idOf(r)] = r
	}
	return out, nil
}
