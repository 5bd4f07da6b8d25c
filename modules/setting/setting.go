// Package setting loads Wharf's configuration: one INI file (Gitea's section
// and key names where they mean the same) with WHARF__SECTION__KEY
// environment overrides. Load returns a value; nothing reads configuration
// after start-up except through the structs built from it.
package setting

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"gopkg.in/ini.v1"
)

// EnvPrefix starts every environment override: WHARF__SERVER__HTTP_PORT=4000.
const EnvPrefix = "WHARF__"

// Config is the whole configuration.
type Config struct {
	// WorkPath is the directory relative paths are resolved against.
	WorkPath string
	// ConfigPath is the INI file that was read ("" when none existed).
	ConfigPath string
	// AppDataPath holds the database, repositories and blobs by default.
	AppDataPath string
	Server      Server
	Repository  Repository
	Database    Database
	Storage     Storage
	Packages    Packages
	Security    Security
	Metrics     Metrics
	Log         Log
	Cache       Cache
	Jobs        Jobs
	// Cron holds the scheduled tasks ([cron.*], cron.go).
	Cron Cron
}

// Server is the [server] section.
type Server struct {
	HTTPAddr string
	HTTPPort int
	// RootURL is the public URL of the instance, always ending in "/".
	RootURL string
	// GracefulTimeout bounds how long shutdown waits for in-flight requests.
	GracefulTimeout time.Duration
	// HostAliases are other host names (optionally host:port) under which
	// users reach this instance; repository URLs naming them are ours too.
	HostAliases []string
}

// Repository is the [repository] section.
type Repository struct {
	// Root holds the bare repositories: <Root>/<owner>/<name>.git.
	Root          string
	DefaultBranch string
}

// Addr is the listen address for net.Listen.
func (s Server) Addr() string {
	return net.JoinHostPort(s.HTTPAddr, strconv.Itoa(s.HTTPPort))
}

// Database is the [database] section.
type Database struct {
	Type            string // sqlite3 or postgres
	Path            string // SQLite file
	Host            string // PostgreSQL host:port or socket directory
	Name            string
	User            string
	Passwd          string
	SSLMode         string
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
	LogSQL          bool
}

// Storage is the [storage] section: where package blobs live.
type Storage struct {
	Type                 string // local or minio
	Path                 string
	MinioEndpoint        string
	MinioAccessKeyID     string
	MinioSecretAccessKey string
	MinioBucket          string
	MinioLocation        string
	MinioBasePath        string
	MinioUseSSL          bool
	ServeDirect          bool
}

// Packages is the [packages] section. Sizes are bytes; -1 means unlimited.
type Packages struct {
	Enabled              bool
	LimitTotalOwnerSize  int64
	LimitTotalOwnerCount int64
	// LimitSize holds LIMIT_SIZE_<TYPE> keyed by the lower-case type name;
	// a type that is absent is unlimited.
	LimitSize map[string]int64
	// UploadTempPath is where uploads spill to disk while they are hashed.
	UploadTempPath string
	Npm            Npm
	// Virtual is [packages.virtual]: how virtual registries reach their
	// upstreams.
	Virtual Virtual
	// BlobGCGrace is how old unreferenced blob bytes must be before the
	// blob cleanup removes them (an upload saves its bytes before its row).
	BlobGCGrace time.Duration
}

// Jobs is the [jobs] section.
type Jobs struct {
	// Lease is how long a claimed job is held without a heartbeat (one
	// every third of it): how soon another process takes over the jobs
	// of a process that died.
	Lease time.Duration
}

// MinJobLease keeps heartbeats (a third of the lease) at least a second
// apart and well inside the lease.
const MinJobLease = 5 * time.Second

// Cache is the [cache] section.
type Cache struct {
	// PackageDocumentsMemory bounds, in bytes, the package documents
	// (npm packuments, Composer p2 and packages.json, the Cargo index,
	// RubyGems' compact index) a process keeps in memory, with their gzip
	// copies; 0 or negative keeps none.
	PackageDocumentsMemory int64
}

// Virtual is the [packages.virtual] section.
type Virtual struct {
	// MetadataTTL is how long an upstream's document is served from the
	// cache before it is revalidated (with its ETag or Last-Modified).
	MetadataTTL time.Duration
	// UpstreamTimeout bounds one request to an upstream registry, from
	// connecting to the last byte.
	UpstreamTimeout time.Duration
	// MaxUpstreamRequests is how many requests to upstreams a process
	// has in flight at once; more wait for a free one.
	MaxUpstreamRequests int
}

// Npm is the [packages.npm] section.
type Npm struct {
	// AllowUnpublish permits npm unpublish.
	AllowUnpublish bool
	// UnpublishWindow limits unpublish to versions younger than this
	// (npmjs uses 72 hours); 0 is no limit. Administrators are not limited.
	UnpublishWindow time.Duration
}

// Security is the [security] section (read by readSecurity, security.go).
type Security struct {
	MinPasswordLength int
	// LoginMaxFailures is how many failed password checks one account name
	// may have within LoginFailureWindow before further password attempts
	// get 429; 0 is no limit.
	LoginMaxFailures int
	// LoginMaxFailuresPerAddress is the same per client address (IPv6 by
	// /64); 0 is no limit.
	LoginMaxFailuresPerAddress int
	// LoginFailureWindow is how long failures count, from the first one.
	LoginFailureWindow time.Duration
	// PasswordHashConcurrency bounds how many password hashes run at once;
	// 0 is one per CPU.
	PasswordHashConcurrency int
	// ReverseProxyTrustedProxies are the peers whose X-Forwarded-For /
	// X-Real-IP name the client address.
	ReverseProxyTrustedProxies []netip.Prefix
}

// Metrics is the [metrics] section.
type Metrics struct {
	Enabled bool
	// Token, when set, must be sent as "Authorization: Bearer <token>".
	Token string
}

// Log is the [log] section.
type Log struct {
	Level  string // debug, info, warn, error
	Format string // text or json
}

// LoadOptions says where to read from. Env is the process environment in
// os.Environ form; it is passed in so tests need not touch the real one.
type LoadOptions struct {
	// ConfigPath is the INI file. When empty, <WorkPath>/custom/conf/app.ini
	// is read if it exists. When set, the file must exist.
	ConfigPath string
	WorkPath   string
	Env        []string
	// Port, when non-zero, overrides [server] HTTP_PORT (the --port flag).
	Port int
}

// DefaultConfigPath is where Load looks when no --config is given; it is
// Gitea's location, so a migrating instance keeps its layout.
func DefaultConfigPath(workPath string) string {
	return filepath.Join(workPath, "custom", "conf", "app.ini")
}

// Load reads, overrides, validates and returns the configuration. An error
// names every bad key.
func Load(opts LoadOptions) (Config, error) {
	work := opts.WorkPath
	if work == "" {
		wd, err := os.Getwd()
		if err != nil {
			return Config{}, fmt.Errorf("work path: %w", err)
		}
		work = wd
	}
	work, err := filepath.Abs(work)
	if err != nil {
		return Config{}, fmt.Errorf("work path: %w", err)
	}

	file := ini.Empty(ini.LoadOptions{InsensitiveSections: true, InsensitiveKeys: true, IgnoreInlineComment: true})
	cfgPath := opts.ConfigPath
	if cfgPath == "" {
		if p := DefaultConfigPath(work); fileExists(p) {
			cfgPath = p
		}
	} else if !filepath.IsAbs(cfgPath) {
		cfgPath = filepath.Join(work, cfgPath)
	}
	if cfgPath != "" {
		if err := file.Append(cfgPath); err != nil {
			return Config{}, fmt.Errorf("read config %s: %w", cfgPath, err)
		}
	}
	if err := applyEnv(file, opts.Env); err != nil {
		return Config{}, err
	}

	r := &reader{file: file, work: work}
	cfg := Config{WorkPath: work, ConfigPath: cfgPath}
	cfg.AppDataPath = r.path("server", "APP_DATA_PATH", "data")

	cfg.Server = Server{
		HTTPAddr:        r.str("server", "HTTP_ADDR", "127.0.0.1"),
		HTTPPort:        r.port("server", "HTTP_PORT", 3000),
		GracefulTimeout: r.duration("server", "GRACEFUL_TIMEOUT", 30*time.Second),
	}
	if opts.Port != 0 {
		if opts.Port < 0 || opts.Port > 65535 {
			r.fail("--port", fmt.Sprint(opts.Port), "must be between 1 and 65535")
		}
		cfg.Server.HTTPPort = opts.Port
	}
	cfg.Server.RootURL = r.rootURL(cfg.Server)
	cfg.Server.HostAliases = r.list("server", "HOST_ALIASES")

	cfg.Repository = Repository{
		Root:          r.path("repository", "ROOT", filepath.Join(cfg.AppDataPath, "repos")),
		DefaultBranch: r.str("repository", "DEFAULT_BRANCH", "main"),
	}

	cfg.Database = Database{
		Type:            r.oneOf("database", "DB_TYPE", "sqlite3", map[string]string{"sqlite3": "sqlite3", "sqlite": "sqlite3", "postgres": "postgres", "postgresql": "postgres"}),
		Path:            r.path("database", "PATH", filepath.Join(cfg.AppDataPath, "wharf.db")),
		Host:            r.str("database", "HOST", "127.0.0.1:5432"),
		Name:            r.str("database", "NAME", "wharf"),
		User:            r.str("database", "USER", "wharf"),
		Passwd:          r.str("database", "PASSWD", ""),
		SSLMode:         r.oneOf("database", "SSL_MODE", "disable", map[string]string{"disable": "disable", "require": "require", "verify-ca": "verify-ca", "verify-full": "verify-full"}),
		MaxOpenConns:    r.nonNegInt("database", "MAX_OPEN_CONNS", 0),
		MaxIdleConns:    r.nonNegInt("database", "MAX_IDLE_CONNS", 4),
		ConnMaxLifetime: r.duration("database", "CONN_MAX_LIFETIME", 0),
		LogSQL:          r.bool("database", "LOG_SQL", false),
	}

	cfg.Storage = Storage{
		Type:                 r.oneOf("storage", "STORAGE_TYPE", "local", map[string]string{"local": "local", "minio": "minio"}),
		Path:                 r.path("storage", "PATH", filepath.Join(cfg.AppDataPath, "packages")),
		MinioEndpoint:        r.str("storage", "MINIO_ENDPOINT", "localhost:9000"),
		MinioAccessKeyID:     r.str("storage", "MINIO_ACCESS_KEY_ID", ""),
		MinioSecretAccessKey: r.str("storage", "MINIO_SECRET_ACCESS_KEY", ""),
		MinioBucket:          r.str("storage", "MINIO_BUCKET", "wharf"),
		MinioLocation:        r.str("storage", "MINIO_LOCATION", "us-east-1"),
		MinioBasePath:        r.str("storage", "MINIO_BASE_PATH", "packages/"),
		MinioUseSSL:          r.bool("storage", "MINIO_USE_SSL", false),
		ServeDirect:          r.bool("storage", "SERVE_DIRECT", false),
	}

	cfg.Packages = Packages{
		Enabled:              r.bool("packages", "ENABLED", true),
		LimitTotalOwnerSize:  r.size("packages", "LIMIT_TOTAL_OWNER_SIZE", -1),
		LimitTotalOwnerCount: r.limit("packages", "LIMIT_TOTAL_OWNER_COUNT", -1),
		LimitSize:            map[string]int64{},
		UploadTempPath:       r.path("packages", "CHUNKED_UPLOAD_PATH", filepath.Join(cfg.AppDataPath, "tmp", "package-upload")),
		BlobGCGrace:          r.duration("packages", "BLOB_GC_GRACE", 24*time.Hour),
	}
	// Uploads in flight keep their spill files and unrecorded bytes only
	// while they are younger than the grace; 0 (collect at once) is for
	// tests on a quiet instance, a negative grace is a mistake.
	if g := cfg.Packages.BlobGCGrace; g < 0 {
		r.fail(keyName("packages", "BLOB_GC_GRACE"), g.String(), "must not be negative")
	}
	cfg.Cron = r.readCron()
	cfg.Packages.Npm = Npm{
		AllowUnpublish:  r.bool("packages.npm", "ALLOW_UNPUBLISH", true),
		UnpublishWindow: time.Duration(r.nonNegInt("packages.npm", "UNPUBLISH_WINDOW_HOURS", 0)) * time.Hour,
	}
	cfg.Packages.Virtual = Virtual{
		MetadataTTL:         r.duration("packages.virtual", "METADATA_TTL", 5*time.Minute),
		UpstreamTimeout:     r.duration("packages.virtual", "UPSTREAM_TIMEOUT", 30*time.Second),
		MaxUpstreamRequests: r.nonNegInt("packages.virtual", "MAX_UPSTREAM_REQUESTS", 16),
	}
	if cfg.Packages.Virtual.UpstreamTimeout == 0 {
		r.fail(keyName("packages.virtual", "UPSTREAM_TIMEOUT"), "0", "must be more than 0")
	}
	if cfg.Packages.Virtual.MaxUpstreamRequests == 0 {
		r.fail(keyName("packages.virtual", "MAX_UPSTREAM_REQUESTS"), "0", "must be at least 1")
	}
	if sec, err := file.GetSection("packages"); err == nil {
		for _, k := range sec.Keys() {
			name := strings.ToUpper(k.Name())
			typ, ok := strings.CutPrefix(name, "LIMIT_SIZE_")
			if !ok || typ == "" {
				continue
			}
			if v := r.size("packages", name, -1); v >= 0 {
				cfg.Packages.LimitSize[strings.ToLower(typ)] = v
			}
		}
	}

	cfg.Security = r.readSecurity()
	cfg.Cache = Cache{PackageDocumentsMemory: r.size("cache", "PACKAGE_DOCUMENTS_MEMORY", 64<<20)}
	cfg.Jobs = Jobs{Lease: r.duration("jobs", "LEASE", 10*time.Minute)}
	if l := cfg.Jobs.Lease; l < MinJobLease {
		r.fail(keyName("jobs", "LEASE"), l.String(), "must be at least "+MinJobLease.String())
	}
	cfg.Metrics = Metrics{
		Enabled: r.bool("metrics", "ENABLED", true),
		Token:   r.str("metrics", "TOKEN", ""),
	}
	cfg.Log = Log{
		Level:  r.oneOf("log", "LEVEL", "info", map[string]string{"debug": "debug", "trace": "debug", "info": "info", "warn": "warn", "warning": "warn", "error": "error", "critical": "error", "fatal": "error"}),
		Format: r.oneOf("log", "FORMAT", "text", map[string]string{"text": "text", "json": "json"}),
	}

	if err := errors.Join(r.errs...); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// applyEnv copies WHARF__SECTION__KEY=value into the file. Sections with
// dots or dashes use Gitea's escapes: WHARF__PACKAGES_0X2E_NPM__KEY.
func applyEnv(file *ini.File, env []string) error {
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		rest, ok := strings.CutPrefix(name, EnvPrefix)
		if !ok {
			continue
		}
		section, key, ok := strings.Cut(rest, "__")
		if !ok || section == "" || key == "" {
			return fmt.Errorf("environment variable %s: want %sSECTION__KEY", name, EnvPrefix)
		}
		section = unescapeEnv(strings.ToLower(section))
		key = unescapeEnv(key)
		if _, err := file.Section(section).NewKey(key, value); err != nil {
			return fmt.Errorf("environment variable %s: %w", name, err)
		}
	}
	return nil
}

func unescapeEnv(s string) string {
	r := strings.NewReplacer("_0X2E_", ".", "_0x2e_", ".", "_0X2D_", "-", "_0x2d_", "-")
	return r.Replace(s)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// reader reads typed values and collects one error per bad key.
type reader struct {
	file *ini.File
	work string
	errs []error
}

func (r *reader) fail(key, value, why string) {
	r.errs = append(r.errs, fmt.Errorf("invalid value %q for %s: %s", value, key, why))
}

func (r *reader) raw(section, key string) (string, bool) {
	sec, err := r.file.GetSection(section)
	if err != nil || !sec.HasKey(key) {
		return "", false
	}
	return strings.TrimSpace(sec.Key(key).String()), true
}

func keyName(section, key string) string { return "[" + section + "] " + key }

func (r *reader) str(section, key, def string) string {
	if v, ok := r.raw(section, key); ok {
		return v
	}
	return def
}

// list reads a comma-separated list, dropping empty items.
func (r *reader) list(section, key string) []string {
	var out []string
	for _, item := range strings.Split(r.str(section, key, ""), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// path resolves a relative path against the work path.
func (r *reader) path(section, key, def string) string {
	v := r.str(section, key, def)
	if v == "" {
		r.fail(keyName(section, key), v, "must not be empty")
		return v
	}
	if !filepath.IsAbs(v) {
		v = filepath.Join(r.work, v)
	}
	return filepath.Clean(v)
}

func (r *reader) int(section, key string, def int) (int, bool) {
	v, ok := r.raw(section, key)
	if !ok || v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.fail(keyName(section, key), v, "not an integer")
		return def, false
	}
	return n, true
}

func (r *reader) nonNegInt(section, key string, def int) int {
	n, ok := r.int(section, key, def)
	if ok && n < 0 {
		r.fail(keyName(section, key), strconv.Itoa(n), "must not be negative")
		return def
	}
	return n
}

func (r *reader) port(section, key string, def int) int {
	n, ok := r.int(section, key, def)
	if ok && (n < 1 || n > 65535) {
		r.fail(keyName(section, key), strconv.Itoa(n), "must be between 1 and 65535")
		return def
	}
	return n
}

func (r *reader) bool(section, key string, def bool) bool {
	v, ok := r.raw(section, key)
	if !ok || v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(keyName(section, key), v, "not a boolean (true or false)")
		return def
	}
	return b
}

func (r *reader) duration(section, key string, def time.Duration) time.Duration {
	v, ok := r.raw(section, key)
	if !ok || v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		r.fail(keyName(section, key), v, "not a duration such as 30s or 5m")
		return def
	}
	return d
}

// size reads a byte size ("1 GiB", "500MB", "1024") or -1 for unlimited.
func (r *reader) size(section, key string, def int64) int64 {
	v, ok := r.raw(section, key)
	if !ok || v == "" {
		return def
	}
	if v == "-1" {
		return -1
	}
	n, err := humanize.ParseBytes(v)
	if err != nil || n > 1<<62 {
		r.fail(keyName(section, key), v, "not a size such as 500 MiB, or -1 for unlimited")
		return def
	}
	return int64(n)
}

// limit reads a count, or -1 for unlimited.
func (r *reader) limit(section, key string, def int64) int64 {
	v, ok := r.raw(section, key)
	if !ok || v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < -1 {
		r.fail(keyName(section, key), v, "not a count, or -1 for unlimited")
		return def
	}
	return n
}

// oneOf reads a value from a fixed set; allowed maps accepted spellings
// (lower-case) to the canonical value.
func (r *reader) oneOf(section, key, def string, allowed map[string]string) string {
	v, ok := r.raw(section, key)
	if !ok || v == "" {
		return def
	}
	if c, ok := allowed[strings.ToLower(v)]; ok {
		return c
	}
	seen := map[string]bool{}
	var names []string
	for _, c := range allowed {
		if !seen[c] {
			seen[c] = true
			names = append(names, c)
		}
	}
	slices.Sort(names)
	r.fail(keyName(section, key), v, "want one of "+strings.Join(names, ", "))
	return def
}

func (r *reader) rootURL(s Server) string {
	v, ok := r.raw("server", "ROOT_URL")
	if !ok || v == "" {
		host := s.HTTPAddr
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		return "http://" + net.JoinHostPort(host, strconv.Itoa(s.HTTPPort)) + "/"
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		r.fail(keyName("server", "ROOT_URL"), v, "want an absolute http(s) URL such as https://git.example.com/")
		return v
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u.String()
}
