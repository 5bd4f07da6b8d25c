package common

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"wharf/modules/apperr"
)

// MaxJSONBody bounds API request bodies; no API document is larger.
const MaxJSONBody = 1 << 20

// WriteJSON writes v with the status.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}

// DecodeJSON reads one JSON object into v, refusing unknown fields (a typo
// such as "visiblity" must not silently create a public organisation),
// trailing data and bodies over MaxJSONBody.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return apperr.New(apperr.TooLarge, "request body is larger than %d bytes", MaxJSONBody)
		case errors.Is(err, io.EOF):
			return apperr.New(apperr.Invalid, "request body must be a JSON object")
		}
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return apperr.New(apperr.Invalid, "invalid JSON body: field %q must be %s", ute.Field, ute.Type)
		}
		return apperr.Wrap(apperr.Invalid, err, "invalid JSON body")
	}
	if dec.More() {
		return apperr.New(apperr.Invalid, "invalid JSON body: data after the object")
	}
	return nil
}
