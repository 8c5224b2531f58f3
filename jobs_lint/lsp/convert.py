"""From findings to the Language Server Protocol's types: diagnostics, code actions, hover.

Findings count columns in characters (code points); the client counts in the position encoding
agreed at initialisation (UTF-16 unless it offers another), which the document's codec converts.
"""

from __future__ import annotations

import bisect

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from jobs_lint import fixer, noqa
from jobs_lint.commands import ENGINE_CODES
from jobs_lint.diagnostics import Applicability, Diagnostic, Edit
from jobs_lint.rules import RULES
from jobs_lint.rules.docs import rule_url
from jobs_lint.source import Source

SOURCE = "jobs-lint"


class Positions:
    """Converts between a text's character positions and the client's."""

    def __init__(self, text: str, codec: PositionCodec) -> None:
        self.source = Source("", text)
        self.codec = codec

    def to_client(self, line: int, col: int) -> types.Position:
        """A 1-based (line, column in characters) to the client's 0-based position."""
        return self.codec.position_to_client_units(self.source.lines, types.Position(line - 1, col - 1))

    def from_client(self, position: types.Position) -> tuple[int, int]:
        """The client's position to a 1-based (line, column in characters)."""
        server = self.codec.position_from_client_units(self.source.lines, position)
        return server.line + 1, server.character + 1

    def at_offset(self, offset: int) -> types.Position:
        starts, lines = self.source.line_offsets, self.source.lines
        index = max(0, bisect.bisect_right(starts, offset) - 1)
        if index >= len(lines):  # the very end of the text
            if lines[-1].endswith(("\n", "\r")):
                return types.Position(line=len(lines), character=0)
            index = len(lines) - 1
        return self.to_client(index + 1, offset - starts[index] + 1)

    def range(self, line: int, col: int, end_line: int, end_col: int) -> types.Range:
        return types.Range(start=self.to_client(line, col), end=self.to_client(end_line, end_col))


def span(found: Diagnostic) -> tuple[int, int, int, int]:
    """A finding's (line, col, end_line, end_col), never ending before it starts."""
    end_col = max(found.end_col, found.col) if found.end_line == found.line else found.end_col
    return found.line, found.col, max(found.end_line, found.line), end_col


def covers(found: Diagnostic, line: int, col: int) -> bool:
    start_line, start_col, end_line, end_col = span(found)
    return (start_line, start_col) <= (line, col) <= (end_line, end_col)


def diagnostic(found: Diagnostic, positions: Positions) -> types.Diagnostic:
    rule = RULES.get(found.code)
    return types.Diagnostic(
        range=positions.range(*span(found)),
        message=found.message,
        # The engine's codes mean the file was not checked at all.
        severity=types.DiagnosticSeverity.Error if found.code in ENGINE_CODES else types.DiagnosticSeverity.Warning,
        code=found.code,
        code_description=types.CodeDescription(href=rule_url(rule)) if rule is not None else None,
        source=SOURCE,
        tags=[types.DiagnosticTag.Unnecessary] if found.code == noqa.UNUSED_NOQA else None,
    )


def code_actions(uri: str, text: str, found: Diagnostic, positions: Positions) -> list[types.CodeAction]:
    """A quick fix for the finding's fix (if it applies cleanly) and one that adds `# noqa: CODE`."""
    actions = []
    lsp_diagnostic = diagnostic(found, positions)
    if found.fix is not None:
        fixed, applied, _ = fixer.apply_fixes(text, [(found.code, found.fix)])  # a refused fix offers no action
        if applied:
            safe = found.fix.applicability is Applicability.SAFE
            actions.append(
                types.CodeAction(
                    title=f"{found.code}: {found.fix.message}" + ("" if safe else " (unsafe fix)"),
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[lsp_diagnostic],
                    is_preferred=safe,
                    edit=_workspace_edit(uri, text, fixed, positions),
                )
            )
    if found.code not in ENGINE_CODES and found.code != noqa.UNUSED_NOQA:
        edits = noqa.add_noqa_edits(Source("", text), [found])
        if edits:
            actions.append(
                types.CodeAction(
                    title=f"{found.code}: suppress with `# noqa: {found.code}`",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[lsp_diagnostic],
                    edit=types.WorkspaceEdit(changes={uri: [_text_edit(edit, positions) for edit in edits]}),
                )
            )
    return actions


def fix_all_action(uri: str, text: str, fixed: str, count: int, positions: Positions) -> types.CodeAction:
    return types.CodeAction(
        title=f"Fix {count} jobs-lint finding{'s' if count != 1 else ''} (safe fixes)",
        kind=types.CodeActionKind.SourceFixAll,
        edit=_workspace_edit(uri, text, fixed, positions),
    )


def hover(found: list[Diagnostic], positions: Positions) -> types.Hover | None:
    """The documentation of the rules reported at a position."""
    codes = list(dict.fromkeys(d.code for d in found if d.code in RULES))
    if not codes:
        return None
    first = found[0]
    return types.Hover(
        contents=types.MarkupContent(
            kind=types.MarkupKind.Markdown,
            value="\n\n---\n\n".join(
                f"{RULES[code].docs().rstrip()}\n\n[{code} in the rules]({rule_url(RULES[code])})" for code in codes
            ),
        ),
        range=positions.range(*span(first)),
    )


def _workspace_edit(uri: str, before: str, after: str, positions: Positions) -> types.WorkspaceEdit:
    """One edit replacing the part of the text that changed (not the whole document, which
    would move the cursor and lose the editor's marks)."""
    start = 0
    limit = min(len(before), len(after))
    while start < limit and before[start] == after[start]:
        start += 1
    end_before, end_after = len(before), len(after)
    while end_before > start and end_after > start and before[end_before - 1] == after[end_after - 1]:
        end_before -= 1
        end_after -= 1
    edit = types.TextEdit(
        range=types.Range(start=positions.at_offset(start), end=positions.at_offset(end_before)),
        new_text=after[start:end_after],
    )
    return types.WorkspaceEdit(changes={uri: [edit]})


def _text_edit(edit: Edit, positions: Positions) -> types.TextEdit:
    return types.TextEdit(
        range=positions.range(edit.line, edit.col, edit.end_line, edit.end_col), new_text=edit.content
    )
