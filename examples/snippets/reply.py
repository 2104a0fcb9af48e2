#!/usr/bin/env python3
import http.client, json, os, socket

class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)

conn = UnixConnection(os.environ["UROCKET_SOCKET"])
conn.request("POST", os.environ["UROCKET_REPLY_URL"].removeprefix("http://localhost"),
             body=json.dumps({"hello": "from python"}),
             headers={"Content-Type": "application/json", "Urocket-Status": "200"})
answer = conn.getresponse()
answer.read()
if answer.status != 200:
    raise SystemExit(f"reply refused: {answer.status}")
