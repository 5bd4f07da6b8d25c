//go:build !linux

package storage

import (
	"errors"
	"os"
)

var errNoUnnamed = errors.New("unnamed temp files are not supported here")

// openUnnamed is Linux-only: elsewhere the spill file is a named one.
func openUnnamed(string) (*os.File, error) { return nil, errNoUnnamed }

func linkUnnamed(*os.File, string) error { return errNoUnnamed }
