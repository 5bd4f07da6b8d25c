# Wharf: `make run` serves on http://127.0.0.1:3000 with SQLite and ./data;
# `make test` runs every test.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
export CGO_ENABLED := 1

.PHONY: build run test test-e2e fuzz lint bench

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/wharf .

run: build
	./bin/wharf web

# Every test, with the race detector. WHARF_TEST_DB=postgres (and
# WHARF_TEST_PG_HOST) runs the same suite on PostgreSQL; .ci/run does both.
test:
	$(GO) test -race -count=1 -timeout 20m ./...

test-e2e:
	$(GO) test -race -count=1 ./tests/...

# Performance figures (not timed tests): git clone and archive throughput,
# and the server's peak RSS, measured on the real binary.
BENCHTIME ?= 3x
bench:
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -timeout 60m ./tests/

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
