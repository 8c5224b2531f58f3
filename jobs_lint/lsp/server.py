"""The language server: findings as the user types, quick fixes, and the rules' docs on hover.

Documents are checked on open and save at once, and on change after a pause in typing, from the
editor's text (unsaved changes included). Each document is checked in its project (the nearest
pyproject.toml decides, as for the command line, and is read again for every check), against an
index of the whole project read through the command line's cache, so cross-module facts hold.
Saving re-reads the project (only changed files cost more than a `stat`) and re-checks the open
documents.

Checks run one at a time on a worker thread: the event loop keeps answering hovers and code
actions, from the last check, meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from jobs_lint import __version__, fixer
from jobs_lint.diagnostics import Diagnostic
from jobs_lint.discovery import display_path
from jobs_lint.document import Project
from jobs_lint.lsp import convert
from jobs_lint.settings import ConfigError, load

DEBOUNCE_SECONDS = 0.25  # after the last keystroke, before checking the unsaved text
logger = logging.getLogger(__name__)


@dataclass
class Checked:
    """The last check of a document: what its findings' positions and fixes refer to."""

    version: int | None
    text: str
    diagnostics: list[Diagnostic]
    project: Project | None


class JobsLintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("jobs-lint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.projects: dict[tuple[str, str | None], Project] = {}
        self.checked: dict[str, Checked] = {}
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobs-lint-check")
        self.reported_errors: set[str] = set()

    # Scheduling ----------------------------------------------------------------------------

    def schedule(self, uri: str, delay: float = 0.0) -> None:
        """Check a document after `delay`; a newer request for it replaces an older one."""
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self.pending[uri] = asyncio.get_running_loop().create_task(self._check_later(uri, delay))

    async def _check_later(self, uri: str, delay: float) -> None:
        await asyncio.sleep(delay)
        document = self.workspace.get_text_document(uri)
        if not _is_python(document):
            return
        version, text = document.version, document.source
        loop = asyncio.get_running_loop()
        try:
            checked = await loop.run_in_executor(self.worker, self._check, document.path, version, text)
        except ConfigError as error:
            self._report(str(error))
            checked = Checked(version, text, [], None)
        except Exception as error:  # a bug must not take the server down with it
            logger.exception("checking %s failed", uri)
            self._report(f"internal error: {type(error).__name__}: {error}")
            checked = Checked(version, text, [], None)
        if self.workspace.get_text_document(uri).version != version:
            return  # edited meanwhile: the check of the newer text is on its way
        self.checked[uri] = checked
        positions = convert.Positions(text, document.position_codec)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=uri,
                version=version,
                diagnostics=[convert.diagnostic(found, positions) for found in checked.diagnostics],
            )
        )

    async def refresh(self, path: str) -> None:
        """A file was saved: re-read its project, then re-check the open documents (another
        module's facts may have changed)."""
        loop = asyncio.get_running_loop()
        try:
            project = await loop.run_in_executor(self.worker, self._project, path)
            await loop.run_in_executor(self.worker, project.refresh)
        except ConfigError as error:
            self._report(str(error))
        for uri in list(self.workspace.text_documents):
            self.schedule(uri)

    # On the worker thread -------------------------------------------------------------------

    def _project(self, path: str) -> Project:
        """The document's project, opened afresh when its settings changed (they are read for
        every check: an editor need not tell the server that pyproject.toml was saved)."""
        settings = load([path])
        self.reported_errors.clear()  # the configuration is valid again: report the next error
        key = (os.path.abspath(settings.root), settings.config_path)
        project = self.projects.get(key)
        if project is None or project.settings != settings:
            # Not in parallel: worker processes forked from a threaded server could inherit held locks.
            project = self.projects[key] = Project.open(path, parallel=False)
        return project

    def _check(self, path: str, version: int | None, text: str) -> Checked:
        project = self._project(path)
        if project.excluded(path):
            return Checked(version, text, [], project)
        return Checked(version, text, project.check(display_path(path), text), project)

    def _report(self, message: str) -> None:
        if message in self.reported_errors:
            return  # once, not on every keystroke
        self.reported_errors.add(message)
        self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=f"jobs-lint: {message}"))

    # Answers from the last check ---------------------------------------------------------------

    def current(self, uri: str) -> tuple[TextDocument, Checked] | None:
        """The document and its last check, if that check is of the text the editor has now."""
        checked = self.checked.get(uri)
        if checked is None:
            return None
        document = self.workspace.get_text_document(uri)
        return (document, checked) if document.source == checked.text else None

    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        found = self.current(uri)
        if found is None:
            return []
        document, checked = found
        positions = convert.Positions(checked.text, document.position_codec)
        first, _ = positions.from_client(params.range.start)
        last, _ = positions.from_client(params.range.end)
        only = params.context.only
        actions: list[types.CodeAction] = []
        if not only or any(kind.startswith(types.CodeActionKind.QuickFix) for kind in only):
            for diagnostic in checked.diagnostics:
                if diagnostic.line <= last and diagnostic.end_line >= first:
                    actions.extend(convert.code_actions(uri, checked.text, diagnostic, positions))
        if only and any(types.CodeActionKind.SourceFixAll.startswith(kind) for kind in only):
            fix_all = self._fix_all(uri, checked, positions)
            if fix_all is not None:
                actions.append(fix_all)
        return actions

    def _fix_all(self, uri: str, checked: Checked, positions: convert.Positions) -> types.CodeAction | None:
        project = checked.project
        if project is None or not any(fixer.applicable(d, False) for d in checked.diagnostics):
            return None
        path = display_path(self.workspace.get_text_document(uri).path)
        outcome = fixer.fix_text(checked.text, checked.diagnostics, lambda text: project.check(path, text), False)
        if outcome.text == checked.text:
            return None
        return convert.fix_all_action(uri, checked.text, outcome.text, sum(outcome.fixed.values()), positions)

    def hover(self, params: types.HoverParams) -> types.Hover | None:
        found = self.current(params.text_document.uri)
        if found is None:
            return None
        document, checked = found
        positions = convert.Positions(checked.text, document.position_codec)
        line, col = positions.from_client(params.position)
        here = [d for d in checked.diagnostics if convert.covers(d, line, col)]
        return convert.hover(here, positions)


def _is_python(document: TextDocument) -> bool:
    return document.language_id == "python" or document.path.endswith((".py", ".pyi"))


def build() -> JobsLintServer:
    server = JobsLintServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: JobsLintServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: JobsLintServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, DEBOUNCE_SECONDS)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: JobsLintServer, params: types.DidSaveTextDocumentParams) -> None:
        await ls.refresh(ls.workspace.get_text_document(params.text_document.uri).path)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: JobsLintServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        pending = ls.pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        ls.checked.pop(uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll],
            resolve_provider=False,
        ),
    )
    def code_action(ls: JobsLintServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return ls.code_actions(params)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: JobsLintServer, params: types.HoverParams) -> types.Hover | None:
        return ls.hover(params)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: JobsLintServer, params: Any) -> None:
        for task in ls.pending.values():
            task.cancel()
        ls.worker.shutdown(wait=False, cancel_futures=True)

    return server
