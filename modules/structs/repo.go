package structs

import "time"

// Permission is what the caller may do with a repository.
type Permission struct {
	Admin bool `json:"admin"`
	Push  bool `json:"push"`
	Pull  bool `json:"pull"`
}

// Repository is a repository as the API shows it (Gitea's shape; features
// Wharf does not have are reported off).
type Repository struct {
	ID                        int64       `json:"id"`
	Owner                     *User       `json:"owner"`
	Name                      string      `json:"name"`
	FullName                  string      `json:"full_name"`
	Description               string      `json:"description"`
	Empty                     bool        `json:"empty"`
	Private                   bool        `json:"private"`
	Fork                      bool        `json:"fork"`
	Template                  bool        `json:"template"`
	Mirror                    bool        `json:"mirror"`
	Size                      int         `json:"size"`
	Language                  string      `json:"language"`
	LanguagesURL              string      `json:"languages_url"`
	HTMLURL                   string      `json:"html_url"`
	URL                       string      `json:"url"`
	Link                      string      `json:"link"`
	SSHURL                    string      `json:"ssh_url"`
	CloneURL                  string      `json:"clone_url"`
	OriginalURL               string      `json:"original_url"`
	Website                   string      `json:"website"`
	Stars                     int         `json:"stars_count"`
	Forks                     int         `json:"forks_count"`
	Watchers                  int         `json:"watchers_count"`
	OpenIssues                int         `json:"open_issues_count"`
	OpenPulls                 int         `json:"open_pr_counter"`
	Releases                  int         `json:"release_counter"`
	DefaultBranch             string      `json:"default_branch"`
	Archived                  bool        `json:"archived"`
	Created                   time.Time   `json:"created_at"`
	Updated                   time.Time   `json:"updated_at"`
	ArchivedAt                time.Time   `json:"archived_at"`
	Permissions               *Permission `json:"permissions,omitempty"`
	HasIssues                 bool        `json:"has_issues"`
	HasCode                   bool        `json:"has_code"`
	HasWiki                   bool        `json:"has_wiki"`
	HasPullRequests           bool        `json:"has_pull_requests"`
	HasProjects               bool        `json:"has_projects"`
	HasReleases               bool        `json:"has_releases"`
	HasPackages               bool        `json:"has_packages"`
	HasActions                bool        `json:"has_actions"`
	IgnoreWhitespaceConflicts bool        `json:"ignore_whitespace_conflicts"`
	AllowMerge                bool        `json:"allow_merge_commits"`
	AllowRebase               bool        `json:"allow_rebase"`
	AllowRebaseMerge          bool        `json:"allow_rebase_explicit"`
	AllowSquash               bool        `json:"allow_squash_merge"`
	AvatarURL                 string      `json:"avatar_url"`
	Internal                  bool        `json:"internal"`
	MirrorInterval            string      `json:"mirror_interval"`
	ObjectFormatName          string      `json:"object_format_name"`
	Topics                    []string    `json:"topics"`
	Licenses                  []string    `json:"licenses"`
}

// CreateRepoOption is the body of POST /user/repos and /orgs/{org}/repos.
// Fields for features Wharf does not have (labels, templates, gitignores,
// licenses) are accepted so that clients work, and refused when set.
type CreateRepoOption struct {
	Name             string `json:"name"`
	Description      string `json:"description"`
	Private          bool   `json:"private"`
	IssueLabels      string `json:"issue_labels"`
	AutoInit         bool   `json:"auto_init"`
	Template         bool   `json:"template"`
	Gitignores       string `json:"gitignores"`
	License          string `json:"license"`
	Readme           string `json:"readme"`
	DefaultBranch    string `json:"default_branch"`
	TrustModel       string `json:"trust_model"`
	ObjectFormatName string `json:"object_format_name"`
}

// CommitMeta names a commit, or a commit's tree (then only by its sha:
// Wharf has no tree API to link to).
type CommitMeta struct {
	URL     string    `json:"url,omitempty"`
	SHA     string    `json:"sha"`
	Created time.Time `json:"created,omitzero"`
}

// CommitUser is a commit's author or committer as git recorded them.
type CommitUser struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Date  string `json:"date"` // RFC 3339
}

// RepoCommit is the git part of a commit.
type RepoCommit struct {
	URL       string      `json:"url"`
	Author    *CommitUser `json:"author"`
	Committer *CommitUser `json:"committer"`
	Message   string      `json:"message"`
	Tree      *CommitMeta `json:"tree"`
}

// Commit is the answer of GET /repos/{owner}/{repo}/git/commits/{sha}, in
// Gitea's shape without what Wharf does not have: no commit page (html_url),
// no diff (files, stats), no signature check (verification). Author and
// committer are accounts, null as in Gitea when none is linked.
type Commit struct {
	CommitMeta
	RepoCommit *RepoCommit   `json:"commit"`
	Author     *User         `json:"author"`
	Committer  *User         `json:"committer"`
	Parents    []*CommitMeta `json:"parents"`
}

// Tag is a tag as the API shows it.
type Tag struct {
	Name       string      `json:"name"`
	Message    string      `json:"message"`
	ID         string      `json:"id"`
	Commit     *CommitMeta `json:"commit"`
	ZipballURL string      `json:"zipball_url"`
	TarballURL string      `json:"tarball_url"`
}

// CreateTagOption is the body of POST /repos/{o}/{r}/tags.
type CreateTagOption struct {
	TagName string `json:"tag_name"`
	Message string `json:"message"`
	Target  string `json:"target"`
}

// PayloadUser is a commit's author or committer.
type PayloadUser struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	UserName string `json:"username"`
}

// PayloadCommit is a commit in a branch answer.
type PayloadCommit struct {
	ID        string       `json:"id"`
	Message   string       `json:"message"`
	URL       string       `json:"url"`
	Author    *PayloadUser `json:"author"`
	Committer *PayloadUser `json:"committer"`
	Timestamp time.Time    `json:"timestamp"`
	Added     []string     `json:"added"`
	Removed   []string     `json:"removed"`
	Modified  []string     `json:"modified"`
}

// Branch is a branch as the API shows it.
type Branch struct {
	Name                          string         `json:"name"`
	Commit                        *PayloadCommit `json:"commit"`
	Protected                     bool           `json:"protected"`
	RequiredApprovals             int64          `json:"required_approvals"`
	EnableStatusCheck             bool           `json:"enable_status_check"`
	StatusCheckContexts           []string       `json:"status_check_contexts"`
	UserCanPush                   bool           `json:"user_can_push"`
	UserCanMerge                  bool           `json:"user_can_merge"`
	EffectiveBranchProtectionName string         `json:"effective_branch_protection_name"`
}
