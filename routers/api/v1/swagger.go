package v1

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"wharf/modules/structs"
)

// SwaggerPath is where the API's OpenAPI (Swagger 2.0) document is served,
// as in Gitea; error answers name it in their url.
const SwaggerPath = "/swagger.v1.json"

// apiOp documents one route of /api/v1. The table below is the API's
// documentation; tests/swagger_test.go walks the real router and fails when
// a route is missing here or a documented route does not exist.
type apiOp struct {
	method string
	path   string // Swagger form, relative to /api/v1: /repos/{owner}/{repo}
	id     string // Gitea's operationId where Gitea has the route
	tag    string
	sum    string
	query  []string // query parameters, described in queryParams
	body   any      // the JSON body's type (a zero value), nil for none
	status int      // the success status
	result any      // the success answer's type, nil for none, binary{} for bytes
	paged  bool     // page and limit, and X-Total-Count in the answer
}

// binary marks an answer that is a file, not JSON; produces lists its types.
type binary struct{ produces []string }

var apiOps = []apiOp{
	{method: "GET", path: "/version", id: "getVersion", tag: "miscellaneous", sum: "Returns the version of the Gitea API Wharf answers like, with Wharf's version as build metadata", status: 200, result: structs.ServerVersion{}},

	{method: "GET", path: "/user", id: "userGetCurrent", tag: "user", sum: "Get the authenticated user", status: 200, result: structs.User{}},
	{method: "GET", path: "/users/search", id: "userSearch", tag: "user", sum: "Search for users", query: []string{"q", "uid"}, status: 200, result: structs.UserSearchResult{}, paged: true},
	{method: "GET", path: "/users/{username}", id: "userGet", tag: "user", sum: "Get a user", status: 200, result: structs.User{}},
	{method: "GET", path: "/users/{username}/tokens", id: "userGetTokens", tag: "user", sum: "List the user's access tokens", status: 200, result: []structs.AccessToken{}, paged: true},
	{method: "POST", path: "/users/{username}/tokens", id: "userCreateToken", tag: "user", sum: "Create an access token (shown once, in sha1)", body: structs.CreateAccessTokenOption{}, status: 201, result: structs.AccessToken{}},
	{method: "DELETE", path: "/users/{username}/tokens/{token}", id: "userDeleteAccessToken", tag: "user", sum: "Delete an access token, by id or name", status: 204},

	{method: "GET", path: "/user/orgs", id: "orgListCurrentUserOrgs", tag: "organization", sum: "List the authenticated user's organisations", status: 200, result: []structs.Organization{}, paged: true},
	{method: "GET", path: "/users/{username}/orgs", id: "orgListUserOrgs", tag: "organization", sum: "List a user's organisations", status: 200, result: []structs.Organization{}, paged: true},
	{method: "GET", path: "/users/{username}/orgs/{org}/permissions", id: "orgGetUserPermissions", tag: "organization", sum: "Get a user's permissions in an organisation", status: 200, result: structs.OrgPermissions{}},
	{method: "GET", path: "/orgs", id: "orgGetAll", tag: "organization", sum: "List the organisations the caller may see", status: 200, result: []structs.Organization{}, paged: true},
	{method: "POST", path: "/orgs", id: "orgCreate", tag: "organization", sum: "Create an organisation", body: structs.CreateOrgOption{}, status: 201, result: structs.Organization{}},
	{method: "GET", path: "/orgs/{org}", id: "orgGet", tag: "organization", sum: "Get an organisation", status: 200, result: structs.Organization{}},
	{method: "PATCH", path: "/orgs/{org}", id: "orgEdit", tag: "organization", sum: "Edit an organisation", body: structs.EditOrgOption{}, status: 200, result: structs.Organization{}},
	{method: "DELETE", path: "/orgs/{org}", id: "orgDelete", tag: "organization", sum: "Delete an organisation", status: 204},
	{method: "GET", path: "/orgs/{org}/members", id: "orgListMembers", tag: "organization", sum: "List an organisation's members", status: 200, result: []structs.User{}, paged: true},
	{method: "GET", path: "/orgs/{org}/members/{username}", id: "orgIsMember", tag: "organization", sum: "Check whether a user is a member (204) or not (404)", status: 204},
	{method: "PUT", path: "/orgs/{org}/members/{username}", id: "orgSetMember", tag: "organization", sum: "Add a member or change a member's role (Wharf: Gitea manages membership through teams)", body: structs.OrgMembershipOption{}, status: 204},
	{method: "DELETE", path: "/orgs/{org}/members/{username}", id: "orgDeleteMember", tag: "organization", sum: "Remove a member", status: 204},

	{method: "GET", path: "/user/repos", id: "userCurrentListRepos", tag: "repository", sum: "List the authenticated user's repositories", status: 200, result: []structs.Repository{}, paged: true},
	{method: "POST", path: "/user/repos", id: "createCurrentUserRepo", tag: "repository", sum: "Create a repository of the authenticated user", body: structs.CreateRepoOption{}, status: 201, result: structs.Repository{}},
	{method: "GET", path: "/orgs/{org}/repos", id: "orgListRepos", tag: "repository", sum: "List an organisation's repositories", status: 200, result: []structs.Repository{}, paged: true},
	{method: "POST", path: "/orgs/{org}/repos", id: "createOrgRepo", tag: "repository", sum: "Create a repository of an organisation", body: structs.CreateRepoOption{}, status: 201, result: structs.Repository{}},
	{method: "GET", path: "/users/{username}/repos", id: "userListRepos", tag: "repository", sum: "List a user's repositories", status: 200, result: []structs.Repository{}, paged: true},
	{method: "GET", path: "/repos/{owner}/{repo}", id: "repoGet", tag: "repository", sum: "Get a repository", status: 200, result: structs.Repository{}},
	{method: "DELETE", path: "/repos/{owner}/{repo}", id: "repoDelete", tag: "repository", sum: "Delete a repository", status: 204},
	{method: "GET", path: "/repos/{owner}/{repo}/branches", id: "repoListBranches", tag: "repository", sum: "List branches", status: 200, result: []structs.Branch{}, paged: true},
	{method: "GET", path: "/repos/{owner}/{repo}/branches/{branch}", id: "repoGetBranch", tag: "repository", sum: "Get a branch", status: 200, result: structs.Branch{}},
	{method: "GET", path: "/repos/{owner}/{repo}/tags", id: "repoListTags", tag: "repository", sum: "List tags", status: 200, result: []structs.Tag{}, paged: true},
	{method: "POST", path: "/repos/{owner}/{repo}/tags", id: "repoCreateTag", tag: "repository", sum: "Create a tag (annotated when a message is given)", body: structs.CreateTagOption{}, status: 201, result: structs.Tag{}},
	{method: "GET", path: "/repos/{owner}/{repo}/tags/{tag}", id: "repoGetTag", tag: "repository", sum: "Get a tag", status: 200, result: structs.Tag{}},
	{method: "DELETE", path: "/repos/{owner}/{repo}/tags/{tag}", id: "repoDeleteTag", tag: "repository", sum: "Delete a tag", status: 204},
	{method: "GET", path: "/repos/{owner}/{repo}/archive/{archive}", id: "repoGetArchive", tag: "repository", sum: "Get an archive of a branch, tag or commit: {ref}.zip or {ref}.tar.gz (also served at /{owner}/{repo}/archive/{archive}, the tags' zipball_url and tarball_url)", status: 200, result: binary{produces: []string{"application/zip", "application/gzip"}}},
	{method: "GET", path: "/repos/{owner}/{repo}/raw/{filepath}", id: "repoGetRawFile", tag: "repository", sum: "Get a file's bytes", query: []string{"ref"}, status: 200, result: binary{produces: []string{"application/octet-stream"}}},
	{method: "GET", path: "/repos/{owner}/{repo}/git/commits/{sha}", id: "repoGetSingleCommit", tag: "repository", sum: "Get a commit (by id, or by branch or tag name)", status: 200, result: structs.Commit{}},
	{method: "GET", path: "/repos/{owner}/{repo}/languages", id: "repoGetLanguages", tag: "repository", sum: "Bytes of each language on the default branch, by file extension; vendored, generated and hidden files count for none", status: 200, result: map[string]int64{}},

	{method: "GET", path: "/packages/{owner}", id: "listPackages", tag: "package", sum: "List an owner's package versions", query: []string{"q", "type"}, status: 200, result: []structs.Package{}, paged: true},
	{method: "GET", path: "/packages/{owner}/{type}/{name}", id: "listPackageVersions", tag: "package", sum: "List a package's versions", status: 200, result: []structs.Package{}, paged: true},
	{method: "GET", path: "/packages/{owner}/{type}/{name}/-/latest", id: "getLatestPackageVersion", tag: "package", sum: "Get a package's latest version, in the format's version order", status: 200, result: structs.Package{}},
	{method: "GET", path: "/packages/{owner}/cargo/-/index", id: "getCargoIndex", tag: "package", sum: "Whether the owner's cargo git index exists, its repository and last commit", status: 200, result: CargoIndex{}},
	{method: "POST", path: "/packages/{owner}/cargo/-/index", id: "initCargoIndex", tag: "package", sum: "Create the owner's cargo git index ({owner}/_cargo-index) with every crate published so far: 201, or 200 when it exists", status: 201, result: CargoIndex{}},
	{method: "POST", path: "/packages/{owner}/cargo/-/index/rebuild", id: "rebuildCargoIndex", tag: "package", sum: "Rewrite every file of the owner's cargo git index from the registry", status: 200, result: CargoIndex{}},
	{method: "GET", path: "/packages/{owner}/-/rules", id: "listCleanupRules", tag: "package", sum: "List the owner's cleanup rules (Wharf; the owner, owners of the organisation and administrators)", status: 200, result: []CleanupRule{}},
	{method: "POST", path: "/packages/{owner}/-/rules", id: "createCleanupRule", tag: "package", sum: "Create a cleanup rule for one package type (Gitea's fields; patterns are anchored and case-insensitive, a bad one is a 422 naming the field)", body: CleanupRuleOption{}, status: 201, result: CleanupRule{}},
	{method: "GET", path: "/packages/{owner}/-/rules/{id}", id: "getCleanupRule", tag: "package", sum: "Get a cleanup rule", status: 200, result: CleanupRule{}},
	{method: "PATCH", path: "/packages/{owner}/-/rules/{id}", id: "editCleanupRule", tag: "package", sum: "Change the fields given of a cleanup rule", body: CleanupRuleOption{}, status: 200, result: CleanupRule{}},
	{method: "DELETE", path: "/packages/{owner}/-/rules/{id}", id: "deleteCleanupRule", tag: "package", sum: "Delete a cleanup rule", status: 204},
	{method: "GET", path: "/packages/{owner}/-/rules/{id}/preview", id: "previewCleanupRule", tag: "package", sum: "What running the rule now would remove (the run's own selection), and the versions it keeps with the reason (dist-tags, Composer sources, npm's unpublish policy)", status: 200, result: CleanupResult{}},
	{method: "POST", path: "/packages/{owner}/-/rules/{id}/run", id: "runCleanupRule", tag: "package", sum: "Apply the rule now (enabled or not) and return what it removed", status: 200, result: CleanupResult{}},
	{method: "GET", path: "/packages/{owner}/-/virtual/{type}", id: "getVirtualRegistry", tag: "package", sum: "The organisation's virtual registry of one type (npm, composer, cargo, generic; Wharf): its members in order (credentials never shown; a member the caller may not see is hidden) and the member publishes go to", status: 200, result: VirtualRegistry{}},
	{method: "PUT", path: "/packages/{owner}/-/virtual/{type}", id: "setVirtualRegistry", tag: "package", sum: "Make the organisation a virtual registry of one type over ordered members (owners of this instance, upstream registry URLs with optional credentials and name patterns); no members makes it ordinary again. Owners of the organisation and administrators; 422 for a cycle, an unknown owner, a non-http(s) upstream or this instance", body: VirtualRegistry{}, status: 200, result: VirtualRegistry{}},
	{method: "GET", path: "/packages/{owner}/-/storage", id: "getPackageStorage", tag: "package", sum: "The bytes of the owner's package files (the owner, owners of the organisation and administrators)", status: 200, result: OwnerStorage{}},
	{method: "POST", path: "/packages/{owner}/{type}/{name}/-/link/{repo_name}", id: "linkPackage", tag: "package", sum: "Link a package to one of its owner's repositories", status: 201},
	{method: "POST", path: "/packages/{owner}/{type}/{name}/-/unlink", id: "unlinkPackage", tag: "package", sum: "Unlink a package from its repository", status: 204},
	{method: "GET", path: "/packages/{owner}/{type}/{name}/{version}", id: "getPackage", tag: "package", sum: "Get a package version", status: 200, result: structs.Package{}},
	{method: "DELETE", path: "/packages/{owner}/{type}/{name}/{version}", id: "deletePackage", tag: "package", sum: "Delete a package version", status: 204},
	{method: "POST", path: "/packages/{owner}/{type}/{name}/{version}/-/yank", id: "yankPackage", tag: "package", sum: "Yank a package version (formats that yank: cargo, rubygems): kept, hidden from what clients resolve", status: 204},
	{method: "POST", path: "/packages/{owner}/{type}/{name}/{version}/-/unyank", id: "unyankPackage", tag: "package", sum: "Undo a yank (formats that yank: cargo, rubygems)", status: 204},
	{method: "GET", path: "/packages/{owner}/{type}/{name}/{version}/files", id: "listPackageFiles", tag: "package", sum: "List a package version's files", status: 200, result: []structs.PackageFile{}},

	{method: "GET", path: "/admin/users", id: "adminSearchUsers", tag: "admin", sum: "List every user", status: 200, result: []structs.User{}, paged: true},
	{method: "POST", path: "/admin/users", id: "adminCreateUser", tag: "admin", sum: "Create a user", body: structs.CreateUserOption{}, status: 201, result: structs.User{}},
	{method: "DELETE", path: "/admin/users/{username}", id: "adminDeleteUser", tag: "admin", sum: "Delete a user", status: 204},
	{method: "POST", path: "/admin/users/{username}/orgs", id: "adminCreateOrg", tag: "admin", sum: "Create an organisation owned by a user", body: structs.CreateOrgOption{}, status: 201, result: structs.Organization{}},
	{method: "GET", path: "/admin/orgs", id: "adminGetAllOrgs", tag: "admin", sum: "List every organisation", status: 200, result: []structs.Organization{}, paged: true},
	{method: "GET", path: "/admin/cleanup", id: "adminCleanupStatus", tag: "admin", sum: "The cleanup tasks' last runs and the instance's blob storage, referenced and unreferenced", status: 200, result: CleanupStatus{}},
	{method: "POST", path: "/admin/cleanup/{task}", id: "adminRunCleanup", tag: "admin", sum: "Run a cleanup task now as its singleton job: rules, blobs, uploads or empty (409 while it runs elsewhere)", status: 200, result: CleanupRun{}},
}

// pathParams describes the path parameters by name.
var pathParams = map[string]string{
	"username":  "name of the user",
	"org":       "name of the organisation",
	"owner":     "name of the owner (a user or an organisation)",
	"repo":      "name of the repository",
	"repo_name": "name of a repository of the package's owner",
	"token":     "id or name of the token",
	"branch":    "name of the branch (may contain slashes)",
	"tag":       "name of the tag (may contain slashes)",
	"archive":   "the ref and the format: {ref}.zip or {ref}.tar.gz",
	"filepath":  "path of the file in the repository",
	"sha":       "full commit id, or a branch or tag name",
	"type":      "package type: generic, npm, composer, cargo, rubygems",
	"name":      "package name",
	"version":   "package version",
	"id":        "id of the cleanup rule",
	"task":      "cleanup task: rules, blobs, uploads or empty",
}

// queryParams describes the query parameters by name: type and text.
var queryParams = map[string][2]string{
	"page":  {"integer", "page number of results to return (1-based)"},
	"limit": {"integer", "page size of results"},
	"q":     {"string", "keyword"},
	"uid":   {"integer", "id of the user to find"},
	"type":  {"string", "package type to list"},
	"ref":   {"string", "branch, tag or commit id (default: the default branch)"},
}

// The document's shapes (Swagger 2.0).
type (
	swaggerDoc struct {
		Swagger             string                                  `json:"swagger"`
		Info                swaggerInfo                             `json:"info"`
		BasePath            string                                  `json:"basePath"`
		Consumes            []string                                `json:"consumes"`
		Produces            []string                                `json:"produces"`
		Paths               map[string]map[string]*swaggerOperation `json:"paths"`
		Definitions         map[string]*swaggerSchema               `json:"definitions"`
		Responses           map[string]*swaggerResponse             `json:"responses"`
		SecurityDefinitions map[string]swaggerSecurityScheme        `json:"securityDefinitions"`
		Security            []map[string][]string                   `json:"security"`
	}
	swaggerInfo struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		Version     string `json:"version"`
	}
	swaggerOperation struct {
		Tags        []string                    `json:"tags"`
		Summary     string                      `json:"summary"`
		OperationID string                      `json:"operationId"`
		Produces    []string                    `json:"produces,omitempty"`
		Parameters  []swaggerParameter          `json:"parameters,omitempty"`
		Responses   map[string]*swaggerResponse `json:"responses"`
	}
	swaggerParameter struct {
		Name        string         `json:"name"`
		In          string         `json:"in"`
		Description string         `json:"description,omitempty"`
		Required    bool           `json:"required,omitempty"`
		Type        string         `json:"type,omitempty"`
		Schema      *swaggerSchema `json:"schema,omitempty"`
	}
	swaggerResponse struct {
		Ref         string                   `json:"$ref,omitempty"`
		Description string                   `json:"description,omitempty"`
		Schema      *swaggerSchema           `json:"schema,omitempty"`
		Headers     map[string]swaggerHeader `json:"headers,omitempty"`
	}
	swaggerHeader struct {
		Type        string `json:"type"`
		Description string `json:"description"`
	}
	swaggerSchema struct {
		Ref                  string                    `json:"$ref,omitempty"`
		Type                 string                    `json:"type,omitempty"`
		Format               string                    `json:"format,omitempty"`
		Items                *swaggerSchema            `json:"items,omitempty"`
		Properties           map[string]*swaggerSchema `json:"properties,omitempty"`
		AdditionalProperties *swaggerSchema            `json:"additionalProperties,omitempty"`
	}
	swaggerSecurityScheme struct {
		Type        string `json:"type"`
		Name        string `json:"name,omitempty"`
		In          string `json:"in,omitempty"`
		Description string `json:"description,omitempty"`
	}
)

// buildSwagger writes the document for an instance whose root URL is
// rootURL; basePath follows its sub-path.
func buildSwagger(rootURL, version string) ([]byte, error) {
	base := "/"
	if u, err := url.Parse(rootURL); err == nil && u.Path != "" {
		base = u.Path
	}
	doc := swaggerDoc{
		Swagger: "2.0",
		Info: swaggerInfo{
			Title:       "Wharf API",
			Description: "The routes of Gitea's REST API v1 that Wharf implements, in Gitea's shapes, plus Wharf's additions. Errors answer {\"message\", \"url\"}, url naming this document.",
			Version:     version,
		},
		BasePath:    strings.TrimSuffix(base, "/") + "/api/v1",
		Consumes:    []string{"application/json"},
		Produces:    []string{"application/json"},
		Paths:       map[string]map[string]*swaggerOperation{},
		Definitions: map[string]*swaggerSchema{},
		Responses: map[string]*swaggerResponse{
			"error": {Description: "an error: the status says which, message says why", Schema: &swaggerSchema{Ref: "#/definitions/APIError"}},
		},
		SecurityDefinitions: map[string]swaggerSecurityScheme{
			"BasicAuth":          {Type: "basic", Description: "user name and password, or user name and an access token as the password"},
			"AuthorizationToken": {Type: "apiKey", In: "header", Name: "Authorization", Description: "an access token: \"token <token>\" or \"Bearer <token>\""},
		},
		Security: []map[string][]string{{"BasicAuth": {}}, {"AuthorizationToken": {}}},
	}
	g := schemaGen{defs: doc.Definitions}
	g.schema(reflect.TypeFor[structs.APIError]())
	for _, op := range apiOps {
		o := &swaggerOperation{
			Tags: []string{op.tag}, Summary: op.sum, OperationID: op.id,
			Responses: map[string]*swaggerResponse{"default": {Ref: "#/responses/error"}},
		}
		for _, seg := range strings.Split(op.path, "/") {
			name, ok := strings.CutPrefix(seg, "{")
			if !ok {
				continue
			}
			name = strings.TrimSuffix(name, "}")
			desc, known := pathParams[name]
			if !known {
				return nil, fmt.Errorf("%s %s: path parameter %q is not described", op.method, op.path, name)
			}
			o.Parameters = append(o.Parameters, swaggerParameter{Name: name, In: "path", Description: desc, Required: true, Type: "string"})
		}
		query := op.query
		if op.paged {
			query = append(query[:len(query):len(query)], "page", "limit")
		}
		for _, name := range query {
			q, known := queryParams[name]
			if !known {
				return nil, fmt.Errorf("%s %s: query parameter %q is not described", op.method, op.path, name)
			}
			o.Parameters = append(o.Parameters, swaggerParameter{Name: name, In: "query", Type: q[0], Description: q[1]})
		}
		if op.body != nil {
			o.Parameters = append(o.Parameters, swaggerParameter{Name: "body", In: "body", Schema: g.schema(reflect.TypeOf(op.body))})
		}
		ok := &swaggerResponse{Description: http.StatusText(op.status)}
		switch res := op.result.(type) {
		case nil:
		case binary:
			o.Produces = res.produces
			ok.Schema = &swaggerSchema{Type: "file"}
		default:
			ok.Schema = g.schema(reflect.TypeOf(res))
		}
		if op.paged {
			ok.Headers = map[string]swaggerHeader{
				"X-Total-Count": {Type: "integer", Description: "the number of items on all pages together"},
				"Link":          {Type: "string", Description: "the next, previous, first and last pages"},
			}
		}
		o.Responses[fmt.Sprint(op.status)] = ok
		methods := doc.Paths[op.path]
		if methods == nil {
			methods = map[string]*swaggerOperation{}
			doc.Paths[op.path] = methods
		}
		m := strings.ToLower(op.method)
		if _, dup := methods[m]; dup {
			return nil, fmt.Errorf("%s %s is documented twice", op.method, op.path)
		}
		methods[m] = o
	}
	return json.MarshalIndent(doc, "", "  ")
}

// schemaGen turns the structs types into definitions, so that the document
// shows exactly what the handlers encode.
type schemaGen struct{ defs map[string]*swaggerSchema }

var timeType = reflect.TypeFor[time.Time]()

func (g schemaGen) schema(t reflect.Type) *swaggerSchema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return &swaggerSchema{Type: "string", Format: "date-time"}
	case t.Kind() == reflect.Struct:
		name := t.Name()
		if _, done := g.defs[name]; !done {
			def := &swaggerSchema{Type: "object", Properties: map[string]*swaggerSchema{}}
			g.defs[name] = def // before the fields: a type may refer to itself
			g.fields(t, def)
		}
		return &swaggerSchema{Ref: "#/definitions/" + name}
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return &swaggerSchema{Type: "array", Items: g.schema(t.Elem())}
	case t.Kind() == reflect.Map:
		return &swaggerSchema{Type: "object", AdditionalProperties: g.schema(t.Elem())}
	case t.Kind() == reflect.String:
		return &swaggerSchema{Type: "string"}
	case t.Kind() == reflect.Bool:
		return &swaggerSchema{Type: "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		if t.Size() == 8 {
			return &swaggerSchema{Type: "integer", Format: "int64"}
		}
		return &swaggerSchema{Type: "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return &swaggerSchema{Type: "number"}
	}
	return &swaggerSchema{} // any
}

// fields adds t's JSON fields to def, flattening embedded structs as
// encoding/json does.
func (g schemaGen) fields(t reflect.Type, def *swaggerSchema) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, def)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		def.Properties[name] = g.schema(f.Type)
	}
}

// swaggerFor builds the document once per handler.
func (h *Handler) swaggerFor() ([]byte, string, error) {
	h.swaggerOnce.Do(func() {
		h.swaggerJSON, h.swaggerErr = buildSwagger(h.RootURL, GiteaCompatVersion+"+wharf-"+h.Version)
		sum := sha256.Sum256(h.swaggerJSON)
		h.swaggerETag = `"` + hex.EncodeToString(sum[:16]) + `"`
	})
	return h.swaggerJSON, h.swaggerETag, h.swaggerErr
}

func (h *Handler) serveSwagger(w http.ResponseWriter, r *http.Request) {
	body, etag, err := h.swaggerFor()
	if err != nil {
		h.Log.ErrorContext(r.Context(), "build the API document", "err", err)
		h.writeError(w, r, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(body)
}
