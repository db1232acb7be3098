#!/usr/bin/env bash
# consul.sh — the Consul agent the cluster tests start (cluster/consul/consultest).
#
#   scripts/consul.sh install   make bin/consul the pinned Consul v1.14.11
#
# Only v1.14.11: the version tools/consul/go.mod pins and the tests are
# written against. In order:
#   1. bin/consul reports v1.14.11 and bin/.consul.stamp holds the sha256 of
#      tools/consul/go.sum: nothing to do;
#   2. a consul on PATH reports v1.14.11: bin/consul becomes a symlink to it;
#   3. otherwise build it from tools/consul (a few minutes the first time;
#      the Go build cache makes later builds quick) and write the stamp.
# It prints one line saying what it did.
set -euo pipefail

readonly VERSION="v1.14.11"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly root
readonly bin="$root/bin/consul"
readonly stamp="$root/bin/.consul.stamp"
readonly sum="$root/tools/consul/go.sum"

usage() {
	echo "usage: $0 install" >&2
	exit 2
}

# version_of prints the version a consul binary reports ("v1.14.11"), or nothing.
version_of() {
	"$1" version 2>/dev/null | awk 'NR == 1 && $1 == "Consul" { print $2 }' || true
}

install() {
	local want
	want="$(sha256sum "$sum" | awk '{ print $1 }')"
	if [ -x "$bin" ] && [ "$(version_of "$bin")" = "$VERSION" ] &&
		[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
		echo "consul.sh: bin/consul is Consul $VERSION, up to date"
		return 0
	fi

	local onpath
	if onpath="$(command -v consul)" && [ "$(dirname "$(realpath "$onpath")")" != "$root/bin" ] &&
		[ "$(version_of "$onpath")" = "$VERSION" ]; then
		mkdir -p "$root/bin"
		rm -f "$stamp"
		ln -sfn "$onpath" "$bin"
		echo "consul.sh: bin/consul -> $onpath (Consul $VERSION on PATH)"
		return 0
	fi

	mkdir -p "$root/bin"
	rm -f "$bin" "$stamp" # never leave a half-written or foreign binary behind a fresh stamp
	CGO_ENABLED=0 go build -C "$root/tools/consul" -trimpath -ldflags "-s -w" -o ../../bin/consul github.com/hashicorp/consul
	local got
	got="$(version_of "$bin")"
	if [ "$got" != "$VERSION" ]; then
		echo "consul.sh: built bin/consul reports '${got:-nothing}', want $VERSION" >&2
		exit 1
	fi
	echo "$want" >"$stamp"
	echo "consul.sh: built bin/consul (Consul $VERSION) from tools/consul"
}

case "${1:-}" in
install) install ;;
*) usage ;;
esac
