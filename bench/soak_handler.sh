#!/bin/sh
# The soak's handler: behaves as its first argument says. The soak names each
# request with X-Request-Id (passed as HTTP_X_REQUEST_ID) so that every reply
# can be matched to the request that caused it.
reply() {
  curl -s -o /dev/null -w '%{http_code}' --unix-socket "$UROCKET_SOCKET" \
    -H 'Content-Type: application/json' --data-binary "$1" "$UROCKET_REPLY_URL"
}
case "$1" in
  replied) reply "{\"id\":\"$HTTP_X_REQUEST_ID\"}" >/dev/null ;;
  slow)
    sleep "$HTTP_X_SOAK_DELAY"
    reply "{\"id\":\"$HTTP_X_REQUEST_ID\"}" >/dev/null
    ;;
  timeout) exec sleep 1000 ;;
  crash)
    ulimit -c 0
    kill -SEGV $$
    ;;
  exit) exit 3 ;;
  duplicate)
    reply "{\"id\":\"$HTTP_X_REQUEST_ID\"}" >/dev/null
    echo "second reply $(reply '{"again":true}')" >&2
    ;;
  late) exit 0 ;;
  abort)
    echo "ready $HTTP_X_REQUEST_ID" >&2
    exec sleep 1000
    ;;
  payload)
    bytes=$(wc -c | tr -d ' ')
    reply "{\"id\":\"$HTTP_X_REQUEST_ID\",\"bytes\":$bytes}" >/dev/null
    ;;
  *)
    echo "unknown mode $1" >&2
    exit 64
    ;;
esac
