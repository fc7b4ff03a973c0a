# shellcheck shell=bash
# Throwaway mailpit (a real SMTP sink with an HTTP API) for tests. Source
# this file, then:
#
#   mailpit_start  # installs mailpit with `go install` when missing (about a
#                  # minute the first time), starts it on free loopback ports
#                  # and exports RANKR_TEST_SMTP=127.0.0.1:PORT (SMTP) and
#                  # RANKR_TEST_MAILPIT=http://127.0.0.1:PORT (its API)
#   mailpit_stop   # stops it (also run on EXIT by mailpit_start, after any
#                  # EXIT trap already set: call it after pg_start, whose
#                  # trap replaces the EXIT trap)
#
# It accepts any SMTP login, in clear text (loopback only), keeps every
# message (no 500-message cap) and looks nothing up on the network.

MAILPIT_VERSION="v1.33.1"

mailpit_bin() {
	echo "$(go env GOPATH)/bin/mailpit"
}

mailpit_install() {
	# A go-installed mailpit calls itself "dev": ask Go which module it is.
	if [[ -x "$(mailpit_bin)" ]] && go version -m "$(mailpit_bin)" 2>/dev/null | grep -qE "^\s+mod\s+github.com/axllent/mailpit\s+$MAILPIT_VERSION\s"; then
		return
	fi
	echo "installing mailpit $MAILPIT_VERSION with go install" >&2
	GOBIN="$(dirname "$(mailpit_bin)")" go install "github.com/axllent/mailpit@$MAILPIT_VERSION" >&2
}

# mailpit_free_port prints a loopback port nobody listens on.
mailpit_free_port() {
	local port
	for _ in $(seq 1 50); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	echo "no free port found" >&2
	return 1
}

# mailpit_chain_exit_trap adds mailpit_stop to the EXIT trap, keeping what
# is already there.
mailpit_chain_exit_trap() {
	local prev
	prev="$(trap -p EXIT)"
	prev="${prev#"trap -- '"}"
	prev="${prev%"' EXIT"}"
	case "$prev" in
	*mailpit_stop*) return ;;
	"") trap mailpit_stop EXIT ;;
	*) trap "$prev; mailpit_stop" EXIT ;;
	esac
}

mailpit_start() {
	mailpit_install
	local smtp http tries
	MAILPIT_LOG="$(mktemp "${TMPDIR:-/tmp}/rankr-mailpit.XXXXXX")"
	for tries in 1 2 3; do
		smtp="$(mailpit_free_port)"
		http="$(mailpit_free_port)"
		"$(mailpit_bin)" --smtp "127.0.0.1:$smtp" --listen "127.0.0.1:$http" \
			--smtp-auth-accept-any --smtp-auth-allow-insecure --smtp-disable-rdns \
			--max 0 --disable-version-check --quiet >"$MAILPIT_LOG" 2>&1 &
		MAILPIT_PID=$!
		mailpit_chain_exit_trap
		for _ in $(seq 1 100); do
			if ! kill -0 "$MAILPIT_PID" 2>/dev/null; then
				break # it exited: most likely a port was taken meanwhile
			fi
			if (exec 3<>"/dev/tcp/127.0.0.1/$smtp") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$http") 2>/dev/null; then
				export RANKR_TEST_SMTP="127.0.0.1:$smtp"
				export RANKR_TEST_MAILPIT="http://127.0.0.1:$http"
				echo "mailpit $MAILPIT_VERSION: SMTP on $RANKR_TEST_SMTP, API on $RANKR_TEST_MAILPIT" >&2
				return
			fi
			sleep 0.1
		done
		# Its log first: mailpit_stop removes it.
		echo "mailpit did not start (try $tries):" >&2
		cat "$MAILPIT_LOG" >&2 || true
		mailpit_stop
	done
	return 1
}

mailpit_stop() {
	if [[ -n "${MAILPIT_PID:-}" ]]; then
		kill "$MAILPIT_PID" 2>/dev/null || true
		wait "$MAILPIT_PID" 2>/dev/null || true
	fi
	MAILPIT_PID=""
	if [[ -n "${MAILPIT_LOG:-}" ]]; then
		rm -f "$MAILPIT_LOG"
	fi
}
