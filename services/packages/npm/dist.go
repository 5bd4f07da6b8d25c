package npm

import (
	"encoding/hex"
	"encoding/json"

	"wharf/modules/apperr"
	npm_module "wharf/modules/packages/npm"
)

// declaredDist reads the dist block a publish declares for its version
// (raw is the version's manifest object). Its digests are what proves the
// attachment is the tarball the client packed, so a publish without them,
// or with a dist that is not npm's shape, is refused rather than stored
// unchecked: npm and pnpm send shasum and integrity, yarn 1 shasum.
func declaredDist(version string, raw json.RawMessage) (npm_module.Dist, error) {
	var d npm_module.Dist
	var m struct {
		Dist json.RawMessage `json:"dist"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return d, apperr.New(apperr.Invalid, "versions[%q] is not an object", version)
	}
	if len(m.Dist) == 0 || string(m.Dist) == "null" {
		return d, apperr.New(apperr.Invalid, "versions[%q].dist is missing: a publish declares the tarball's shasum and integrity", version)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(m.Dist, &fields); err != nil || fields == nil {
		return d, apperr.New(apperr.Invalid, "versions[%q].dist is malformed: not an object", version)
	}
	str := func(key string, into *string) error {
		v, ok := fields[key]
		if !ok || string(v) == "null" {
			return nil
		}
		if err := json.Unmarshal(v, into); err != nil {
			return apperr.New(apperr.Invalid, "versions[%q].dist is malformed: %s is not a string", version, key)
		}
		return nil
	}
	for key, into := range map[string]*string{"shasum": &d.Shasum, "integrity": &d.Integrity, "tarball": &d.Tarball} {
		if err := str(key, into); err != nil {
			return d, err
		}
	}
	if d.Shasum == "" && d.Integrity == "" {
		return d, apperr.New(apperr.Invalid, "versions[%q].dist is malformed: it declares neither shasum nor integrity", version)
	}
	if d.Shasum != "" {
		if b, err := hex.DecodeString(d.Shasum); err != nil || len(b) != 20 {
			return d, apperr.New(apperr.Invalid, "versions[%q].dist is malformed: shasum %q is not a hex SHA-1", version, d.Shasum)
		}
	}
	return d, nil
}
