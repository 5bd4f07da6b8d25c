package rubygems

import (
	"regexp"
	"strings"

	"wharf/modules/apperr"
)

// PlatformRuby is the platform of a pure-Ruby gem, Gem::Platform::RUBY.
const PlatformRuby = "ruby"

// platform is a Gem::Platform: cpu, os and version, each possibly nil
// (set false).
type platform struct {
	cpu, os, version optString
}

type optString struct {
	s   string
	set bool
}

func some(s string) optString { return optString{s: s, set: true} }

// String is Gem::Platform#to_s: the parts that are not nil, joined by "-".
func (p platform) String() string {
	var parts []string
	for _, o := range []optString{p.cpu, p.os, p.version} {
		if o.set {
			parts = append(parts, o.s)
		}
	}
	return strings.Join(parts, "-")
}

// platformPart is one "-"-separated part of a platform string as this
// registry accepts it: Ruby's \w and dots, never empty.
var platformPart = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)

// ValidatePlatform checks a gem's platform: "ruby", or a platform string
// that RubyGems reads back as itself. Gem::Platform.new normalizes what it
// is given ("i686-linux" is x86-linux, "x86_64-linux-gnu" is x86_64-linux,
// "jruby" is java), and the gem's file names use the normalized form while
// the gem says the other: rubygems.org refuses such a gem (its version's
// full name must equal the spec's original_name), and so does this.
// The rules are RubyGems 3.3's (Gem::Platform#initialize).
func ValidatePlatform(s string) error {
	if s == PlatformRuby {
		return nil
	}
	if s == "" {
		return apperr.New(apperr.Invalid, "the gem's platform is empty")
	}
	if len(s) > MaxFieldLength {
		return apperr.New(apperr.Invalid, "the gem's platform is longer than %d characters", MaxFieldLength)
	}
	if s == "current" {
		return apperr.New(apperr.Invalid, "the gem's platform is \"current\"; build it for a named platform, such as x86_64-linux")
	}
	for _, part := range strings.Split(s, "-") {
		if !platformPart.MatchString(part) {
			return apperr.New(apperr.Invalid, "the gem's platform %q is not a RubyGems platform, such as x86_64-linux or java", s)
		}
	}
	if got := parsePlatform(s).String(); got != s {
		return apperr.New(apperr.Invalid, "RubyGems reads the gem's platform %q as %q; build the gem with platform %q", s, got, got)
	}
	return nil
}

var (
	reDigit       = regexp.MustCompile(`\d`)
	reX86         = regexp.MustCompile(`i\d86`)
	reNumeric     = regexp.MustCompile(`^\d+(\.\d+)?$`)
	reAix         = regexp.MustCompile(`aix(\d+)?`)
	reCygwin      = regexp.MustCompile(`cygwin`)
	reDarwin      = regexp.MustCompile(`darwin(\d+)?`)
	reMacruby     = regexp.MustCompile(`^macruby$`)
	reFreebsd     = regexp.MustCompile(`freebsd(\d+)?`)
	reHpux        = regexp.MustCompile(`hpux(\d+)?`)
	reJava        = regexp.MustCompile(`^(java|jruby)$`)
	reJavaVersion = regexp.MustCompile(`^java([\d.]*)`)
	reDalvik      = regexp.MustCompile(`^dalvik(\d+)?$`)
	reDotnet      = regexp.MustCompile(`^dotnet$`)
	reDotnetVer   = regexp.MustCompile(`^dotnet([\d.]*)`)
	reMingw32     = regexp.MustCompile(`mingw32`)
	reMingw       = regexp.MustCompile(`mingw-?(\w+)?`)
	reMswin       = regexp.MustCompile(`(mswin\d+)(_(\d+))?`)
	reNetbsdelf   = regexp.MustCompile(`netbsdelf`)
	reOpenbsd     = regexp.MustCompile(`openbsd(\d+\.\d+)?`)
	reBitrig      = regexp.MustCompile(`bitrig(\d+\.\d+)?`)
	reSolaris     = regexp.MustCompile(`solaris(\d+\.\d+)?`)
	reTest        = regexp.MustCompile(`^(\w+_platform)(\d+)?`)
	reEnd32       = regexp.MustCompile(`32$`)
)

// group returns submatch n of the first match of re in s, nil when the
// group did not take part, as Ruby's $n.
func group(re *regexp.Regexp, s string, n int) (optString, bool) {
	m := re.FindStringSubmatchIndex(s)
	if m == nil {
		return optString{}, false
	}
	if n == 0 || m[2*n] < 0 {
		return optString{}, true
	}
	return some(s[m[2*n]:m[2*n+1]]), true
}

// linuxVersion is Ruby's /linux-?((?!gnu)\w+)?/ (RE2 has no lookahead):
// whether s holds "linux", and the word after it (past one optional "-")
// unless that word starts with "gnu".
func linuxVersion(s string) (optString, bool) {
	i := strings.Index(s, "linux")
	if i < 0 {
		return optString{}, false
	}
	rest := strings.TrimPrefix(s[i+len("linux"):], "-")
	if strings.HasPrefix(rest, "gnu") {
		return optString{}, true
	}
	n := 0
	for n < len(rest) && isWordByte(rest[n]) {
		n++
	}
	if n == 0 {
		return optString{}, true
	}
	return some(rest[:n]), true
}

func isWordByte(c byte) bool { return isASCIILetter(c) || c >= '0' && c <= '9' || c == '_' }

// parsePlatform is Gem::Platform.new(string) of RubyGems 3.3 for a string
// that passed the part check of ValidatePlatform (so Ruby's split gives
// no empty parts).
func parsePlatform(s string) platform {
	arch := strings.Split(s, "-")
	if len(arch) > 2 && !reDigit.MatchString(arch[len(arch)-1]) { // reassemble x86-linux-gnu
		extra := arch[len(arch)-1]
		arch = arch[:len(arch)-1]
		arch[len(arch)-1] += "-" + extra
	}
	cpu := arch[0]
	arch = arch[1:]
	var p platform
	if reX86.MatchString(cpu) {
		p.cpu = some("x86")
	} else {
		p.cpu = some(cpu)
	}
	if len(arch) == 2 && reNumeric.MatchString(arch[1]) { // for command-line
		p.os, p.version = some(arch[0]), some(arch[1])
		return p
	}
	var os string
	if len(arch) == 0 { // legacy jruby
		p.cpu, os = optString{}, cpu
	} else {
		os = arch[0]
	}
	named := func(name string, version optString) platform {
		p.os, p.version = some(name), version
		return p
	}
	if v, ok := group(reAix, os, 1); ok {
		return named("aix", v)
	}
	if reCygwin.MatchString(os) {
		return named("cygwin", optString{})
	}
	if v, ok := group(reDarwin, os, 1); ok {
		return named("darwin", v)
	}
	if reMacruby.MatchString(os) {
		return named("macruby", optString{})
	}
	if v, ok := group(reFreebsd, os, 1); ok {
		return named("freebsd", v)
	}
	if v, ok := group(reHpux, os, 1); ok {
		return named("hpux", v)
	}
	if reJava.MatchString(os) {
		return named("java", optString{})
	}
	if v, ok := group(reJavaVersion, os, 1); ok {
		return named("java", v)
	}
	if v, ok := group(reDalvik, os, 1); ok {
		return named("dalvik", v)
	}
	if reDotnet.MatchString(os) {
		return named("dotnet", optString{})
	}
	if v, ok := group(reDotnetVer, os, 1); ok {
		return named("dotnet", v)
	}
	if v, ok := linuxVersion(os); ok {
		return named("linux", v)
	}
	if reMingw32.MatchString(os) {
		return named("mingw32", optString{})
	}
	if v, ok := group(reMingw, os, 1); ok {
		return named("mingw", v)
	}
	if m := reMswin.FindStringSubmatch(os); m != nil {
		var version optString
		if idx := reMswin.FindStringSubmatchIndex(os); idx[6] >= 0 {
			version = some(m[3])
		}
		if !p.cpu.set && reEnd32.MatchString(m[1]) {
			p.cpu = some("x86")
		}
		return named(m[1], version)
	}
	if reNetbsdelf.MatchString(os) {
		return named("netbsdelf", optString{})
	}
	if v, ok := group(reOpenbsd, os, 1); ok {
		return named("openbsd", v)
	}
	if v, ok := group(reBitrig, os, 1); ok {
		return named("bitrig", v)
	}
	if v, ok := group(reSolaris, os, 1); ok {
		return named("solaris", v)
	}
	if m := reTest.FindStringSubmatchIndex(os); m != nil {
		var version optString
		if m[4] >= 0 {
			version = some(os[m[4]:m[5]])
		}
		return named(os[m[2]:m[3]], version)
	}
	return named("unknown", optString{})
}
