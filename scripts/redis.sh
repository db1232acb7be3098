#!/usr/bin/env bash
# redis.sh — manage the local redis-server used by the sandbox store tests.
#
#   scripts/redis.sh install   install Debian's redis-server if it is not on PATH
#
# The tests start their own redis-server on a free loopback port (see
# sandbox/store/redis); this script only makes sure the binary exists.
# It is idempotent and quiet: it prints nothing when redis-server is present.
set -euo pipefail

usage() {
	echo "usage: $0 install" >&2
	exit 2
}

install() {
	if command -v redis-server >/dev/null 2>&1; then
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
	if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends redis-server; } >"$log" 2>&1; then
		cat "$log" >&2
		echo "redis.sh: apt-get install redis-server failed" >&2
		exit 1
	fi
	# Debian starts a system-wide redis on install when an init system is
	# running; the tests do not use it, they start their own instances.
	command -v redis-server >/dev/null 2>&1 || {
		echo "redis.sh: redis-server still not on PATH after install" >&2
		exit 1
	}
}

case "${1:-}" in
install) install ;;
*) usage ;;
esac
