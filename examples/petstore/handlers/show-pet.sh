#!/bin/sh
# GET /pets/{petId} — 200 with the pet, or 404 with a problem.
set -eu

case "$PATH_PARAM_PETID" in
  1) status=200 body='{"id":1,"name":"Rex","tag":"dog"}' ;;
  2) status=200 body='{"id":2,"name":"Tom","tag":"cat"}' ;;
  3) status=200 body='{"id":3,"name":"Nemo","tag":null}' ;;
  *) status=404 body='{"title":"No such pet","detail":"There is no pet with that id"}' ;;
esac

curl --silent --show-error --fail --unix-socket "$UROCKET_SOCKET" \
  -H 'Content-Type: application/json' -H "Urocket-Status: $status" \
  --data-binary "$body" "$UROCKET_REPLY_URL" >/dev/null
