#!/usr/bin/env python3
"""A loopback HTTP proxy that serves docs/logo.png for the schema's logoUrl while the C# SDK is generated.

The .NET code generator downloads the package logo from `logoUrl` on every run. Generation must work
offline and give the same bytes each time, so `make gen-sdk` points HTTP_PROXY here and this answers with
the committed logo; any other request is refused.

Usage: logo-proxy.py <logo-url> <png-file>   (prints the port, serves until killed)
"""
import http.server
import sys

LOGO_URL, PNG = sys.argv[1], sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != LOGO_URL:
            self.send_error(502, f"only {LOGO_URL} is served here")
            return
        body = open(PNG, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
