package npm

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"wharf/modules/apperr"
)

// MaxMetadata bounds the publish document without its attachments (the
// version's package.json and readme).
const MaxMetadata = 16 << 20

// Document is a PUT /{name} body without the attachment bytes.
type Document struct {
	ID       string                     `json:"_id"`
	Name     string                     `json:"name"`
	Rev      string                     `json:"_rev"`
	DistTags map[string]string          `json:"dist-tags"`
	Versions map[string]json.RawMessage `json:"versions"`
	Access   *string                    `json:"access"`
	Readme   string                     `json:"readme"`
	// Attachments are the attachments' declared fields.
	Attachments map[string]Attachment `json:"-"`
	// Maintainers, when the document sets them (npm owner).
	Maintainers json.RawMessage `json:"maintainers"`
}

// Attachment is an attachment's declared fields.
type Attachment struct {
	ContentType string `json:"content_type"`
	Length      int64  `json:"length"`
}

// AttachmentSink receives an attachment's decoded bytes; it must read r to
// its end or fail.
type AttachmentSink func(name string, r io.Reader) error

// ParseDocument reads a publish (or metadata update) document from r in
// one pass. Attachment data is base64-decoded on the fly and handed to
// sink, so the body is never held whole in memory; everything else is
// bounded by MaxMetadata.
func ParseDocument(r io.Reader, sink AttachmentSink) (*Document, error) {
	p := &parser{r: bufio.NewReaderSize(r, 64<<10)}
	doc := &Document{Attachments: map[string]Attachment{}}
	rest := map[string]json.RawMessage{}
	err := p.object(func(key string) error {
		if key == "_attachments" {
			return p.object(func(name string) error { return p.attachment(doc, name, sink) })
		}
		raw, err := p.value()
		if err != nil {
			return err
		}
		rest[key] = raw
		return nil
	})
	if err != nil {
		return nil, asInvalid(err)
	}
	if err := p.skipSpace(); err != io.EOF {
		return nil, apperr.New(apperr.Invalid, "invalid JSON body: data after the document")
	}
	b, _ := json.Marshal(rest)
	if err := json.Unmarshal(b, doc); err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "invalid publish document")
	}
	return doc, nil
}

// asInvalid classifies a parse failure: the body is the client's, so an
// unclassified error in reading or walking it is Invalid. A failure of the
// sink keeps its own kind: the sink's reader already marks the client's
// bytes as Invalid, and the rest (a temp file that cannot be written) is
// the server's.
func asInvalid(err error) error {
	var se *sinkError
	if errors.As(err, &se) {
		return se.err
	}
	if apperr.KindOf(err) != apperr.Internal {
		return err
	}
	return apperr.Wrap(apperr.Invalid, err, "invalid JSON body")
}

// sinkError carries an AttachmentSink's failure through the parser
// untouched.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return e.err.Error() }
func (e *sinkError) Unwrap() error { return e.err }

// attachmentReader is what a sink reads: the decoded attachment, with
// every failure of the client's bytes (bad base64, a body cut short, a bad
// escape) marked Invalid, so that a sink can tell them from its own.
type attachmentReader struct {
	name string
	r    io.Reader
}

func (a *attachmentReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if err == nil || err == io.EOF || apperr.KindOf(err) != apperr.Internal {
		return n, err
	}
	var ce base64.CorruptInputError
	if errors.As(err, &ce) {
		return n, apperr.Wrap(apperr.Invalid, err, "attachment %q is not valid base64", a.name)
	}
	return n, apperr.Wrap(apperr.Invalid, err, "attachment %q cannot be read", a.name)
}

// parser is a minimal streaming JSON reader: just enough to walk the
// document's top two levels and stream one string value.
type parser struct {
	r    *bufio.Reader
	size int // bytes of metadata read, bounded by MaxMetadata
}

func (p *parser) skipSpace() error {
	for {
		c, err := p.r.ReadByte()
		if err != nil {
			return err
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return p.r.UnreadByte()
		}
	}
}

func (p *parser) expect(want byte) error {
	if err := p.skipSpace(); err != nil {
		return unexpectedEOF(err)
	}
	c, err := p.r.ReadByte()
	if err != nil {
		return unexpectedEOF(err)
	}
	if c != want {
		return fmt.Errorf("expected %q, found %q", want, c)
	}
	return nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// object reads {"key": value, …}, calling field for each key; field must
// consume the value.
func (p *parser) object(field func(key string) error) error {
	if err := p.expect('{'); err != nil {
		return err
	}
	if err := p.skipSpace(); err != nil {
		return unexpectedEOF(err)
	}
	if c, _ := p.r.Peek(1); len(c) == 1 && c[0] == '}' {
		_, _ = p.r.ReadByte()
		return nil
	}
	for {
		raw, err := p.value()
		if err != nil {
			return err
		}
		var key string
		if err := json.Unmarshal(raw, &key); err != nil {
			return fmt.Errorf("object key is not a string")
		}
		if err := p.expect(':'); err != nil {
			return err
		}
		if err := field(key); err != nil {
			return err
		}
		if err := p.skipSpace(); err != nil {
			return unexpectedEOF(err)
		}
		c, err := p.r.ReadByte()
		if err != nil {
			return unexpectedEOF(err)
		}
		switch c {
		case ',':
			continue
		case '}':
			return nil
		}
		return fmt.Errorf("expected ',' or '}', found %q", c)
	}
}

// value reads one JSON value and returns its raw bytes.
func (p *parser) value() (json.RawMessage, error) {
	if err := p.skipSpace(); err != nil {
		return nil, unexpectedEOF(err)
	}
	var buf bytes.Buffer
	depth, inString, escaped := 0, false, false
	for {
		c, err := p.r.ReadByte()
		if err != nil {
			return nil, unexpectedEOF(err)
		}
		p.size++
		if p.size > MaxMetadata {
			return nil, apperr.New(apperr.TooLarge, "publish document is larger than %d bytes without its attachments", MaxMetadata)
		}
		if !inString && depth == 0 && buf.Len() > 0 && (c == ',' || c == '}' || c == ']' || c == ':' || c == ' ' || c == '\n' || c == '\r' || c == '\t') {
			_ = p.r.UnreadByte()
			break
		}
		buf.WriteByte(c)
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			if !inString && depth == 0 {
				goto done
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced %q", c)
			}
			if depth == 0 {
				goto done
			}
		}
	}
done:
	raw := buf.Bytes()
	if !json.Valid(raw) {
		return nil, fmt.Errorf("invalid JSON value")
	}
	return raw, nil
}

// attachment reads one attachment object, streaming "data" to sink.
func (p *parser) attachment(doc *Document, name string, sink AttachmentSink) error {
	if _, dup := doc.Attachments[name]; dup {
		return apperr.New(apperr.Invalid, "attachment %q appears twice", name)
	}
	var a Attachment
	sawData := false
	err := p.object(func(key string) error {
		switch key {
		case "data":
			if sawData {
				return apperr.New(apperr.Invalid, "attachment %q has two data fields", name)
			}
			sawData = true
			if err := p.expect('"'); err != nil {
				return err
			}
			dec := &attachmentReader{name: name, r: base64.NewDecoder(base64.StdEncoding, &stringReader{r: p.r})}
			if err := sink(name, dec); err != nil {
				return &sinkError{err: err}
			}
			// The sink read to the decoder's end; the string must end too.
			if _, err := io.Copy(io.Discard, dec); err != nil {
				return err
			}
			return nil
		default:
			raw, err := p.value()
			if err != nil {
				return err
			}
			switch key {
			case "content_type":
				_ = json.Unmarshal(raw, &a.ContentType)
			case "length":
				if err := json.Unmarshal(raw, &a.Length); err != nil {
					return apperr.New(apperr.Invalid, "attachment %q: length is not a number", name)
				}
			}
			return nil
		}
	})
	if err != nil {
		return err
	}
	if !sawData {
		return apperr.New(apperr.Invalid, "attachment %q has no data", name)
	}
	doc.Attachments[name] = a
	return nil
}

// stringReader yields the characters of a JSON string up to its closing
// quote (which it consumes), undoing the escapes base64 may carry ("\/").
type stringReader struct {
	r    *bufio.Reader
	done bool
}

func (s *stringReader) Read(p []byte) (int, error) {
	if s.done {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) {
		c, err := s.r.ReadByte()
		if err != nil {
			return n, unexpectedEOF(err)
		}
		switch c {
		case '"':
			s.done = true
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		case '\\':
			e, err := s.r.ReadByte()
			if err != nil {
				return n, unexpectedEOF(err)
			}
			switch e {
			case '/', '\\', '"':
				c = e
			case 'n', 'r', 't':
				continue // line breaks inside base64 are ignored by the decoder anyway
			default:
				return n, apperr.New(apperr.Invalid, "unexpected escape in attachment data")
			}
		}
		p[n] = c
		n++
	}
	return n, nil
}

// Dist is the dist block a client declares for its version.
type Dist struct {
	Shasum    string `json:"shasum"`
	Integrity string `json:"integrity"`
	Tarball   string `json:"tarball"`
}

// Integrity is the SRI string npm uses: sha512 of the bytes, base64.
func Integrity(sha512hex string) string {
	b, _ := hex.DecodeString(sha512hex)
	return "sha512-" + base64.StdEncoding.EncodeToString(b)
}

// CheckDist compares the declared shasum and integrity with the digests of
// the bytes received.
func CheckDist(d Dist, sha1hex, sha512hex string) error {
	if d.Shasum != "" && !strings.EqualFold(d.Shasum, sha1hex) {
		return apperr.New(apperr.Invalid, "shasum mismatch: the document says %s, the tarball is %s", d.Shasum, sha1hex)
	}
	if d.Integrity != "" {
		want := Integrity(sha512hex)
		ok := false
		for _, entry := range strings.Fields(d.Integrity) {
			if strings.HasPrefix(entry, "sha512-") {
				if entry != want {
					return apperr.New(apperr.Invalid, "integrity mismatch: the document says %s, the tarball is %s", entry, want)
				}
				ok = true
			}
		}
		if !ok {
			return apperr.New(apperr.Invalid, "integrity %q has no sha512 entry", d.Integrity)
		}
	}
	return nil
}
