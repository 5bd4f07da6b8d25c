package packages

import (
	"errors"
	"fmt"
	"io"
)

// ParseUpload runs parse over the server's copy of an upload and tells a
// failure of that copy (a disk or network error: the server's fault) from
// damage in the client's bytes (which parse reports, usually as
// apperr.Invalid): the first is returned unclassified, wrapped with what,
// whatever parse made of the short read it caused.
func ParseUpload[T any](r io.Reader, what string, parse func(io.Reader) (T, error)) (T, error) {
	src := &uploadSource{r: r}
	v, err := parse(src)
	if src.err != nil {
		var zero T
		return zero, fmt.Errorf("read the uploaded %s: %w", what, src.err)
	}
	return v, err
}

// uploadSource records the first failure of the reader itself.
type uploadSource struct {
	r   io.Reader
	err error
}

func (s *uploadSource) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && s.err == nil {
		s.err = err
	}
	return n, err
}
