<?php
// GET /hello?name=…: {"hello": "<name>"}, "world" without one.
require __DIR__ . '/reply.php';

parse_str(getenv('QUERY_STRING') ?: '', $query);
$name = $query['name'] ?? '';
exit(urocket_reply(200, ['hello' => is_string($name) && $name !== '' ? $name : 'world']));
