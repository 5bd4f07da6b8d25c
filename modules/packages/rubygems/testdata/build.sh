#!/bin/sh
# Builds the .gem fixtures of this folder with the real `gem build`
# (RubyGems 3.3 from Debian). Run from anywhere: sh testdata/build.sh
# The date inside each gem comes from SOURCE_DATE_EPOCH, so a rebuild with
# the same RubyGems gives the same gemspecs (the tar and gzip bytes may
# still differ in their timestamps).
set -eu
out=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir lib
echo 'module Hola; end' > lib/hola.rb
echo 'module Tiny; end' > lib/tiny.rb
export SOURCE_DATE_EPOCH=1704153600 # 2024-01-02

cat > hola.gemspec <<'SPEC'
Gem::Specification.new do |s|
  s.name = "hola"
  s.version = ENV.fetch("HOLA_VERSION")
  s.platform = ENV["HOLA_PLATFORM"] if ENV["HOLA_PLATFORM"]
  s.summary = "Hola!"
  s.description = "A gem that says hola, with a runtime and a development dependency."
  s.authors = ["Ann Author", "Bob Builder"]
  s.email = "ann@example.com"
  s.homepage = "https://example.com/hola"
  s.license = "MIT"
  s.files = ["lib/hola.rb"]
  s.metadata = { "source_code_uri" => "https://example.com/hola/src", "rubygems_mfa_required" => "true" }
  s.required_ruby_version = ">= 2.7.0"
  s.add_dependency "tiny", "~> 0.1", ">= 0.1.2"
  s.add_development_dependency "minitest", "~> 5.0"
end
SPEC
HOLA_VERSION=1.0.0 gem build hola.gemspec >/dev/null 2>&1
HOLA_VERSION=2.0.0.beta1 gem build hola.gemspec >/dev/null 2>&1
HOLA_VERSION=1.0.0 HOLA_PLATFORM=x86_64-linux gem build hola.gemspec >/dev/null 2>&1

cat > tiny.gemspec <<'SPEC'
Gem::Specification.new do |s|
  s.name = "tiny"
  s.version = "0.1.2"
  s.summary = "Tiny"
  s.authors = ["Ann Author"]
  s.email = ["ann@example.com", "tiny@example.com"]
  s.files = ["lib/tiny.rb"]
end
SPEC
gem build tiny.gemspec >/dev/null 2>&1

cp hola-1.0.0.gem hola-2.0.0.beta1.gem hola-1.0.0-x86_64-linux.gem tiny-0.1.2.gem "$out/"
