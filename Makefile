# Wharf: `make run` serves on http://127.0.0.1:3000 with SQLite and ./data;
# `make test` runs every test.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
export CGO_ENABLED := 1

.PHONY: build run test test-e2e test-cluster fuzz lint bench bench-quick

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/wharf .

run: build
	./bin/wharf web

# Every test, with the race detector. WHARF_TEST_DB=postgres (and
# WHARF_TEST_PG_HOST) runs the same suite on PostgreSQL; .ci/run does both.
test:
	$(GO) test -race -count=1 -timeout 40m ./...

test-e2e:
	$(GO) test -race -count=1 ./tests/...

# Two `wharf web` processes built from the tree on a throw-away PostgreSQL,
# a real MinIO and one work path: the real clients against both, and a
# process killed or stopped mid-request (tests/cluster, build tag cluster,
# so `make test` does not run it).
test-cluster:
	$(GO) test -tags cluster -race -count=1 -timeout 20m ./tests/cluster/

# Performance figures (not timed tests): git clone and archive throughput,
# the server's peak RSS, metadata documents and publishes. Each load figure
# is printed beside its bare baseline, measured in the same run, and their
# ratio (the machine is noisy: the ratio is the figure).
BENCHTIME ?= 3x
bench:
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -timeout 60m ./tests/

# A short run (under two minutes on 2 cores): every metadata document at
# 200 and 1,000 versions, the publish rate, and the transfer benchmarks
# named by BENCH_QUICK_TRANSFER (whole top-level names, as an alternation:
# BenchmarkUpload.*|BenchmarkDownload.*). -short makes each do less.
BENCH_QUICK_TRANSFER ?= BenchmarkUpload512MiB|BenchmarkUpload4GiB|BenchmarkDownload
BENCH_QUICK := BenchmarkRequestFloor|BenchmarkDocuments|BenchmarkPublishRate|BenchmarkVirtualNpm|BenchmarkGoProxy$(if $(BENCH_QUICK_TRANSFER),|$(BENCH_QUICK_TRANSFER))
bench-quick:
	@start=$$(date +%s); \
	$(GO) test -run '^$$' -bench '^($(BENCH_QUICK))$$' -benchtime 1x -short -timeout 10m ./tests/ || exit 1; \
	echo "bench-quick: $$(( $$(date +%s) - start ))s"

FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags 'cluster soak' ./tests/cluster/

# The soak (not part of `make test`): SOAK_DURATION of mixed load from 16
# clients on two processes (PostgreSQL, MinIO) and on one (SQLite, local
# disk); it prints requests, errors by status, p50/p99, then checks every
# row against the stored bytes. SOAK_DURATION=60s for a quick run; two
# soaks of SOAK_DURATION run one after the other, so raise SOAK_TIMEOUT
# past twice the duration with some minutes to spare.
SOAK_DURATION ?= 10m
SOAK_TIMEOUT ?= 40m
.PHONY: soak
soak:
	SOAK_DURATION=$(SOAK_DURATION) $(GO) test -tags 'cluster soak' -count=1 -timeout $(SOAK_TIMEOUT) -run TestSoak -v ./tests/cluster/
