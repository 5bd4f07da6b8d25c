package npm

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
	packages_module "wharf/modules/packages"
	npm_module "wharf/modules/packages/npm"
	packages_service "wharf/services/packages"
)

// PublishToMember is Publish for a virtual registry's publishing member:
// a new version is published there; a document without a tarball (npm
// deprecate) is answered by refuse, because metadata is changed where the
// package lives, not through a URL that names another owner.
func (s *Service) PublishToMember(ctx context.Context, a *packages_service.Access, name string, body io.Reader, refuse func() error) error {
	return s.publishDocument(ctx, a, name, body, refuse)
}

// UpstreamPackument is an upstream registry's package document as a
// virtual registry serves it: the upstream's fields as they are, except
// that every version's dist.tarball points at the virtual registry, so
// that npm sends its credentials there and the file is cached here.
type UpstreamPackument struct {
	Body     []byte
	ETag     string
	DistTags map[string]string
	versions map[string]UpstreamVersion
	// rewritten are the versions' objects as served.
	rewritten map[string]json.RawMessage
}

// UpstreamVersion is one version of an upstream document: where the
// upstream serves its tarball, the digests the bytes must have, and the
// version's object as the upstream wrote it.
type UpstreamVersion struct {
	Tarball  string
	Dist     npm_module.Dist
	Manifest json.RawMessage
}

// Version is one version of the document, false when it has none such.
func (p *UpstreamPackument) Version(v string) (UpstreamVersion, bool) {
	uv, ok := p.versions[v]
	return uv, ok
}

// RewrittenVersion is one version's object as the document serves it
// (GET /{name}/{version}).
func (p *UpstreamPackument) RewrittenVersion(v string) (*Packument, bool) {
	body, ok := p.rewritten[v]
	if !ok {
		return nil, false
	}
	return &Packument{Body: body, ETag: etag(body)}, true
}

// ErrOtherSpelling is an upstream document of the name in another
// letter case: not the package asked for.
var ErrOtherSpelling = errors.New("the upstream has the package under another spelling")

// RewriteUpstreamPackument reads an upstream's document for name and
// points its tarball URLs at base ("…/api/packages/{virtual}/npm/"). A
// document that is not an npm package document of that name is an error
// (the upstream is then skipped). Names and versions are kept as the
// upstream wrote them, even those a publish here would refuse (npm's
// legacy upper-case names).
func RewriteUpstreamPackument(name string, body []byte, base string) (*UpstreamPackument, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	var docName string
	if err := json.Unmarshal(doc["name"], &docName); err != nil || docName != name {
		if err == nil && strings.EqualFold(docName, name) {
			// The upstream matched the name case-insensitively: it has
			// the package under another spelling, and npm asks by the
			// exact one.
			return nil, ErrOtherSpelling
		}
		return nil, fmt.Errorf("the document names %q, not %q", docName, name)
	}
	out := &UpstreamPackument{DistTags: map[string]string{}, versions: map[string]UpstreamVersion{}}
	if raw, ok := doc["dist-tags"]; ok {
		if err := json.Unmarshal(raw, &out.DistTags); err != nil {
			return nil, fmt.Errorf("dist-tags: %w", err)
		}
	}
	var versions map[string]map[string]json.RawMessage
	if err := json.Unmarshal(doc["versions"], &versions); err != nil {
		return nil, fmt.Errorf("versions: %w", err)
	}
	rewritten := make(map[string]json.RawMessage, len(versions))
	for v, obj := range versions {
		if obj == nil {
			return nil, fmt.Errorf("versions[%q] is not an object", v)
		}
		manifest, err := json.Marshal(obj)
		if err != nil {
			return nil, err
		}
		var dist map[string]json.RawMessage
		if err := json.Unmarshal(obj["dist"], &dist); err != nil || dist == nil {
			return nil, fmt.Errorf("versions[%q].dist is not an object", v)
		}
		uv := UpstreamVersion{Manifest: manifest}
		for k, dst := range map[string]*string{"tarball": &uv.Tarball, "shasum": &uv.Dist.Shasum, "integrity": &uv.Dist.Integrity} {
			if raw, ok := dist[k]; ok {
				if err := json.Unmarshal(raw, dst); err != nil {
					return nil, fmt.Errorf("versions[%q].dist.%s is not a string", v, k)
				}
			}
		}
		if uv.Tarball == "" {
			return nil, fmt.Errorf("versions[%q] has no dist.tarball", v)
		}
		out.versions[v] = uv
		tarball, _ := json.Marshal(base + name + "/-/" + npm_module.TarballName(name, v))
		dist["tarball"] = tarball
		if obj["dist"], err = json.Marshal(dist); err != nil {
			return nil, err
		}
		if rewritten[v], err = json.Marshal(obj); err != nil {
			return nil, err
		}
	}
	out.rewritten = rewritten
	var err error
	if doc["versions"], err = json.Marshal(rewritten); err != nil {
		return nil, err
	}
	if out.Body, err = json.Marshal(doc); err != nil {
		return nil, err
	}
	out.ETag = etag(out.Body)
	return out, nil
}

// checkUpstreamDist checks an upstream's tarball against its document:
// the shasum when given, and every sha512 or sha1 entry of integrity (old
// packages carry only "sha1-…"); at least one of them must be there.
func checkUpstreamDist(d npm_module.Dist, sha1hex, sha512hex string) error {
	checked := false
	if d.Shasum != "" {
		if !strings.EqualFold(d.Shasum, sha1hex) {
			return fmt.Errorf("shasum mismatch: the document says %s, the tarball is %s", d.Shasum, sha1hex)
		}
		checked = true
	}
	for _, entry := range strings.Fields(d.Integrity) {
		algo, _, _ := strings.Cut(entry, "-")
		var want string
		switch algo {
		case "sha512":
			want = npm_module.Integrity(sha512hex)
		case "sha1":
			raw, err := hex.DecodeString(sha1hex)
			if err != nil {
				return err
			}
			want = "sha1-" + base64.StdEncoding.EncodeToString(raw)
		default:
			continue
		}
		if entry != want {
			return fmt.Errorf("integrity mismatch: the document says %s, the tarball is %s", entry, want)
		}
		checked = true
	}
	if !checked {
		return errors.New("the document gives no shasum and no sha512 or sha1 integrity")
	}
	return nil
}

// ErrUpstreamTarball marks a tarball an upstream served that is not the
// one its document describes.
var ErrUpstreamTarball = errors.New("the upstream's tarball does not match its document")

// CacheUpstreamTarball stores a tarball fetched from an upstream as a
// version of the cache owner's package of the same name (cache is the
// system's access to the virtual owner), through the normal create
// helpers, so that its blob is shared and cleanup rules apply. The bytes
// must match the document's integrity or shasum (ErrUpstreamTarball
// otherwise). A concurrent download that stored it first is no failure.
func (s *Service) CacheUpstreamTarball(ctx context.Context, cache *packages_service.Access, name, version string, uv UpstreamVersion, data *packages_module.HashedBuffer, source map[string]string) error {
	if uv.Dist.Integrity == "" && uv.Dist.Shasum == "" {
		return fmt.Errorf("%w: %s@%s has neither integrity nor shasum", ErrUpstreamTarball, name, version)
	}
	h := data.Hashes()
	if err := checkUpstreamDist(uv.Dist, h.SHA1, h.SHA512); err != nil {
		return fmt.Errorf("%w: %s@%s: %v", ErrUpstreamTarball, name, version, err)
	}
	manifest := map[string]any{}
	d := json.NewDecoder(bytes.NewReader(uv.Manifest))
	d.UseNumber()
	if err := d.Decode(&manifest); err != nil {
		return fmt.Errorf("%w: %s@%s: %v", ErrUpstreamTarball, name, version, err)
	}
	for _, k := range []string{"dist", "_id", "_npmUser", "_resolved", "_integrity", "_from", "_shasum", "readme"} {
		delete(manifest, k)
	}
	_, err := s.d.Packages.CreatePackageOrAddFileToExisting(ctx,
		&packages_service.VersionInfo{Owner: cache.Owner, Type: packages_model.TypeNpm, Name: name, Version: version, Metadata: manifest,
			Properties: source},
		&packages_service.FileInfo{Name: npm_module.TarballName(name, version), IsLead: true, Data: data}, nil)
	if errors.Is(err, packages_model.ErrFileExists) {
		return nil
	}
	if err != nil && apperr.KindOf(err) == apperr.Invalid {
		return fmt.Errorf("%w: %s@%s: %v", ErrUpstreamTarball, name, version, err)
	}
	return err
}
