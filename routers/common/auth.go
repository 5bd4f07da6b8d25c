package common

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/scope"
	user_service "wharf/services/user"
)

// Method says how a request authenticated.
type Method int

// The methods.
const (
	MethodNone     Method = iota
	MethodPassword        // HTTP Basic with the account password
	MethodToken           // a personal access token, in any of the accepted forms
	MethodSession         // a browser's sign-in session (web pages only)
)

// Auth is who is calling and what they may touch.
type Auth struct {
	User   *user_model.User // nil when anonymous
	Scopes scope.Set
	Method Method
}

type authKey struct{}

// AuthFrom returns the request's authentication; anonymous if none.
func AuthFrom(ctx context.Context) Auth {
	a, _ := ctx.Value(authKey{}).(Auth)
	return a
}

// WithAuth returns ctx carrying a, for authentication that does not come
// from a request header (a web session).
func WithAuth(ctx context.Context, a Auth) context.Context {
	if a.User != nil {
		SetLogUser(ctx, a.User.Name)
	}
	return context.WithValue(ctx, authKey{}, a)
}

// Doer returns the signed-in user, or nil.
func Doer(ctx context.Context) *user_model.User { return AuthFrom(ctx).User }

// Authenticator resolves credentials to a user.
type Authenticator struct {
	Users *user_service.Service
	Log   *slog.Logger
}

// Middleware reads credentials, when present, and puts the result in the
// request context. Wrong credentials fail at once (401): a client that sent
// a bad token must not silently continue as anonymous. Accepted forms:
// Basic user:password, Basic user:token, Basic token:x-oauth-basic (or an
// empty password), "Authorization: token T", "Authorization: Bearer T" and
// the bare "Authorization: T" (cargo's form).
// A password check may also answer 429 with Retry-After, when the account or
// the client address (see ClientAddr) has failed too often; tokens are never
// limited that way.
func (a *Authenticator) Middleware(writeErr ErrorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			auth, err := a.authenticate(r)
			if err != nil {
				WriteError(a.Log, writeErr, w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithAuth(r.Context(), auth)))
		})
	}
}

func (a *Authenticator) authenticate(r *http.Request) (Auth, error) {
	ctx := r.Context()
	h := r.Header.Get("Authorization")
	if h == "" {
		return Auth{}, nil
	}
	kind, cred, hasScheme := strings.Cut(strings.TrimSpace(h), " ")
	if !hasScheme && looksLikeToken(kind) {
		return a.token(ctx, kind) // cargo sends the bare token
	}
	cred = strings.TrimSpace(cred)
	switch strings.ToLower(kind) {
	case "token", "bearer":
		return a.token(ctx, cred)
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return Auth{}, apperr.New(apperr.Unauthorized, "malformed Basic credentials")
		}
		name, pass, ok := strings.Cut(string(raw), ":")
		if !ok || name == "" {
			return Auth{}, apperr.New(apperr.Unauthorized, "malformed Basic credentials")
		}
		if pass == "" || pass == "x-oauth-basic" {
			return a.token(ctx, name)
		}
		// The password may be a token (npm, composer and git users paste
		// tokens there); try that first, as Gitea does, then the password.
		if looksLikeToken(pass) {
			auth, err := a.token(ctx, pass)
			if err == nil || !isBadToken(err) {
				return auth, err
			}
		}
		u, err := a.Users.Authenticate(ctx, name, pass)
		if err != nil {
			return Auth{}, err
		}
		return Auth{User: u, Scopes: scope.Everything(), Method: MethodPassword}, nil
	}
	return Auth{}, apperr.New(apperr.Unauthorized, "unsupported authorization scheme %q", kind)
}

func (a *Authenticator) token(ctx context.Context, t string) (Auth, error) {
	u, set, err := a.Users.AuthenticateToken(ctx, t)
	if err != nil {
		return Auth{}, err
	}
	return Auth{User: u, Scopes: set, Method: MethodToken}, nil
}

func looksLikeToken(s string) bool {
	return len(s) == 40 && strings.Trim(s, "0123456789abcdef") == ""
}

func isBadToken(err error) bool { return errors.Is(err, user_service.ErrBadToken) }

// RequireUser returns the signed-in user, or an Unauthorized error.
func RequireUser(ctx context.Context) (*user_model.User, error) {
	if u := Doer(ctx); u != nil {
		return u, nil
	}
	return nil, apperr.New(apperr.Unauthorized, "sign in required")
}

// RequireAdmin returns the signed-in user if an administrator.
func RequireAdmin(ctx context.Context) (*user_model.User, error) {
	u, err := RequireUser(ctx)
	if err != nil {
		return nil, err
	}
	if !u.IsAdmin {
		return nil, apperr.New(apperr.Forbidden, "you must be a site administrator")
	}
	return u, nil
}

// LevelFor is the scope level a request needs: read for safe methods,
// write for the rest, as Gitea decides.
func LevelFor(r *http.Request) scope.Level {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return scope.Read
	}
	return scope.Write
}

// CheckScope refuses a token that lacks lvl on cat. Anonymous requests and
// password authentication pass; whether they may act is the handler's
// business.
func CheckScope(ctx context.Context, cat scope.Category, lvl scope.Level) error {
	a := AuthFrom(ctx)
	if a.Method != MethodToken || a.Scopes.Has(cat, lvl) {
		return nil
	}
	name := "read:"
	if lvl == scope.Write {
		name = "write:"
	}
	return apperr.New(apperr.Forbidden, "token does not have at least one of required scope(s): [%s%s]", name, cat)
}

// RequireScope is middleware that applies CheckScope with the level the
// method implies.
func RequireScope(log *slog.Logger, writeErr ErrorWriter, cat scope.Category) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := CheckScope(r.Context(), cat, LevelFor(r)); err != nil {
				WriteError(log, writeErr, w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
