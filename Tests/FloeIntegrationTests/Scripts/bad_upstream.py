#!/usr/bin/env python3
"""An upstream that misbehaves, one way per path, for the relay tests. Prints its port, then one line per request:
`REQUEST <path> <seconds since start>`.

  /html            200 with an HTML page (an error page where a stream should be)
  /garbage         200 audio/mpeg, then random bytes that hold no MPEG frame, paced, until the client leaves
  /redirect        302 to itself, forever
  /endless-header  a status line, then header lines that never end
  /stall           200 audio/mpeg, then nothing
"""
import os, socket, socketserver, sys, time

START = time.monotonic()


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            data += chunk
        path = data.split(b" ")[1].decode()
        print(f"REQUEST {path} {time.monotonic() - START:.2f}", flush=True)
        send = self.request.sendall
        try:
            if path == "/html":
                send(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body>Stream offline</body></html>")
            elif path == "/garbage":
                send(b"HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\n\r\n")
                while True:
                    # 0x00–0x7f only: never an MPEG sync byte (0xff).
                    send(bytes(b & 0x7F for b in os.urandom(8192)))
                    time.sleep(0.05)
            elif path == "/redirect":
                send(b"HTTP/1.0 302 Found\r\nLocation: /redirect\r\nContent-Length: 0\r\n\r\n")
            elif path == "/endless-header":
                send(b"HTTP/1.0 200 OK\r\n")
                while True:
                    send(b"X-Padding: " + b"a" * 1000 + b"\r\n")
                    time.sleep(0.01)
            elif path == "/stall":
                send(b"HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\n\r\n")
                time.sleep(120)
            else:
                send(b"HTTP/1.0 404 Not Found\r\n\r\n")
        except OSError:
            pass


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


with Server(("127.0.0.1", 0), Handler) as server:
    print(server.server_address[1], flush=True)
    server.serve_forever()
