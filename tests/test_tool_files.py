"""The ``files`` tool: normal use, and every way out of its root folder refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import anyio
import pytest

from agentkit.tooling.base import Tool, ToolContext
from agentkit_tools import builtin_tool

pytestmark = pytest.mark.anyio


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "task"
    (root / "src").mkdir(parents=True)
    (root / "notes.txt").write_text("alpha\nbeta\ngamma\n")
    (root / "src" / "main.py").write_text("def beta():\n    return 'Beta'\n")
    (tmp_path / "secret.txt").write_text("top secret\n")
    return root


async def call(tool: Tool, **arguments):
    return await tool.call(arguments, ToolContext())


async def test_read_list_search(tree: Path):
    tool = builtin_tool("files", {}, base_dir=tree)
    assert isinstance(tool, Tool) and tool.default_approval == "allow"
    read = await call(tool, action="read", path="notes.txt")
    assert not read.is_error and read.text.endswith("alpha\nbeta\ngamma\n")
    part = await call(tool, action="read", path="notes.txt", start_line=2, max_lines=1)
    assert part.text.splitlines() == ["notes.txt (17 bytes, lines 2-2)", "beta"]
    listing = await call(tool, action="list", path=".")
    assert "notes.txt  17 B" in listing.text and "src/" in listing.text
    found = await call(tool, action="search", pattern="beta")
    assert found.text.splitlines() == ["notes.txt:2: beta", "src/main.py:1: def beta():"]
    regex = await call(tool, action="search", pattern=r"B\w+", regex=True, path="src")
    assert regex.text == "src/main.py:2: return 'Beta'"


async def test_write_only_when_allowed(tree: Path):
    read_only = builtin_tool("files", {}, base_dir=tree)
    refused = await call(read_only, action="write", path="new.txt", content="x")
    assert refused.is_error and "write: true" in refused.text and not (tree / "new.txt").exists()
    writable = builtin_tool("files", {"write": True}, base_dir=tree)
    assert writable.default_approval == "ask"
    done = await call(writable, action="write", path="out/deep/new.txt", content="hello")
    assert not done.is_error and (tree / "out/deep/new.txt").read_text() == "hello"


@pytest.mark.parametrize(
    "path", ["../secret.txt", "src/../../secret.txt", "SECRET_ABS", "~/x", "/etc/passwd"]
)
async def test_traversal_and_absolute_paths_refused(tree: Path, path: str):
    path = str(tree.parent / "secret.txt") if path == "SECRET_ABS" else path
    tool = builtin_tool("files", {"write": True}, base_dir=tree)
    for arguments in ({"action": "read"}, {"action": "write", "content": "pwned"}, {"action": "list"}):
        result = await call(tool, path=path, **arguments)
        assert result.is_error and "outside the allowed folder" in result.text
    assert (tree.parent / "secret.txt").read_text() == "top secret\n"


async def test_absolute_path_inside_root_is_fine(tree: Path):
    tool = builtin_tool("files", {}, base_dir=tree)
    result = await call(tool, action="read", path=str(tree / "notes.txt"))
    assert not result.is_error and "alpha" in result.text


async def test_symlinks_pointing_out_refused(tree: Path):
    outside = tree.parent / "outside"
    outside.mkdir()
    (outside / "data.txt").write_text("outside data\n")
    os.symlink(tree.parent / "secret.txt", tree / "link.txt")
    os.symlink(outside, tree / "linkdir")
    os.symlink(tree.parent / "missing.txt", tree / "dangling.txt")
    tool = builtin_tool("files", {"write": True}, base_dir=tree)
    for path in ("link.txt", "linkdir/data.txt", "linkdir"):
        result = await call(tool, action="read", path=path)
        assert result.is_error and "a symlink leads outside" in result.text, path
    for path in ("linkdir/new.txt", "dangling.txt", "link.txt"):
        result = await call(tool, action="write", path=path, content="pwned")
        assert result.is_error and "outside" in result.text, path
    assert not (tree.parent / "missing.txt").exists() and not (outside / "new.txt").exists()
    assert (tree.parent / "secret.txt").read_text() == "top secret\n"
    search = await call(tool, action="search", pattern="data")
    assert "outside data" not in search.text
    listing = await call(tool, action="list")
    assert "linkdir -> (outside the folder, not usable)" in listing.text


async def test_symlink_inside_root_allowed(tree: Path):
    os.symlink(tree / "notes.txt", tree / "alias.txt")
    tool = builtin_tool("files", {}, base_dir=tree)
    result = await call(tool, action="read", path="alias.txt")
    assert not result.is_error and "gamma" in result.text


async def test_read_size_cap_and_binary(tree: Path):
    (tree / "big.txt").write_text("x" * 5000)
    (tree / "blob.bin").write_bytes(b"\x00\x01\x02" * 10)
    tool = builtin_tool("files", {"max_read_bytes": 1000}, base_dir=tree)
    big = await call(tool, action="read", path="big.txt")
    assert big.text.endswith("[line 1 is longer than 1000 bytes; only its start is shown]")
    assert big.text.split("\n")[1] == "x" * 1000
    (tree / "lines.txt").write_text("".join(f"line {i:03}\n" for i in range(300)))
    first = await call(tool, action="read", path="lines.txt")
    assert first.text.endswith("[truncated at 1000 bytes; continue with start_line=112]")
    follow = await call(tool, action="read", path="lines.txt", start_line=112, max_lines=2)
    assert follow.text.splitlines()[1:] == ["line 111", "line 112"]
    blob = await call(tool, action="read", path="blob.bin")
    assert blob.is_error and "binary" in blob.text


async def test_bad_arguments_are_tool_errors(tree: Path):
    tool = builtin_tool("files", {}, base_dir=tree)
    assert (await call(tool, action="delete")).is_error
    unknown = await call(tool, action="read", pathh="x")
    assert unknown.is_error and "did you mean 'path'" in unknown.text
    assert "is a folder" in (await call(tool, action="read", path="src")).text
    assert "pattern" in (await call(tool, action="search")).text
    assert (
        "not a valid regular expression" in (await call(tool, action="search", pattern="(", regex=True)).text
    )
    assert "No such file" in (await call(tool, action="read", path="nope.txt")).text


def test_bad_options_raise(tree: Path):
    with pytest.raises(ValueError, match=r"unknown option 'writable' — did you mean 'write'\?"):
        builtin_tool("files", {"writable": True}, base_dir=tree)
    with pytest.raises(ValueError, match="does not exist"):
        builtin_tool("files", {"root": "nowhere"}, base_dir=tree)
    with pytest.raises(ValueError, match="did you mean 'files'"):
        builtin_tool("file", {}, base_dir=tree)


@pytest.mark.parametrize("action", ["read", "write", "search"])
async def test_folder_swapped_for_a_symlink_after_the_check_is_refused(tree: Path, action: str):
    """The race the path check alone cannot see: src/ becomes a symlink out between check and open."""
    outside = tree.parent / "outside"
    outside.mkdir()
    (outside / "main.py").write_text("def beta(): 'stolen'\n")
    tool = builtin_tool("files", {"write": True}, base_dir=tree)
    checked = tool.resolve

    def resolve_then_swap(path: str) -> Path:
        real = checked(path)
        if (tree / "src").is_dir() and not (tree / "src").is_symlink():
            (tree / "src").rename(tree / "src.old")
            os.symlink(outside, tree / "src")
        return real

    tool.resolve = resolve_then_swap
    if action == "search":
        tool._walk = lambda folder: iter([tree / "src" / "main.py"])  # listed before the swap
        result = await call(tool, action="search", pattern="beta")
        assert "stolen" not in result.text and "1 files skipped" in result.text
        return
    result = await call(tool, action=action, path="src/main.py", content="overwritten")
    assert result.is_error and "replaced by a symlink while being opened" in result.text, result.text
    assert (outside / "main.py").read_text() == "def beta(): 'stolen'\n"


async def test_fifos_and_devices_are_never_read(tree: Path):
    """A FIFO would block a plain read forever (and no timeout can stop a thread)."""
    os.mkfifo(tree / "src" / "pipe")
    tool = builtin_tool("files", {}, base_dir=tree)
    with anyio.fail_after(5):
        found = await call(tool, action="search", pattern="beta")
        read = await call(tool, action="read", path="src/pipe")
    assert found.text.splitlines()[:2] == ["notes.txt:2: beta", "src/main.py:1: def beta():"]
    assert "1 files skipped" in found.text
    assert read.is_error and "not a regular file" in read.text


async def test_symlink_loop_is_named(tree: Path):
    os.symlink("loop2", tree / "loop1")
    os.symlink("loop1", tree / "loop2")
    tool = builtin_tool("files", {"write": True}, base_dir=tree)
    for action in ("read", "write"):
        result = await call(
            tool, action=action, path="loop1/x" if action == "write" else "loop1", content="x"
        )
        assert result.is_error and "symlink loop" in result.text, result.text


async def test_writes_go_only_to_regular_files(tree: Path, tmp_path: Path):
    """A FIFO in the root must not block a write, a device must not be written, and a hard link to a
    file outside must not let a write change that file."""
    tool = builtin_tool("files", {"write": True}, base_dir=tree)
    os.mkfifo(tree / "pipe")
    with anyio.fail_after(5):
        fifo = await call(tool, action="write", path="pipe", content="x")
    assert fifo.is_error and "is a FIFO, not a regular file" in fifo.text
    if os.geteuid() == 0:  # only root may make a device node
        os.mknod(tree / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        device = await call(tool, action="write", path="null", content="x")
        assert device.is_error and "device or special file" in device.text
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n")
    os.chmod(outside, 0o600)
    os.link(outside, tree / "linked.txt")
    linked = await call(tool, action="write", path="linked.txt", content="replaced")
    assert not linked.is_error, linked.text
    assert outside.read_text() == "secret\n"
    assert (tree / "linked.txt").read_text() == "replaced" and os.stat(tree / "linked.txt").st_nlink == 1
    assert stat.S_IMODE(os.stat(tree / "linked.txt").st_mode) == 0o600  # the file keeps its mode
    assert sorted(p.name for p in tree.iterdir() if p.name.endswith(".tmp")) == []


async def test_a_lone_surrogate_is_an_error_result(tree: Path):
    tool = builtin_tool("files", {"write": True}, base_dir=tree)
    content = await call(tool, action="write", path="s.txt", content="bad \ud800 text")
    path = await call(tool, action="read", path="bad\ud800.txt")
    for result in (content, path):
        assert result.is_error and "'\\ud800'" in result.text and "lone surrogate" in result.text
    assert not (tree / "s.txt").exists()


async def test_file_names_that_are_not_utf8_are_shown_as_valid_text(tree: Path):
    """A name with a byte that is not UTF-8 would put a lone surrogate into the result (unencodable)."""
    os.close(os.open(os.fsencode(tree) + b"/bad\xff.txt", os.O_CREAT | os.O_WRONLY, 0o644))
    tool = builtin_tool("files", {}, base_dir=tree)
    listed = await call(tool, action="list")
    listed.text.encode("utf-8")
    assert "bad\\xff.txt  0 B" in listed.text
