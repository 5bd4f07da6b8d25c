// Package scope parses and checks personal access token scopes, using
// Gitea's names (read:package, write:repository, all, …) and accepting the
// older names the Gitea SDK still offers (repo, package, read:org, …).
package scope

import (
	"slices"
	"strings"

	"wharf/modules/apperr"
)

// Category is what a scope grants access to.
type Category string

// The categories, as Gitea names them.
const (
	ActivityPub  Category = "activitypub"
	Admin        Category = "admin"
	Issue        Category = "issue"
	Misc         Category = "misc"
	Notification Category = "notification"
	Organization Category = "organization"
	Package      Category = "package"
	Repository   Category = "repository"
	User         Category = "user"
)

// Categories lists every category, in Gitea's order.
var Categories = []Category{ActivityPub, Admin, Issue, Misc, Notification, Organization, Package, Repository, User}

// Level is read or write; write includes read.
type Level int

// The levels.
const (
	None Level = iota
	Read
	Write
)

// All is the scope that grants everything.
const All = "all"

// legacy maps the pre-1.19 Gitea scope names (still constants in the SDK)
// to what they mean now.
var legacy = map[string][]string{
	"repo":             {"write:repository"},
	"repo:status":      {"write:repository"},
	"public_repo":      {"write:repository"},
	"delete_repo":      {"write:repository"},
	"admin:repo_hook":  {"write:repository"},
	"write:repo_hook":  {"write:repository"},
	"read:repo_hook":   {"read:repository"},
	"admin:org":        {"write:organization"},
	"write:org":        {"write:organization"},
	"read:org":         {"read:organization"},
	"admin:org_hook":   {"write:organization"},
	"admin:public_key": {"write:user"},
	"write:public_key": {"write:user"},
	"read:public_key":  {"read:user"},
	"admin:gpg_key":    {"write:user"},
	"write:gpg_key":    {"write:user"},
	"read:gpg_key":     {"read:user"},
	"admin:user_hook":  {"write:admin"},
	"notification":     {"write:notification"},
	"user":             {"write:user"},
	"user:email":       {"write:user"},
	"user:follow":      {"write:user"},
	"package":          {"write:package"},
	"delete:package":   {"write:package"},
	"sudo":             {"write:admin"},
	"admin":            {"write:admin"},
	// Application scopes guard OAuth2 applications, which Wharf does not have;
	// they map to the user's own settings.
	"admin:application": {"write:user"},
	"write:application": {"write:user"},
	"read:application":  {"read:user"},
}

// Set is a parsed list of scopes: the level granted per category.
type Set struct {
	all    bool
	levels map[Category]Level
}

// Everything is the set that password authentication carries.
func Everything() Set { return Set{all: true} }

// Parse reads scopes as a client sends them: a list whose items may also be
// comma-separated. An unknown scope is an Invalid error naming it; an empty
// list is an Invalid error too, as a token without scopes can do nothing.
func Parse(items []string) (Set, error) {
	s := Set{levels: map[Category]Level{}}
	any := false
	for _, item := range items {
		for _, raw := range strings.Split(item, ",") {
			name := strings.ToLower(strings.TrimSpace(raw))
			if name == "" {
				continue
			}
			any = true
			if name == All {
				s.all = true
				continue
			}
			names := []string{name}
			if mapped, ok := legacy[name]; ok {
				names = mapped
			}
			for _, n := range names {
				lvl, cat, ok := parseOne(n)
				if !ok {
					return Set{}, apperr.New(apperr.Invalid, "invalid access token scope %q", raw)
				}
				if lvl > s.levels[cat] {
					s.levels[cat] = lvl
				}
			}
		}
	}
	if !any {
		return Set{}, apperr.New(apperr.Invalid, "access token must have a scope")
	}
	return s, nil
}

func parseOne(name string) (Level, Category, bool) {
	lvlName, catName, ok := strings.Cut(name, ":")
	if !ok {
		return None, "", false
	}
	var lvl Level
	switch lvlName {
	case "read":
		lvl = Read
	case "write":
		lvl = Write
	default:
		return None, "", false
	}
	cat := Category(catName)
	if !slices.Contains(Categories, cat) {
		return None, "", false
	}
	return lvl, cat, true
}

// Has reports whether the set grants lvl on cat.
func (s Set) Has(cat Category, lvl Level) bool {
	return s.all || s.levels[cat] >= lvl
}

// Strings returns the canonical, sorted scope names ("all", or
// "read:x"/"write:x" per category). Parse(s.Strings()) == s.
func (s Set) Strings() []string {
	if s.all {
		return []string{All}
	}
	var out []string
	for _, c := range Categories {
		switch s.levels[c] {
		case Read:
			out = append(out, "read:"+string(c))
		case Write:
			out = append(out, "write:"+string(c))
		}
	}
	return out
}

// String is the comma-separated canonical form, as stored.
func (s Set) String() string { return strings.Join(s.Strings(), ",") }
