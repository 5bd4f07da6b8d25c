package rubygems

import (
	"slices"
	"strings"
	"testing"

	rubygems_model "wharf/models/packages/rubygems"
	rubygems_module "wharf/modules/packages/rubygems"
)

func TestListingChange(t *testing.T) {
	for _, c := range []struct {
		before, after string
		want          []string
	}{
		{"", "1.0.0", []string{"1.0.0"}},
		{"1.0.0", "1.0.0,1.0.0-java", []string{"1.0.0-java"}},
		{"1.0.0,1.0.0-java,2.0.0", "2.0.0", []string{"-1.0.0", "-1.0.0-java"}},
		{"1.0.0", "", []string{"-1.0.0"}},
		{"1.0.0,2.0.0", "2.0.0,1.0.0", nil},
		{"1.0.0", "2.0.0", []string{"-1.0.0", "2.0.0"}},
	} {
		if got := listingChange(c.before, c.after); !slices.Equal(got, c.want) {
			t.Errorf("listingChange(%q, %q) = %q, want %q", c.before, c.after, got, c.want)
		}
	}
}

// TestRunningDigest: the digests of a versions file grown line by line,
// with the state stored and restored between lines, are those of the
// whole body.
func TestRunningDigest(t *testing.T) {
	vf, err := emptyVersionsFile(7, 1_700_000_000)
	if err != nil {
		t.Fatal(err)
	}
	body := versionsHeader(1_700_000_000)
	for _, l := range []string{"a 1.0 0123\n", "b 2.0,2.0-java 4567\n", "a -1.0 89ab\n"} {
		d, err := restoreDigest(vf)
		if err != nil {
			t.Fatal(err)
		}
		d.write(l)
		if err := d.store(vf); err != nil {
			t.Fatal(err)
		}
		body += l
		m, s := digestsOf([]byte(body))
		if vf.MD5 != m || vf.SHA256 != s {
			t.Fatalf("after %q: %s %s, want %s %s", l, vf.MD5, vf.SHA256, m, s)
		}
	}
	if !strings.HasPrefix(body, "created_at: 2023-11-14T22:13:20Z\n---\n") {
		t.Errorf("header: %q", body)
	}
	if _, err := restoreDigest(&rubygems_model.VersionsFile{MD5State: "not base64!"}); err == nil {
		t.Error("a damaged state was restored")
	}
}

func TestNeedsCompaction(t *testing.T) {
	for _, c := range []struct {
		lines, live int64
		want        bool
	}{
		{10, 0, false},
		{CompactMinLines - 1, 0, false},
		{CompactMinLines, 0, true},
		{CompactMinLines, CompactMinLines/2 + 1, false},
		{30000, 10000, true},
		{19999, 10000, false},
	} {
		vf := &rubygems_model.VersionsFile{FirstLine: 5, LastLine: 4 + c.lines}
		if got := needsCompaction(vf, c.live); got != c.want {
			t.Errorf("%d lines, %d gems: %v", c.lines, c.live, got)
		}
	}
}

func TestGemOf(t *testing.T) {
	files := []*rubygems_model.GemFile{
		{FileID: 1, Info: "1.0.0 |checksum:aa"},
		{FileID: 2, Info: "1.0.0-java |checksum:bb"},
		{FileID: 3, Info: "1.1.0 dep:>= 1|checksum:cc", Yanked: 1},
		{FileID: 3, Info: "1.1.0 dep:>= 1|checksum:cc", Yanked: 1},
		{FileID: 4, Info: "2.0.0 |checksum:dd"},
	}
	g := gemOf(1, "Hola", files)
	if g.Name != "Hola" || g.LowerName != "hola" || g.Listed != "1.0.0,1.0.0-java,2.0.0" {
		t.Errorf("gem: %+v", g)
	}
	if want := "---\n1.0.0 |checksum:aa\n1.0.0-java |checksum:bb\n2.0.0 |checksum:dd\n"; g.Info != want {
		t.Errorf("info %q", g.Info)
	}
	if m, s := digestsOf([]byte(g.Info)); g.InfoMD5 != m || g.InfoSHA256 != s {
		t.Errorf("digests %s %s", g.InfoMD5, g.InfoSHA256)
	}
	if e := gemOf(1, "gone", nil); e.Listed != "" || e.Info != "---\n" {
		t.Errorf("no files: %+v", e)
	}
}

// TestSameVersionKey: versions RubyGems takes for one have one key, so the
// key never hides a clash from Compare.
func TestSameVersionKey(t *testing.T) {
	vs := []string{"1", "1.0", "1.0.0", "01.00", "1.01", "1.1", "1.10", "10", "1.0.a", "1.a", "1a", "1.0.A", "2.0.0.beta1", "2.beta.1", "0.1", "0.0.1", "1.0.0.0.1"}
	for _, a := range vs {
		for _, b := range vs {
			if rubygems_module.Compare(a, b) == 0 && sameVersionKey(a) != sameVersionKey(b) {
				t.Errorf("%q and %q are one version with keys %q and %q", a, b, sameVersionKey(a), sameVersionKey(b))
			}
		}
	}
}
