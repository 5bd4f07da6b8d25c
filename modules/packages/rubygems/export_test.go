package rubygems

// Internals the external tests compare with Ruby's own output.
var (
	MarshalSpec   = marshalSpec
	MarshalTuples = marshalTuples
)

// PlatformString is Gem::Platform.new(s).to_s.
func PlatformString(s string) string { return parsePlatform(s).String() }
