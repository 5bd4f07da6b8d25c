package cargo_test

import (
	"bytes"
	"strings"
	"testing"

	"wharf/modules/apperr"
	"wharf/modules/packages/cargo"
)

// TestCheckManifest changes one thing of cargo's real publish of beta at a
// time: each disagreement is refused naming its field, and cargo's own
// publishes (alpha, beta) agree.
func TestCheckManifest(t *testing.T) {
	for _, f := range []string{"alpha-0.1.0.body", "beta-0.2.0.body"} {
		meta, _, m, err := publish(bytes.NewReader(readFixture(t, f)), cargo.DefaultMaxUnpacked)
		if err != nil {
			t.Fatal(err)
		}
		if err := meta.CheckManifest(m); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	str := func(s string) *string { return &s }
	cases := map[string]func(meta *cargo.PublishMetadata){
		"links":        func(meta *cargo.PublishMetadata) { meta.Links = str("z") },
		"rust_version": func(meta *cargo.PublishMetadata) { meta.RustVersion = str("1.0") },
		"features": func(meta *cargo.PublishMetadata) {
			meta.Features["nothing"] = []string{}
		},
		"features ": func(meta *cargo.PublishMetadata) { meta.Features["default"] = []string{"fancy"} },
		"deps": func(meta *cargo.PublishMetadata) {
			meta.Deps = append(meta.Deps, cargo.PublishDependency{Name: "ghost", VersionReq: "^9", Kind: "normal"})
		},
		"deps ":    func(meta *cargo.PublishMetadata) { meta.Deps = meta.Deps[1:] },
		"deps  ":   func(meta *cargo.PublishMetadata) { meta.Deps[1].VersionReq = "^0.9" },
		"deps   ":  func(meta *cargo.PublishMetadata) { meta.Deps[2].Kind = "build" },
		"deps    ": func(meta *cargo.PublishMetadata) { meta.Deps[1].Target = str("cfg(unix)") },
	}
	for field, mutate := range cases {
		meta, _, m, err := publish(bytes.NewReader(readFixture(t, "beta-0.2.0.body")), cargo.DefaultMaxUnpacked)
		if err != nil {
			t.Fatal(err)
		}
		mutate(meta)
		err = meta.CheckManifest(m)
		if apperr.KindOf(err) != apperr.Invalid || !strings.Contains(err.Error(), "`"+strings.TrimSpace(field)+"`") {
			t.Errorf("%q: %v", field, err)
		}
	}
}
