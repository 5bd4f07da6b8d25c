package cargo

import (
	"fmt"
	"slices"
	"strings"

	"wharf/modules/apperr"
)

// CheckManifest refuses publish metadata that tells the index something
// else than the .crate's Cargo.toml, which is what cargo builds the crate
// with: links, rust_version, the features (names and what each enables)
// and the dependencies (crate, kind, target and version requirement, each
// as often as it appears). crates.io reads these from Cargo.toml; the
// registry keeps building the index line from the JSON, which carries
// what the packaged Cargo.toml spells differently (a dependency's
// registry URL, its name in the dependent's Cargo.toml), and refuses the
// publish when the two disagree (apperr.Invalid naming the field).
// Requirements are compared in the semver crate's normal form (cargo
// sends "^1" for a Cargo.toml's "1"), targets without spaces (cargo sends
// the cfg expression as it prints it).
func (meta *PublishMetadata) CheckManifest(m *Manifest) error {
	disagree := func(field, format string, args ...any) error {
		return apperr.New(apperr.Invalid, "the publish metadata disagrees with the .crate's Cargo.toml on `%s`: %s", field, fmt.Sprintf(format, args...))
	}
	if m.badTable != "" {
		return apperr.New(apperr.Invalid, "the .crate's Cargo.toml has an entry cargo package does not write: %q", m.badTable)
	}
	if l := deref(meta.Links); l != m.Links {
		return disagree("links", "%q in the metadata, %q in Cargo.toml", l, m.Links)
	}
	if rv := deref(meta.RustVersion); rv != m.RustVersion {
		return disagree("rust_version", "%q in the metadata, %q in Cargo.toml (rust-version)", rv, m.RustVersion)
	}
	if err := sameFeatures(meta.Features, m.Features); err != "" {
		return disagree("features", "%s", err)
	}
	if err := sameDeps(meta.Deps, m.Deps); err != "" {
		return disagree("deps", "%s", err)
	}
	return nil
}

func sameFeatures(a, b map[string][]string) string {
	for name, va := range a {
		vb, ok := b[name]
		if !ok {
			return fmt.Sprintf("feature %q is not in Cargo.toml", name)
		}
		x, y := slices.Sorted(slices.Values(va)), slices.Sorted(slices.Values(vb))
		if !slices.Equal(x, y) {
			return fmt.Sprintf("feature %q enables %q in the metadata, %q in Cargo.toml", name, va, vb)
		}
	}
	for name := range b {
		if _, ok := a[name]; !ok {
			return fmt.Sprintf("feature %q of Cargo.toml is not in the metadata", name)
		}
	}
	return ""
}

// depKey is what of a dependency must agree.
type depKey struct{ name, kind, target, req string }

func (k depKey) String() string {
	s := k.name + " " + k.req + " (" + k.kind
	if k.target != "" {
		s += ", target " + k.target
	}
	return s + ")"
}

func sameDeps(meta []PublishDependency, toml []ManifestDep) string {
	count := map[depKey]int{}
	norm := func(req string) string {
		if n, ok := NormalizeVersionReq(req); ok {
			return n
		}
		return req
	}
	target := func(t string) string { return strings.Join(strings.Fields(t), "") }
	for _, d := range toml {
		if d.Req == "" && d.Kind == "dev" {
			// A dev-dependency without a version is not published (cargo
			// leaves it out of the metadata).
			continue
		}
		req := d.Req
		if req == "" {
			req = "*"
		}
		count[depKey{strings.ToLower(d.Name), d.Kind, target(d.Target), norm(req)}]++
	}
	for _, d := range meta {
		kind := d.Kind
		if kind == "" {
			kind = "normal"
		}
		k := depKey{strings.ToLower(d.Name), kind, target(deref(d.Target)), norm(d.VersionReq)}
		if count[k] == 0 {
			return fmt.Sprintf("dependency %s is not in Cargo.toml", k)
		}
		count[k]--
	}
	for k, n := range count {
		if n > 0 {
			return fmt.Sprintf("dependency %s of Cargo.toml is not in the metadata", k)
		}
	}
	return ""
}
