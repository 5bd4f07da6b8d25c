package web

import (
	"html"
	"strings"
	"testing"
)

// renderInstall renders a format's install template and returns it as a
// reader sees it (HTML entities decoded).
func renderInstall(t *testing.T, in installData) string {
	t.Helper()
	tmpl, err := parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	out, err := (&Handler{tmpl: tmpl}).installFor(in)
	if err != nil {
		t.Fatal(err)
	}
	return html.UnescapeString(string(out))
}

// installCase is the data of a version page of owner o.k on root.
func installCase(root, typ, name, scope string, private bool, files ...fileItem) installData {
	reg := root + "api/packages/o.k/" + typ + "/"
	return installData{RootURL: root, Owner: "o.k", Type: typ, Name: name, Version: "1.2.3", Registry: reg,
		RegistryURL: strings.TrimSuffix(reg, "/"), Scope: scope, Ident: ident("o.k"), Files: files,
		NeedsCredentials: private, PlainHTTP: strings.HasPrefix(root, "http://")}
}

// TestInstallLines: the lines each format's template shows, for public
// and private owners on http and https instances: data in shell words is
// quoted, credentials and their hint appear only when the owner is not
// public, and each client gets what it needs to run the lines as shown.
func TestInstallLines(t *testing.T) {
	const root, sroot = "http://x:3000/sub/", "https://x.example/"
	odd := []fileItem{
		{Name: "a b.txt", URL: root + "api/packages/o.k/generic/f/1/a%20b.txt"},
		{Name: "$(id);echo pwned", URL: root + "api/packages/o.k/generic/f/1/$%28id%29;echo%20pwned"},
		{Name: "it's", URL: root + "api/packages/o.k/generic/f/1/it%27s"},
	}
	hint := "user/settings/applications"
	cases := []struct {
		name      string
		in        installData
		want, not []string
	}{
		{"generic public", installCase(root, "generic", "f", "", false, odd...), []string{
			`curl -fL -o 'a b.txt' http://x:3000/sub/api/packages/o.k/generic/f/1/a%20b.txt`,
			`curl -fL -o '$(id);echo pwned' 'http://x:3000/sub/api/packages/o.k/generic/f/1/$%28id%29;echo%20pwned'`,
			`curl -fL -o 'it'\''s' http://x:3000/sub/api/packages/o.k/generic/f/1/it%27s`,
		}, []string{"--user", hint, "not public"}},
		{"generic private", installCase(root, "generic", "f", "", true, odd[0]), []string{
			`curl -fL --user USERNAME:TOKEN -o 'a b.txt' http://x:3000/sub/api/packages/o.k/generic/f/1/a%20b.txt`,
			root + hint, "read:package",
		}, nil},
		// A type without a template of its own gets the generic one.
		{"future", installCase(root, "future", "f", "", false, odd[0]), []string{"curl -fL -o 'a b.txt'"}, nil},
		{"npm scoped public", installCase(root, "npm", "@o/w", "@o", false), []string{
			"@o:registry=http://x:3000/sub/api/packages/o.k/npm/", "npm install @o/w@1.2.3",
		}, []string{"_authToken", hint, "\nregistry="}},
		{"npm scoped private", installCase(sroot, "npm", "@o/w", "@o", true), []string{
			"@o:registry=https://x.example/api/packages/o.k/npm/\n//x.example/api/packages/o.k/npm/:_authToken=TOKEN", sroot + hint,
		}, nil},
		// An unscoped package is installed from its tarball: the page never
		// tells the reader to make the owner's registry the default one.
		{"npm unscoped public", installCase(root, "npm", "plain", "", false), []string{
			"npm install http://x:3000/sub/api/packages/o.k/npm/plain/-/plain-1.2.3.tgz",
		}, []string{"<pre>registry=", "\nregistry=", "_authToken", hint}},
		{"npm unscoped private", installCase(root, "npm", "plain", "", true), []string{
			"//x:3000/sub/api/packages/o.k/npm/:_authToken=TOKEN", "npm install http://x:3000/sub/api/packages/o.k/npm/plain/-/plain-1.2.3.tgz",
		}, []string{"<pre>registry=", "\nregistry="}},
		{"composer http public", installCase(root, "composer", "v/n", "v", false), []string{
			`"url": "http://x:3000/sub/api/packages/o.k/composer"`, `"config": {"secure-http": false}`, "composer require v/n:1.2.3",
		}, []string{"http-basic", hint}},
		{"composer https private", installCase(sroot, "composer", "v/n", "v", true), []string{
			`{"http-basic": {"x.example": {"username": "USERNAME", "password": "TOKEN"}}}`, sroot + hint,
		}, []string{"secure-http"}},
		{"composer http private", installCase(root, "composer", "v/n", "v", true), []string{
			`{"http-basic": {"x:3000": {"username": "USERNAME", "password": "TOKEN"}}}`, `"secure-http": false`,
		}, nil},
		{"cargo public", installCase(root, "cargo", "crab", "", false), []string{
			"[registries.o-k]\nindex = \"sparse+http://x:3000/sub/api/packages/o.k/cargo/\"</pre>", "cargo add crab@1.2.3 --registry o-k",
		}, []string{"credential-provider", "cargo login", hint}},
		{"cargo private", installCase(root, "cargo", "crab", "", true), []string{
			"index = \"sparse+http://x:3000/sub/api/packages/o.k/cargo/\"\ncredential-provider = [\"cargo:token\"]",
			"cargo login --registry o-k", root + hint,
		}, nil},
		{"go public", installCase(root, "go", "x/o.k/mod/v2", "x", false), []string{
			"export GOPROXY=http://x:3000/sub/api/packages/o.k/go\nexport GONOSUMDB=x\ngo get x/o.k/mod/v2@1.2.3",
		}, []string{".netrc", "TOKEN", hint}},
		{"go private", installCase(sroot, "go", "x.example/o.k/mod", "x.example", true), []string{
			"export GOPROXY=https://x.example/api/packages/o.k/go", "machine x.example login USERNAME password TOKEN", sroot + hint,
		}, nil},
		{"go private with a port", installCase("https://x.example:8443/", "go", "x.example/o.k/mod", "x.example", true), []string{
			"machine x.example:8443 login USERNAME password TOKEN",
		}, nil},
		{"rubygems public", installCase(root, "rubygems", "shiny", "", false), []string{
			`source "http://x:3000/sub/api/packages/o.k/rubygems" do`, `gem "shiny", "1.2.3"`,
			"gem install shiny --version 1.2.3 --source http://x:3000/sub/api/packages/o.k/rubygems/",
		}, []string{"bundle config", "TOKEN", hint}},
		{"rubygems private", installCase(root, "rubygems", "shiny", "", true), []string{
			"bundle config set --global http://x:3000/sub/api/packages/o.k/rubygems USERNAME:TOKEN",
			"gem install shiny --version 1.2.3 --source http://USERNAME:TOKEN@x:3000/sub/api/packages/o.k/rubygems/", root + hint,
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := renderInstall(t, c.in)
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("lacks %q:\n%s", w, out)
				}
			}
			for _, n := range c.not {
				if strings.Contains(out, n) {
					t.Errorf("shows %q:\n%s", n, out)
				}
			}
		})
	}
}
