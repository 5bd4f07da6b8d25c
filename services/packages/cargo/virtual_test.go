package cargo

import "testing"

// TestExpandDL: config.json's dl as cargo expands it (download.rs): the
// markers, the prefix in the name's case and lower-cased, and the default
// path when there is no marker.
func TestExpandDL(t *testing.T) {
	const sum = "85cc22298f1a145de6ffcd723bf41bff191b684d89515c94271220597f035d93"
	cases := []struct{ dl, name, want string }{
		{"https://up.example/api/v1/crates", "Hello_World", "https://up.example/api/v1/crates/Hello_World/0.1.0/download"},
		{"https://up.example/api/v1/crates/", "serde", "https://up.example/api/v1/crates/serde/0.1.0/download"},
		{"https://cdn.example/{prefix}/{lowerprefix}/{crate}-{version}.crate?sum={sha256-checksum}", "Hello", "https://cdn.example/He/ll/he/ll/Hello-0.1.0.crate?sum=" + sum},
		{"https://cdn.example/{prefix}/{crate}", "Abc", "https://cdn.example/3/A/Abc"},
		{"https://cdn.example/{lowerprefix}/{crate}", "Ab", "https://cdn.example/2/Ab"},
		{"https://cdn.example/{prefix}/{crate}", "x", "https://cdn.example/1/x"},
	}
	for _, c := range cases {
		if got := expandDL(c.dl, c.name, "0.1.0", sum); got != c.want {
			t.Errorf("expandDL(%q, %q) = %q, want %q", c.dl, c.name, got, c.want)
		}
	}
}

// TestParseUpstreamIndex: lines cargo would skip are left out; a file
// with no line of the crate is refused.
func TestParseUpstreamIndex(t *testing.T) {
	body := []byte(`{"name":"walnut","vers":"1.0.0","deps":[],"cksum":"aa","features":{},"yanked":false}
not json
{"name":"other","vers":"2.0.0","deps":[],"cksum":"bb","features":{},"yanked":false}
{"name":"Walnut","vers":"1.1.0","deps":[],"cksum":"cc","features":{},"yanked":true}
`)
	lines, err := parseUpstreamIndex(body, "walnut")
	if err != nil || len(lines) != 2 || lines["1.0.0"].line.Cksum != "aa" || !lines["1.1.0"].line.Yanked {
		t.Fatalf("lines %v, %v", lines, err)
	}
	if string(lines["1.0.0"].raw) != `{"name":"walnut","vers":"1.0.0","deps":[],"cksum":"aa","features":{},"yanked":false}` {
		t.Fatalf("raw line %q", lines["1.0.0"].raw)
	}
	for _, garbage := range []string{"<html>maintenance</html>", "", `{"name":"other","vers":"1.0.0"}`} {
		if _, err := parseUpstreamIndex([]byte(garbage), "walnut"); err == nil {
			t.Errorf("%q taken for walnut's index", garbage)
		}
	}
}
