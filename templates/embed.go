// Package templates embeds the HTML templates and the stylesheet into the
// binary.
package templates

import "embed"

// FS holds every template: the site's frame at the top, each area's pages
// in its folder (user, repo, package, settings, admin).
//
//go:embed *.tmpl */*.tmpl
var FS embed.FS

// Static holds the files served as they are (the stylesheet).
//
//go:embed static
var Static embed.FS
