package composer_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	packages_model "wharf/models/packages"
	packages_service "wharf/services/packages"
	composer_service "wharf/services/packages/composer"
)

func TestDescribeVersion(t *testing.T) {
	f := composer_service.NewFormat(time.Now)
	p := &packages_model.Package{Name: "Vendor/Lib", LowerName: "vendor/lib"}
	pv := &packages_model.PackageVersion{Version: "1.0.0", MetadataJSON: `{"composer_json":{"name":"vendor/lib","description":"a lib",
		"license":["MIT","GPL-2.0"],"homepage":"https://h","type":"library","authors":[{"name":"Al"},{"name":"Bo"}],
		"require":{"php":">=8.1","psr/log":"^3"},"require-dev":{"phpunit/phpunit":"^10"}},"version_normalized":"1.0.0.0","dist_type":"zip",
		"source":{"repo_id":7,"ref":"refs/tags/v1.0.0","commit":"0123456789abcdef0123456789abcdef01234567","url":"http://x/a/b.git"}}`}
	d, err := f.DescribeVersion(context.Background(), nil, p, pv)
	if err != nil {
		t.Fatal(err)
	}
	if d.Description != "a lib" || d.License != "MIT, GPL-2.0" || d.Homepage != "https://h" {
		t.Fatalf("details %+v", d)
	}
	wantDeps := []packages_service.Dependency{{Name: "php", Requirement: ">=8.1"}, {Name: "psr/log", Requirement: "^3"}, {Name: "phpunit/phpunit", Requirement: "^10", Kind: "dev"}}
	if !reflect.DeepEqual(d.Dependencies, wantDeps) {
		t.Fatalf("dependencies %+v", d.Dependencies)
	}
	if !reflect.DeepEqual(d.Facts, []packages_service.Fact{{Name: "Type", Value: "library"}, {Name: "Authors", Value: "Al, Bo"}}) {
		t.Fatalf("facts %+v", d.Facts)
	}
	if d.Source == nil || d.Source.RepoID != 7 || d.Source.Ref != "refs/tags/v1.0.0" || d.Source.Commit != "0123456789abcdef0123456789abcdef01234567" {
		t.Fatalf("source %+v", d.Source)
	}
	want := []packages_service.PendingFile{{Name: "vendor-lib-1.0.0-0123456789ab.zip", Path: "files/vendor/lib/1.0.0/vendor-lib-1.0.0-0123456789ab.zip"}}
	if !reflect.DeepEqual(d.Pending, want) {
		t.Fatalf("pending %+v", d.Pending)
	}
	// An upload has no source and nothing pending.
	up := &packages_model.PackageVersion{Version: "2.0.0", MetadataJSON: `{"composer_json":{"license":"MIT"},"dist_type":"zip"}`}
	if d, err := f.DescribeVersion(context.Background(), nil, p, up); err != nil || d.Source != nil || d.Pending != nil || d.License != "MIT" {
		t.Fatalf("upload: %+v %v", d, err)
	}
}
