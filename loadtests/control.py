"""The control wrapper of a Locust master: the entrypoint of the master pod.

    python -m loadtests.control --port 8090 --results-dir /results \\
        [--token-env TRADESTORM_CONTROL_TOKEN] [--linger 900] [--grace 30] [--stop-grace 90] \\
        [--host 0.0.0.0] \\
        -- <locust master arguments...>

It runs ``python -m locust -f loadtests/locustfile.py <arguments>`` as a child in
its own process group, with the results folder as its working directory
(relative ``--csv`` and ``--journal-dir`` land there); the child's stdout and
stderr go to ``RESULTS/logs/locust.log`` and to the wrapper's stdout. Next to it,
an HTTP API on ``HOST:PORT`` (the contract, docs/contracts.md §5):

``GET /healthz``          200 ``ok``, without a token (for probes)
``GET /status``           ``{"state": "starting"|"running"|"exited", "pid", "exit_code",
                          "started_at", "ended_at", "stop_requested", "killed"}``
``POST /stop``            SIGINT to Locust (graceful: CSVs written, journals closed); 202
                          with the status, idempotent; a Locust still running
                          ``--stop-grace`` seconds later is SIGKILLed (``killed``: true;
                          what it wrote so far stays in the results)
``GET /results.tar.gz``   the results folder as a gzip tar (paths relative to it);
                          409 until Locust has exited

Every path but ``/healthz`` needs ``Authorization: Bearer <token>``, the token read
from the environment variable ``--token-env`` names (401 without it; without a
token configured the wrapper refuses to start, exit 2). Unknown paths are 404.

SIGTERM (or SIGINT) to the wrapper stops Locust gracefully (SIGINT, SIGKILL to its
process group after ``--grace`` seconds) and exits at once with Locust's exit code.
Otherwise, once Locust has exited the wrapper keeps serving for ``--linger`` seconds
(the runner fetches the results) and then exits with Locust's exit code (128 + N
when a signal N ended it).
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from loadtests.locust_child import LocustChild

DEFAULT_TOKEN_ENV = "TRADESTORM_CONTROL_TOKEN"


def make_handler(child: LocustChild, token: str,
                 stop_grace_s: float = 90.0) -> type[BaseHTTPRequestHandler]:
    expected = f"Bearer {token}".encode()

    class Handler(BaseHTTPRequestHandler):
        server_version = "tradestorm-control/1"

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(f"loadtests.control: {self.address_string()} {format % args}\n")

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            quiet = self.path.split("?", 1)[0] in ("/healthz", "/status")  # probes and polls
            if not (quiet and isinstance(code, int) and code < 400):
                super().log_request(code, size)

        def _json(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorized(self) -> bool:
            given = (self.headers.get("Authorization") or "").strip().encode()
            if hmac.compare_digest(given, expected):
                return True
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Bearer realm="tradestorm-control"')
            self.send_header("Content-Type", "application/json")
            data = b'{"error": "missing or wrong bearer token"}'
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return False

        def _route(self, method: str) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz" and method == "GET":
                data = b"ok\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            if not self._authorized():
                return
            allowed = {"/status": "GET", "/stop": "POST", "/results.tar.gz": "GET"}.get(path)
            if allowed is None:
                self._json(404, {"error": f"no such path {path!r}"})
            elif allowed != method:
                self._json(405, {"error": f"{path} takes {allowed}"})
            elif path == "/status":
                self._json(200, child.status())
            elif path == "/stop":
                child.stop()
                child.kill_after(stop_grace_s)
                self._json(202, child.status())
            elif child.state != "exited":
                self._json(409, {"error": "Locust is still running: POST /stop, then wait "
                                 "for state exited", **child.status()})
            else:
                self.send_response(200)
                self.send_header("Content-Type", "application/gzip")
                self.send_header("Content-Disposition", 'attachment; filename="results.tar.gz"')
                self.send_header("Connection", "close")
                self.end_headers()  # no length: the tar is streamed, the connection closes
                self.close_connection = True
                child.write_results(self.wfile)

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_PUT(self) -> None:
            self._route("PUT")

        def do_DELETE(self) -> None:
            self._route("DELETE")

    return Handler


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    argv = list(sys.argv[1:] if argv is None else argv)
    locust_args: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, locust_args = argv[:split], argv[split + 1:]
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.control",
        description="Run a Locust master under an HTTP control API (status, stop, results).",
        usage="%(prog)s --port PORT --results-dir DIR [options] -- LOCUST ARGUMENTS...",
    )
    parser.add_argument("--port", type=int, required=True, help="port of the API (0: a free one)")
    parser.add_argument("--host", default="0.0.0.0", help="address of the API (0.0.0.0)")
    parser.add_argument("--results-dir", type=Path, required=True, help="Locust's working folder")
    parser.add_argument("--token-env", default=DEFAULT_TOKEN_ENV,
                        help=f"environment variable holding the bearer token ({DEFAULT_TOKEN_ENV})")
    parser.add_argument("--linger", type=float, default=900.0,
                        help="seconds to keep serving after Locust exited (900)")
    parser.add_argument("--grace", type=float, default=30.0,
                        help="seconds from SIGINT to SIGKILL when the wrapper is terminated (30)")
    parser.add_argument("--stop-grace", type=float, default=90.0,
                        help="seconds from POST /stop to SIGKILL of a Locust still running (90)")
    args = parser.parse_args(argv)
    if not locust_args:
        parser.error("no Locust arguments: put them after '--'")
    if args.linger < 0 or args.grace < 0 or args.stop_grace < 0:
        parser.error("--linger, --grace and --stop-grace must be >= 0")
    return args, locust_args


def main(argv: list[str] | None = None) -> int:
    args, locust_args = parse_args(argv)
    token = os.environ.get(args.token_env, "").strip()
    if not token:
        print(f"loadtests.control: no control token: set the environment variable "
              f"{args.token_env} (--token-env) to a secret", file=sys.stderr)
        return 2
    results_dir = args.results_dir.absolute()
    child = LocustChild(locust_args, results_dir, sys.stdout.buffer)
    try:
        (results_dir / "logs").mkdir(parents=True, exist_ok=True)
        server = ThreadingHTTPServer((args.host, args.port), make_handler(child, token,
                                                                 args.stop_grace))
    except OSError as exc:
        print(f"loadtests.control: cannot serve on {args.host}:{args.port} or write "
              f"{results_dir}: {exc}", file=sys.stderr)
        return 2
    server.daemon_threads = True
    terminate = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        if not terminate.is_set():
            terminate.set()
            child.stop()
            child.kill_after(args.grace)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    print(f"listening http://{host}:{port}", flush=True)
    if not terminate.is_set():  # not stopped before it even started
        child.start()
    else:
        child.abandon()
    code = child.wait()
    if not terminate.is_set():
        terminate.wait(args.linger)  # a signal ends the linger at once
    server.shutdown()
    server.server_close()
    return code


if __name__ == "__main__":
    sys.exit(main())
