#!/usr/bin/env bash
# The project's one test command: installs what the tests need besides cargo when it is missing,
# then runs the whole suite twice: on SQLite, then on PostgreSQL (INDGANG_TEST_STORAGE=postgres,
# a database of its own per test on the server of INDGANG_TEST_POSTGRES, by default
# postgres://postgres@127.0.0.1:5432/test; see docs/postgres.md). INDGANG_TEST_STORAGE=sqlite or
# =postgres set beforehand runs that one alone. Arguments go to `cargo test` (e.g.
# `tools/test.sh --test api openapi::`). When PostgreSQL cannot be reached its run fails, saying
# so: it is never skipped.
#
# What it installs, once, into ${INDGANG_TEST_TOOLS:-$HOME/.cache/indgang-test} (kept between runs):
#   venv/   a Python virtual environment with openapi-spec-validator from PyPI, pinned below; the
#           API tests run it on the served /openapi.json (INDGANG_OPENAPI_VALIDATOR).
#   node/   the npm package oidc-provider (a certified OpenID Connect provider), pinned below; the
#           sign-in tests (tests/api/oidc.rs) start it with Node.js on loopback
#           (INDGANG_OIDC_PROVIDER_DIR); and axe-core, pinned below, which the browser tests
#           (tests/api/browser.rs) inject into pages to check their accessibility (INDGANG_AXE).
#
# And from Debian, system-wide when missing: chromium and chromium-driver, the headless browser the
# page tests drive over WebDriver (INDGANG_CHROMIUM, INDGANG_CHROMEDRIVER); apt-get as root, or
# through sudo without a password prompt.
#
# Each tool has one ensure_* function that installs it when missing and exports the variable the
# tests read; a new tool is one more such function, called below.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="${INDGANG_TEST_TOOLS:-$HOME/.cache/indgang-test}"
OPENAPI_SPEC_VALIDATOR_VERSION="0.9.0"
OIDC_PROVIDER_VERSION="9.13.3"
AXE_CORE_VERSION="4.14.1"

fail() {
    echo "tools/test.sh: $*" >&2
    exit 1
}

# openapi-spec-validator in a virtual environment of its own, reused when the pinned version is there.
ensure_openapi_validator() {
    local venv="$TOOLS/venv"
    local validator="$venv/bin/openapi-spec-validator"
    if [[ ! -x "$validator" ]] ||
        [[ "$("$venv/bin/python" -m pip show openapi-spec-validator 2>/dev/null | sed -n 's/^Version: //p')" != "$OPENAPI_SPEC_VALIDATOR_VERSION" ]]; then
        command -v python3 >/dev/null || fail "python3 is needed for openapi-spec-validator; install it (Debian: apt-get install python3 python3-venv)"
        echo "tools/test.sh: installing openapi-spec-validator $OPENAPI_SPEC_VALIDATOR_VERSION into $venv" >&2
        mkdir -p "$TOOLS"
        python3 -m venv "$venv" ||
            fail "could not make a Python virtual environment in $venv (Debian: apt-get install python3-venv)"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            "openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION" ||
            fail "could not install openapi-spec-validator $OPENAPI_SPEC_VALIDATOR_VERSION from PyPI into $venv"
        [[ -x "$validator" ]] || fail "openapi-spec-validator was installed but $validator is missing"
    fi
    export INDGANG_OPENAPI_VALIDATOR="$validator"
}

# oidc-provider from npm in a folder of its own, reused when the pinned version is there.
ensure_oidc_provider() {
    local dir="$TOOLS/node"
    local installed="$dir/node_modules/oidc-provider/package.json"
    command -v node >/dev/null || fail "Node.js 20 or newer is needed for the OpenID provider of the sign-in tests; install it (Debian: apt-get install nodejs npm)"
    if [[ ! -f "$installed" ]] ||
        [[ "$(node -p "require(process.argv[1]).version" "$installed" 2>/dev/null)" != "$OIDC_PROVIDER_VERSION" ]]; then
        command -v npm >/dev/null || fail "npm is needed to install oidc-provider; install it (Debian: apt-get install npm)"
        echo "tools/test.sh: installing oidc-provider $OIDC_PROVIDER_VERSION into $dir" >&2
        mkdir -p "$dir"
        [[ -f "$dir/package.json" ]] || echo '{"private": true}' >"$dir/package.json"
        npm install --prefix "$dir" --no-audit --no-fund --save-exact --loglevel=error \
            "oidc-provider@$OIDC_PROVIDER_VERSION" ||
            fail "could not install oidc-provider $OIDC_PROVIDER_VERSION from npm into $dir"
        [[ -f "$installed" ]] || fail "oidc-provider was installed but $installed is missing"
    fi
    export INDGANG_OIDC_PROVIDER_DIR="$dir"
}

# axe-core from npm beside oidc-provider, reused when the pinned version is there.
ensure_axe() {
    local dir="$TOOLS/node"
    local installed="$dir/node_modules/axe-core/package.json"
    local script="$dir/node_modules/axe-core/axe.min.js"
    if [[ ! -f "$script" ]] ||
        [[ "$(node -p "require(process.argv[1]).version" "$installed" 2>/dev/null)" != "$AXE_CORE_VERSION" ]]; then
        command -v npm >/dev/null || fail "npm is needed to install axe-core; install it (Debian: apt-get install npm)"
        echo "tools/test.sh: installing axe-core $AXE_CORE_VERSION into $dir" >&2
        mkdir -p "$dir"
        [[ -f "$dir/package.json" ]] || echo '{"private": true}' >"$dir/package.json"
        npm install --prefix "$dir" --no-audit --no-fund --save-exact --loglevel=error \
            "axe-core@$AXE_CORE_VERSION" ||
            fail "could not install axe-core $AXE_CORE_VERSION from npm into $dir"
        [[ -f "$script" ]] || fail "axe-core was installed but $script is missing"
    fi
    export INDGANG_AXE="$script"
}

# Debian's chromium and chromium-driver, installed system-wide when either is missing.
ensure_chromium() {
    local browser=/usr/bin/chromium driver=/usr/bin/chromedriver
    if [[ ! -x "$browser" || ! -x "$driver" ]]; then
        local apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
        if [[ "$(id -u)" -ne 0 ]]; then
            sudo -n true 2>/dev/null ||
                fail "chromium and chromium-driver are needed for the browser tests and installing them needs root: run as root, give this user sudo without a password, or install them yourself (Debian: apt-get install chromium chromium-driver)"
            apt=(sudo -n "${apt[@]}")
        fi
        echo "tools/test.sh: installing chromium and chromium-driver with apt-get" >&2
        "${apt[@]}" update -qq ||
            fail "apt-get update failed; chromium and chromium-driver are needed for the browser tests"
        "${apt[@]}" install -y -qq chromium chromium-driver ||
            fail "could not install chromium and chromium-driver with apt-get"
        [[ -x "$browser" && -x "$driver" ]] ||
            fail "chromium and chromium-driver were installed but $browser or $driver is missing"
    fi
    export INDGANG_CHROMIUM="$browser" INDGANG_CHROMEDRIVER="$driver"
}

# The PostgreSQL server the tests make their databases on answers, or the run stops here.
ensure_postgres() {
    local url="${INDGANG_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
    local authority="${url#*://}"
    authority="${authority%%/*}"
    authority="${authority%%\?*}"
    authority="${authority##*@}"
    local host="${authority%:*}" port="5432"
    [[ "$authority" == *:* ]] && port="${authority##*:}"
    timeout 5 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null ||
        fail "PostgreSQL is not reachable at $host:$port ($url), so the PostgreSQL run of the tests cannot run; start it (Debian: pg_ctlcluster 15 main start) or set INDGANG_TEST_POSTGRES"
}

ensure_openapi_validator
ensure_oidc_provider
ensure_axe
ensure_chromium

case "${INDGANG_TEST_STORAGE:-}" in
    "") storages=(sqlite postgres) ;;
    sqlite | postgres) storages=("$INDGANG_TEST_STORAGE") ;;
    *) fail "INDGANG_TEST_STORAGE=$INDGANG_TEST_STORAGE: use sqlite or postgres, or leave it unset for both" ;;
esac
for storage in "${storages[@]}"; do
    [[ "$storage" == postgres ]] && ensure_postgres
    echo "tools/test.sh: the tests on $storage" >&2
    INDGANG_TEST_STORAGE="$storage" cargo test --workspace "$@"
done
