#!/usr/bin/env bash
# Install what Community Mapper needs on a Debian machine; safe to run again.
#   scripts/setup.sh          system libraries, a virtualenv with the package, a secret key
#   scripts/setup.sh --test   also PostGIS (running, enabled in database "test"), GDAL, Chromium,
#                             and axe-core (npm, into node_modules/) for the accessibility tests
set -euo pipefail
cd "$(dirname "$0")/.."

with_test=0
[ "${1:-}" = "--test" ] && with_test=1
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pg_version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
pg_version=${pg_version:-15}

# WeasyPrint (the PDF packs, mapper/io/pdf.py) needs Pango, HarfBuzz and a font from Debian.
packages=(libsqlite3-mod-spatialite python3-venv python3-dev
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)
if [ "$with_test" = 1 ]; then
  packages+=("postgresql-$pg_version" "postgresql-$pg_version-postgis-3" gdal-bin chromium)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]}" >&2
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

# Debian's python3 can load SQLite extensions (mod_spatialite); pyenv's build here cannot.
if ! .venv/bin/python -c 'import sqlite3; sqlite3.connect(":memory:").enable_load_extension(True)' 2>/dev/null; then
  rm -rf .venv
  /usr/bin/python3 -m venv .venv
fi
# Every dependency at the version and hash locked in requirements.lock (make lock), then the
# package itself, editable, without resolving anything again.
if [ ! -f .venv/.installed ] || [ requirements.lock -nt .venv/.installed ] || [ setup.cfg -nt .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
  .venv/bin/pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -e .
  touch .venv/.installed
fi

mkdir -p instance
[ -s instance/secret_key ] || .venv/bin/python -c 'import secrets; print(secrets.token_hex(32))' > instance/secret_key

if [ "$with_test" = 1 ]; then
  # Some machines have a Node.js with its own npm (not Debian's); use whichever is there.
  if ! command -v npm >/dev/null; then
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
  fi
  if [ ! -f node_modules/axe-core/axe.min.js ] || [ package-lock.json -nt node_modules/axe-core/axe.min.js ]; then
    npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  psql_admin() { psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
  [ "$(psql_admin -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'test'")" = 1 ] \
    || psql_admin -d postgres -c 'CREATE DATABASE test'
  psql_admin -d test -c 'CREATE EXTENSION IF NOT EXISTS postgis'
fi
