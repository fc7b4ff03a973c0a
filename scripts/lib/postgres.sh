# shellcheck shell=bash
# Throwaway PostgreSQL for tests and benchmarks. Source this file, then:
#
#   pg_start   # installs PostgreSQL from apt when missing, starts a server on
#              # a free loopback port in a temp dir, exports
#              # RANKR_TEST_POSTGRES=postgres://…/rankr_test
#   pg_stop    # stops it and removes its data (also run on EXIT by pg_start)
#
# The server runs with fsync off: it is for tests. Benchmarks that measure
# durability start their own.

pg_bin() {
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

pg_install() {
	if [[ -n "$(pg_bin)" && -x "$(pg_bin)/initdb" ]]; then
		return
	fi
	echo "installing PostgreSQL from apt" >&2
	local sudo=()
	[[ $(id -u) -eq 0 ]] || sudo=(sudo)
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >&2
}

# pg_free_port prints a loopback port nobody listens on.
pg_free_port() {
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

# pg_as runs a PostgreSQL tool as the server's owner: postgres when we are
# root (initdb refuses to run as root), ourselves otherwise.
pg_as() {
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_start() {
	pg_install
	local bin
	bin="$(pg_bin)"
	PG_DATA="$(mktemp -d "${TMPDIR:-/tmp}/rankr-pg.XXXXXX")"
	[[ $(id -u) -eq 0 ]] && chown postgres:postgres "$PG_DATA"
	PG_PORT="$(pg_free_port)"
	pg_as "$bin/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --no-sync >"$PG_DATA.initdb.log" 2>&1 ||
		{ cat "$PG_DATA.initdb.log" >&2; return 1; }
	pg_as "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 30 \
		-o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DATA -c fsync=off -c max_connections=300" start >/dev/null ||
		{ tail -20 "$PG_DATA/server.log" >&2; return 1; }
	PG_BIN="$bin"
	trap pg_stop EXIT
	"$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE rankr_test" >/dev/null
	export RANKR_TEST_POSTGRES="postgres://postgres@127.0.0.1:$PG_PORT/rankr_test?sslmode=disable"
	echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT" >&2
}

pg_stop() {
	if [[ -n "${PG_DATA:-}" && -d "$PG_DATA" ]]; then
		pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
		rm -rf "$PG_DATA" "$PG_DATA.initdb.log"
	fi
	PG_DATA=""
}
