package structs

import "time"

// Package is one version of a package, as Gitea's API shows it.
type Package struct {
	ID         int64       `json:"id"`
	Owner      *User       `json:"owner"`
	Repository *Repository `json:"repository"`
	Creator    *User       `json:"creator"`
	Type       string      `json:"type"`
	Name       string      `json:"name"`
	Version    string      `json:"version"`
	HTMLURL    string      `json:"html_url"`
	CreatedAt  time.Time   `json:"created_at"`
}

// PackageFile is a file of a package version.
type PackageFile struct {
	ID         int64  `json:"id"`
	Size       int64  `json:"size"`
	Name       string `json:"name"`
	HashMD5    string `json:"md5"`
	HashSHA1   string `json:"sha1"`
	HashSHA256 string `json:"sha256"`
	HashSHA512 string `json:"sha512"`
}
