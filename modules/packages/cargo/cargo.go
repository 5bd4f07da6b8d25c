// Package cargo reads and writes the Cargo registry's formats, with no
// state of its own: the publish body (a length-framed JSON document and
// .crate file), the .crate itself (gzip + tar + Cargo.toml), crate names
// and versions by crates.io's rules, index file paths, and index lines as
// crates.io writes them. See ../shared/specs/cargo.md (in the project's
// notes) for the protocol.
//
// Every fault in what a client sent is an apperr.Invalid (or NotFound for
// an index path that names no crate), with a message written for the cargo
// user who reads it as the error's detail.
package cargo
