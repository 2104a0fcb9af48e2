<?php
// POST /greetings with {"name": "…"} on stdin: 201 {"greeting": "Hello, <name>!"}, else 422.
require __DIR__ . '/reply.php';

$body = json_decode(file_get_contents('php://stdin'), true);
$name = is_array($body) ? ($body['name'] ?? null) : null;
if (!is_string($name) || $name === '') {
    exit(urocket_reply(422, ['error' => 'the body needs a "name" string']));
}
exit(urocket_reply(201, ['greeting' => "Hello, $name!"]));
