// Package auth holds personal access tokens.
package auth

import (
	"context"
	"fmt"

	"wharf/models/db"
	"wharf/modules/apperr"
)

// AccessToken is a personal access token. Only a salted hash is stored; the
// last eight characters are kept to find the row and to show the user which
// token is which.
type AccessToken struct {
	ID             int64  `xorm:"pk autoincr"`
	UID            int64  `xorm:"UNIQUE(uid_name) INDEX NOT NULL"`
	Name           string `xorm:"VARCHAR(255) UNIQUE(uid_name) NOT NULL"`
	TokenHash      string `xorm:"VARCHAR(64) UNIQUE NOT NULL"`
	TokenSalt      string `xorm:"VARCHAR(32) NOT NULL"`
	TokenLastEight string `xorm:"VARCHAR(8) INDEX NOT NULL"`
	Scope          string `xorm:"VARCHAR(512) NOT NULL DEFAULT ''"`
	CreatedUnix    int64  `xorm:"NOT NULL DEFAULT 0"`
	UpdatedUnix    int64  `xorm:"NOT NULL DEFAULT 0"` // last used
}

// Tables lists this package's beans for schema checks.
func Tables() []any { return []any{new(AccessToken), new(Session)} }

// ErrTokenNotExist is returned for an unknown token id or name.
var ErrTokenNotExist = apperr.New(apperr.NotFound, "access token does not exist")

// InsertToken inserts t; a name the user already used is Unprocessable.
func InsertToken(ctx context.Context, e db.Engine, t *AccessToken) error {
	if _, err := e.Context(ctx).Insert(t); err != nil {
		if db.IsUniqueViolation(err) {
			return apperr.New(apperr.Unprocessable, "access token name %q has been used already", t.Name)
		}
		return fmt.Errorf("insert access token: %w", err)
	}
	return nil
}

// FindByLastEight returns the candidates for a presented token. Every
// request with a token makes it, so it is plain SQL (db.Query);
// TestFindByLastEightReadsEveryColumn keeps it in step with the bean.
func FindByLastEight(ctx context.Context, e db.Engine, lastEight string) ([]*AccessToken, error) {
	rows, err := db.Query(ctx, e, "SELECT id, uid, name, token_hash, token_salt, token_last_eight, scope, created_unix, updated_unix FROM access_token WHERE token_last_eight = ?", lastEight)
	if err != nil {
		return nil, fmt.Errorf("find access token: %w", err)
	}
	defer rows.Close()
	var ts []*AccessToken
	for rows.Next() {
		t := &AccessToken{}
		if err := rows.Scan(&t.ID, &t.UID, &t.Name, &t.TokenHash, &t.TokenSalt, &t.TokenLastEight, &t.Scope, &t.CreatedUnix, &t.UpdatedUnix); err != nil {
			return nil, fmt.Errorf("find access token: %w", err)
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find access token: %w", err)
	}
	return ts, nil
}

// TouchToken records that the token was used.
func TouchToken(ctx context.Context, e db.Engine, id, now int64) error {
	_, err := e.Context(ctx).Table(new(AccessToken)).Where("id = ?", id).Update(map[string]any{"updated_unix": now})
	return err
}

// ListTokens returns one page of the user's tokens, newest first, and the total.
func ListTokens(ctx context.Context, e db.Engine, uid int64, opts db.ListOptions) ([]*AccessToken, int64, error) {
	total, err := e.Context(ctx).Where("uid = ?", uid).Count(new(AccessToken))
	if err != nil {
		return nil, 0, fmt.Errorf("count access tokens: %w", err)
	}
	var ts []*AccessToken
	if err := e.Context(ctx).Where("uid = ?", uid).Desc("id").Limit(opts.PageSize, opts.Offset()).Find(&ts); err != nil {
		return nil, 0, fmt.Errorf("list access tokens: %w", err)
	}
	return ts, total, nil
}

// GetTokenByName finds one of the user's tokens by name.
func GetTokenByName(ctx context.Context, e db.Engine, uid int64, name string) (*AccessToken, error) {
	t := &AccessToken{}
	has, err := e.Context(ctx).Where("uid = ? AND name = ?", uid, name).Get(t)
	if err != nil {
		return nil, fmt.Errorf("get access token: %w", err)
	}
	if !has {
		return nil, ErrTokenNotExist
	}
	return t, nil
}

// DeleteToken removes one of the user's tokens by id.
func DeleteToken(ctx context.Context, e db.Engine, uid, id int64) error {
	n, err := e.Context(ctx).Where("uid = ? AND id = ?", uid, id).Delete(new(AccessToken))
	if err != nil {
		return fmt.Errorf("delete access token: %w", err)
	}
	if n == 0 {
		return ErrTokenNotExist
	}
	return nil
}

// DeleteTokensOf removes every token of a user.
func DeleteTokensOf(ctx context.Context, e db.Engine, uid int64) error {
	_, err := e.Context(ctx).Where("uid = ?", uid).Delete(new(AccessToken))
	return err
}
