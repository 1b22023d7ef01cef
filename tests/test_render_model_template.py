"""A local model's own chat template: loading from a model folder, Jinja rendering like transformers,
and ``verify_renderer`` reporting where our renderer and the model's template disagree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentkit.qwen3.model_template import load_chat_template, render_with_template, verify_renderer
from agentkit.qwen3.template import render_prompt

FIXTURES = Path(__file__).parent / "fixtures" / "chat_templates"
HYBRID = (FIXTURES / "qwen3-hybrid.jinja").read_text()
CODER = (FIXTURES / "qwen3-coder.jinja").read_text()


def model_dir(tmp_path: Path, template: str | list | None, *, jinja_file: str | None = None) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = {"tokenizer_class": "Qwen2Tokenizer", "eos_token": "<|im_end|>"}
    if template is not None:
        config["chat_template"] = template
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    if jinja_file is not None:
        (tmp_path / "chat_template.jinja").write_text(jinja_file)
    return tmp_path


def test_load_from_tokenizer_config_and_chat_template_jinja(tmp_path: Path) -> None:
    assert load_chat_template(model_dir(tmp_path / "a", HYBRID)) == HYBRID
    assert load_chat_template(model_dir(tmp_path / "b", HYBRID, jinja_file=CODER)) == CODER  # the file wins
    named = [{"name": "tool_use", "template": CODER}, {"name": "default", "template": HYBRID}]
    assert load_chat_template(model_dir(tmp_path / "c", named)) == HYBRID
    assert load_chat_template(model_dir(tmp_path / "d", None)) is None
    assert load_chat_template(tmp_path / "missing") is None


def test_broken_tokenizer_config_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "tokenizer_config.json").write_text('{"chat_template": ')
    with pytest.raises(ValueError, match=r"tokenizer_config.json is not valid JSON \(line 1\)"):
        load_chat_template(tmp_path)


def test_verify_renderer_agrees_with_each_official_template(tmp_path: Path) -> None:
    for variant, name in [
        ("hybrid", "qwen3-hybrid"),
        ("thinking-2507", "qwen3-thinking-2507"),
        ("instruct-2507", "qwen3-instruct-2507"),
        ("coder", "qwen3-coder"),
    ]:
        folder = model_dir(tmp_path / variant, (FIXTURES / f"{name}.jinja").read_text())
        assert verify_renderer(folder, variant) == [], variant


def test_verify_renderer_reports_differences(tmp_path: Path) -> None:
    problems = verify_renderer(model_dir(tmp_path, HYBRID), "thinking-2507")
    assert problems and all("first difference at char" in p for p in problems)
    assert (
        "(enable_thinking=True, add_generation_prompt=True): first difference at char 55: ours '<think>\\n', "
        "template ''" in problems[0]
    )
    assert not any("add_generation_prompt=False" in p for p in problems)  # the bodies are identical
    edited = HYBRID.replace("<tools>", "<functions>")
    assert any("tools, system" in p for p in verify_renderer(model_dir(tmp_path / "x", edited), "hybrid"))


def test_verify_renderer_reports_a_failing_template_and_a_missing_one(tmp_path: Path) -> None:
    failing = "{{ raise_exception('unsupported conversation') }}"
    problems = verify_renderer(model_dir(tmp_path / "f", failing), "hybrid")
    assert problems and "the model's template failed: TemplateError: unsupported conversation" in problems[0]
    with pytest.raises(FileNotFoundError, match="has no chat template: expected chat_template.jinja"):
        verify_renderer(model_dir(tmp_path / "n", None), "hybrid")


def test_environment_is_sandboxed_and_has_the_hf_helpers() -> None:
    rendered = render_with_template(
        "{{ x | tojson }}|{{ strftime_now('%Y') | length }}|{% for i in [1,2,3] %}{% if i == 2 %}{% break %}"
        "{% endif %}{{ i }}{% endfor %}|{% generation %}g{% endgeneration %}",
        [{"role": "user", "content": "hi"}],
        x={"名": "<&>"},
    )
    assert rendered == '{"名": "<&>"}|4|1|g'
    from jinja2.exceptions import SecurityError

    with pytest.raises(SecurityError):
        render_with_template("{{ messages.append(1) }}", [{"role": "user", "content": "hi"}])
    with pytest.raises(SecurityError):
        render_with_template("{{ ''.__class__.__mro__ }}", [{"role": "user", "content": "hi"}])


def test_matches_transformers_rendering_when_installed() -> None:
    utils = pytest.importorskip("transformers.utils.chat_template_utils")
    from agentkit.qwen3.model_template import _probe_conversations, template_messages

    for template, decode in ((HYBRID, False), (CODER, True)):
        for _, messages, tools in _probe_conversations():
            ours = render_with_template(template, messages, tools, enable_thinking=False)
            theirs = utils.render_jinja_template(
                [template_messages(messages, decode)],
                tools=tools,
                chat_template=template,
                add_generation_prompt=True,
                enable_thinking=False,
            )
            theirs = theirs[0][0] if isinstance(theirs, tuple) else theirs
            assert ours == theirs
            assert ours == render_prompt(
                messages, tools, enable_thinking=False, variant="coder" if decode else "hybrid"
            )
