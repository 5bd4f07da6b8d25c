package rubygems_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	packages_model "wharf/models/packages"
	packages_service "wharf/services/packages"
	rubygems_service "wharf/services/packages/rubygems"
)

func TestDescribeVersion(t *testing.T) {
	f := rubygems_service.NewFormat(time.Now)
	pv := &packages_model.PackageVersion{Version: "1.2.0", MetadataJSON: `{"name":"shiny","version":"1.2.0","platform":"java","summary":"shines",
		"description":"long","authors":["Al"],"homepage":"https://h","licenses":["MIT"],"required_ruby_version":[">= 3.0"],
		"required_rubygems_version":[">= 0"],"dependencies":[{"name":"rake","requirements":["~> 13.0",">= 13.0.1"],"type":"development"},
		{"name":"json","requirements":[">= 2"],"type":"runtime"}],"date":"2026-01-01T00:00:00Z","specification_version":4}`}
	d, err := f.DescribeVersion(context.Background(), nil, &packages_model.Package{Name: "shiny"}, pv)
	if err != nil {
		t.Fatal(err)
	}
	if d.Description != "shines" || d.License != "MIT" || d.Homepage != "https://h" {
		t.Fatalf("details %+v", d)
	}
	wantDeps := []packages_service.Dependency{{Name: "rake", Requirement: "~> 13.0, >= 13.0.1", Kind: "development"}, {Name: "json", Requirement: ">= 2"}}
	if !reflect.DeepEqual(d.Dependencies, wantDeps) {
		t.Fatalf("dependencies %+v", d.Dependencies)
	}
	wantFacts := []packages_service.Fact{{Name: "Authors", Value: "Al"}, {Name: "Platform", Value: "java"}, {Name: "Ruby version", Value: ">= 3.0"}}
	if !reflect.DeepEqual(d.Facts, wantFacts) {
		t.Fatalf("facts %+v", d.Facts)
	}
	if got := f.FilePath(nil, pv, "shiny-1.2.0-java.gem"); got != "gems/shiny-1.2.0-java.gem" {
		t.Fatalf("FilePath %q", got)
	}
}
