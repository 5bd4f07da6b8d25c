package common

import (
	"errors"
	"io"
)

// errSourceFailed marks a read failure of the server's own source.
var errSourceFailed = errors.New("source failed")

// sourceReader remembers a read error of the server's source, so that a
// copy can tell it from a write error (the client went away).
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// CopyBody streams src to a response whose headers are already sent. It
// returns only the errors of reading src: those are the server's fault and
// must be logged; a failed write means the client left, which is not an
// error of ours. Either way the response is cut short, so a client that
// checks Content-Length sees the truncation.
func CopyBody(w io.Writer, src io.Reader) error {
	sr := &sourceReader{r: src}
	_, _ = io.Copy(w, sr)
	if sr.err != nil {
		return errors.Join(errSourceFailed, sr.err)
	}
	return nil
}
