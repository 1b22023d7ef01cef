"""The ``fetch`` tool against real HTTP servers on loopback: normal use, limits, and SSRF refused."""

from __future__ import annotations

import ipaddress
import os
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from agentkit.tooling.base import ToolContext
from agentkit_tools import builtin_tool
from agentkit_tools.fetch import FetchOptions, FetchTool
from agentkit_tools.netguard import forbidden_reason

pytestmark = pytest.mark.anyio

PAGE = (
    b"""<!doctype html><html><head><title>Test page</title><script>var secret = 1;</script>
<style>p {color: red}</style></head><body><nav><a href="/home">Home</a> | Menu</nav>
<main><h1>Hello</h1><p>First paragraph with <a href="/next">a link</a>.</p>
<ul><li>one</li><li>two</li></ul><p>"""
    + b"Filler text. " * 20
    + b"""</p></main>
<footer>Copyright footer</footer></body></html>"""
)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        url = urlparse(self.path)
        self.server.hits.append(url.path)
        query = parse_qs(url.query)
        if url.path == "/page":
            self.reply(200, "text/html; charset=utf-8", PAGE)
        elif url.path == "/whoami":
            self.reply(200, "text/plain", f"served by {self.server.server_address[0]}".encode())
        elif url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/loop":
            self.send_response(301)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/big":
            self.reply(200, "text/plain", b"".join(b"line %05d\n" % i for i in range(20_000)))
        elif url.path == "/json":
            self.reply(200, "application/json", b'{"answer": 42}')
        elif url.path == "/blob":
            self.reply(200, "application/octet-stream", b"\x00\x01" * 100)
        else:
            self.reply(404, "text/html", b"<html><body><p>No such page here</p></body></html>")

    def reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serve(host: str) -> Iterator[tuple[str, ThreadingHTTPServer]]:
    try:
        server = ThreadingHTTPServer((host, 0), Handler)
    except OSError as exc:  # macOS has only 127.0.0.1 on loopback unless aliased
        pytest.skip(f"cannot listen on {host}: {exc}")
    server.hits = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def local_server() -> Iterator[tuple[str, ThreadingHTTPServer]]:
    with serve("127.0.0.1") as running:
        yield running


@pytest.fixture
def local(local_server) -> str:
    return local_server[0]


@pytest.fixture
def public() -> Iterator[str]:
    """A server the tests treat as a public address (127.0.0.2), to test what it redirects to."""
    with serve("127.0.0.2") as (base, _server):
        yield base


def pretend_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    return None if str(ip) == "127.0.0.2" else forbidden_reason(ip)


async def fetch(tool, url: str, **more):
    return await tool.call({"url": url, **more}, ToolContext())


async def test_html_becomes_markdown(local: str):
    tool = builtin_tool("fetch", {"allow_private": True}, base_dir=Path("."))
    assert tool.default_approval == "allow"
    result = await fetch(tool, f"{local}/page")
    assert not result.is_error, result.text
    lines = result.text.splitlines()
    assert lines[:3] == [f"URL: {local}/page", "Title: Test page", ""]
    assert "# Hello" in result.text and "- one\n- two" in result.text
    assert f"[a link]({local}/next)" in result.text
    for chrome in ("secret", "color: red", "Menu", "Copyright"):
        assert chrome not in result.text


def test_deeply_nested_page_still_gives_its_text():
    """markdownify recurses per level: a page nested 5000 deep falls back to plain text, not an error."""
    from agentkit_tools.html_text import html_to_markdown

    deep = "<html><head><title>Deep</title></head><body>" + "<div>" * 5000 + "<p>found it</p>"
    title, text = html_to_markdown(deep + "</div>" * 5000 + "</body></html>")
    assert (title, text) == ("Deep", "found it")


async def test_text_json_paging_and_size_cap(local: str):
    tool = builtin_tool(
        "fetch", {"allow_private": True, "max_chars": 1100, "max_bytes": 50_000}, base_dir="."
    )
    json_result = await fetch(tool, f"{local}/json")
    assert json_result.text.endswith('{"answer": 42}')
    first = await fetch(tool, f"{local}/big")
    assert "[characters 0-1100 of 49999; call again with start=1100 for more]" in first.text
    assert "[download stopped at 50000 bytes" in first.text
    second = await fetch(tool, f"{local}/big", start=1100)
    assert second.text.splitlines()[2] == "line 00100"
    past = await fetch(tool, f"{local}/big", start=10**6)
    assert past.is_error and "past the end" in past.text


async def test_results_are_cached_per_instance(local_server):
    base, server = local_server
    tool = builtin_tool("fetch", {"allow_private": True}, base_dir=".")
    first = await fetch(tool, f"{base}/page")
    again = await fetch(tool, f"{base}/page")
    assert again.text == first.text and server.hits == ["/page"]
    other = builtin_tool("fetch", {"allow_private": True}, base_dir=".")
    await fetch(other, f"{base}/page")
    assert server.hits == ["/page", "/page"]


async def test_http_errors_are_clear(local: str):
    tool = builtin_tool("fetch", {"allow_private": True, "max_redirects": 3}, base_dir=".")
    missing = await fetch(tool, f"{local}/nope")
    assert missing.is_error and missing.text == f"HTTP 404 Not Found from {local}/nope: No such page here"
    loop = await fetch(tool, f"{local}/loop")
    assert loop.is_error and "too many redirects (more than 3)" in loop.text
    blob = await fetch(tool, f"{local}/blob")
    assert blob.is_error and "application/octet-stream" in blob.text
    for bad in ("file:///etc/passwd", "not a url", "ftp://example.com/x"):
        result = await fetch(tool, bad)
        assert result.is_error and "http://" in result.text, bad
    unreachable = await fetch(tool, "http://127.0.0.1:9/")
    assert unreachable.is_error and "could not fetch" in unreachable.text


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://127.0.0.1:{port}/page", "loopback address"),
        ("http://localhost:{port}/page", "loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata service"),
        ("http://[::1]:{port}/page", "loopback address"),
        ("http://2130706433:{port}/page", "loopback address"),
        ("http://0x7f000001:{port}/page", "loopback address"),
        ("http://[::ffff:127.0.0.1]:{port}/page", "loopback address (IPv4 127.0.0.1 inside IPv6)"),
        ("http://0.0.0.0:{port}/page", "unspecified address"),
        ("http://10.1.2.3/", "private network address"),
        ("http://127.1:{port}/page", "loopback address"),
        ("http://0:{port}/page", "unspecified address"),
        ("http://[::]:{port}/page", "unspecified address"),
        ("http://[::ffff:7f00:1]:{port}/page", "loopback address (IPv4 127.0.0.1 inside IPv6)"),
        ("http://evil.example@127.0.0.1:{port}/page", "loopback address"),
        ("http://LOCALHOST:{port}/page", "loopback address"),
        ("http://127\u30020\u30020\u30021:{port}/page", "loopback address"),
    ],
)
async def test_private_addresses_refused_by_default(local: str, url: str, reason: str):
    port = local.rsplit(":", 1)[1]
    tool = builtin_tool("fetch", {}, base_dir=".")
    result = await fetch(tool, url.format(port=port))
    assert result.is_error and f"({reason})" in result.text and "allow_private: true" in result.text


async def test_redirect_from_public_to_private_refused(public: str, local: str):
    tool = FetchTool(FetchOptions(), guard=pretend_public)
    allowed = await fetch(tool, f"{public}/whoami")
    assert allowed.text.endswith("served by 127.0.0.2")
    for target in (
        f"{local}/page",
        "http://169.254.169.254/latest/meta-data/",
        f"{local.replace('127.0.0.1', '[::1]')}/",
    ):
        result = await fetch(tool, f"{public}/redirect?to={target}")
        assert result.is_error and "refused:" in result.text, target
    fine = await fetch(tool, f"{public}/redirect?to=/whoami")
    assert fine.text.startswith(f"URL: {public}/whoami (redirected from {public}/redirect?to=/whoami)")


async def test_dns_rebinding_connects_to_the_checked_address(public: str, local: str):
    port = int(public.rsplit(":", 1)[1])
    answers = iter([["127.0.0.2"], ["127.0.0.1"]])

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    tool = FetchTool(FetchOptions(), resolve=rebinding, guard=pretend_public)
    result = await fetch(tool, f"http://rebind.test:{port}/whoami")
    assert result.text.endswith("served by 127.0.0.2")

    async def mixed(host: str, port: int) -> list[str]:
        return ["127.0.0.2", "127.0.0.1"]

    tool = FetchTool(FetchOptions(), resolve=mixed, guard=pretend_public)
    result = await fetch(tool, f"http://mixed.test:{port}/whoami")
    assert result.is_error and "resolves to 127.0.0.1 (loopback address)" in result.text


@pytest.mark.parametrize(
    "address, reason",
    [
        ("127.0.0.1", "loopback address"),
        ("10.0.0.1", "private network address"),
        ("172.16.5.4", "private network address"),
        ("192.168.1.1", "private network address"),
        ("169.254.1.1", "link-local address"),
        ("169.254.169.254", "cloud metadata service"),
        ("100.100.100.200", "cloud metadata service"),
        ("100.64.0.1", "carrier-grade NAT address"),
        ("224.0.0.1", "multicast address"),
        ("0.0.0.0", "unspecified address"),
        ("::", "unspecified address"),
        ("::1", "loopback address"),
        ("fe80::1", "link-local address"),
        ("fec0::1", "site-local address (fec0::/10)"),
        ("192.0.0.8", "IETF protocol assignment address"),
        ("3fff::1", "documentation address"),
        ("feff:ffff::1", "site-local address (fec0::/10)"),
        ("fd00:ec2::254", "cloud metadata service"),
        ("fc00::1", "private network address"),
        ("ff02::1", "multicast address"),
        ("64:ff9b::7f00:1", "loopback address (IPv4 127.0.0.1 inside IPv6)"),
        ("2002:7f00:1::", "loopback address (IPv4 127.0.0.1 inside IPv6)"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_forbidden_reason(address: str, reason: str | None):
    assert forbidden_reason(ipaddress.ip_address(address)) == reason


def test_bad_options():
    with pytest.raises(ValueError, match=r"unknown option 'allow_privat' — did you mean 'allow_private'\?"):
        builtin_tool("fetch", {"allow_privat": True}, base_dir=".")


@pytest.fixture
def tls_public(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on 127.0.0.2 with a certificate for ``secure.test`` only."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=secure.test",
         "-addext", "subjectAltName=DNS:secure.test"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with serve("127.0.0.2") as (base, server):
        server.socket = context.wrap_socket(server.socket, server_side=True)
        yield base.replace("http://127.0.0.2", "https://secure.test"), cert


async def test_https_keeps_name_for_sni_and_certificate_while_pinned_to_ip(tls_public):
    base, cert = tls_public

    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.2"] if host == "secure.test" else []

    transport = httpx.AsyncHTTPTransport(verify=ssl.create_default_context(cafile=str(cert)))
    tool = FetchTool(FetchOptions(), resolve=resolve, guard=pretend_public, transport=transport)
    result = await fetch(tool, f"{base}/whoami")
    assert not result.is_error, result.text
    assert result.text == f"URL: {base}/whoami\n\nserved by 127.0.0.2"


# -- a hostile server ---------------------------------------------------------------------------------


async def resolve_public(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


def gzip_bomb(decoded: int) -> bytes:
    """Two gzip layers of zeros: a few KB on the wire, ``decoded`` bytes once both layers are undone."""
    import gzip
    import zlib

    inner = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1 << 20)
    body = b"".join(inner.compress(zeros) for _ in range(decoded >> 20)) + inner.flush()
    return gzip.compress(body, 9)


def reply(status: int, body: bytes = b"", headers: dict | None = None) -> httpx.Response:
    """A streamed response, as from a network server (fetch reads the raw stream)."""
    return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))


def mock_tool(handler, **options) -> FetchTool:
    return FetchTool(FetchOptions(**options), resolve=resolve_public, transport=httpx.MockTransport(handler))


async def test_a_decompression_bomb_stops_at_the_decoded_cap():
    """256 MiB behind two gzip layers (~1 KB sent): memory stays near the 2 MB cap, the loop keeps running."""
    import time
    import tracemalloc

    import anyio

    body = gzip_bomb(256 << 20)
    assert len(body) < 5_000
    headers = {"content-encoding": "gzip, gzip", "content-type": "text/plain"}
    tool = mock_tool(lambda request: reply(200, body, headers))
    stalls: list[float] = []
    ticks = [time.monotonic()]

    async def heartbeat() -> None:
        while True:
            await anyio.sleep(0.01)
            stalls.append(time.monotonic() - ticks[-1])
            ticks.append(time.monotonic())

    tracemalloc.start()
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(heartbeat)
            result = await fetch(tool, "http://example.com/")
            stalls.append(time.monotonic() - ticks[-1])  # a loop frozen until now shows here too
            group.cancel_scope.cancel()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not result.is_error and "[download stopped at 2000000 bytes" in result.text
    assert result.structured["bytes"] == 2_000_000
    assert peak < 40 << 20, f"decoding held {peak >> 20} MiB"
    assert max(stalls) < 0.5, f"the event loop stalled {max(stalls):.2f} s"


async def test_compressed_pages_still_decode():
    import gzip
    import zlib

    page = b"<html><head><title>Zipped</title></head><body><p>hello there</p></body></html>"
    raw_deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    bodies = {
        "gzip": gzip.compress(page),
        "deflate": zlib.compress(page),
        "x-gzip, identity": gzip.compress(page),
        "Deflate": raw_deflate.compress(page) + raw_deflate.flush(),
        "gzip,gzip": gzip.compress(gzip.compress(page)),
    }
    for encoding, body in bodies.items():
        headers = {"content-encoding": encoding, "content-type": "text/html"}
        tool = mock_tool(lambda request, b=body, h=headers: reply(200, b, h))
        result = await fetch(tool, "http://example.com/")
        assert "Title: Zipped" in result.text and "hello there" in result.text, (encoding, result.text)
    seen: list[str] = []

    def brotli(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["accept-encoding"])
        return reply(200, b"??", {"content-encoding": "br"})

    refused = await fetch(mock_tool(brotli), "http://example.com/")
    assert refused.is_error and "Content-Encoding br" in refused.text and seen == ["gzip, deflate"]
    broken = mock_tool(lambda r: reply(200, b"not gzip", {"content-encoding": "gzip"}))
    assert "not validly compressed" in (await fetch(broken, "http://example.com/")).text


async def trickling_server(send: bytes, port: int) -> Any:
    """A server that answers every request with ``send``, one byte per 0.5 s."""
    import asyncio

    async def handle(reader: Any, writer: Any) -> None:
        await reader.read(65536)
        try:
            for byte in send:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.5)
        except (ConnectionError, asyncio.CancelledError):
            pass
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", port)


@pytest.mark.parametrize(
    "send",
    [
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 40\r\n\r\n" + b"x" * 40,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Slow: " + b"y" * 60 + b"\r\n\r\n",
    ],
    ids=["slow body", "slow headers"],
)
async def test_request_timeout_is_one_deadline_for_the_whole_request(send: bytes):
    import time

    from tests.e2e_helpers import free_port

    port = free_port()
    server = await trickling_server(send, port)
    try:
        tool = builtin_tool("fetch", {"allow_private": True, "request_timeout": 1.5})
        started = time.monotonic()
        result = await fetch(tool, f"http://127.0.0.1:{port}/")
        took = time.monotonic() - started
    finally:
        server.close()
    assert result.is_error and "timed out after 1.5 s" in result.text, result.text
    assert took < 3, f"a 1.5 s request_timeout ran {took:.1f} s"


async def test_quadratic_list_markup_is_converted_in_bounded_time():
    """8,000 <li> in one <ol> took ~4-16 s (markdownify counts earlier siblings per item)."""
    import time

    from agentkit_tools.html_text import html_to_markdown

    html = "<html><body><ol>" + "".join(f"<li>item {i}</li>" for i in range(8000)) + "</ol></body></html>"
    started = time.monotonic()
    _, text = html_to_markdown(html)
    assert time.monotonic() - started < 2.5
    assert text.startswith("1. item 0\n2. item 1") and "8000. item 7999" in text


async def test_a_slow_conversion_is_stopped_by_the_tool_timeout_and_convert_timeout():
    """A large page converts in a separate process: the call's cancellation (the loop's tool timeout)
    and ``convert_timeout`` end it at once, and nothing keeps running."""
    import time

    import anyio

    html = ("<html><body>" + "<p>para <b>x</b> <a href='/y'>l</a></p>" * 60_000 + "</body></html>").encode()
    headers = {"content-type": "text/html"}
    tool = mock_tool(lambda r: reply(200, html, headers), convert_timeout=0.5)
    started = time.monotonic()
    result = await fetch(tool, "http://example.com/")
    assert result.is_error and "convert_timeout" in result.text, result.text
    assert time.monotonic() - started < 2
    slow = mock_tool(lambda r: reply(200, html, headers))
    started = time.monotonic()
    with anyio.move_on_after(0.5):
        await fetch(slow, "http://example.com/")
    assert time.monotonic() - started < 1.5
    await anyio.sleep(0.2)
    workers = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _is_converter(p)]
    assert workers == []


def _is_converter(proc: Path) -> bool:
    try:
        return os.getpid() == int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) and (
            b"_worker_main" in (proc / "cmdline").read_bytes()
        )
    except (OSError, ValueError):
        return False


@pytest.mark.parametrize(
    "location",
    [
        "http:127.0.0.1:1/",
        "data:text/html,<h1>hi</h1>",
        "javascript:alert(1)",
        "http://xn--localhost/",
        "\ud800",
    ],
)
async def test_odd_redirects_are_error_results(location: str):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/":
            return reply(302, b"", {"location": location.encode("utf-8", "surrogatepass")})
        return reply(200, b"reached " + request.url.path.encode(), {"content-type": "text/plain"})

    result = await fetch(mock_tool(handler), "http://example.com/")
    assert result.is_error or "reached" in result.text, result.text


@pytest.mark.parametrize("url", ["http://xn--localhost/", "http://example.com/\ud800", "http://\ud800/"])
async def test_odd_urls_are_error_results(url: str):
    result = await fetch(mock_tool(lambda r: reply(200, b"x")), url)
    assert result.is_error and ("not a valid URL" in result.text or "not valid Unicode" in result.text)
