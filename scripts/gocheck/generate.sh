#!/usr/bin/env bash
# generate.sh — asks the project's Go toolchain (scripts/test-peers) what Go's text/template and
# strconv answer for the cases in scripts/gocheck/cases.json, and what unicode.IsPrint accepts,
# and writes the answers as Rust: src/gotemplate/go_cases.rs, src/goquote/go_cases.rs and
# src/goquote/printable.rs.
#
#   scripts/gocheck/generate.sh           rewrite the generated files
#   scripts/gocheck/generate.sh --check   fail, showing the difference, if they are not current
set -euo pipefail
cd "$(dirname "$0")/../.."

check=false
case ${1:-} in
  '') ;;
  --check) check=true ;;
  *) echo "usage: scripts/gocheck/generate.sh [--check]" >&2; exit 2 ;;
esac

eval "$(scripts/test-peers env)"
if ! command -v go >/dev/null; then
  echo "generate.sh: no Go toolchain; install it with \`scripts/test-peers go\`" >&2
  exit 1
fi
export GOTOOLCHAIN=local GOPROXY=off GO111MODULE=off GOFLAGS=

generated=$(mktemp -d)
trap 'rm -rf "$generated"' EXIT
go run scripts/gocheck/main.go -cases scripts/gocheck/cases.json -out "$generated"

files=(src/gotemplate/go_cases.rs src/goquote/go_cases.rs src/goquote/printable.rs)
stale=0
for file in "${files[@]}"; do
  if $check; then
    if ! diff -u --label "$file" --label "$file (from Go)" "$file" "$generated/$file" >&2; then
      stale=1
    fi
  else
    cp "$generated/$file" "$file"
  fi
done
if ((stale)); then
  echo "generate.sh: generated files are stale; run scripts/gocheck/generate.sh and commit the result" >&2
  exit 1
fi
