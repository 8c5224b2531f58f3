"""`jobs-lint server` end to end: pygls's language client starts the installed command and talks
JSON-RPC to it over its standard input and output, as an editor does."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.client import LanguageClient

WAIT = 60  # seconds for one answer; a cold index of the fixture project takes well under one

VIEWS = """from proj.celery import app


def go():
    app.send_task("proj.tasks.fetch", args=("x",))
    app.send_task("proj.tasks.fetchh", args=("x",))
"""


JOBS = """import time

async def job(ctx):
    time.sleep(1)


class WorkerSettings:
    functions = [job]
"""


def jobs_lint_command() -> str:
    return shutil.which("jobs-lint", path=os.path.dirname(sys.executable)) or "jobs-lint"


class Editor:
    """The client side: open documents, the diagnostics published for each."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.client = LanguageClient("test-editor", "1")
        self.published: dict[str, asyncio.Queue[types.PublishDiagnosticsParams]] = defaultdict(asyncio.Queue)
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
            self.published[params.uri].put_nowait(params)

    async def start(self) -> None:
        await self.client.start_io(jobs_lint_command(), "server", cwd=str(self.root))
        result = await self.client.initialize_async(
            types.InitializeParams(
                process_id=os.getpid(),
                root_uri=self.root.as_uri(),
                capabilities=types.ClientCapabilities(),
            )
        )
        assert result.server_info is not None and result.server_info.name == "jobs-lint"
        self.client.initialized(types.InitializedParams())

    async def stop(self) -> None:
        await asyncio.wait_for(self.client.shutdown_async(None), WAIT)
        self.client.exit(None)
        await asyncio.wait_for(self.client.stop(), WAIT)

    def uri(self, relative: str) -> str:
        return (self.root / relative).as_uri()

    def open(self, relative: str) -> str:
        uri = self.uri(relative)
        self.texts[uri] = (self.root / relative).read_text()
        self.versions[uri] = 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=self.texts[uri])
            )
        )
        return uri

    def change(self, uri: str, text: str) -> None:
        """Replace the buffer's text without saving it."""
        self.texts[uri] = text
        self.versions[uri] += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )

    def save(self, uri: str) -> None:
        Path(_path(uri)).write_text(self.texts[uri])
        self.client.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    async def diagnostics(self, uri: str, version: int | None = None) -> list[types.Diagnostic]:
        """The next diagnostics published for `uri` (for `version`, if given)."""
        while True:
            params = await asyncio.wait_for(self.published[uri].get(), WAIT)
            if version is None or params.version == version:
                return list(params.diagnostics)

    def apply(self, uri: str, edit: types.WorkspaceEdit) -> str:
        """The buffer's text after a workspace edit, as an editor applies it (in UTF-16 units)."""
        assert edit.changes is not None
        text = self.texts[uri]
        lines = text.splitlines(keepends=True)
        starts = [0]
        for line in lines:
            starts.append(starts[-1] + len(line))

        def offset(position: types.Position) -> int:
            line = lines[position.line] if position.line < len(lines) else ""
            units = line.encode("utf-16-le")[: 2 * position.character].decode("utf-16-le")
            return starts[min(position.line, len(lines))] + len(units)

        for text_edit in sorted(edit.changes[uri], key=lambda e: offset(e.range.start), reverse=True):
            text = text[: offset(text_edit.range.start)] + text_edit.new_text + text[offset(text_edit.range.end) :]
        return text


def _path(uri: str) -> str:
    return unquote(urlparse(uri).path)


def test_server_checks_fixes_explains_and_follows_unsaved_text(project: Path) -> None:
    (project / "proj" / "views.py").write_text(VIEWS)
    (project / "jobs.py").write_text(JOBS)
    asyncio.run(asyncio.wait_for(_session(project), 5 * WAIT))
    # The index was read through the command line's cache, which a run now finds warm.
    assert any(path.is_file() for path in (project / ".jobs_lint_cache").glob("*/*"))


async def _session(project: Path) -> None:
    editor = Editor(project)
    await editor.start()
    try:
        await _findings_fixes_and_hover(editor)
        await _unsafe_fix_with_an_import(editor)
        await _cross_module_facts_and_save(editor)
    finally:
        await editor.stop()


async def _findings_fixes_and_hover(editor: Editor) -> None:
    uri = editor.open("proj/reports.py")
    [diagnostic] = await editor.diagnostics(uri, version=1)
    assert diagnostic.code == "JL101"
    assert diagnostic.source == "jobs-lint"
    assert diagnostic.message.startswith("`apply_async` sends this message with pickle")
    # `serializer="pickle"` on line 7, columns 45-53 (1-based) of the command line's report.
    assert diagnostic.range == types.Range(start=types.Position(6, 44), end=types.Position(6, 52))
    assert diagnostic.code_description is not None
    assert diagnostic.code_description.href.endswith("docs/rules.md#pickle-serializer-jl101")

    hover = await asyncio.wait_for(
        editor.client.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(6, 47))
        ),
        WAIT,
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.value.startswith("# pickle-serializer (JL101)")
    assert "## Why is this bad?" in hover.contents.value
    nothing = await editor.client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(0, 0))
    )
    assert nothing is None

    actions = await _actions(editor, uri, diagnostic)
    titles = [action.title for action in actions]
    assert titles == ["JL101: Use `json`", "JL101: suppress with `# noqa: JL101`"], titles
    fix, suppress = actions
    assert fix.is_preferred and fix.kind == types.CodeActionKind.QuickFix
    assert fix.edit is not None and suppress.edit is not None
    fixed = editor.apply(uri, fix.edit)
    assert '    fetch.apply_async((report,), serializer="json")  # expect: JL101\n' in fixed
    assert fixed.replace('"json"', '"pickle"', 1) == editor.texts[uri]
    suppressed = editor.apply(uri, suppress.edit)
    assert 'serializer="pickle")  # expect: JL101  # noqa: JL101\n' in suppressed

    answer = await editor.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=types.Position(0, 0), end=types.Position(0, 0)),
            context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.SourceFixAll]),
        )
    )
    [fix_all] = answer or []
    assert isinstance(fix_all, types.CodeAction) and fix_all.edit is not None
    assert fix_all.title == "Fix 1 jobs-lint finding (safe fixes)"
    assert editor.apply(uri, fix_all.edit) == fixed

    editor.change(uri, fixed)
    assert await editor.diagnostics(uri, version=2) == []

    # An unsaved change: the file on disk still has the first text, the findings follow the buffer.
    # Positions are in UTF-16 code units, as the client expects: the emoji counts twice.
    line = '    fetch.apply_async(("é😀",), serializer="pickle")'
    editor.change(uri, fixed + f"\n\ndef later():\n{line}\n")
    [again] = await editor.diagnostics(uri, version=3)
    column = len(line[: line.index('"pickle"')].encode("utf-16-le")) // 2
    assert (again.code, again.range.start) == ("JL101", types.Position(14, column))
    assert again.range.end == types.Position(14, column + len('"pickle"'))
    [_, suppress] = await _actions(editor, uri, again)
    assert suppress.edit is not None
    editor.change(uri, editor.apply(uri, suppress.edit))
    assert await editor.diagnostics(uri, version=4) == []

    # Typing: changes in quick succession are checked once, when the typing pauses.
    typed = editor.texts[uri]
    for count in range(1, 4):
        editor.change(uri, typed + "\n" * count + 'fetch.apply_async((1,), serializer="pickle")\n')
    published = await asyncio.wait_for(editor.published[uri].get(), WAIT)
    assert published.version == 7
    assert [d.range.start.line for d in published.diagnostics] == [18]


async def _unsafe_fix_with_an_import(editor: Editor) -> None:
    """An unsafe fix is offered, marked and not preferred; the import it needs comes with it."""
    uri = editor.open("jobs.py")
    found = {d.code: d for d in await editor.diagnostics(uri, version=1)}
    blocking = found["JL302"]
    assert blocking.range.start == types.Position(3, 4)
    [fix, _] = await _actions(editor, uri, blocking)
    assert fix.title == "JL302: Use `await asyncio.sleep(...)` (unsafe fix)"
    assert not fix.is_preferred and fix.edit is not None
    fixed = editor.apply(uri, fix.edit)
    assert fixed == JOBS.replace("import time\n", "import time\nimport asyncio\n").replace(
        "    time.sleep(1)", "    await asyncio.sleep(1)"
    )


async def _cross_module_facts_and_save(editor: Editor) -> None:
    """views.py names tasks that tasks.py defines: the index of the whole project decides."""
    views = editor.open("proj/views.py")
    [unknown] = await editor.diagnostics(views, version=1)
    assert unknown.code == "JL111"
    assert unknown.range.start == types.Position(5, 18)
    assert "`proj.tasks.fetchh`" in unknown.message

    # Defining the task in tasks.py and saving it clears the finding in views.py.
    tasks = editor.open("proj/tasks.py")
    await editor.diagnostics(tasks, version=1)
    editor.change(tasks, editor.texts[tasks] + "\n\n@shared_task\ndef fetchh(url):\n    return url\n")
    await editor.diagnostics(tasks, version=2)
    editor.save(tasks)
    assert await editor.diagnostics(views) == []


async def _actions(editor: Editor, uri: str, diagnostic: types.Diagnostic) -> list[types.CodeAction]:
    answer = await asyncio.wait_for(
        editor.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=diagnostic.range,
                context=types.CodeActionContext(diagnostics=[diagnostic]),
            )
        ),
        WAIT,
    )
    return [action for action in answer or [] if isinstance(action, types.CodeAction)]


def test_server_reports_a_bad_configuration_once_and_keeps_serving(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.jobs-lint]\nselect = ["JL9"]\n')
    asyncio.run(asyncio.wait_for(_bad_configuration(project), 3 * WAIT))


async def _bad_configuration(project: Path) -> None:
    editor = Editor(project)
    messages: asyncio.Queue[types.ShowMessageParams] = asyncio.Queue()

    @editor.client.feature(types.WINDOW_SHOW_MESSAGE)
    def on_message(params: types.ShowMessageParams) -> None:
        messages.put_nowait(params)

    await editor.start()
    try:
        uri = editor.open("proj/reports.py")
        assert await editor.diagnostics(uri, version=1) == []
        message = await asyncio.wait_for(messages.get(), WAIT)
        assert message.type == types.MessageType.Error
        assert message.message.startswith("jobs-lint: Unknown rule selector `JL9`")
        # Repaired: the next check reads the new settings.
        (project / "pyproject.toml").write_text('[tool.jobs-lint]\nselect = ["JL1"]\n')
        editor.change(uri, editor.texts[uri] + "\n")
        [found] = await editor.diagnostics(uri, version=2)
        assert found.code == "JL101"
        assert messages.empty()
    finally:
        await editor.stop()


def test_server_without_the_extra_says_what_to_install(tmp_path: Path) -> None:
    """Without pygls the command fails in one line naming the extra (simulated by hiding it)."""
    (tmp_path / "pygls").mkdir()
    (tmp_path / "pygls" / "__init__.py").write_text("raise ImportError('hidden for the test')\n")
    completed = subprocess.run(
        [jobs_lint_command(), "server"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert completed.returncode == 2
    assert completed.stderr == (
        "jobs-lint: error: `jobs-lint server` needs pygls and lsprotocol: pip install 'jobs-lint[lsp]'\n"
    )
