package structs

// Organization is an organisation as the API shows it.
type Organization struct {
	ID                        int64  `json:"id"`
	Name                      string `json:"name"`
	UserName                  string `json:"username"` // deprecated by Gitea, still read by old clients
	FullName                  string `json:"full_name"`
	Email                     string `json:"email"`
	AvatarURL                 string `json:"avatar_url"`
	Description               string `json:"description"`
	Website                   string `json:"website"`
	Location                  string `json:"location"`
	Visibility                string `json:"visibility"`
	RepoAdminChangeTeamAccess bool   `json:"repo_admin_change_team_access"`
}

// CreateOrgOption is the body of POST /api/v1/orgs.
type CreateOrgOption struct {
	UserName                  string `json:"username"`
	FullName                  string `json:"full_name"`
	Email                     string `json:"email"`
	Description               string `json:"description"`
	Website                   string `json:"website"`
	Location                  string `json:"location"`
	Visibility                string `json:"visibility"`
	RepoAdminChangeTeamAccess bool   `json:"repo_admin_change_team_access"`
}

// EditOrgOption is the body of PATCH /api/v1/orgs/{org}.
type EditOrgOption struct {
	FullName                  *string `json:"full_name"`
	Email                     *string `json:"email"`
	Description               *string `json:"description"`
	Website                   *string `json:"website"`
	Location                  *string `json:"location"`
	Visibility                *string `json:"visibility"`
	RepoAdminChangeTeamAccess *bool   `json:"repo_admin_change_team_access"`
}

// OrgMembershipOption is the body of PUT /api/v1/orgs/{org}/members/{u}, a
// Wharf addition: Gitea manages membership through teams.
type OrgMembershipOption struct {
	Role string `json:"role"`
}

// OrgPermissions is the answer of GET /api/v1/users/{u}/orgs/{org}/permissions.
type OrgPermissions struct {
	IsOwner             bool `json:"is_owner"`
	IsAdmin             bool `json:"is_admin"`
	CanWrite            bool `json:"can_write"`
	CanRead             bool `json:"can_read"`
	CanCreateRepository bool `json:"can_create_repository"`
}
