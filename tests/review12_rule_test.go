package tests

import "testing"

// TestReview12RuleKeepsRelease: a keep_count of 1 on a gem with a release
// and a later pre-release removes the release, the only version `gem
// install` and Bundler pick by default (the pre-release "poisons" what
// the rule counts as newest).
func TestReview12RuleKeepsRelease(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	key := packageToken(t, s, "alice", "gem", "write:package")
	api := map[string]string{"Authorization": "token " + key}
	for _, f := range []string{"hola-1.0.0.gem", "hola-2.0.0.beta1.gem"} {
		b, _ := gemFixture(t, f)
		s.mustPushGem(t, "alice", key, b)
	}
	preview, _ := ruleCall(t, s, "alice", "rubygems", `"enabled":true,"keep_count":1`, api)
	if got := preview.versions(); got != "" {
		t.Errorf("keep_count 1 removes %q: hola's only release goes, its pre-release stays", got)
	}
	review12CheckIndex(t, s, "alice", "after the rule", "")
}
