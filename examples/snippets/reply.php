<?php
$curl = curl_init(getenv('UROCKET_REPLY_URL'));
curl_setopt_array($curl, [
    CURLOPT_UNIX_SOCKET_PATH => getenv('UROCKET_SOCKET'),
    CURLOPT_POST => true,
    CURLOPT_POSTFIELDS => json_encode(['hello' => 'from php']),
    CURLOPT_HTTPHEADER => ['Content-Type: application/json', 'Urocket-Status: 200'],
    CURLOPT_RETURNTRANSFER => true,
]);
curl_exec($curl);
if (curl_getinfo($curl, CURLINFO_RESPONSE_CODE) !== 200) {
    fwrite(STDERR, "reply refused\n");
    exit(1);
}
