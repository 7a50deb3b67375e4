"""A local stand-in for the OpenAI admin API, for browser tests: the live server's code runs in another thread,
so `responses` cannot intercept it; FINOPS_OPENAI_BASE_URL points the client here instead. Serves the fixtures
of tests/fixtures/providers/openai; a key listed in `refused` gets OpenAI's 401."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from .conftest import load

ORG = "/v1/organization"


def _document(path: str, query: dict[str, list[str]]) -> Any:
    if path == f"{ORG}/projects":
        return load("openai/projects_page2.json" if query.get("after") else "openai/projects_page1.json")
    if path.startswith(f"{ORG}/projects/") and path.endswith("/api_keys"):
        project = path.split("/")[-2].removeprefix("proj_")
        return load(f"openai/project_api_keys_{project}.json")
    if path == f"{ORG}/usage/completions":
        return load(
            "openai/usage_completions_page2.json" if query.get("page") else "openai/usage_completions_page1.json"
        )
    if path == f"{ORG}/usage/embeddings":
        return load("openai/usage_embeddings.json")
    if path.startswith(f"{ORG}/usage/"):
        return load("openai/usage_empty.json")
    if path == f"{ORG}/costs":
        return load("openai/costs.json")
    return None


@contextmanager
def fake_openai(refused: set[str]) -> Iterator[tuple[str, list[str]]]:
    """(base URL, paths asked) of a server answering like OpenAI's admin API, stopped on exit."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            asked.append(url.path)
            key = self.headers.get("Authorization", "").removeprefix("Bearer ")
            if key in refused:
                status, body = 401, load("openai/error_401.json")
            else:
                body = _document(url.path, parse_qs(url.query))
                status = 200 if body is not None else 404
            raw = json.dumps(body or {"error": {"message": "not found"}}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()
