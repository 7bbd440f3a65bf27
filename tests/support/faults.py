"""A real HTTP reverse proxy in front of the API server that can answer 429 with Retry-After, and records arrivals.

Faults are injected the way they happen in production — an HTTP server answering 429 — never by patching our code.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tests.support.processes import free_port, serving_in_thread


@dataclass
class Arrival:
    at: float
    method: str
    path: str
    status: int


@dataclass
class ThrottlingProxy:
    upstream: str
    port: int = field(default_factory=free_port)
    retry_after: int = 0
    throttle_remaining: int = 0
    arrivals: list[Arrival] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def throttle(self, times: int, retry_after: int) -> None:
        """Answer the next `times` requests with 429 and `Retry-After: retry_after`."""
        self.retry_after = retry_after
        self.throttle_remaining = times

    async def _forward(self, request: Request) -> Response:
        path = request.url.path
        if self.throttle_remaining > 0:
            self.throttle_remaining -= 1
            self.arrivals.append(Arrival(time.monotonic(), request.method, path, 429))
            return JSONResponse(
                {"type": "about:blank", "title": "Too Many Requests", "status": 429, "code": "rate-limited"},
                status_code=429,
                headers={"Retry-After": str(self.retry_after)},
                media_type="application/problem+json",
            )
        async with httpx.AsyncClient(base_url=self.upstream, timeout=30) as client:
            upstream = await client.request(
                request.method,
                path,
                params=request.query_params,
                content=await request.body(),
                headers={k: v for k, v in request.headers.items() if k.lower() not in {"host", "content-length"}},
            )
        self.arrivals.append(Arrival(time.monotonic(), request.method, path, upstream.status_code))
        excluded = {"content-length", "transfer-encoding", "connection", "content-encoding"}
        headers = {k: v for k, v in upstream.headers.items() if k.lower() not in excluded}
        return Response(upstream.content, status_code=upstream.status_code, headers=headers)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self._forward, methods=["GET", "PUT", "POST", "DELETE"])])


@contextmanager
def throttling_proxy(upstream: str) -> Iterator[ThrottlingProxy]:
    proxy = ThrottlingProxy(upstream)
    with serving_in_thread(proxy.app(), proxy.port):
        yield proxy


class TcpProxy:
    """A byte-level TCP relay (TLS passes through untouched) whose open connections can be cut at will — the way a
    load balancer or an API server restart drops long-running watches."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()
            with self._lock:
                self._open.difference_update((source, target))

    def sever(self) -> int:
        """Cut every open connection (new ones are still relayed); returns how many were cut."""
        with self._lock:
            cut = list(self._open)
        for end in cut:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
        return len(cut) // 2

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.sever()


@contextmanager
def tcp_proxy(upstream_host: str, upstream_port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(upstream_host, upstream_port)
    try:
        yield proxy
    finally:
        proxy.close()
