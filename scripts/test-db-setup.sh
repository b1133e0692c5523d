#!/usr/bin/env bash
# Manages the test database with the test configuration: a thin wrapper over
# `attune db …`. Run `scripts/test-db-setup.sh help` for usage.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# ── output ──────────────────────────────────────────────────────────────────
# Colour only on a terminal; NO_COLOR turns it off, FORCE_COLOR forces it
# (the same rules as the CLI, which inherits both variables).
if [[ -n "${FORCE_COLOR:-}" && "${FORCE_COLOR}" != "0" && "${FORCE_COLOR}" != "false" ]] ||
  [[ -z "${FORCE_COLOR:-}" && -z "${NO_COLOR:-}" && -t 1 ]]; then
  BOLD=$'\033[1m' DIM=$'\033[2m' RED=$'\033[31m' GREEN=$'\033[32m' YELLOW=$'\033[33m' RESET=$'\033[0m'
else
  BOLD='' DIM='' RED='' GREEN='' YELLOW='' RESET=''
fi

info() { printf '%s\n' "${DIM}$*${RESET}"; }
ok() { printf '%s\n' "${GREEN}✓${RESET} $*"; }
warn() { printf '%s\n' "${YELLOW}! $*${RESET}"; }
fail() { printf '%s\n' "${RED}${BOLD}error:${RESET} $*" >&2; }

usage() {
  cat <<EOF
${BOLD}Usage:${RESET} scripts/test-db-setup.sh [command] [options]

Manages the test database through ${BOLD}attune db${RESET}, with the test configuration.

${BOLD}Commands${RESET} (default: setup)
  setup     check the connection, create the database if missing, migrate
  create    create the database (nothing to do when it exists)
  drop      drop the database (nothing to do when it is absent)
  reset     drop, create and migrate
  migrate   apply pending migrations
  clean     empty every table, keeping the schema and migration history
  verify    check every table, foreign key and index; list what is missing
  status    server, migrations applied and pending, row count per table
  stop      stop the embedded PostgreSQL left running by a killed command
  test      set up the database, then run the test suite against its server
            (options go to vitest); without a server configured the suite
            starts its own embedded PostgreSQL
  help      print this help

Options after the command go to attune, e.g. ${BOLD}drop --force${RESET}.

${BOLD}Configuration${RESET}
  Variables from .env.test are loaded unless already set in the environment.
  ATTUNE__DATABASE__URL        the database to manage, e.g.
                               postgres://postgres@127.0.0.1:5432/attune_test
  POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB
                               build ATTUNE__DATABASE__URL when it is not set
                               (defaults 127.0.0.1, 5432, postgres, no password,
                               attune_test)
  Without either, the embedded PostgreSQL in ATTUNE__DATABASE__EMBEDDED_DATA_DIR
  (default .attune/postgres) is used, with database ATTUNE__DATABASE__NAME.
  ATTUNE__LOG__LEVEL defaults to info here; set it to debug for stack traces.

${BOLD}Examples${RESET}
  scripts/test-db-setup.sh
  POSTGRES_HOST=db POSTGRES_PASSWORD=secret scripts/test-db-setup.sh reset
  ATTUNE__DATABASE__URL=postgres://me@localhost/attune_test scripts/test-db-setup.sh status
EOF
}

# ── configuration ───────────────────────────────────────────────────────────
# Loads KEY=VALUE lines from a dotenv file into the environment, without
# overriding variables that are already set.
load_env_file() {
  local file="$1" line name value
  [[ -f "$file" ]] || return 0
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ "$line" =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
    name="${BASH_REMATCH[2]}"
    value="${BASH_REMATCH[3]}"
    if [[ "$value" =~ ^\"(.*)\"[[:space:]]*$ || "$value" =~ ^\'(.*)\'[[:space:]]*$ ]]; then
      value="${BASH_REMATCH[1]}"
    else
      value="${value%%[[:space:]]#*}"
      value="${value%"${value##*[![:space:]]}"}"
    fi
    if [[ -z "${!name+set}" ]]; then export "$name=$value"; fi
  done <"$file"
}

# Percent-encodes a URL component (user names and passwords may hold @ : / …).
urlencode() {
  local text="$1" out='' char i
  for ((i = 0; i < ${#text}; i++)); do
    char="${text:i:1}"
    case "$char" in
      [A-Za-z0-9._~-]) out+="$char" ;;
      *) out+="$(printf '%%%02X' "'$char")" ;;
    esac
  done
  printf '%s' "$out"
}

configure() {
  # The suite's .env.test asks for debug logs; for the CLI that would mean the
  # embedded server's log on every command, so default to info (not for `test`).
  if [[ "$1" != test ]]; then export ATTUNE__LOG__LEVEL="${ATTUNE__LOG__LEVEL:-info}"; fi
  load_env_file "$ROOT/.env.test"

  if [[ -z "${ATTUNE__DATABASE__URL:-}" ]] &&
    [[ -n "${POSTGRES_HOST:-}${POSTGRES_PORT:-}${POSTGRES_USER:-}${POSTGRES_PASSWORD:-}${POSTGRES_DB:-}" ]]; then
    local credentials
    credentials="$(urlencode "${POSTGRES_USER:-postgres}")"
    if [[ -n "${POSTGRES_PASSWORD:-}" ]]; then credentials+=":$(urlencode "$POSTGRES_PASSWORD")"; fi
    export ATTUNE__DATABASE__URL="postgres://${credentials}@${POSTGRES_HOST:-127.0.0.1}:${POSTGRES_PORT:-5432}/${POSTGRES_DB:-attune_test}"
  fi
}

# The URL with its password masked, for messages.
redacted() {
  sed -E 's#^([a-z]+://[^:/@]*):[^@]*@#\1:*****@#' <<<"$1"
}

# ── the CLI ─────────────────────────────────────────────────────────────────
# The built CLI when it is at least as new as every source file, else the
# TypeScript source through tsx.
attune() {
  local built="$ROOT/dist/cli/main.js"
  if [[ -f "$built" && -z "$(find "$ROOT/src" -name '*.ts' -newer "$built" -print -quit)" ]]; then
    node "$built" "$@"
  elif [[ -x "$ROOT/node_modules/.bin/tsx" ]]; then
    node --import tsx "$ROOT/src/cli/main.ts" "$@"
  else
    npx --no-install tsx "$ROOT/src/cli/main.ts" "$@"
  fi
}

check_connection() {
  if [[ -z "${ATTUNE__DATABASE__URL:-}" ]]; then
    info "No ATTUNE__DATABASE__URL: using the embedded PostgreSQL in ${ATTUNE__DATABASE__EMBEDDED_DATA_DIR:-.attune/postgres} (database ${ATTUNE__DATABASE__NAME:-attune})"
    return 0
  fi
  local where
  where="$(redacted "$ATTUNE__DATABASE__URL")"
  if command -v pg_isready >/dev/null 2>&1; then
    # pg_isready checks the server only, so it passes before the database exists.
    if pg_isready -q -t 5 -d "$ATTUNE__DATABASE__URL"; then
      ok "PostgreSQL is accepting connections at $where"
    else
      fail "PostgreSQL is not accepting connections at $where; is it running, and are host and port right?"
      return 1
    fi
  else
    attune db check
  fi
}

main() {
  local command="${1:-setup}"
  if [[ $# -gt 0 ]]; then shift; fi
  case "$command" in
    help | -h | --help)
      usage
      return 0
      ;;
    setup | create | drop | reset | migrate | clean | verify | status | stop | test) ;;
    *)
      fail "unknown command '$command'"
      usage >&2
      return 1
      ;;
  esac
  configure "$command"
  if [[ "$command" == test ]]; then
    run_tests "$@"
    return
  fi
  # stop needs no connection: it signals the embedded server of the data folder.
  if [[ "$command" != stop ]]; then check_connection; fi
  attune db "$command" "$@"
}

# The suite against the configured server: it makes its own template and
# per-worker databases there, named after the URL's database.
run_tests() {
  if [[ -z "${ATTUNE__DATABASE__URL:-}" ]]; then
    info "No ATTUNE__DATABASE__URL or POSTGRES_*: the suite starts its own embedded PostgreSQL"
  else
    check_connection
    ATTUNE__LOG__LEVEL=info attune db setup
  fi
  exec "$ROOT/node_modules/.bin/vitest" run "$@"
}

main "$@"
