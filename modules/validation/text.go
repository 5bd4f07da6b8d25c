package validation

import (
	"strings"
	"unicode/utf8"
)

// StorableText reports whether s can be stored in or compared with a text
// column: valid UTF-8 without NUL bytes (PostgreSQL refuses both in text).
// Input that fails it is the client's mistake — it matches nothing, or is
// refused with a 4xx — never a query that fails with a 500.
func StorableText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
