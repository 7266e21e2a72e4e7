# slo-exporter: build, test, demo.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BUILDDATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
PKG       := github.com/slo-exporter/slo-exporter/internal/version
LDFLAGS   := -s -w -X $(PKG).Version=$(VERSION) -X $(PKG).Revision=$(REVISION) -X $(PKG).BuildDate=$(BUILDDATE)

.PHONY: build test test-deps lint unit fuzz faults demo bench ci-fresh clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ ./cmd/...

## test: lint, then every test (unit and integration against real Prometheus, promtool, helm, Chromium).
test: lint test-deps
	$(GO) test -count=1 -timeout 15m ./...

## test-deps: one line per external program the integration tests use, and how to install a missing one.
test-deps:
	@./scripts/test-deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if command -v staticcheck >/dev/null 2>&1; then staticcheck ./...; \
	  elif [ "$$CI" = "true" ]; then echo "staticcheck missing"; exit 1; fi

## unit: the fast tests only (no external processes).
unit:
	$(GO) test -short -count=1 ./...

## fuzz: every Fuzz* test of the repository, FUZZTIME each (default 10s); a crasher is written to the package's testdata/fuzz/.
FUZZTIME ?= 10s
fuzz:
	@set -e; for f in $$(git ls-files '*_test.go' | xargs grep -l '^func Fuzz' | sort); do \
	  for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
	    echo "== $$name ./$$(dirname $$f) ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s ./$$(dirname $$f); \
	  done; \
	done

## faults: the fault-injection suite alone (docs/faults.md, about 3 minutes); UPDATE=1 also rewrites the table there.
faults:
	$(GO) test -count=1 -timeout 10m -run '^TestFaults$$' ./e2e $(if $(UPDATE),-update)

## ci-fresh: prove .ci/run's install steps with an empty GOPATH, GOBIN, module cache and PATH (FULL=1: then make test).
ci-fresh:
	./scripts/ci-fresh.sh

## demo: a local ML platform, Prometheus and slo-exporter; Ctrl-C stops it.
demo:
	./scripts/demo.sh

## bench: Go benchmarks of the engine and exposition.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

clean:
	rm -rf bin .demo
