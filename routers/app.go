// Package routers builds the application: it opens the database, migrates
// it, wires every service with its dependencies and mounts every route.
// It is the only place where dependencies are assembled.
package routers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"wharf/models/db"
	"wharf/models/migrations"
	"wharf/modules/doccache"
	"wharf/modules/secret"
	"wharf/modules/setting"
	"wharf/modules/storage"
	packages_router "wharf/routers/api/packages"
	cargo_router "wharf/routers/api/packages/cargo"
	composer_router "wharf/routers/api/packages/composer"
	"wharf/routers/api/packages/generic"
	goproxy_router "wharf/routers/api/packages/go"
	npm_router "wharf/routers/api/packages/npm"
	rubygems_router "wharf/routers/api/packages/rubygems"
	v1 "wharf/routers/api/v1"
	"wharf/routers/common"
	gitrouter "wharf/routers/git"
	"wharf/routers/web"
	jobs_service "wharf/services/jobs"
	org_service "wharf/services/org"
	packages_service "wharf/services/packages"
	cargo_service "wharf/services/packages/cargo"
	cleanup_service "wharf/services/packages/cleanup"
	composer_service "wharf/services/packages/composer"
	generic_service "wharf/services/packages/generic"
	goproxy_service "wharf/services/packages/go"
	npm_service "wharf/services/packages/npm"
	rubygems_service "wharf/services/packages/rubygems"
	"wharf/services/packages/virtual"
	repo_service "wharf/services/repository"
	user_service "wharf/services/user"
)

// Options are what the caller supplies besides configuration.
type Options struct {
	Version string
	Log     *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// RepoFault is repo_service.Deps.Fault: tests only, nil in production.
	RepoFault func(ctx context.Context, p repo_service.FaultPoint, repoID int64) error
	// PackagesFault is packages_service.Deps.Fault: tests only, nil in
	// production.
	PackagesFault func(ctx context.Context, p packages_service.FaultPoint) error
}

// App is a ready application.
type App struct {
	Cfg   setting.Config
	DB    *db.DB
	Log   *slog.Logger
	Users *user_service.Service
	Orgs  *org_service.Service
	Repos *repo_service.Service
	// Jobs runs background work; `wharf web` runs it, tests call RunOnce.
	Jobs     *jobs_service.Runner
	Packages *packages_service.Service
	// RubyGems is the RubyGems service (tests rebuild an index seeded
	// without the hooks).
	RubyGems *rubygems_service.Service
	Store    storage.Store
	// Documents keeps the package documents every format serves (tests
	// read its size).
	Documents *doccache.Cache
	// Cleanup applies cleanup rules and runs the cleanup tasks.
	Cleanup *cleanup_service.Service
	Handler http.Handler
}

// NewApp opens and migrates the database and builds the HTTP handler.
func NewApp(ctx context.Context, cfg setting.Config, opts Options) (*App, error) {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	d, err := db.Open(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	if err := migrations.Migrate(ctx, d, log); err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("migrate database: %w", err)
	}

	users := user_service.New(user_service.Deps{DB: d, Log: log, Now: now, MinPasswordLength: cfg.Security.MinPasswordLength,
		Hasher: secret.NewHasher(cfg.Security.PasswordHashConcurrency),
		// Failure counts are per process (README, "Running several processes").
		Limiter: user_service.NewLoginLimiter(user_service.LoginLimits{MaxFailuresPerUser: cfg.Security.LoginMaxFailures,
			MaxFailuresPerAddress: cfg.Security.LoginMaxFailuresPerAddress, Window: cfg.Security.LoginFailureWindow}, now),
	})
	orgs := org_service.New(org_service.Deps{DB: d, Now: now, Users: users})
	jobs := jobs_service.NewRunner(d, log, now)
	jobs.Lease = cfg.Jobs.Lease
	repos := repo_service.New(repo_service.Deps{
		DB: d, Log: log, Now: now, Users: users, Jobs: jobs,
		Root: cfg.Repository.Root, DefaultBranch: cfg.Repository.DefaultBranch,
		RootURL: cfg.Server.RootURL, HostAliases: cfg.Server.HostAliases, Fault: opts.RepoFault,
	})
	if err := repos.Init(); err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("prepare repository root: %w", err)
	}
	store, err := storage.Open(ctx, cfg.Storage)
	if err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("open package storage: %w", err)
	}
	// The formats this instance serves, each with its version order and
	// the hooks that keep its derived state current on every path.
	npmFormat := npm_service.NewFormat(npm_service.FormatDeps{Now: now,
		AllowUnpublish: cfg.Packages.Npm.AllowUnpublish, UnpublishWindow: cfg.Packages.Npm.UnpublishWindow})
	formats := []packages_service.Format{generic_service.Format{}, npmFormat, composer_service.NewFormat(now), cargo_service.NewFormat(now),
		rubygems_service.NewFormat(now), goproxy_service.Format{}}
	pkgs, err := packages_service.New(packages_service.Deps{
		DB: d, Store: store, Log: log, Now: now, Users: users, Repos: repos, Cfg: cfg.Packages, Fault: opts.PackagesFault,
		Formats: formats,
	})
	if err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("wire package formats: %w", err)
	}
	docs := doccache.NewCache(cfg.Cache.PackageDocumentsMemory) // one bound for every format
	npmSvc := npm_service.New(npm_service.Deps{DB: d, Log: log, Now: now, Packages: pkgs, Repos: repos, Format: npmFormat, Documents: docs})
	composerSvc := composer_service.New(composer_service.Deps{DB: d, Log: log, Now: now, Packages: pkgs, Repos: repos, Users: users, Documents: docs})
	jobs.Register(composer_service.JobBuildArchive, composerSvc.BuildArchive)
	jobs.Register(packages_service.JobFillDigests, pkgs.FillDigests)
	cargoSvc := cargo_service.New(cargo_service.Deps{DB: d, Log: log, Now: now, Packages: pkgs, Repos: repos, Users: users, RootURL: cfg.Server.RootURL, Documents: docs})
	jobs.Register(cargo_service.JobUpdateIndex, cargoSvc.UpdateIndex)
	rubygemsSvc := rubygems_service.New(rubygems_service.Deps{DB: d, Log: log, Now: now, Packages: pkgs, Users: users, RootURL: cfg.Server.RootURL, Documents: docs})
	jobs.Register(rubygems_service.JobCompactVersions, rubygemsSvc.CompactVersions)
	repos.SubscribeRefChanges("composer", composerSvc.OnRefChange)
	goSvc := goproxy_service.New(goproxy_service.Deps{DB: d, Log: log, Now: now, Packages: pkgs, Repos: repos, Users: users, Documents: docs,
		RootURL: cfg.Server.RootURL, HostAliases: cfg.Server.HostAliases})
	repos.SubscribeRefChanges("go", goSvc.OnRefChange)
	jobs.Register(goproxy_service.JobSyncRepository, goSvc.SyncRepository)
	var cleanupEvery time.Duration // 0: no periodic run
	if cfg.Cron.CleanupPackages.Enabled {
		cleanupEvery = cfg.Cron.CleanupPackages.Every
	}
	cleanupSvc := cleanup_service.New(cleanup_service.Deps{DB: d, Store: store, Log: log, Now: now, Users: users, Packages: pkgs,
		BlobGrace: cfg.Packages.BlobGCGrace, UploadTempPath: cfg.Packages.UploadTempPath, Jobs: jobs, Every: cleanupEvery})
	jobs.Register(cleanup_service.JobCleanup, cleanupSvc.Job)
	if err := cleanupSvc.Schedule(ctx); err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("schedule package cleanup: %w", err)
	}
	// Ref changes a crash left unannounced are announced by the job runner.
	if err := repos.ScheduleReconcileAll(ctx); err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("schedule ref reconciliation: %w", err)
	}
	virtuals := virtual.New(virtual.Deps{DB: d, Log: log, Now: now, Users: users, Packages: pkgs, Cfg: cfg.Packages.Virtual,
		RootURL: cfg.Server.RootURL, HostAliases: cfg.Server.HostAliases})
	a := &App{Cfg: cfg, DB: d, Log: log, Users: users, Orgs: orgs, Repos: repos, Jobs: jobs, Packages: pkgs, RubyGems: rubygemsSvc, Store: store, Documents: docs, Cleanup: cleanupSvc}

	authn := &common.Authenticator{Users: users, Log: log}
	apiH := &v1.Handler{
		Users: users, Orgs: orgs, Repos: repos, Packages: pkgs, Log: log, RootURL: cfg.Server.RootURL, Version: opts.Version,
		Auth: authn,
	}
	gitH := &gitrouter.Handler{Repos: repos, Auth: authn, Log: log}
	webH, err := web.New(web.Deps{Users: users, Orgs: orgs, Repos: repos, Packages: pkgs, Cargo: cargoSvc, Composer: composerSvc,
		Cleanup: cleanupSvc, Auth: authn, Log: log, RootURL: cfg.Server.RootURL, Version: opts.Version, DBType: d.Type(), Now: now})
	if err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	metrics := common.NewMetrics(d.SQL(), d.Type())

	r := chi.NewRouter()
	r.Use(common.Observe(log, metrics))
	r.Use(common.ClientAddr(cfg.Security.ReverseProxyTrustedProxies))
	r.Use(goproxy_router.Discovery(goSvc, cfg.Server.RootURL))
	r.Get("/api/healthz", a.healthz)
	if cfg.Metrics.Enabled {
		r.Handle("/metrics", metrics.Handler(cfg.Metrics.Token))
	}
	r.Route("/api/v1", func(r chi.Router) {
		apiH.Routes(r)
		apiH.CargoIndexRoutes(r, cargoSvc)
		apiH.CleanupRoutes(r, cleanupSvc)
		apiH.VirtualRoutes(r, virtuals)
		apiH.PackageYankRoutes(r, formats)
	})
	apiH.RootRoutes(r) // /swagger.v1.json and the tag archives (/{owner}/{repo}/archive/*)
	if cfg.Packages.Enabled {
		r.Route("/api/packages", func(r chi.Router) {
			packages_router.Routes(r, pkgs, virtuals, authn, log, packages_router.Handlers{
				Generic:     &generic.Handler{Packages: pkgs, Virtual: virtuals, Log: log},
				Composer:    &composer_router.Handler{Packages: pkgs, Virtual: virtuals, Log: log, RootURL: cfg.Server.RootURL, Composer: composerSvc, Now: now},
				Npm:         &npm_router.Handler{Npm: npmSvc, Packages: pkgs, Virtual: virtuals, Users: users, Log: log, RootURL: cfg.Server.RootURL},
				NpmInstance: &npm_router.Handler{Npm: npmSvc, Packages: pkgs, Users: users, Virtual: virtuals, Log: log, RootURL: cfg.Server.RootURL, Instance: true},
				Cargo:       &cargo_router.Handler{Cargo: cargoSvc, Packages: pkgs, Virtual: virtuals, Log: log, RootURL: cfg.Server.RootURL, Now: now},
				Go:          &goproxy_router.Handler{Go: goSvc, Log: log},
				RubyGems:    &rubygems_router.Handler{RubyGems: rubygemsSvc, Log: log, RootURL: cfg.Server.RootURL, Now: now},
			})
		})
	}
	gitH.Routes(r)
	webH.Routes(r)
	a.Handler = r
	return a, nil
}

// Close releases the database.
func (a *App) Close() error { return a.DB.Close() }

// healthz answers in Gitea's health-check shape: pass when the database
// answers within two seconds, fail (503) otherwise.
func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	type check struct {
		Status string `json:"status"`
		Time   string `json:"time"`
		Output string `json:"output,omitempty"`
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	c := check{Status: "pass", Time: time.Now().UTC().Format(time.RFC3339)}
	status := http.StatusOK
	if err := a.DB.Ping(ctx); err != nil {
		a.Log.ErrorContext(ctx, "health check: database ping failed", "err", err)
		c.Status, c.Output, status = "fail", "database unreachable", http.StatusServiceUnavailable
		w.Header().Set("Retry-After", strconv.Itoa(int(common.OutageRetryAfter.Seconds())))
	}
	body, _ := json.Marshal(map[string]any{
		"status":      c.Status,
		"description": "Wharf",
		"checks":      map[string][]check{"database:ping": {c}},
	})
	w.Header().Set("Content-Type", "application/health+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
