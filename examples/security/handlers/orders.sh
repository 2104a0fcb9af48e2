#!/bin/sh
# GET /orders (and /health) — replies with who called: urocket passes the identity, never the token.
set -eu
body=$(printf '{"subject":"%s","scopes":"%s"}' "${AUTH_SUBJECT:-}" "${AUTH_SCOPES:-}")
curl --silent --show-error --fail --unix-socket "$UROCKET_SOCKET" \
  -H 'Content-Type: application/json' --data-binary "$body" "$UROCKET_REPLY_URL" >/dev/null
