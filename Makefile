# otpbox — the two commands are `make run` and `make test`.
GO       ?= go
PKGS     ?= ./...
TESTFLAGS ?=

PREFIX   ?= $(HOME)/.local

.PHONY: run test test-short test-deps consul promtool install bench bench-journal fuzz lint vet fmt proto

## run: build bin/otpbox and start a single node with the embedded defaults (Ctrl-C or SIGTERM stops it gracefully)
run: bin/otpbox
	@echo "make run: the binary is $(CURDIR)/bin/otpbox; put it on PATH with"
	@echo "    export PATH=\"$(CURDIR)/bin:\$$PATH\"    (or: make install, into $(PREFIX)/bin)"
	@echo "then, in another shell: otpbox sandbox create s1 && otpbox sandbox exec s1 '1 + 1'"
	exec ./bin/otpbox node

.PHONY: bin/otpbox
bin/otpbox:
	$(GO) build -o bin/otpbox ./cmd/otpbox

## install: build otpbox and copy it to $(PREFIX)/bin (default ~/.local/bin; PREFIX=/usr/local as root)
install: bin/otpbox
	@mkdir -p "$(PREFIX)/bin"
	install -m 0755 bin/otpbox "$(PREFIX)/bin/otpbox"
	@echo "installed $(PREFIX)/bin/otpbox"
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) ;; *) echo "$(PREFIX)/bin is not on PATH: export PATH=\"$(PREFIX)/bin:\$$PATH\"";; esac

## test: install what the tests need, then run every test with -race
test: test-deps
	$(GO) test -race -count=1 $(TESTFLAGS) $(PKGS)
	@# Several protoactor remotes in one process race in grpc's global logger
	@# (protoactor sets it on every remote.Start): these run without -race.
	$(GO) test -count=1 -run 'Remote|AcrossHosts' ./cache/ ./sandbox/
	@# The Pebble journal candidate is a module of its own (the node does not depend on Pebble).
	cd sandbox/store/pebble && $(GO) test -race -count=1 ./...

## test-short: the fast subset, no external services
test-short:
	$(GO) test -race -count=1 -short $(TESTFLAGS) $(PKGS)

## test-deps: what the integration tests start or run (Redis and Chromium from Debian, the pinned Consul, promtool)
test-deps:
	@bash scripts/redis.sh install
	@bash scripts/consul.sh install
	@bash scripts/promtool.sh install
	@bash scripts/chromium.sh install

## consul: put the pinned Consul v1.14.11 at bin/consul (cached; built from tools/consul if needed)
consul:
	@bash scripts/consul.sh install

## promtool: put Prometheus's promtool at bin/promtool (cached; built from tools/promtool if needed)
promtool:
	@bash scripts/promtool.sh install

## bench: every benchmark, with allocations (and the journal candidates, below)
bench: bench-journal
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

## bench-journal: the journal candidates (bolt, pebble, wal) side by side, beside one durable append
## (sandbox/store/pebble is a module of its own, so that the node does not depend on Pebble)
bench-journal:
	cd sandbox/store/pebble && $(GO) test -count=1 ./... && $(GO) test -run='^$$' -bench=. -benchmem -benchtime=2s ./...

## fuzz: the differential replay fuzzer: 10,000 random OTP programs run, replayed and compared in-process,
## then 200 through real hosts (passivation, another member, a restart) on Redis; a divergence prints a minimal program;
## (with journals whole, then snapshotted every other execution); then the snapshots' fuzzers: random OTP
## programs snapshotted midway and run on in both, globals dumped and restored, saved runtimes corrupted,
## and the ids and answers a snapshot keeps
FUZZ_PROGRAMS ?= 10000
FUZZ_TIME ?= 60s
fuzz: test-deps
	$(GO) test -run='^$$' -fuzz=FuzzReplay -fuzztime=$(FUZZ_PROGRAMS)x ./sandbox/otp/
	OTPBOX_REPLAY_PROGRAMS=200 $(GO) test -count=1 -run=TestReplayAcrossHosts ./sandbox/
	$(GO) test -run='^$$' -fuzz=FuzzSnapshot -fuzztime=$(FUZZ_PROGRAMS)x ./sandbox/otp/
	$(GO) test -run='^$$' -fuzz=FuzzLoad -fuzztime=$(FUZZ_TIME) ./sandbox/otp/
	$(GO) test -run='^$$' -fuzz=FuzzDumpRestore -fuzztime=$(FUZZ_TIME) ./sandbox/engine/
	$(GO) test -run='^$$' -fuzz=FuzzAnswered -fuzztime=$(FUZZ_TIME) ./sandbox/

## lint: go vet and gofmt
lint: vet fmt
vet:
	$(GO) vet $(PKGS)
fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi

## proto: regenerate the protobuf messages (needs protoc and protoc-gen-go v1.36.11 on PATH)
PROTOS := sandbox/internal/wire/wire.proto cache/internal/cachepb/cache.proto cluster/clusterpb/placement.proto
proto:
	for p in $(PROTOS); do (cd $$(dirname $$p) && protoc --go_out=. --go_opt=paths=source_relative $$(basename $$p)) || exit 1; done
