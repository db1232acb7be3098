# otpbox — the two commands are `make run` and `make test`.
GO       ?= go
PKGS     ?= ./...
TESTFLAGS ?=

.PHONY: run test test-short test-deps bench lint vet fmt

## run: start a single node with the embedded defaults (Ctrl-C or SIGTERM stops it gracefully)
run: bin/otpbox
	exec ./bin/otpbox node

.PHONY: bin/otpbox
bin/otpbox:
	$(GO) build -o bin/otpbox ./cmd/otpbox

## test: install what the tests need, then run every test with -race
test: test-deps
	$(GO) test -race -count=1 $(TESTFLAGS) $(PKGS)

## test-short: the fast subset, no external services
test-short:
	$(GO) test -race -count=1 -short $(TESTFLAGS) $(PKGS)

## test-deps: services the integration tests start (Redis from Debian)
test-deps:
	@bash scripts/redis.sh install

## bench: every benchmark, with allocations
bench:
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

## lint: go vet and gofmt
lint: vet fmt
vet:
	$(GO) vet $(PKGS)
fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
