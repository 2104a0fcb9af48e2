#!/bin/sh
# POST /github — a delivery whose signature urocket has checked: the body is on stdin.
set -eu
bytes=$(wc -c | tr -d ' ')
echo "delivery ${HTTP_X_GITHUB_DELIVERY:-?}: ${HTTP_X_GITHUB_EVENT:-?} event, $bytes bytes" >&2
curl --silent --show-error --fail --unix-socket "$UROCKET_SOCKET" -H 'Urocket-Status: 202' \
  -H 'Content-Type: application/json' --data-binary "{\"event\":\"${HTTP_X_GITHUB_EVENT:-}\"}" \
  "$UROCKET_REPLY_URL" >/dev/null
