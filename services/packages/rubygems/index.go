package rubygems

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	rubygems_model "wharf/models/packages/rubygems"
	"wharf/modules/apperr"
	rubygems_module "wharf/modules/packages/rubygems"
	packages_service "wharf/services/packages"
)

// Document is a generated file of the index, ready to send.
type Document struct {
	// Body is nil when NotModified.
	Body []byte
	// ETag is quoted: the MD5 of the body (hex), as Bundler compares it
	// with the MD5 of its own copy.
	ETag string
	// Digest is the SHA-256 of the whole body, standard base64
	// (Repr-Digest), even when a range of it is sent.
	Digest string
	// Modified is when the index last changed, zero when it must not be
	// shown (see fresh).
	Modified time.Time
	// NotModified: current said the caller's copy is current; the body was
	// not read.
	NotModified bool
}

// Current is asked with a document's ETag before its body is read; true
// means the caller's copy is current (If-None-Match).
type Current func(etag string) bool

func quote(md5Hex string) string { return `"` + md5Hex + `"` }

func newDocument(body []byte) *Document {
	m, s := digestsOf(body)
	return &Document{Body: body, ETag: quote(m), Digest: s}
}

// notModified is the answer for a current copy.
func notModified(d *Document) *Document {
	return &Document{ETag: d.ETag, Digest: d.Digest, Modified: d.Modified, NotModified: true}
}

// ErrGemNotExist is RubyGems' answer for a gem, version or file it does
// not have (rubygems.org's words).
var ErrGemNotExist = apperr.New(apperr.NotFound, "This rubygem could not be found.")

// readAttempts bounds the reads of a document that changed while read.
const readAttempts = 5

// Versions is the owner's versions file. current is asked first, with the
// ETag kept in the database: a revalidation costs one query, whatever the
// number of gems; a full file one more, unless the process has it.
func (s *Service) Versions(ctx context.Context, a *packages_service.Access, current Current) (*Document, error) {
	e := s.d.DB.Engine()
	for range readAttempts {
		vf, err := rubygems_model.GetVersionsFile(ctx, e, a.Owner.ID)
		if err != nil {
			return nil, err
		}
		if vf == nil {
			// Nothing was ever pushed: a header dated when the owner was.
			d := newDocument([]byte(versionsHeader(a.Owner.CreatedUnix)))
			if current(d.ETag) {
				return notModified(d), nil
			}
			return d, nil
		}
		d := &Document{ETag: quote(vf.MD5), Digest: vf.SHA256}
		if current(d.ETag) {
			return notModified(d), nil
		}
		key := "versions/" + strconv.FormatInt(vf.OwnerID, 10) + "/" + vf.MD5
		if cached, ok := s.cache.Get(key); ok {
			return cached, nil
		}
		lines, err := rubygems_model.ListVersionsLines(ctx, e, vf.OwnerID, vf.FirstLine, vf.LastLine)
		if err != nil {
			return nil, err
		}
		if int64(len(lines)) != vf.LastLine-vf.FirstLine+1 {
			continue // rebuilt since vf was read
		}
		var b strings.Builder
		b.Grow(int(vf.Size))
		b.WriteString(versionsHeader(vf.CreatedUnix))
		for _, l := range lines {
			b.WriteString(l)
		}
		if int64(b.Len()) != vf.Size {
			continue
		}
		d.Body = []byte(b.String())
		s.cache.Put(key, d)
		return d, nil
	}
	return nil, fmt.Errorf("the versions file of owner %d kept changing while read", a.Owner.ID)
}

// Info is info/{name} of the gem named exactly name: one query for a
// revalidation or a body the process has, two otherwise, whatever the
// number of versions.
func (s *Service) Info(ctx context.Context, a *packages_service.Access, name string, current Current) (*Document, error) {
	if rubygems_module.ValidateName(name) != nil {
		return nil, ErrGemNotExist // no gem is named so
	}
	e := s.d.DB.Engine()
	for range readAttempts {
		g, err := rubygems_model.GetGemDigests(ctx, e, a.Owner.ID, strings.ToLower(name))
		if err != nil {
			return nil, err
		}
		if g == nil || g.Name != name {
			return nil, ErrGemNotExist
		}
		d := &Document{ETag: quote(g.InfoMD5), Digest: g.InfoSHA256}
		if current(d.ETag) {
			return notModified(d), nil
		}
		// Same body, same MD5: one entry serves every gem with that body.
		key := "info/" + g.InfoMD5
		if cached, ok := s.cache.Get(key); ok {
			return cached, nil
		}
		body, ok, err := rubygems_model.GetGemInfo(ctx, e, g.ID, g.InfoMD5)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue // changed since its digests were read
		}
		d.Body = []byte(body)
		s.cache.Put(key, d)
		return d, nil
	}
	return nil, fmt.Errorf("info of gem %q kept changing while read", name)
}

// indexKinds are the documents derived from the whole index.
const (
	kindNames           = "names"
	kindSpecs           = "specs"
	kindLatestSpecs     = "latest_specs"
	kindPrereleaseSpecs = "prerelease_specs"
)

// derived is a document computed from every gem of the owner, cached
// under the versions file's MD5 (which every change moves). Its body may
// be of a state newer than that MD5's, read after it: a client holding
// its ETag fetches again after the next change anyway.
func (s *Service) derived(ctx context.Context, a *packages_service.Access, kind string, current Current, build func([]*rubygems_model.Gem) ([]byte, error)) (*Document, error) {
	e := s.d.DB.Engine()
	vf, err := rubygems_model.GetVersionsFile(ctx, e, a.Owner.ID)
	if err != nil {
		return nil, err
	}
	state, changed := "none", time.Unix(a.Owner.CreatedUnix, 0)
	if vf != nil {
		state, changed = vf.MD5, time.Unix(vf.ChangedUnix, 0)
	}
	key := kind + "/" + strconv.FormatInt(a.Owner.ID, 10) + "/" + state
	d, ok := s.cache.Get(key)
	if !ok {
		gems, err := rubygems_model.ListListedGems(ctx, e, a.Owner.ID)
		if err != nil {
			return nil, err
		}
		body, err := build(gems)
		if err != nil {
			return nil, err
		}
		d = newDocument(body)
		d.Modified = changed.UTC()
		s.cache.Put(key, d)
	}
	if current(d.ETag) {
		return notModified(d), nil
	}
	return d, nil
}

// Names is the names file: every gem that lists a version, by name.
func (s *Service) Names(ctx context.Context, a *packages_service.Access, current Current) (*Document, error) {
	return s.derived(ctx, a, kindNames, current, func(gems []*rubygems_model.Gem) ([]byte, error) {
		names := make([]string, len(gems))
		for i, g := range gems {
			names[i] = g.Name
		}
		slices.Sort(names)
		return rubygems_module.Names(names), nil
	})
}

// SpecsKind names one of the Marshal indexes.
type SpecsKind string

// The Marshal indexes.
const (
	// SpecsAll is specs.4.8.gz: every release that is not yanked.
	SpecsAll SpecsKind = kindSpecs
	// SpecsLatest is latest_specs.4.8.gz: the highest release of each gem
	// and platform.
	SpecsLatest SpecsKind = kindLatestSpecs
	// SpecsPrerelease is prerelease_specs.4.8.gz: every pre-release that
	// is not yanked.
	SpecsPrerelease SpecsKind = kindPrereleaseSpecs
)

// Specs is one of the Marshal indexes (gzip'd), read from the same rows
// as the compact index.
func (s *Service) Specs(ctx context.Context, a *packages_service.Access, kind SpecsKind, current Current) (*Document, error) {
	return s.derived(ctx, a, string(kind), current, func(gems []*rubygems_model.Gem) ([]byte, error) {
		var tuples []rubygems_module.NameTuple
		for _, g := range gems {
			for _, entry := range splitListed(g.Listed) {
				v, p, ok := strings.Cut(entry, "-")
				if !ok {
					p = rubygems_module.PlatformRuby
				}
				t := rubygems_module.NameTuple{Name: g.Name, Version: v, Platform: p}
				switch pre := rubygems_module.IsPrerelease(v); kind {
				case SpecsAll, SpecsLatest:
					if !pre {
						tuples = append(tuples, t)
					}
				case SpecsPrerelease:
					if pre {
						tuples = append(tuples, t)
					}
				}
			}
		}
		if kind == SpecsLatest {
			tuples = rubygems_module.LatestTuples(tuples)
		} else {
			rubygems_module.SortTuples(tuples)
		}
		return rubygems_module.SpecsIndex(tuples)
	})
}

// QuickGemspec is quick/Marshal.4.8/{fullName}.gemspec.rz: the gemspec of
// the .gem named fullName.gem, not yanked.
func (s *Service) QuickGemspec(ctx context.Context, a *packages_service.Access, fullName string) (*Document, error) {
	if !isFileName(fullName) {
		return nil, ErrGemNotExist
	}
	f, err := rubygems_model.FindFile(ctx, s.d.DB.Engine(), a.Owner.ID, fullName+".gem", packages_service.PropYanked)
	if errors.Is(err, errFileNotExist) {
		return nil, ErrGemNotExist
	}
	if err != nil {
		return nil, err
	}
	if f.Yanked != 0 || f.Spec == "" {
		return nil, ErrGemNotExist
	}
	spec, err := decodeSpec(f.Spec)
	if err != nil {
		return nil, fmt.Errorf("stored gemspec of %s: %w", f.FileName, err)
	}
	b, err := rubygems_module.QuickGemspec(spec)
	if err != nil {
		return nil, err
	}
	return newDocument(b), nil
}
