package packages

import packages_model "wharf/models/packages"

// SizeLimit is the configured size limit of one file of format t
// (LIMIT_SIZE_<TYPE>), -1 for none. A format that remembers a refusal
// (Composer's over-limit archive builds) keys it by this value, so that a
// changed limit is tried again.
func (s *Service) SizeLimit(t packages_model.Type) int64 { return s.limitFor(t) }
