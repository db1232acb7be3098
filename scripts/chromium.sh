#!/usr/bin/env bash
# chromium.sh — make sure Debian's chromium is installed, for the browser
# tests of the console (cmd/otpbox/internal/console drives it with chromedp).
#
#   scripts/chromium.sh install   install Debian's chromium if it is not on PATH
#
# The tests start their own headless chromium; this script only makes sure
# the binary exists. It is idempotent and quiet: it prints nothing when
# chromium is present.
set -euo pipefail

usage() {
	echo "usage: $0 install" >&2
	exit 2
}

install() {
	if command -v chromium >/dev/null 2>&1; then
		return 0
	fi
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		sudo="sudo"
	fi
	local log
	log="$(mktemp)"
	trap 'rm -f "$log"' RETURN
	export DEBIAN_FRONTEND=noninteractive
	if ! { $sudo apt-get install -y -qq --no-install-recommends chromium >"$log" 2>&1 ||
		{ $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends chromium; } >>"$log" 2>&1; }; then
		cat "$log" >&2
		echo "chromium.sh: apt-get install chromium failed" >&2
		exit 1
	fi
	command -v chromium >/dev/null 2>&1 || {
		echo "chromium.sh: chromium still not on PATH after install" >&2
		exit 1
	}
}

case "${1:-}" in
install) install ;;
*) usage ;;
esac
