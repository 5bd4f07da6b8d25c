package common

import (
	"context"

	user_model "wharf/models/user"
	"wharf/modules/scope"
)

// The token scope rules are the same whether the data goes out as API JSON,
// a registry document or an HTML page: each kind of data has its category
// (repositories: repository, packages: package, a user: user, an
// organisation: organization), and a token may read it only with that
// category at read level. Routes apply them with RequireScope (the API's
// route groups, the pages); what one page or document embeds of another
// kind is checked with Allows or CheckOwnerScope. CheckScope (auth.go) is
// the one check under all of them.

// Allows reports whether the caller's credentials reach data of cat at lvl:
// true for anonymous callers and passwords (their rights decide), for a
// token only if it carries the scope. Use it to leave out what a page or
// document embeds of another kind (a package's linked repository for a
// token limited to packages), as the API would answer 403 for it.
func Allows(ctx context.Context, cat scope.Category, lvl scope.Level) bool {
	return CheckScope(ctx, cat, lvl) == nil
}

// OwnerCategory is the scope category of an owner's own data: organization
// for an organisation, user for a user (as the API's /orgs and /users
// routes require).
func OwnerCategory(owner *user_model.User) scope.Category {
	if owner.IsOrganization() {
		return scope.Organization
	}
	return scope.User
}

// CheckOwnerScope refuses a token that may not read owner's profile: the
// category depends on the owner's type, known only once it is loaded.
func CheckOwnerScope(ctx context.Context, owner *user_model.User) error {
	return CheckScope(ctx, OwnerCategory(owner), scope.Read)
}
