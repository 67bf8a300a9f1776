#!/bin/sh
# Runs the token recipes of docs/security.md exactly as written there (the
# code blocks after the <!-- recipe:NAME --> markers) and checks that
# sc_jwt_verify accepts what they mint, and refuses it under another secret.
#   recipes.sh DOC SC_JWT_CHECK [NODE]
set -eu
doc=$1
check=$2
node=${3:-}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"

# The first fenced block after the marker line.
block() {
    awk -v m="<!-- recipe:$1 -->" '
        $0 == m { found = 1; next }
        found && /^```/ { if (inside) exit; inside = 1; next }
        inside { print }' "$doc"
}

expect_ok() {
    out=$("$check" --secret jwt.secret "$2") || { echo "FAIL $1: $out"; exit 1; }
    case $out in
    "ok sub=alice exp="*" channels=news,team.42.*") echo "ok $1: $out" ;;
    *) echo "FAIL $1: unexpected claims: $out"; exit 1 ;;
    esac
    if "$check" --secret other.secret "$2" >/dev/null; then
        echo "FAIL $1: accepted under another secret"; exit 1
    fi
}

block secret > secret.sh
block openssl > openssl.sh
block node > mint.js
for f in secret.sh openssl.sh mint.js; do
    [ -s "$f" ] || { echo "FAIL: recipe block for $f not found in $doc"; exit 1; }
done
sh secret.sh
openssl rand -hex 32 > other.secret

token=$(sh openssl.sh | tail -n 1)
expect_ok openssl "$token"

if [ -n "$node" ]; then
    token=$("$node" mint.js | tail -n 1)
    expect_ok node "$token"
else
    echo "skip node: no node executable"
fi
