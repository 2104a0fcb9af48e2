<?php
// Replies to the waiting client with `urocket reply`: the binary the image copied beside PHP, so
// the handlers need neither curl nor PHP's curl extension. Returns urocket reply's exit code
// (0 when delivered; see urocket's README for the others).
function urocket_reply(int $status, array $data): int
{
    $command = [
        'urocket', 'reply',
        '--status', (string) $status,
        '--content-type', 'application/json',
        json_encode($data),
    ];
    // An argv array: PHP starts urocket without a shell, so nothing in $data is interpreted.
    // stdin is /dev/null, so urocket reply takes the body from its argument alone.
    $process = proc_open($command, [0 => ['file', '/dev/null', 'r']], $pipes);
    return $process === false ? 1 : proc_close($process);
}
