package user

import (
	"context"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"wharf/models/auth"
	"wharf/models/db"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/scope"
	"wharf/modules/secret"
)

// touchInterval limits how often a token's last-used time is written, so
// that a busy client does not turn every read into a write.
const touchInterval = 60

// CreateToken creates a personal access token for u and returns the row and
// the token itself, which is never stored and cannot be shown again.
func (s *Service) CreateToken(ctx context.Context, u *user_model.User, name string, scopes []string) (*auth.AccessToken, string, error) {
	var t *auth.AccessToken
	var plain string
	err := s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		var err error
		t, plain, err = s.createToken(ctx, tx, u, name, scopes)
		return err
	})
	return t, plain, err
}

func (s *Service) createToken(ctx context.Context, tx db.Engine, u *user_model.User, name string, scopes []string) (*auth.AccessToken, string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, "", apperr.New(apperr.Unprocessable, "access token name must not be empty")
	}
	if utf8.RuneCountInString(name) > 255 {
		return nil, "", apperr.New(apperr.Unprocessable, "access token name is longer than 255 characters")
	}
	if !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		// Shown wherever tokens are listed, and stored as text (PostgreSQL
		// refuses NUL and invalid UTF-8).
		return nil, "", apperr.New(apperr.Unprocessable, "access token name must be UTF-8 text without control characters")
	}
	if u.IsOrganization() {
		return nil, "", apperr.New(apperr.Unprocessable, "organisations cannot have access tokens")
	}
	set, err := scope.Parse(scopes)
	if err != nil {
		return nil, "", err
	}
	plain, salt, err := secret.NewToken()
	if err != nil {
		return nil, "", err
	}
	now := s.d.Now().Unix()
	t := &auth.AccessToken{
		UID:            u.ID,
		Name:           name,
		TokenHash:      secret.HashToken(plain, salt),
		TokenSalt:      salt,
		TokenLastEight: plain[len(plain)-8:],
		Scope:          set.String(),
		CreatedUnix:    now,
		UpdatedUnix:    now,
	}
	if err := auth.InsertToken(ctx, tx, t); err != nil {
		return nil, "", err
	}
	return t, plain, nil
}

// ErrBadToken is the answer for a token that matches no row.
var ErrBadToken = apperr.New(apperr.Unauthorized, "invalid access token")

// tokenKey is the part of a presented token its row is found by (the
// last eight bytes), false for what no issued token can be: too short or
// long, or bytes PostgreSQL refuses in a query (a NUL, invalid UTF-8,
// also where the last eight bytes cut a character in two), which would
// fail the query instead of matching nothing.
func tokenKey(token string) (string, bool) {
	if len(token) < 8 || len(token) > 100 || !storable(token) {
		return "", false
	}
	last := token[len(token)-8:]
	return last, storable(last)
}

// AuthenticateToken finds the user and scopes a token stands for.
func (s *Service) AuthenticateToken(ctx context.Context, token string) (*user_model.User, scope.Set, error) {
	lastEight, ok := tokenKey(token)
	if !ok {
		return nil, scope.Set{}, ErrBadToken
	}
	e := s.d.DB.Engine()
	candidates, err := auth.FindByLastEight(ctx, e, lastEight)
	if err != nil {
		return nil, scope.Set{}, err
	}
	for _, t := range candidates {
		if !secret.EqualHash(t.TokenHash, secret.HashToken(token, t.TokenSalt)) {
			continue
		}
		u, err := user_model.GetUserByID(ctx, e, t.UID)
		if err != nil {
			return nil, scope.Set{}, err
		}
		if err := CheckCanSignIn(u); err != nil {
			return nil, scope.Set{}, err
		}
		set, err := scope.Parse([]string{t.Scope})
		if err != nil {
			return nil, scope.Set{}, err
		}
		if now := s.d.Now().Unix(); now-t.UpdatedUnix >= touchInterval {
			if err := auth.TouchToken(ctx, e, t.ID, now); err != nil {
				s.d.Log.WarnContext(ctx, "record token use", "token_id", t.ID, "err", err)
			}
		}
		return u, set, nil
	}
	return nil, scope.Set{}, ErrBadToken
}

// ListTokens lists u's tokens, newest first.
func (s *Service) ListTokens(ctx context.Context, u *user_model.User, opts db.ListOptions) ([]*auth.AccessToken, int64, error) {
	return auth.ListTokens(ctx, s.d.DB.Engine(), u.ID, opts)
}

// DeleteToken deletes one of u's tokens, named by id or, as Gitea allows, by
// name.
func (s *Service) DeleteToken(ctx context.Context, u *user_model.User, idOrName string) error {
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		t, err := auth.GetTokenByName(ctx, tx, u.ID, idOrName)
		if err == nil {
			return auth.DeleteToken(ctx, tx, u.ID, t.ID)
		}
		if apperr.KindOf(err) != apperr.NotFound {
			return err
		}
		id, perr := strconv.ParseInt(idOrName, 10, 64)
		if perr != nil {
			return err
		}
		return auth.DeleteToken(ctx, tx, u.ID, id)
	})
}

// InitialAdmin is what Bootstrap made.
type InitialAdmin struct {
	User     *user_model.User
	Password string
	Token    string
}

// Bootstrap creates the first administrator and an all-scope token for it,
// in one transaction, if the instance has no user yet. It returns nil when
// users already exist. An empty password is generated.
func (s *Service) Bootstrap(ctx context.Context, name, email, password string) (*InitialAdmin, error) {
	if password == "" {
		p, err := secret.RandomPassword()
		if err != nil {
			return nil, err
		}
		password = p
	}
	var out *InitialAdmin
	err := s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		n, err := user_model.CountUsers(ctx, tx, user_model.TypeIndividual)
		if err != nil || n > 0 {
			return err
		}
		u, err := s.create(ctx, tx, CreateOptions{Name: name, Email: email, Password: password, Admin: true})
		if err != nil {
			return err
		}
		_, token, err := s.createToken(ctx, tx, u, "initial-admin", []string{scope.All})
		if err != nil {
			return err
		}
		out = &InitialAdmin{User: u, Password: password, Token: token}
		return nil
	})
	if err != nil && apperr.KindOf(err) == apperr.Unprocessable {
		// Several processes starting at once on a new database: both
		// counted no user, and the other one's administrator, of this
		// very name, was committed first (this insert met its name). The
		// instance has the first administrator Bootstrap is for; this
		// process made none. Anything else stays an error.
		if u, gerr := user_model.GetUserByName(ctx, s.d.DB.Engine(), name); gerr == nil && u.IsAdmin {
			return nil, nil
		}
	}
	return out, err
}

// RevokeToken deletes the token itself (npm logout sends it).
func (s *Service) RevokeToken(ctx context.Context, token string) error {
	lastEight, ok := tokenKey(token)
	if !ok {
		return ErrBadToken
	}
	e := s.d.DB.Engine()
	candidates, err := auth.FindByLastEight(ctx, e, lastEight)
	if err != nil {
		return err
	}
	for _, t := range candidates {
		if secret.EqualHash(t.TokenHash, secret.HashToken(token, t.TokenSalt)) {
			return auth.DeleteToken(ctx, e, t.UID, t.ID)
		}
	}
	return ErrBadToken
}
