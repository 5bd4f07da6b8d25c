package common

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

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
	if field, ok := nulString(reflect.ValueOf(v), "body"); ok {
		// No name, description or address Wharf stores may hold one, and
		// PostgreSQL refuses it in text: the client's mistake, not a 500.
		return apperr.New(apperr.Invalid, "invalid JSON body: %s holds a NUL character (\\u0000)", field)
	}
	return nil
}

// nulString finds a decoded string that holds a NUL character, naming it
// by its JSON path.
func nulString(v reflect.Value, path string) (string, bool) {
	switch v.Kind() {
	case reflect.String:
		return path, strings.ContainsRune(v.String(), 0)
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return nulString(v.Elem(), path)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			if p, ok := nulString(v.Field(i), path+"."+name); ok {
				return p, true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if p, ok := nulString(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); ok {
				return p, true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if p, ok := nulString(it.Key(), path+" key"); ok {
				return p, true
			}
			if p, ok := nulString(it.Value(), path+"."+fmt.Sprint(it.Key())); ok {
				return p, true
			}
		}
	}
	return "", false
}
