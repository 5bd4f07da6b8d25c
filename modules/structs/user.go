// Package structs holds the JSON shapes of Gitea's REST API v1, so that
// Gitea's clients (the Go SDK, tea, scripts) read Wharf's answers unchanged.
package structs

import "time"

// ServerVersion is the answer of GET /api/v1/version.
type ServerVersion struct {
	Version string `json:"version"`
}

// APIError is the body of every error answer of the REST API.
type APIError struct {
	Message string `json:"message"`
	URL     string `json:"url"`
}

// User is a user account as the API shows it.
type User struct {
	ID            int64     `json:"id"`
	UserName      string    `json:"login"`
	LoginName     string    `json:"login_name"`
	SourceID      int64     `json:"source_id"`
	FullName      string    `json:"full_name"`
	Email         string    `json:"email"`
	AvatarURL     string    `json:"avatar_url"`
	HTMLURL       string    `json:"html_url"`
	Language      string    `json:"language"`
	IsAdmin       bool      `json:"is_admin"`
	LastLogin     time.Time `json:"last_login"`
	Created       time.Time `json:"created"`
	Restricted    bool      `json:"restricted"`
	IsActive      bool      `json:"active"`
	ProhibitLogin bool      `json:"prohibit_login"`
	Location      string    `json:"location"`
	Website       string    `json:"website"`
	Description   string    `json:"description"`
	Visibility    string    `json:"visibility"`
	Followers     int       `json:"followers_count"`
	Following     int       `json:"following_count"`
	StarredRepos  int       `json:"starred_repos_count"`
}

// UserSearchResult is the answer of GET /api/v1/users/search.
type UserSearchResult struct {
	OK   bool    `json:"ok"`
	Data []*User `json:"data"`
}

// CreateUserOption is the body of POST /api/v1/admin/users. It lists every
// field Gitea accepts, so strict decoding rejects only real mistakes.
type CreateUserOption struct {
	SourceID           int64     `json:"source_id"`
	LoginName          string    `json:"login_name"`
	Username           string    `json:"username"`
	FullName           string    `json:"full_name"`
	Email              string    `json:"email"`
	Password           string    `json:"password"`
	MustChangePassword *bool     `json:"must_change_password"`
	SendNotify         bool      `json:"send_notify"`
	Restricted         *bool     `json:"restricted"`
	Visibility         string    `json:"visibility"`
	CreatedAt          time.Time `json:"created_at"`
}

// AccessToken is a personal access token. Token ("sha1") is only filled in
// the answer that creates it.
type AccessToken struct {
	ID             int64     `json:"id"`
	Name           string    `json:"name"`
	Token          string    `json:"sha1"`
	TokenLastEight string    `json:"token_last_eight"`
	Scopes         []string  `json:"scopes"`
	Created        time.Time `json:"created_at"`
	Updated        time.Time `json:"last_used_at"`
}

// CreateAccessTokenOption is the body of POST /api/v1/users/{u}/tokens.
type CreateAccessTokenOption struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}
