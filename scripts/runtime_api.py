#!/usr/bin/env python3
"""A stand-in for the AWS Lambda Runtime API, for booting the built `bootstrap` outside Lambda.

Serves the endpoints a custom runtime calls (AWS Lambda Developer Guide, "Using the Lambda
runtime API for custom runtimes"):

  GET  /2018-06-01/runtime/invocation/next          the next event, with the
       Lambda-Runtime-Aws-Request-Id, -Deadline-Ms, -Invoked-Function-Arn and -Trace-Id headers
  POST /2018-06-01/runtime/invocation/{id}/response the function's reply
  POST /2018-06-01/runtime/invocation/{id}/error    an invocation error (Lambda-Runtime-Function-
       Error-Type header, {"errorType", "errorMessage"} body)
  POST /2018-06-01/runtime/init/error               an initialization error

Each event file given is served once, in order (request ids 1, 2, ...). Every outcome is written
to OUT as `<id>.response.json`, `<id>.error.json` (the body plus the error-type header) or
`init.error.json`; once every event has an outcome, `done` is written. After the last event, a
`next` call waits (as the real API does between invocations) until the server is stopped.

  runtime_api.py --port-file F --out DIR EVENT.json...   (port 0: a free loopback port, in F)
"""

import argparse
import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FUNCTION_ARN = "arn:aws:lambda:us-east-1:111111111111:function:trailkey-rule"
PREFIX = "/2018-06-01/runtime"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("events", nargs="+")
    args = parser.parse_args()

    events = []
    for path in args.events:
        with open(path, "rb") as f:
            events.append(f.read())
    lock = threading.Lock()
    state = {"served": 0, "answered": set()}

    def record(name: str, payload: dict) -> None:
        tmp = os.path.join(args.out, name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(payload, f, indent=2)
        os.replace(tmp, os.path.join(args.out, name))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):  # quiet; outcomes are in OUT
            pass

        def reply(self, status: int, body: bytes = b"{}", headers=None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != PREFIX + "/invocation/next":
                self.reply(404, b'{"errorMessage":"unknown path"}')
                return
            with lock:
                index = state["served"]
                if index < len(events):
                    state["served"] += 1
            if index >= len(events):
                while True:  # no more events: block like the real API until stopped
                    time.sleep(3600)
            request_id = str(index + 1)
            deadline = int(time.time() * 1000) + 300_000
            self.reply(200, events[index], {
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline),
                "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
                "Lambda-Runtime-Trace-Id": f"Root=1-00000000-00000000000000000000000{request_id};Sampled=0",
            })

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                parsed = {"unparsed": body.decode("utf-8", "replace")}
            if self.path == PREFIX + "/init/error":
                record("init.error.json", {
                    "errorType": self.headers.get("Lambda-Runtime-Function-Error-Type"),
                    "body": parsed,
                })
                self.reply(202)
                return
            m = re.fullmatch(re.escape(PREFIX) + r"/invocation/([^/]+)/(response|error)", self.path)
            if not m:
                self.reply(404, b'{"errorMessage":"unknown path"}')
                return
            request_id, kind = m.group(1), m.group(2)
            outcome = {"body": parsed}
            if kind == "error":
                outcome["errorType"] = self.headers.get("Lambda-Runtime-Function-Error-Type")
            record(f"{request_id}.{kind}.json", outcome)
            self.reply(202)
            with lock:
                state["answered"].add(request_id)
                if len(state["answered"]) == len(events):
                    record("done", {"events": len(events)})

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
