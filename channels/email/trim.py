"""What the agent reads first: the new words of a mail, without the quoted history and the
signature below them. The full text is kept beside it; this only shortens the display."""

from __future__ import annotations

import re

# The line a mail client writes above the quote ("On Mon, Ann wrote:", Persian clients'
# "در تاریخ ... نوشت:", Outlook's separator and header block).
_QUOTE_INTRO = re.compile(
    r"^\s*(On\b.{0,200}\bwrote:|Le\b.{0,200}\ba écrit\s?:|Am\b.{0,200}\bschrieb\b.{0,50}:|در\b.{0,200}نوشت\s*:|.{0,200}\bنوشت\s*:\s*$"
    r"|-{2,}\s*Original Message\s*-{2,}|-{2,}\s*Forwarded message\s*-{2,}|_{10,})\s*$",
    re.IGNORECASE,
)
_OUTLOOK_HEADER = re.compile(r"^\s*(From|از)\s*:\s*.+$", re.IGNORECASE)
_SIGNATURE = re.compile(r"^(-- ?|--|__)\s*$")
_MOBILE = re.compile(r"^\s*(Sent from my .{1,40}|Get Outlook for .{1,40}|ارسال شده از .{1,40})\s*$", re.IGNORECASE)


def display_text(text: str) -> str:
    """`text` up to the first quote intro, quoted block (">") that runs to the end, or
    signature delimiter; the whole text when trimming would leave nothing."""
    lines = text.replace("\r\n", "\n").split("\n")
    cut = len(lines)
    for i, line in enumerate(lines):
        if _QUOTE_INTRO.match(line) or _SIGNATURE.match(line) or _MOBILE.match(line):
            cut = i
            break
        if _OUTLOOK_HEADER.match(line) and i + 1 < len(lines) and re.match(r"^\s*(Sent|Date|تاریخ)\s*:", lines[i + 1], re.IGNORECASE):
            cut = i
            break
        if line.startswith(">") and all(not rest.strip() or rest.startswith(">") for rest in lines[i:]):
            cut = i
            break
    kept = "\n".join(lines[:cut]).strip()
    return kept or text.strip()
