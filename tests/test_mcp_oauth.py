"""OAuth 2.1 sign-in of agentkit's MCP client against an SDK server that is its own authorization server:
registration, the browser round trip through the loopback redirect, tokens kept 0600 in a 0700 folder,
refresh in a later run, the callback form of the handler; plus the pieces on their own.
(The official conformance suite's 21 auth scenarios run in .ci/conformance.sh.)"""

from __future__ import annotations

import asyncio
import json
import stat

import httpx2
import pytest
from mcp_fixtures.oauth_http import ApprovingAuthServer, serving

from agentkit.mcp import MCPServerProvider, MCPStartError, parse_servers
from agentkit.mcp.oauth.loopback import LoopbackReceiver
from agentkit.mcp.oauth.storage import FileTokenStorage, token_file
from agentkit.tooling import ToolContext
from tests.e2e_helpers import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def token_dir(tmp_path, monkeypatch):
    folder = tmp_path / "tokens"
    monkeypatch.setenv("AGENTKIT_MCP_AUTH_DIR", str(folder))
    return folder


class Browser:
    """The person: opens the authorization URL and lets the server's redirect take it to agentkit."""

    def __init__(self):
        self.opened: list[str] = []

    async def __call__(self, server: str, url: str) -> None:
        self.opened.append(url)
        async with httpx2.AsyncClient(follow_redirects=True, timeout=10) as client:
            landed = await client.get(url)
        assert landed.status_code == 200 and "signed in" in landed.text


async def _secret(url: str, handler) -> str:
    provider = MCPServerProvider("vault", {"url": url}, authorization_handler=handler)
    try:
        [tool] = await provider.start()
        result = await tool.call({}, ToolContext())
        assert not result.is_error, result.text
        return result.text
    finally:
        await provider.aclose()


async def test_sign_in_in_the_browser_then_tokens_kept_safely_and_refreshed_in_a_later_run(token_dir):
    server = ApprovingAuthServer(token_lifetime=1)
    browser = Browser()
    async with serving(server) as url:
        assert await _secret(url, browser) == "the treasure is under the oak"
        assert server.grants == ["register", "authorize", "authorization_code"]
        [opened] = browser.opened
        assert "code_challenge_method=S256" in opened and "redirect_uri=http%3A%2F%2F127.0.0.1%3A" in opened

        path = token_file("vault", url)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(token_dir.stat().st_mode) == 0o700
        assert json.loads(path.read_text())["tokens"]["refresh_token"]

        await asyncio.sleep(1.2)  # the access token has expired: the next run refreshes it, no browser
        assert await _secret(url, browser) == "the treasure is under the oak"
        assert server.grants[3:] == ["refresh_token"] and len(browser.opened) == 1


async def test_sign_in_over_the_sse_transport():
    server = ApprovingAuthServer()
    async with serving(server, "sse") as url:
        assert url.endswith("/sse")
        assert await _secret(url, Browser()) == "the treasure is under the oak"
    assert server.grants == ["register", "authorize", "authorization_code"]


async def test_a_handler_may_return_the_url_the_browser_came_back_to():
    """The ``Assistant``'s callback form: the app shows the URL itself and hands back where it landed."""
    server = ApprovingAuthServer()
    seen: list[str] = []

    async def callback(server_name: str, url: str) -> str:
        seen.append(server_name)
        async with httpx2.AsyncClient(timeout=10) as client:  # no redirect following: stop at the 302
            answer = await client.get(url)
        assert answer.status_code in (302, 307)
        return answer.headers["location"]

    async with serving(server) as url:
        assert await _secret(url, callback) == "the treasure is under the oak"
    assert seen == ["vault"]


async def test_the_cli_walks_the_user_through_the_sign_in_in_their_browser(tmp_path, token_dir):
    import sys

    import anyio
    import yaml

    from agentkit.testing import serve_in_thread
    from tests.e2e_helpers import cli

    browser = tmp_path / "browser.py"  # $BROWSER: what `webbrowser` opens the sign-in page with
    browser.write_text(
        "import sys, httpx2\n"
        "page = httpx2.get(sys.argv[1], follow_redirects=True, timeout=10)\n"
        "open(sys.argv[0] + '.log', 'w').write(page.text)\n"
    )
    script = {
        "model": "Qwen3-8B",
        "replies": [{"tool_calls": [{"name": "secret", "arguments": {}}]}, {"text": "Under the oak."}],
    }
    async with serving(ApprovingAuthServer()) as url:
        with serve_in_thread(script) as sim:
            task = {
                "model": {"endpoint": sim.base_url},
                "prompt": "Where?",
                "mcp_servers": {"vault": {"url": url}},
            }
            (tmp_path / "task.yaml").write_text(yaml.safe_dump(task))
            env = {"BROWSER": f"{sys.executable} {browser} %s", "AGENTKIT_MCP_AUTH_DIR": str(token_dir)}
            proc = await anyio.to_thread.run_sync(
                lambda: cli("run", str(tmp_path / "task.yaml"), "--json", env=env, timeout=120)
            )
    assert proc.returncode == 0, proc.stderr
    assert "MCP server 'vault' asks you to sign in" in proc.stderr and "visit this address" in proc.stderr
    assert "signed in" in (tmp_path / "browser.py.log").read_text()
    [call] = json.loads(proc.stdout)["steps"][0]["tool_calls"]
    assert call["result"] == "the treasure is under the oak"
    assert token_file("vault", url).exists()


async def test_the_assistant_takes_a_sign_in_callback(tmp_path):
    from agentkit import Assistant
    from agentkit.testing import serve_in_thread

    asked: list[str] = []

    async def oauth_handler(server: str, url: str) -> str:
        asked.append(server)
        async with httpx2.AsyncClient(timeout=10) as client:
            return (await client.get(url)).headers["location"]  # where the browser would have gone

    script = {  # the Assistant names MCP tools as Qwen-Agent does: server-tool
        "model": "Qwen3-8B",
        "replies": [{"tool_calls": [{"name": "vault-secret", "arguments": {}}]}, {"text": "Under the oak."}],
    }
    async with serving(ApprovingAuthServer()) as url:
        with serve_in_thread(script) as sim:
            bot = Assistant(
                llm={"model": "Qwen3-8B", "model_server": sim.base_url},
                function_list=[{"mcpServers": {"vault": {"url": url}}}],
                oauth_handler=oauth_handler,
                base_dir=tmp_path,
            )
            responses = await bot.arun_nonstream([{"role": "user", "content": "Where is the treasure?"}])
    assert asked == ["vault"]
    result = next(m for m in responses if m["role"] == "function")
    assert result["content"] == "the treasure is under the oak"


async def test_the_start_timeout_does_not_count_while_the_person_signs_in():
    browser = Browser()

    async def slow_person(server: str, url: str) -> None:
        await asyncio.sleep(1.5)
        await browser(server, url)

    async with serving(ApprovingAuthServer()) as url:
        provider = MCPServerProvider("vault", {"url": url, "timeout": 1}, authorization_handler=slow_person)
        try:
            assert [t.name for t in await provider.start()] == ["secret"]
        finally:
            await provider.aclose()


async def test_a_sign_in_nobody_finishes_fails_the_start_naming_the_timeout():
    async def nobody(server: str, url: str) -> None:
        return None

    async with serving(ApprovingAuthServer()) as url:
        provider = MCPServerProvider(
            "vault", {"url": url, "timeout": 5, "auth": {"timeout": 0.5}}, authorization_handler=nobody
        )
        with pytest.raises(MCPStartError, match=r"sign-in was not finished within 0.5 s \(auth.timeout\)"):
            await provider.start()


async def test_a_static_token_server_without_a_token_fails_fast_without_a_browser():
    """A 401 from a server that runs no OAuth (it wants a static bearer token): discovery finds nothing,
    the start fails with the reason and the hint, and nobody is asked to sign in."""
    from mcp_fixtures.auth_http import serving as token_serving

    asked: list[str] = []

    async def handler(server: str, url: str) -> None:
        asked.append(url)

    async with token_serving("t0k3n") as url:
        provider = MCPServerProvider("plain", {"url": url, "timeout": 10}, authorization_handler=handler)
        with pytest.raises(MCPStartError) as failure:
            await provider.start()
    assert "HTTP 401" in str(failure.value) and "Authorization: Bearer" in str(failure.value)
    assert asked == []


async def test_loopback_receiver_takes_the_redirect_and_nothing_else():
    port = free_port()
    async with LoopbackReceiver(port) as receiver, httpx2.AsyncClient() as client:
        stray = await client.get(f"http://127.0.0.1:{port}/favicon.ico")
        assert stray.status_code == 404
        ok = await client.get(f"http://127.0.0.1:{port}/callback?code=abc&state=xyz")
        assert ok.status_code == 200
        assert await receiver.wait() == {"code": "abc", "state": "xyz"}
    with pytest.raises(httpx2.ConnectError):  # closed once the sign-in is over
        async with httpx2.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{port}/callback?code=late")


async def test_token_files_are_per_server_and_a_damaged_one_means_sign_in_again(token_dir):
    one, two = FileTokenStorage("s", "https://a.example/mcp"), FileTokenStorage("s", "https://b.example/mcp")
    assert one.path != two.path
    one.path.parent.mkdir(parents=True)
    one.path.write_text("{not json")
    assert await one.get_tokens() is None and await one.get_client_info() is None


def test_auth_settings_are_checked_and_a_static_token_means_no_oauth():
    servers = parse_servers(
        {
            "plain": {"url": "https://x.example/mcp"},
            "token": {"url": "https://x.example/mcp", "headers": {"Authorization": "Bearer t"}},
            "off": {"url": "https://x.example/mcp", "auth": "none"},
            "service": {
                "url": "https://x.example/mcp",
                "auth": {"grant": "client_credentials", "client_id": "c", "client_secret": "s"},
            },
        }
    )
    assert servers["plain"].auth.enabled and servers["plain"].auth.grant == "authorization_code"
    assert not servers["token"].auth.enabled and not servers["off"].auth.enabled
    assert servers["service"].auth.client_secret == "s"
    bad = {
        "stdio": ({"command": "x", "auth": {"client_id": "c"}}, "applies to HTTP servers only"),
        "both": (
            {
                "url": "https://x.example/mcp",
                "headers": {"Authorization": "Bearer t"},
                "auth": {"client_id": "c"},
            },
            "not both",
        ),
        "grant": (
            {"url": "https://x.example/mcp", "auth": {"grant": "password"}},
            "auth.grant` must be one of",
        ),
        "cc": (
            {"url": "https://x.example/mcp", "auth": {"grant": "client_credentials"}},
            "needs `client_id`",
        ),
        "typo": (
            {"url": "https://x.example/mcp", "auth": {"clientid": "c"}},
            "unknown `auth` setting 'clientid'",
        ),
    }
    for name, (entry, message) in bad.items():
        with pytest.raises(ValueError, match=message):
            parse_servers({name: entry})
