package npm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"time"

	packages_model "wharf/models/packages"
	user_model "wharf/models/user"
	packages_module "wharf/modules/packages"
	npm_module "wharf/modules/packages/npm"
	packages_service "wharf/services/packages"
)

// Packument is a package document ready to send.
type Packument struct {
	Body []byte // JSON
	ETag string // quoted
}

// abbreviatedFields are the manifest fields of the install document
// ("corgi"): what an installer needs and nothing else.
var abbreviatedFields = []string{"name", "version", "dependencies", "optionalDependencies", "peerDependencies", "peerDependenciesMeta",
	"bundleDependencies", "bundledDependencies", "bin", "directories", "engines", "os", "cpu", "deprecated", "_hasShrinkwrap", "hasInstallScript", "funding", "license"}

// PackumentOptions say how a package document is written for one
// request.
type PackumentOptions struct {
	// TarballBase is the URL tarballs are served under, ending in "/"
	// ("…/npm/").
	TarballBase string
	// NoReplyDomain is the domain of the addresses shown instead of real
	// ones (see ShownEmail).
	NoReplyDomain string
	// Abbreviated asks for the install document instead of the full one.
	Abbreviated bool
}

// GetPackument builds the package document: the full one, or the
// abbreviated install document. It costs a fixed number of queries,
// however many versions the package has.
func (s *Service) GetPackument(ctx context.Context, a *packages_service.Access, name string, o PackumentOptions) (*Packument, error) {
	p, err := s.d.Packages.GetPackage(ctx, a, packages_model.TypeNpm, name)
	if err != nil {
		return nil, err
	}
	e := s.d.DB.Engine()
	st, err := loadState(ctx, e, p)
	if err != nil {
		return nil, err
	}
	vs := st.versions // ascending, as npm lists them
	if len(vs) == 0 {
		return nil, packages_model.ErrPackageNotExist
	}
	rev := st.revision()
	tags := maps.Clone(st.tags)
	if _, ok := tags["latest"]; !ok {
		tags["latest"] = highestStable(vs)
	}
	creatorIDs := make([]int64, len(vs))
	for i, v := range vs {
		creatorIDs[i] = v.CreatorID
	}
	creators, err := user_model.GetUsersByIDs(ctx, e, creatorIDs)
	if err != nil {
		return nil, err
	}
	email := func(u *user_model.User) string { return ShownEmail(u, a.Doer, o.NoReplyDomain) }

	// Each version's manifest is stored as published; the document splices
	// the server's fields into those bytes instead of decoding and
	// re-encoding a thousand objects.
	quotedName := quote(name)
	versions := make(orderedObject, 0, len(vs))
	times := make(orderedObject, 0, len(vs)+2)
	var created, modified int64
	var latest *packages_model.PackageVersion
	var maintainers []map[string]string
	seen := map[int64]bool{}
	for _, v := range vs {
		if v.Version == tags["latest"] {
			latest = v
		}
		dist := orderedObject{{"tarball", quote(o.TarballBase + name + "/-/" + npm_module.TarballName(name, v.Version))}}
		if d := st.digests[v.ID]; d != nil {
			dist = append(dist, kv{"shasum", quote(d.HashSHA1)}, kv{"integrity", quote(npm_module.Integrity(d.HashSHA512))})
		}
		server := orderedObject{{"name", quotedName}, {"version", quote(v.Version)}}
		if !o.Abbreviated {
			server = append(server, kv{"_id", quote(name + "@" + v.Version)})
			if c, ok := creators[v.CreatorID]; ok {
				server = append(server, kv{"_npmUser", orderedObject{{"name", quote(c.Name)}, {"email", quote(email(c))}}.json()})
			}
		}
		server = append(server, kv{"dist", dist.json()})
		manifest := []byte(v.MetadataJSON)
		if o.Abbreviated {
			if manifest, err = abbreviate(manifest); err != nil {
				return nil, err
			}
		}
		versions = append(versions, kv{v.Version, splice(server, manifest)})
		times = append(times, kv{v.Version, quote(iso(v.CreatedUnix))})
		if created == 0 || v.CreatedUnix < created {
			created = v.CreatedUnix
		}
		modified = max(modified, v.CreatedUnix)
		if c, ok := creators[v.CreatorID]; ok && !seen[c.ID] {
			seen[c.ID] = true
			maintainers = append(maintainers, map[string]string{"name": c.Name, "email": email(c)})
		}
	}
	doc := orderedObject{}
	add := func(k string, v any) { doc = append(doc, kv{k, mustJSON(v)}) }
	if o.Abbreviated {
		add("name", name)
		add("modified", iso(modified))
		add("dist-tags", tags)
		doc = append(doc, kv{"versions", versions.json()})
	} else {
		add("_id", name)
		add("_rev", rev)
		add("name", name)
		if latest != nil {
			m := map[string]json.RawMessage{}
			if latest.MetadataJSON != "" {
				if err := json.Unmarshal([]byte(latest.MetadataJSON), &m); err != nil {
					return nil, err
				}
			}
			for _, k := range []string{"description", "homepage", "keywords", "repository", "license", "bugs", "author"} {
				if v, ok := m[k]; ok {
					doc = append(doc, kv{k, v})
				}
			}
		}
		add("dist-tags", tags)
		doc = append(doc, kv{"versions", versions.json()})
		times = append(orderedObject{kv{"created", mustJSON(iso(created))}, kv{"modified", mustJSON(iso(modified))}}, times...)
		doc = append(doc, kv{"time", times.json()})
		if maintainers == nil {
			maintainers = []map[string]string{}
		}
		add("maintainers", maintainers)
		if latest != nil {
			readme, err := packages_model.GetProperty(ctx, e, packages_model.PropertyTypeVersion, latest.ID, propReadme)
			if err != nil {
				return nil, err
			}
			if readme != "" {
				add("readme", readme)
			}
		}
	}
	body := doc.json()
	sum := sha256.Sum256(body)
	return &Packument{Body: body, ETag: `"` + hex.EncodeToString(sum[:16]) + `"`}, nil
}

// splice writes the server's fields first and then the stored manifest's
// other fields, so the server's win for clients that keep the first of
// duplicate keys and for those that keep the last (the manifest never
// holds them: they are stripped at publish).
func splice(server orderedObject, manifest []byte) []byte {
	head := server.json()
	body := bytes.TrimSpace(manifest)
	if len(body) < 2 || body[0] != '{' || bytes.Equal(bytes.TrimSpace(body[1:len(body)-1]), nil) {
		return head
	}
	out := make([]byte, 0, len(head)+len(body))
	out = append(out, head[:len(head)-1]...)
	out = append(out, ',')
	return append(out, body[1:]...)
}

// abbreviate keeps the install document's fields of a manifest.
func abbreviate(manifest []byte) ([]byte, error) {
	m := map[string]json.RawMessage{}
	if len(manifest) > 0 {
		if err := json.Unmarshal(manifest, &m); err != nil {
			return nil, err
		}
	}
	out := orderedObject{}
	for _, k := range abbreviatedFields {
		if k == "name" || k == "version" {
			continue
		}
		if v, ok := m[k]; ok {
			out = append(out, kv{k, v})
		}
	}
	return out.json(), nil
}

// highestStable is the highest release, or the highest version if every
// one is a prerelease (vs ascending).
func highestStable(vs []*packages_model.PackageVersion) string {
	for i := len(vs) - 1; i >= 0; i-- {
		if !packages_module.IsSemverPrerelease(vs[i].Version) {
			return vs[i].Version
		}
	}
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1].Version
}

func iso(unix int64) string { return time.Unix(unix, 0).UTC().Format("2006-01-02T15:04:05.000Z") }

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// quote is a JSON string; the fast path skips the encoder for the plain
// ASCII that names, versions, digests and URLs are made of.
func quote(s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return mustJSON(s)
		}
	}
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// kv and orderedObject write JSON objects in a chosen key order (versions
// by semver), which Go maps cannot.
type kv struct {
	k string
	v []byte
}

type orderedObject []kv

func (o orderedObject) json() []byte {
	n := 2
	for _, e := range o {
		n += len(e.k) + len(e.v) + 4
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, e := range o {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, quote(e.k)...)
		b = append(b, ':')
		b = append(b, e.v...)
	}
	return append(b, '}')
}
