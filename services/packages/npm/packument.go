package npm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
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

// GetPackument builds the package document: the full one, or the
// abbreviated install document. tarballBase is the URL tarballs are served
// under, ending in "/" ("…/npm/"). It costs a fixed number of queries,
// however many versions the package has.
func (s *Service) GetPackument(ctx context.Context, a *packages_service.Access, name, tarballBase string, abbreviated bool) (*Packument, error) {
	p, err := s.d.Packages.GetPackage(ctx, a, packages_model.TypeNpm, name)
	if err != nil {
		return nil, err
	}
	vs, err := s.d.Packages.ListVersions(ctx, p) // highest first
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, packages_model.ErrPackageNotExist
	}
	slices.Reverse(vs) // ascending, as npm lists them
	tags, err := s.tagsOf(ctx, vs)
	if err != nil {
		return nil, err
	}
	if _, ok := tags["latest"]; !ok {
		tags["latest"] = highestStable(vs)
	}
	ids := make([]int64, len(vs))
	creatorIDs := make([]int64, len(vs))
	for i, v := range vs {
		ids[i], creatorIDs[i] = v.ID, v.CreatorID
	}
	e := s.d.DB.Engine()
	files, err := packages_model.ListFilesOfVersions(ctx, e, ids)
	if err != nil {
		return nil, err
	}
	fileOf := map[int64]*packages_model.FileRow{}
	for _, f := range files {
		fileOf[f.PackageFile.VersionID] = f
	}
	creators, err := user_model.GetUsersByIDs(ctx, e, creatorIDs)
	if err != nil {
		return nil, err
	}

	versions := orderedObject{}
	times := orderedObject{}
	var created, modified int64
	var latestManifest map[string]any
	var maintainers []map[string]string
	seen := map[int64]bool{}
	for _, v := range vs {
		m := map[string]any{}
		if v.MetadataJSON != "" {
			if err := json.Unmarshal([]byte(v.MetadataJSON), &m); err != nil {
				return nil, err
			}
		}
		if v.Version == tags["latest"] {
			latestManifest = m
		}
		f := fileOf[v.ID]
		dist := map[string]any{"tarball": tarballBase + name + "/-/" + npm_module.TarballName(name, v.Version)}
		if f != nil {
			dist["shasum"], dist["integrity"] = f.Blob.HashSHA1, npm_module.Integrity(f.Blob.HashSHA512)
		}
		out := map[string]any{}
		if abbreviated {
			for _, k := range abbreviatedFields {
				if val, ok := m[k]; ok {
					out[k] = val
				}
			}
		} else {
			for k, val := range m {
				if k != "readme" {
					out[k] = val
				}
			}
			out["_id"] = name + "@" + v.Version
			if c, ok := creators[v.CreatorID]; ok {
				out["_npmUser"] = map[string]string{"name": c.Name, "email": c.Email}
			}
		}
		out["name"], out["version"], out["dist"] = name, v.Version, dist
		b, err := json.Marshal(out)
		if err != nil {
			return nil, err
		}
		versions = append(versions, kv{v.Version, b})
		ts, _ := json.Marshal(iso(v.CreatedUnix))
		times = append(times, kv{v.Version, ts})
		if created == 0 || v.CreatedUnix < created {
			created = v.CreatedUnix
		}
		modified = max(modified, v.CreatedUnix)
		if c, ok := creators[v.CreatorID]; ok && !seen[c.ID] {
			seen[c.ID] = true
			maintainers = append(maintainers, map[string]string{"name": c.Name, "email": c.Email})
		}
	}
	doc := orderedObject{}
	add := func(k string, v any) {
		b, _ := json.Marshal(v)
		doc = append(doc, kv{k, b})
	}
	revHash := sha256.New()
	for _, v := range versions {
		revHash.Write(v.v)
	}
	tagJSON, _ := json.Marshal(tags)
	revHash.Write(tagJSON)
	rev := strconv.Itoa(len(vs)) + "-" + hex.EncodeToString(revHash.Sum(nil))[:16]
	if abbreviated {
		add("name", name)
		add("modified", iso(modified))
		add("dist-tags", tags)
		doc = append(doc, kv{"versions", versions.json()})
	} else {
		add("_id", name)
		add("_rev", rev)
		add("name", name)
		if latestManifest != nil {
			for _, k := range []string{"description", "homepage", "keywords", "repository", "license", "bugs", "author"} {
				if v, ok := latestManifest[k]; ok {
					add(k, v)
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
		if latestManifest != nil {
			if r, ok := latestManifest["readme"].(string); ok {
				add("readme", r)
			}
		}
	}
	body := doc.json()
	sum := sha256.Sum256(body)
	return &Packument{Body: body, ETag: `"` + hex.EncodeToString(sum[:16]) + `"`}, nil
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

// kv and orderedObject write JSON objects in a chosen key order (versions
// by semver), which Go maps cannot.
type kv struct {
	k string
	v []byte
}

type orderedObject []kv

func (o orderedObject) json() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(e.k)
		b.Write(k)
		b.WriteByte(':')
		b.Write(e.v)
	}
	b.WriteByte('}')
	return b.Bytes()
}
