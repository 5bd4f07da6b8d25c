// Package validation checks names of owners (users and organisations) and,
// later, repositories against Gitea's rules.
package validation

import (
	"regexp"
	"strings"

	"wharf/modules/apperr"
)

// MaxNameLength is Gitea's limit for user and organisation names.
const MaxNameLength = 40

// namePattern is Gitea's: alphanumerics, '-', '_' and '.', not starting or
// ending with punctuation, and no two punctuation characters in a row.
var (
	nameChars       = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	nameEdges       = regexp.MustCompile(`^[A-Za-z0-9].*[A-Za-z0-9]$|^[A-Za-z0-9]$`)
	nameConsecutive = regexp.MustCompile(`[._-]{2}`)
)

// reservedOwnerNames collide with routes or well-known paths.
var reservedOwnerNames = map[string]bool{
	".": true, "..": true, "-": true, ".well-known": true,
	"admin": true, "api": true, "assets": true, "attachments": true, "avatar": true, "avatars": true,
	"captcha": true, "commits": true, "debug": true, "error": true, "explore": true, "favicon.ico": true,
	"ghost": true, "healthz": true, "help": true, "install": true, "issues": true, "less": true,
	"login": true, "manifest.json": true, "metrics": true, "milestones": true, "new": true,
	"notifications": true, "org": true, "pulls": true, "raw": true, "repo": true, "repo-avatars": true,
	"robots.txt": true, "search": true, "serviceworker.js": true, "ssh_info": true, "swagger.v1.json": true,
	"user": true, "v2": true, "wharf-actions": true, "packages": true, "static": true, "sitemap.xml": true,
}

// reservedSuffixes are Gitea's: names ending like files the server serves.
var reservedSuffixes = []string{".keys", ".gpg", ".rss", ".atom", ".git", ".wiki"}

// OwnerName checks a user or organisation name. Violations are Unprocessable
// (422), as in Gitea.
func OwnerName(name string) error {
	switch {
	case name == "":
		return apperr.New(apperr.Unprocessable, "name must not be empty")
	case len(name) > MaxNameLength:
		return apperr.New(apperr.Unprocessable, "name %q is longer than %d characters", name, MaxNameLength)
	case !nameChars.MatchString(name):
		return apperr.New(apperr.Unprocessable, "name %q may only contain letters, digits, '-', '_' and '.'", name)
	case !nameEdges.MatchString(name):
		return apperr.New(apperr.Unprocessable, "name %q must start and end with a letter or digit", name)
	case nameConsecutive.MatchString(name):
		return apperr.New(apperr.Unprocessable, "name %q must not contain consecutive '-', '_' or '.'", name)
	}
	lower := strings.ToLower(name)
	if reservedOwnerNames[lower] {
		return apperr.New(apperr.Unprocessable, "name %q is reserved", name)
	}
	for _, s := range reservedSuffixes {
		if strings.HasSuffix(lower, s) {
			return apperr.New(apperr.Unprocessable, "name %q is reserved: it ends in %q", name, s)
		}
	}
	return nil
}

// emailPattern is deliberately loose: one @, something on each side, no
// spaces or angle brackets. Deliverability is not ours to judge.
var emailPattern = regexp.MustCompile(`^[^\s@<>]+@[^\s@<>]+$`)

// Email checks an e-mail address.
func Email(email string) error {
	if len(email) > 255 || !emailPattern.MatchString(email) {
		return apperr.New(apperr.Unprocessable, "e-mail address %q is invalid", email)
	}
	return nil
}
