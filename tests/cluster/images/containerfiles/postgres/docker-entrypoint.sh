#!/usr/bin/env bash
# PostgreSQL entrypoint with the official postgres image's contract (written for the test
# cluster; it is not the official script):
#   POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE)  the superuser's password, required unless
#                                 POSTGRES_HOST_AUTH_METHOD=trust
#   POSTGRES_USER (postgres)      the superuser initdb creates
#   POSTGRES_DB (= POSTGRES_USER) a database created at initialisation
#   PGDATA                        the data folder; initialised when it holds no PG_VERSION
#   POSTGRES_INITDB_ARGS          extra initdb arguments
#   POSTGRES_HOST_AUTH_METHOD     pg_hba method for TCP connections (scram-sha-256)
#   /docker-entrypoint-initdb.d/  *.sh (run), *.sql and *.sql.gz (psql) at initialisation
# Arguments: when the first is "postgres" or starts with "-", postgres runs with them
# (e.g. args: [-c, max_connections=300]); anything else is run as given.
set -Eeuo pipefail

log() { printf '%s entrypoint: %s\n' "$(date -u +'%Y-%m-%d %H:%M:%S UTC')" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# VAR from $VAR or from the file named by $VAR_FILE (not both)
file_env() {
	local var="$1" def="${2:-}" file_var="${1}_FILE" val
	if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
		die "both $var and $file_var are set (they are exclusive)"
	fi
	val="$def"
	if [ -n "${!var:-}" ]; then
		val="${!var}"
	elif [ -n "${!file_var:-}" ]; then
		val="$(< "${!file_var}")"
	fi
	export "$var"="$val"
	unset "$file_var"
}

if [ "$#" -eq 0 ] || [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi
if [ "$1" != 'postgres' ]; then
	exec "$@"
fi

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"

# As root (not how the cluster runs it): own the writable folders, then continue as postgres.
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	chown 999:999 "$PGDATA" /var/run/postgresql
	chmod 700 "$PGDATA"
	chmod 3777 /var/run/postgresql
	exec setpriv --reuid=999 --regid=999 --init-groups "$BASH_SOURCE" "$@"
fi

if ! mkdir -p "$PGDATA" 2>/dev/null; then
	die "cannot create PGDATA $PGDATA as uid $(id -u) (is its parent writable by this user?)"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	chmod 700 "$PGDATA" 2>/dev/null || true
fi

if [ -s "$PGDATA/PG_VERSION" ]; then
	log "PostgreSQL data in $PGDATA (version $(< "$PGDATA/PG_VERSION")): skipping initialisation"
else
	file_env POSTGRES_PASSWORD
	file_env POSTGRES_USER postgres
	file_env POSTGRES_DB "$POSTGRES_USER"
	file_env POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		die "PGDATA $PGDATA is empty and POSTGRES_PASSWORD is not set: set it (or POSTGRES_PASSWORD_FILE), or POSTGRES_HOST_AUTH_METHOD=trust"
	fi
	if [ -n "$(ls -A "$PGDATA" 2>/dev/null)" ]; then
		die "PGDATA $PGDATA holds files but no PG_VERSION: refusing to initialise over them"
	fi

	log "initialising $PGDATA (superuser $POSTGRES_USER, database $POSTGRES_DB, host auth $POSTGRES_HOST_AUTH_METHOD)"
	pwfile="$(mktemp "${TMPDIR:-/tmp}/pwfile.XXXXXX")"
	trap 'rm -f "$pwfile"' EXIT
	printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
	# shellcheck disable=SC2086 (word splitting of POSTGRES_INITDB_ARGS is intended)
	initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
		--auth-host="$POSTGRES_HOST_AUTH_METHOD" $POSTGRES_INITDB_ARGS
	rm -f "$pwfile"
	trap - EXIT
	# Any TCP client (the pod network): password checked with $POSTGRES_HOST_AUTH_METHOD.
	printf '\n# added by docker-entrypoint.sh\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >> "$PGDATA/pg_hba.conf"

	# Private start on the Unix socket only, for the database and the init scripts.
	pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w -t 60 start
	psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$POSTGRES_USER")
	if [ "$POSTGRES_DB" != postgres ]; then
		"${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<-'EOSQL'
			CREATE DATABASE :"db" ;
		EOSQL
	fi
	psql+=(--dbname "$POSTGRES_DB")
	shopt -s nullglob
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
			*.sh) log "running $f"; "$f" ;;
			*.sql) log "running $f"; "${psql[@]}" -f "$f" ;;
			*.sql.gz) log "running $f"; gunzip -c "$f" | "${psql[@]}" ;;
			*) log "ignoring $f" ;;
		esac
	done
	shopt -u nullglob
	pg_ctl -D "$PGDATA" -m fast -w -t 60 stop
	log "initialisation complete"
fi

exec "$@"
