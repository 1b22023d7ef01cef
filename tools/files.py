"""``files``: read, write, list and search inside one root folder, and nowhere else.

Every path the model gives is resolved with all symlinks followed (intermediate folders included) and
must land inside the root. The resolved path is then opened one component at a time from the root,
never following a symlink (``openat`` with ``O_NOFOLLOW``), so a folder swapped for a symlink between
the check and the open makes the open fail instead of leaving the root.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import uuid
from pathlib import Path
from typing import Any, Literal

import pydantic

from agentkit.tooling.base import ToolContext, ToolResult
from agentkit.tooling.threads import run_blocking
from agentkit_tools.validation import Strict, parameters_schema, parse_arguments, parse_options

_BINARY_SNIFF = 8192
_MAX_LIST = 500
_MAX_SEARCH_FILES = 5000
_MAX_SEARCH_LINE = 2000


class FilesOptions(Strict):
    root: str = "."
    """The folder the tool may touch, relative to the task file's folder (or absolute)."""
    write: bool = False
    """Allow ``write``; the tool is read-only otherwise."""
    max_read_bytes: int = pydantic.Field(200_000, gt=0)
    max_write_bytes: int = pydantic.Field(1_000_000, gt=0)
    max_search_file_bytes: int = pydantic.Field(2_000_000, gt=0)
    max_matches: int = pydantic.Field(100, gt=0)


class FilesArgs(Strict):
    action: Literal["read", "write", "list", "search"] = pydantic.Field(
        description="read a file, write (create/overwrite) a file, list a folder, or search files for text"
    )
    path: str = pydantic.Field(".", description="Path relative to the root folder ('.' is the root)")
    content: str | None = pydantic.Field(None, description="write: the full new content of the file")
    pattern: str | None = pydantic.Field(None, description="search: the text (or regex) to look for")
    regex: bool = pydantic.Field(False, description="search: treat pattern as a Python regular expression")
    start_line: int = pydantic.Field(1, ge=1, description="read: first line to return (1-based)")
    max_lines: int | None = pydantic.Field(None, ge=1, description="read: at most this many lines")


class PathRefused(Exception):
    """A path the model may not use; the message says why."""


class FilesTool:
    """Confined file access: one instance per task, bound to its root folder."""

    name = "files"

    def __init__(self, root: Path, options: FilesOptions):
        self.root = root
        self.options = options
        self.default_approval = "ask" if options.write else "allow"
        mode = "read and write" if options.write else "read (read-only: writing is disabled)"
        self.description = (
            f"Work with files in one folder: {mode}, list folders, search text. Paths are relative to "
            "that folder; nothing outside it is reachable."
        )
        self.parameters = parameters_schema(FilesArgs)

    def __repr__(self) -> str:
        return f"FilesTool(root={str(self.root)!r}, write={self.options.write})"

    async def call(self, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
        args = parse_arguments(FilesArgs, arguments, self.name)
        if isinstance(args, ToolResult):
            return args
        handler = {"read": self._read, "write": self._write, "list": self._list, "search": self._search}
        try:
            return await run_blocking(lambda: handler[args.action](args))  # a timeout can walk away
        except PathRefused as exc:
            return ToolResult.error(str(exc))
        except OSError as exc:
            return ToolResult.error(f"files {args.action} {args.path!r}: {exc.strerror or exc}")

    # -- paths ---------------------------------------------------------------------------------------

    def resolve(self, path: str) -> Path:
        """The real path for ``path`` (symlinks followed), refused unless it is inside the root."""
        if "\x00" in path:
            raise PathRefused("path contains a NUL character")
        candidate = Path(path).expanduser() if path.startswith("~") else Path(path)
        joined = candidate if candidate.is_absolute() else self.root / candidate
        real = Path(os.path.realpath(joined))
        if real != self.root and self.root not in real.parents:
            how = "a symlink leads" if _has_symlink(self.root, candidate) else "it is"
            raise PathRefused(
                f"path {path!r} refused: {how} outside the allowed folder. Use a path relative to the "
                f"root folder (e.g. 'notes.txt' or 'src/'); '..' may not leave it."
            )
        return real

    def _open_inside(self, real: Path, flags: int) -> int:
        """Open ``real`` (from ``resolve``) walking down from the root without following any symlink."""
        fd = self._open_parent(real)
        try:
            return self._open_at(real.name, flags, fd, real)
        finally:
            os.close(fd)

    def _open_parent(self, real: Path, *, make_parents: bool = False) -> int:
        """The folder holding ``real``, opened from the root one component at a time, no symlink followed."""
        parts = real.relative_to(self.root).parts
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for part in parts[:-1]:
                if make_parents:
                    try:
                        os.mkdir(part, dir_fd=fd)
                    except FileExistsError:
                        pass
                inner = self._open_at(part, os.O_RDONLY | os.O_DIRECTORY, fd, real)
                os.close(fd)
                fd = inner
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _open_at(self, name: str, flags: int, folder_fd: int, real: Path) -> int:
        try:
            return os.open(name, flags | os.O_NOFOLLOW, 0o644, dir_fd=folder_fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(name, folder_fd):
                raise PathRefused(
                    f"path {self._shown(real)!r} refused: it leads through a symlink that cannot be "
                    "followed safely (a symlink loop, or a folder replaced by a symlink while being opened)"
                ) from None
            raise

    def _shown(self, real: Path) -> str:
        rel = _printable(real.relative_to(self.root).as_posix())
        return rel if rel != "." else "."

    # -- actions -------------------------------------------------------------------------------------

    def _read(self, args: FilesArgs) -> ToolResult:
        real = self.resolve(args.path)
        if real.is_dir():
            return ToolResult.error(f"{args.path!r} is a folder; use action 'list' to see what it holds")
        fd = self._open_inside(real, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                return ToolResult.error(f"{args.path!r} is not a regular file")
            if b"\x00" in handle.read(_BINARY_SNIFF):
                return ToolResult.error(
                    f"{args.path!r} is a binary file ({info.st_size} bytes); it cannot be shown as text"
                )
            handle.seek(0)
            chunks, cut, number = _read_lines(
                handle, args.start_line, args.max_lines, self.options.max_read_bytes
            )
        if args.start_line > 1 and not chunks:
            return ToolResult.error(f"{args.path!r} has fewer than {args.start_line} lines")
        last = args.start_line + len(chunks) - 1
        body = b"".join(chunks).decode("utf-8", errors="replace")
        header = f"{self._shown(real)} ({info.st_size} bytes"
        if args.start_line > 1 or cut or args.max_lines is not None:
            header += f", lines {args.start_line}-{last}"
        header += ")"
        if cut and number == args.start_line:
            body += f"\n[line {number} is longer than {self.options.max_read_bytes} bytes; only its start is shown]"
        elif cut:
            body += f"\n[truncated at {self.options.max_read_bytes} bytes; continue with start_line={number}]"
        return ToolResult(
            text=f"{header}\n{body}", structured={"path": self._shown(real), "size": info.st_size}
        )

    def _write(self, args: FilesArgs) -> ToolResult:
        if not self.options.write:
            return ToolResult.error(
                "files is read-only in this task: writing is disabled. The task can allow it with the "
                "tool option `write: true`."
            )
        if args.content is None:
            return ToolResult.error("write needs `content` (the full new text of the file)")
        data = args.content.encode("utf-8")
        if len(data) > self.options.max_write_bytes:
            return ToolResult.error(
                f"content is {len(data)} bytes; the limit is {self.options.max_write_bytes}. Write smaller files."
            )
        real = self.resolve(args.path)
        if real == self.root or real.is_dir():
            return ToolResult.error(f"{args.path!r} is a folder; give a file path such as 'notes.txt'")
        folder = self._open_parent(real, make_parents=True)
        try:
            _replace_file(folder, real.name, data, self._shown(real))
        finally:
            os.close(folder)
        return ToolResult(text=f"wrote {len(data)} bytes to {self._shown(real)}")

    def _list(self, args: FilesArgs) -> ToolResult:
        real = self.resolve(args.path)
        if not real.is_dir():
            return ToolResult.error(f"{args.path!r} is not a folder; use action 'read' for a file")
        entries = sorted(os.scandir(real), key=lambda e: e.name)
        lines = []
        for entry in entries[:_MAX_LIST]:
            if entry.is_symlink():
                target = Path(os.path.realpath(entry.path))
                inside = target == self.root or self.root in target.parents
                lines.append(
                    f"{_printable(entry.name)} -> {'(inside)' if inside else '(outside the folder, not usable)'}"
                )
            elif entry.is_dir():
                lines.append(f"{_printable(entry.name)}/")
            else:
                lines.append(f"{_printable(entry.name)}  {entry.stat(follow_symlinks=False).st_size} B")
        if len(entries) > _MAX_LIST:
            lines.append(f"[{len(entries) - _MAX_LIST} more entries not shown]")
        header = f"{self._shown(real)}/ ({len(entries)} entries)"
        return ToolResult(text="\n".join([header, *lines]) if lines else f"{header}\n(empty)")

    def _search(self, args: FilesArgs) -> ToolResult:
        if not args.pattern:
            return ToolResult.error("search needs `pattern` (the text to look for)")
        try:
            matcher = re.compile(args.pattern if args.regex else re.escape(args.pattern))
        except re.error as exc:
            return ToolResult.error(f"pattern is not a valid regular expression: {exc}; or set regex: false")
        real = self.resolve(args.path)
        files = [real] if real.is_file() else self._walk(real)
        hits: list[str] = []
        scanned = skipped = 0
        for path in files:
            if scanned >= _MAX_SEARCH_FILES or len(hits) >= self.options.max_matches:
                break
            scanned += 1
            try:
                data = self._search_bytes(path)
            except (OSError, PathRefused):
                data = None
            if data is None:
                skipped += 1
                continue
            if b"\x00" in data[:_BINARY_SNIFF]:
                continue
            for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
                if matcher.search(line[:_MAX_SEARCH_LINE]):
                    hits.append(f"{self._shown(path)}:{number}: {line.strip()[:300]}")
                    if len(hits) >= self.options.max_matches:
                        break
        notes = []
        if len(hits) >= self.options.max_matches:
            notes.append(f"[stopped at {self.options.max_matches} matches; narrow the pattern or the path]")
        if scanned >= _MAX_SEARCH_FILES:
            notes.append(f"[stopped after {_MAX_SEARCH_FILES} files; search a sub-folder]")
        if skipped:
            notes.append(
                f"[{skipped} files skipped: larger than {self.options.max_search_file_bytes} bytes, unreadable or not regular files]"
            )
        if not hits:
            return ToolResult(
                text="\n".join([f"no matches for {args.pattern!r} in {self._shown(real)}", *notes])
            )
        return ToolResult(text="\n".join([*hits, *notes]))

    def _search_bytes(self, path: Path) -> bytes | None:
        """A regular file's bytes; None for one too large, or not a regular file (a FIFO would block)."""
        with os.fdopen(self._open_inside(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > self.options.max_search_file_bytes:
                return None
            return handle.read(self.options.max_search_file_bytes + 1)

    def _walk(self, folder: Path):
        """Regular files under ``folder``, never following symlinks."""
        for current, dirs, names in os.walk(folder, followlinks=False):
            dirs.sort()
            for name in sorted(names):
                path = Path(current) / name
                if not path.is_symlink():
                    yield path


def _printable(name: str) -> str:
    """A file name as valid text: bytes that are not UTF-8 (``\\udcff`` from the OS) shown as ``\\xff``."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _replace_file(folder: int, name: str, data: bytes, shown: str) -> None:
    """Write ``data`` to a new file next to ``name`` and rename it over ``name``.

    The old file is never opened for writing: a FIFO cannot block the write, a device is never written,
    and a hard link to a file outside the root keeps that file's content (only this name changes).
    Anything there that is not a regular file is refused.
    """
    mode = 0o644
    try:
        info = os.lstat(name, dir_fd=folder)
    except FileNotFoundError:
        info = None
    if info is not None:
        if not stat.S_ISREG(info.st_mode):
            kind = "a FIFO" if stat.S_ISFIFO(info.st_mode) else "a device or special file"
            raise PathRefused(f"{shown!r} is {kind}, not a regular file; files writes only regular files")
        mode = stat.S_IMODE(info.st_mode)
    temporary = f".{name[:200]}.{uuid.uuid4().hex[:12]}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode, dir_fd=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.rename(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        try:
            os.unlink(temporary, dir_fd=folder)
        except OSError:
            pass
        raise


def _read_lines(
    handle: Any, start: int, max_lines: int | None, max_bytes: int
) -> tuple[list[bytes], bool, int]:
    """Lines from ``start`` (1-based), at most ``max_lines`` and ``max_bytes``.

    Returns the lines, whether the byte cap cut them short, and the number of the next line.
    """
    number = 1
    while number < start:
        if not handle.readline(max_bytes + 1):
            return [], False, number
        number += 1
    chunks: list[bytes] = []
    size = 0
    while max_lines is None or len(chunks) < max_lines:
        line = handle.readline(max_bytes - size + 1)
        if not line:
            return chunks, False, number
        if size + len(line) > max_bytes:
            chunks.append(line[: max_bytes - size])
            return chunks, True, number
        chunks.append(line)
        size += len(line)
        number += 1
    return chunks, False, number


def _is_link(name: str, folder_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=folder_fd).st_mode)
    except OSError:
        return False


def _has_symlink(root: Path, candidate: Path) -> bool:
    """Whether any existing component of ``candidate`` (under root) is a symlink, for the error text."""
    current = root if not candidate.is_absolute() else Path(candidate.anchor)
    for part in candidate.parts if not candidate.is_absolute() else candidate.parts[1:]:
        current = current / part
        if current.is_symlink():
            return True
    return False


def make_files(options: dict[str, Any], *, base_dir: Path) -> FilesTool:
    """The ``files`` tool for a task whose file lives in ``base_dir``."""
    parsed = parse_options(FilesOptions, options, "files")
    root = Path(parsed.root).expanduser()
    root = root if root.is_absolute() else Path(base_dir) / root
    if not root.is_dir():
        raise ValueError(
            f"files: root folder {str(root)!r} does not exist; create it or change the 'root' option"
        )
    return FilesTool(Path(os.path.realpath(root)), parsed)
