#!/usr/bin/env bash
# The project's one test command: installs what the tests need besides cargo when it is missing,
# then runs the whole suite. Arguments go to `cargo test` (e.g. `tools/test.sh --test api openapi::`).
#
# What it installs, once, into ${INDGANG_TEST_TOOLS:-$HOME/.cache/indgang-test} (kept between runs):
#   venv/   a Python virtual environment with openapi-spec-validator from PyPI, pinned below; the
#           API tests run it on the served /openapi.json (INDGANG_OPENAPI_VALIDATOR).
#
# Each tool has one ensure_* function that installs it when missing and exports the variable the
# tests read; a new tool is one more such function, called below.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="${INDGANG_TEST_TOOLS:-$HOME/.cache/indgang-test}"
OPENAPI_SPEC_VALIDATOR_VERSION="0.9.0"

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

ensure_openapi_validator

exec cargo test --workspace "$@"
