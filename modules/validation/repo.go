package validation

import (
	"strings"

	"wharf/modules/apperr"
)

// MaxRepoNameLength is Gitea's limit.
const MaxRepoNameLength = 100

var reservedRepoNames = map[string]bool{".": true, "..": true, "-": true}

// RepoName checks a repository name with Gitea's rules: letters, digits,
// '-', '_' and '.', not "." or "..", and not ending like the URLs the
// server answers itself (.git, .wiki, .rss, .atom). Violations are
// Unprocessable (422), as in Gitea.
func RepoName(name string) error {
	switch {
	case name == "":
		return apperr.New(apperr.Unprocessable, "repository name must not be empty")
	case len(name) > MaxRepoNameLength:
		return apperr.New(apperr.Unprocessable, "repository name %q is longer than %d characters", name, MaxRepoNameLength)
	case !nameChars.MatchString(name):
		return apperr.New(apperr.Unprocessable, "repository name %q may only contain letters, digits, '-', '_' and '.'", name)
	case reservedRepoNames[name]:
		return apperr.New(apperr.Unprocessable, "repository name %q is reserved", name)
	}
	lower := strings.ToLower(name)
	for _, s := range []string{".git", ".wiki", ".rss", ".atom"} {
		if strings.HasSuffix(lower, s) {
			return apperr.New(apperr.Unprocessable, "repository name %q is reserved: it ends in %q", name, s)
		}
	}
	return nil
}
