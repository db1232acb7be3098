#!/usr/bin/env bash
# promtool.sh — the Prometheus promtool that `make test` runs
# (`promtool check metrics` on a live node's first scrape, in
# cmd/otpbox/internal/node's TestFirstScrape).
#
#   scripts/promtool.sh install   make bin/promtool the pinned promtool
#
# In order:
#   1. bin/promtool runs and bin/.promtool.stamp holds the sha256 of
#      tools/promtool/go.sum: nothing to do;
#   2. a promtool on PATH: bin/promtool becomes a symlink to it (its
#      `check metrics` is stable across versions);
#   3. otherwise build it from tools/promtool (a few minutes and about 1 GB
#      of modules the first time; the Go build cache makes later builds
#      quick) and write the stamp.
# It prints one line saying what it did.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly root
readonly bin="$root/bin/promtool"
readonly stamp="$root/bin/.promtool.stamp"
readonly sum="$root/tools/promtool/go.sum"

usage() {
	echo "usage: $0 install" >&2
	exit 2
}

install() {
	local want
	want="$(sha256sum "$sum" | awk '{ print $1 }')"
	if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1 &&
		[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
		echo "promtool.sh: bin/promtool is up to date"
		return 0
	fi

	local onpath
	if onpath="$(command -v promtool)" && [ "$(dirname "$(realpath "$onpath")")" != "$root/bin" ]; then
		mkdir -p "$root/bin"
		rm -f "$stamp"
		ln -sfn "$onpath" "$bin"
		echo "promtool.sh: bin/promtool -> $onpath (promtool on PATH)"
		return 0
	fi

	mkdir -p "$root/bin"
	rm -f "$bin" "$stamp" # never leave a half-written binary behind a fresh stamp
	CGO_ENABLED=0 go build -C "$root/tools/promtool" -trimpath -ldflags "-s -w" -o ../../bin/promtool github.com/prometheus/prometheus/cmd/promtool
	"$bin" --version >/dev/null
	echo "$want" >"$stamp"
	echo "promtool.sh: built bin/promtool from tools/promtool"
}

case "${1:-}" in
install) install ;;
*) usage ;;
esac
