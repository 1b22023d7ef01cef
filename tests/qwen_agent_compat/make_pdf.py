"""A small text PDF written at test time (the documents the drop-in suite's programs read)."""

from __future__ import annotations

from pathlib import Path

DOC_LINES = [
    "Qwen-Agent is a framework for building agents on Qwen models.",
    "It offers function calling, a code interpreter, retrieval over documents and MCP tools.",
    "Image operations: an agent can generate an image from a prompt and then crop or resize it.",
    "Documents are split into chunks and the chunks that match the question are given to the model.",
] * 6


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_pdf(path: Path, lines: list[str] = DOC_LINES) -> Path:
    """One page of Helvetica text, one line per entry of ``lines``: a valid PDF any parser reads."""
    text = "BT /F1 10 Tf 40 800 Td 12 TL " + " ".join(f"({_escape(line)}) Tj T*" for line in lines) + " ET"
    stream = text.encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))
    return path
