"""Parse serve commands with the real engines' own argument parsers (run inside the engines venv).

Reads ``{"commands": [{"engine": "vllm" | "sglang", "args": [...]}]}`` on stdin (``args`` without the
launcher: what follows ``vllm serve`` or ``python -m sglang.launch_server``) and prints one JSON object:
the installed versions, each engine's tool-call and reasoning parser registries, and per command whether
the engine accepted it, the values it parsed, and any deprecation it reported.

vLLM: ``make_arg_parser`` on the CPU platform (``VLLM_TARGET_DEVICE=cpu``), then
``validate_parsed_serve_args`` and the API server's parser-name checks. SGLang: ``prepare_server_args``,
then its ``handle_deprecated_args`` step, whose warnings name deprecated values.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import io
import json
import logging
import os
import sys
from typing import Any

os.environ["VLLM_TARGET_DEVICE"] = "cpu"
VLLM_FIELDS = (
    "model_tag",
    "tensor_parallel_size",
    "pipeline_parallel_size",
    "data_parallel_size",
    "enable_expert_parallel",
    "max_model_len",
    "gpu_memory_utilization",
    "enable_auto_tool_choice",
    "tool_call_parser",
    "reasoning_parser",
    "distributed_executor_backend",
    "port",
)
SGLANG_FIELDS = (
    "model_path",
    "tp_size",
    "ep_size",
    "context_length",
    "mem_fraction_static",
    "tool_call_parser",
    "reasoning_parser",
    "port",
)


class Collect(logging.Handler):
    """Every log record's message, to find deprecation warnings."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def deprecated_options(parser: argparse.ArgumentParser, args: list[str]) -> list[str]:
    """Options in ``args`` that the parser marks deprecated (argparse's flag or its help text)."""
    marked = set()
    for action in parser._actions:
        flagged = action in getattr(parser, "_deprecated", set()) or getattr(action, "deprecated", False)
        if flagged or "deprecated" in (action.help or "").lower():
            marked.update(action.option_strings)
    return [a.split("=", 1)[0] for a in args if a.split("=", 1)[0] in marked]


def parse(parser: argparse.ArgumentParser, args: list[str]) -> tuple[argparse.Namespace | None, str]:
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        try:
            return parser.parse_args(args), ""
        except SystemExit:
            return None, stderr.getvalue().strip().splitlines()[-1] if stderr.getvalue().strip() else "exit"


def vllm_engine() -> tuple[dict[str, Any], Any]:
    from vllm.entrypoints.common import cli_args
    from vllm.reasoning import ReasoningParserManager
    from vllm.tool_parsers.abstract_tool_parser import ToolParserManager
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    parser = cli_args.make_arg_parser(FlexibleArgumentParser(prog="vllm serve"))
    registries = {
        "tool_call_parsers": ToolParserManager.list_registered(),
        "reasoning_parsers": ReasoningParserManager.list_registered(),
    }

    def check(args: list[str]) -> dict[str, Any]:
        namespace, error = parse(parser, args)
        if namespace is None:
            return {"ok": False, "error": error}
        try:
            cli_args.validate_parsed_serve_args(namespace)
            if hasattr(cli_args, "validate_api_server_args"):
                cli_args.validate_api_server_args(namespace)
        except Exception as exc:  # the engine's own validation: report, never hide
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        values = {f: getattr(namespace, f, None) for f in VLLM_FIELDS}
        structured = getattr(namespace, "structured_outputs_config", None)
        if values["reasoning_parser"] is None and structured is not None:
            values["reasoning_parser"] = getattr(structured, "reasoning_parser", None) or None
        return {"ok": True, "values": values, "deprecated": deprecated_options(parser, args)}

    return registries, check


def sglang_engine() -> tuple[dict[str, Any], Any]:
    from sglang.srt import server_args as sa

    handle_deprecated = None
    with contextlib.suppress(ImportError):
        from sglang.srt.arg_groups.serving_hook import handle_deprecated_args as handle_deprecated
    parser = argparse.ArgumentParser(prog="sglang serve")
    sa.ServerArgs.add_cli_args(parser)
    registries = {}
    for action in parser._actions:
        if "--tool-call-parser" in action.option_strings:
            registries["tool_call_parsers"] = [c for c in action.choices or [] if c != "auto"]
        if "--reasoning-parser" in action.option_strings:
            registries["reasoning_parsers"] = [c for c in action.choices or [] if c != "auto"]

    def check(args: list[str]) -> dict[str, Any]:
        namespace, error = parse(parser, args)
        if namespace is None:
            return {"ok": False, "error": error}
        collect = Collect()
        basic_config = logging.basicConfig

        def keep_collecting(**kwargs: Any) -> None:  # prepare_server_args resets the root handlers
            basic_config(**kwargs)
            logging.getLogger().addHandler(collect)

        logging.getLogger().addHandler(collect)
        logging.basicConfig = keep_collecting
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                server_args = sa.prepare_server_args(args)
                if handle_deprecated is not None:
                    handle_deprecated(server_args)
        except Exception as exc:  # the engine's own validation: report, never hide
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        finally:
            logging.basicConfig = basic_config
            logging.getLogger().removeHandler(collect)
        values = {f: getattr(server_args, f, None) for f in SGLANG_FIELDS}
        warned = [m for m in collect.messages if "deprecat" in m.lower()]
        return {"ok": True, "values": values, "deprecated": deprecated_options(parser, args) + warned}

    return registries, check


def main() -> int:
    request = json.load(sys.stdin)
    engines: dict[str, tuple[dict[str, Any], Any]] = {}
    out: dict[str, Any] = {"versions": {}, "registries": {}, "results": []}
    for name in sorted({c["engine"] for c in request["commands"]}):
        out["versions"][name] = importlib.metadata.version(name)
        engines[name] = vllm_engine() if name == "vllm" else sglang_engine()
        out["registries"][name] = engines[name][0]
    for command in request["commands"]:
        out["results"].append(engines[command["engine"]][1](command["args"]))
    json.dump(out, sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
