#!/bin/sh
# Always name the content type: curl's default is application/x-www-form-urlencoded.
curl --silent --fail --unix-socket "$UROCKET_SOCKET" \
  -H 'Content-Type: application/json' -H 'Urocket-Status: 201' \
  --data-binary @reply.json "$UROCKET_REPLY_URL"
