"""The fixer writes files back as they were apart from its edits: in their declared encoding, and
never without a comment or token it did not mean to touch."""

from __future__ import annotations

from pathlib import Path

LATIN = (
    "# -*- coding: latin-1 -*-\n"
    "# Facturation: café, reçu\n"
    "from celery import Celery\n"
    "app = Celery('billing', task_acks_late=True, task_serializer='pickle')  # déjà vu\n"
)


def test_latin_1_file_is_fixed_in_latin_1(jobs_lint, tmp_path: Path) -> None:
    path = tmp_path / "billing.py"
    path.write_bytes(LATIN.encode("latin-1"))
    result = jobs_lint("billing.py", "--select", "JL101", "--fix", cwd=tmp_path)
    assert (result.code, result.err) == (0, "")
    assert path.read_bytes() == LATIN.replace("'pickle'", "'json'").encode("latin-1")


def test_latin_1_file_diff_and_add_noqa(jobs_lint, tmp_path: Path) -> None:
    path = tmp_path / "billing.py"
    path.write_bytes(LATIN.encode("latin-1"))
    diff = jobs_lint("billing.py", "--select", "JL101", "--diff", cwd=tmp_path)
    assert diff.code == 1 and "Traceback" not in diff.err and "internal error" not in diff.err
    assert "-app = Celery('billing', task_acks_late=True, task_serializer='pickle')  # déjà vu" in diff.out
    assert "+app = Celery('billing', task_acks_late=True, task_serializer='json')  # déjà vu" in diff.out
    assert path.read_bytes() == LATIN.encode("latin-1")
    added = jobs_lint("billing.py", "--select", "JL101", "--add-noqa", cwd=tmp_path)
    assert (added.code, added.err) == (0, "Added 1 noqa directive.\n")
    expected = LATIN.replace("# déjà vu\n", "# déjà vu  # noqa: JL101\n")
    assert path.read_bytes() == expected.encode("latin-1")
    assert jobs_lint("billing.py", "--select", "JL101", cwd=tmp_path).code == 0
    # The snippet shows the file's own characters.
    path.write_bytes(LATIN.encode("latin-1"))
    assert "# déjà vu" in jobs_lint("billing.py", "--select", "JL101", cwd=tmp_path).out


def test_utf_8_bom_is_kept(jobs_lint, tmp_path: Path) -> None:
    path = tmp_path / "billing.py"
    path.write_bytes(b"\xef\xbb\xbf" + LATIN.split("\n", 1)[1].encode())
    jobs_lint("billing.py", "--select", "JL101", "--fix", cwd=tmp_path)
    assert path.read_bytes() == b"\xef\xbb\xbf" + LATIN.split("\n", 1)[1].replace("'pickle'", "'json'").encode()
