#!/bin/sh
# GET /pets — replies with the list, cut to ?limit=N when given.
# urocket sets REQUEST_ID, QUERY_STRING, UROCKET_SOCKET and UROCKET_REPLY_URL.
set -eu

limit=$(printf '%s' "${QUERY_STRING:-}" | sed -n 's/^\(.*&\)\{0,1\}limit=\([0-9]*\).*$/\2/p')
pets='{"id":1,"name":"Rex","tag":"dog"}
{"id":2,"name":"Tom","tag":"cat"}
{"id":3,"name":"Nemo","tag":null}'
if [ -n "$limit" ]; then pets=$(printf '%s\n' "$pets" | head -n "$limit"); fi
body="[$(printf '%s\n' "$pets" | paste -sd, -)]"

echo "listing pets for request $REQUEST_ID" >&2
# Always name the content type: curl's default is form-urlencoded.
curl --silent --show-error --fail --unix-socket "$UROCKET_SOCKET" \
  -H 'Content-Type: application/json' --data-binary "$body" "$UROCKET_REPLY_URL" >/dev/null
