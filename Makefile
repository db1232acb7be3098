# otpbox — the two commands are `make run` and `make test`.
GO       ?= go
PKGS     ?= ./...
TESTFLAGS ?=

.PHONY: run test test-short test-deps consul bench bench-journal lint vet fmt proto

## run: start a single node with the embedded defaults (Ctrl-C or SIGTERM stops it gracefully)
run: bin/otpbox
	exec ./bin/otpbox node

.PHONY: bin/otpbox
bin/otpbox:
	$(GO) build -o bin/otpbox ./cmd/otpbox

## test: install what the tests need, then run every test with -race
test: test-deps
	$(GO) test -race -count=1 $(TESTFLAGS) $(PKGS)
	@# Several protoactor remotes in one process race in grpc's global logger
	@# (protoactor sets it on every remote.Start): these run without -race.
	$(GO) test -count=1 -run Remote ./cache/

## test-short: the fast subset, no external services
test-short:
	$(GO) test -race -count=1 -short $(TESTFLAGS) $(PKGS)

## test-deps: services the integration tests start (Redis from Debian, the pinned Consul)
test-deps:
	@bash scripts/redis.sh install
	@bash scripts/consul.sh install

## consul: put the pinned Consul v1.14.11 at bin/consul (cached; built from tools/consul if needed)
consul:
	@bash scripts/consul.sh install

## bench: every benchmark, with allocations (and the journal candidates, below)
bench: bench-journal
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

## bench-journal: the journal candidates (bolt, pebble, wal) side by side, beside one durable append
## (sandbox/store/pebble is a module of its own, so that the node does not depend on Pebble)
bench-journal:
	cd sandbox/store/pebble && $(GO) test -count=1 ./... && $(GO) test -run='^$$' -bench=. -benchmem -benchtime=2s ./...

## lint: go vet and gofmt
lint: vet fmt
vet:
	$(GO) vet $(PKGS)
fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi

## proto: regenerate the protobuf messages (needs protoc and protoc-gen-go v1.36.11 on PATH)
PROTOS := sandbox/sandbox.proto cache/internal/cachepb/cache.proto cluster/clusterpb/placement.proto
proto:
	for p in $(PROTOS); do (cd $$(dirname $$p) && protoc --go_out=. --go_opt=paths=source_relative $$(basename $$p)) || exit 1; done
