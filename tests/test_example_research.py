"""examples/research: web_search + fetch + python through the agent, against the simulator over HTTP.

The search backend is faked and the page is served on loopback (the tests never touch the internet);
everything else is real: the CLI's task loading, native rendering, parsing, the sandboxed python tool.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from agentkit.config import load_task
from agentkit.runtime import open_agent
from agentkit.testing import run_simulator
from tests.e2e_helpers import ROOT

EXAMPLE = ROOT / "examples" / "research"
PAGE = b"<html><body><h1>PEP 634</h1><p>Python-Version: 3.10</p><p>Created: 12-Sep-2020</p></body></html>"


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args) -> None:
        pass


@pytest.mark.anyio
async def test_research_example_runs_search_fetch_and_python(tmp_path, monkeypatch):
    from agentkit_tools import web_search

    hits = [
        {
            "title": "PEP 634",
            "href": "https://peps.python.org/pep-0634/",
            "body": "Structural Pattern Matching",
        }
    ]
    monkeypatch.setattr(web_search.WebSearchTool, "_ddgs_backend", lambda self: lambda query, **kw: hits)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    page_url = f"http://127.0.0.1:{server.server_address[1]}/pep-0634/"
    script = yaml.safe_load((EXAMPLE / "replay.yaml").read_text())
    script["replies"][1]["tool_calls"][0]["arguments"]["url"] = page_url
    task_data = yaml.safe_load((EXAMPLE / "task.yaml").read_text())
    task_data["tools"][1]["allow_private"] = True  # the page is on loopback in this test
    try:
        async with run_simulator(script) as sim:
            task_data["model"]["endpoint"] = sim.base_url
            task_data.pop("simulation")
            (tmp_path / "task.yaml").write_text(yaml.safe_dump(task_data))
            task = load_task(tmp_path / "task.yaml")
            async with open_agent(task) as agent:
                result = await agent.run(task.prompt)
    finally:
        server.shutdown()
    assert result.status == "completed", result.error
    calls = [c for step in result.steps for c in step.tool_calls]
    assert [c.name for c in calls] == ["web_search", "fetch", "python"]
    assert not any(c.is_error for c in calls), [c.result for c in calls]
    assert "PEP 634" in calls[0].result
    assert "Python-Version: 3.10" in calls[1].result
    assert "13" in calls[2].result
    assert [s.thinking for s in result.steps] == [True, False, False, False]
    assert "3.10" in result.output


def test_research_example_loads():
    task = load_task(EXAMPLE / "task.yaml")
    assert [t.ref for t in task.tools] == ["web_search", "fetch", "python"]
