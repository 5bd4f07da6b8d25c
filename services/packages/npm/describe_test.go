package npm_test

import (
	"context"
	"reflect"
	"testing"

	packages_model "wharf/models/packages"
	packages_service "wharf/services/packages"
	npm_service "wharf/services/packages/npm"
)

func TestDescribeVersion(t *testing.T) {
	f := npm_service.NewFormat(npm_service.FormatDeps{})
	pv := &packages_model.PackageVersion{ID: 1, Version: "1.0.0", MetadataJSON: `{"name":"@s/w","version":"1.0.0","description":"widgets",
		"license":{"type":"ISC"},"homepage":"https://h","deprecated":"use 2","author":{"name":"Al","email":"a@x"},"engines":{"node":">=18"},
		"dependencies":{"b":"^2","a":"^1","o":"3"},"devDependencies":{"t":"*"},"peerDependencies":{"p":"1"},"optionalDependencies":{"o":"3"}}`}
	d, err := f.DescribeVersion(context.Background(), nil, &packages_model.Package{Name: "@s/w"}, pv)
	if err != nil {
		t.Fatal(err)
	}
	if d.Description != "widgets" || d.License != "ISC" || d.Homepage != "https://h" || d.Deprecated != "use 2" {
		t.Fatalf("details %+v", d)
	}
	// Every dependency names its kind; an optional one, which npm writes
	// into dependencies too, is listed once, as optional.
	wantDeps := []packages_service.Dependency{{Name: "a", Requirement: "^1", Kind: "runtime"}, {Name: "b", Requirement: "^2", Kind: "runtime"},
		{Name: "p", Requirement: "1", Kind: "peer"}, {Name: "o", Requirement: "3", Kind: "optional"}, {Name: "t", Requirement: "*", Kind: "dev"}}
	if !reflect.DeepEqual(d.Dependencies, wantDeps) {
		t.Fatalf("dependencies %+v", d.Dependencies)
	}
	if !reflect.DeepEqual(d.Facts, []packages_service.Fact{{Name: "Author", Value: "Al"}, {Name: "Node.js", Value: ">=18"}}) {
		t.Fatalf("facts %+v", d.Facts)
	}
	// A manifest that is not JSON shows no details, and no error.
	if d, err := f.DescribeVersion(context.Background(), nil, &packages_model.Package{}, &packages_model.PackageVersion{MetadataJSON: "{"}); err != nil || d.Description != "" {
		t.Fatalf("broken manifest: %+v %v", d, err)
	}
	marks, err := f.MarkVersions(context.Background(), nil, nil, []*packages_model.PackageVersion{pv, {ID: 2, MetadataJSON: `{"version":"2.0.0"}`}})
	if err != nil || !reflect.DeepEqual(marks, map[int64]string{1: "deprecated: use 2"}) {
		t.Fatalf("marks %v %v", marks, err)
	}
	for name, want := range map[string]string{"@s/w": "@s/w/-/w-1.0.0.tgz", "plain": "plain/-/w-1.0.0.tgz"} {
		if got := f.FilePath(&packages_model.Package{Name: name}, pv, "w-1.0.0.tgz"); got != want {
			t.Errorf("FilePath(%s) = %q, want %q", name, got, want)
		}
	}
}
