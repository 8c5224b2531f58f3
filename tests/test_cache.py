"""The result cache is data only: a cache file committed to a repository cannot run code, a file
that does not load is replaced, and every kind of fact survives a round trip."""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import pickle
from pathlib import Path

import pytest
from helpers import lint, write_case

from jobs_lint import __version__, codec
from jobs_lint.cache import Cache
from jobs_lint.rules import RULES
from jobs_lint.semantic.index import ProjectIndex
from jobs_lint.settings import load

TASKS = "from celery import Celery\napp = Celery('proj', task_serializer='pickle')\n"


class _Payload:
    """Unpickling this runs `open(marker, "w")`: what a hostile repository could commit."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.marker, "w"))


def _cache_files(root: Path) -> list[Path]:
    """Where this version of jobs-lint looks for its cache, under every name it has used."""
    key = load([str(root)]).cache_key()
    directory = root / ".jobs_lint_cache" / __version__
    return [directory / f"{key}.{suffix}" for suffix in ("pickle", "json")]


def test_a_committed_pickle_cache_does_not_run(jobs_lint, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "app.py").write_text(TASKS)
    marker = tmp_path / "owned"
    files = _cache_files(tmp_path)
    files[0].parent.mkdir(parents=True)
    for path in files:
        path.write_bytes(pickle.dumps(_Payload(str(marker))))
    result = jobs_lint(".", "--output-format", "concise", cwd=tmp_path)
    assert not marker.exists()
    assert "app.py:2:38: JL101" in result.out and result.code == 1
    # The hostile file was replaced by a cache that loads.
    assert codec.loads(files[1].read_bytes())[1]


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\xffnot json",
        b'{"(": [',
        b'[{"c": "os.system", "v": ["touch owned"]}, {}]',  # a class that is not on the list
        b'{"(": [{"{": []}, {"{": []}, 3]}',
        b'{"(": [{"{": ["/x.py", 5]}, {"{": []}]}',  # entries that are not entries
        b'{"(": ["0123456789abcdef", {"{": []}, {"{": []}]}',  # written by classes of another shape
    ],
)
def test_a_cache_file_that_does_not_load_is_replaced(jobs_lint, tmp_path: Path, content: bytes) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "app.py").write_text(TASKS)
    cache_file = _cache_files(tmp_path)[1]
    cache_file.parent.mkdir(parents=True)
    cache_file.write_bytes(content)
    result = jobs_lint(".", "--output-format", "concise", cwd=tmp_path)
    assert "app.py:2:38: JL101" in result.out and result.code == 1
    assert result.err == ""
    _, entries, _ = codec.loads(cache_file.read_bytes())
    assert [os.path.basename(path) for path in entries] == ["app.py"]
    assert (tmp_path / ".jobs_lint_cache" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert not (tmp_path / "owned").exists()


def test_the_codec_refuses_classes_it_does_not_know() -> None:
    for text in (
        '{"c": "Popen", "v": []}',
        '{"c": "subprocess.Popen", "v": [["id"]]}',
        '{"e": "Signals", "v": 9}',
        '{"c": "Entry", "v": [1, 2]}',  # a known class with the wrong fields
        '{"e": "Entry", "v": 1}',  # a dataclass is not an enum
        '{"x": 1, "y": 2, "z": 3}',
    ):
        with pytest.raises(codec.DecodeError):
            codec.loads(text)
    with pytest.raises(TypeError):
        codec.dumps(object())


def _every_case_file(tmp_path: Path) -> list[Path]:
    written = []
    for number, case in enumerate(case for rule in RULES.values() for case in (*rule.invalid, *rule.valid)):
        written.append(write_case(case, tmp_path / f"case{number}"))
    return written


def test_every_fact_type_round_trips(tmp_path: Path) -> None:
    """The facts of every rule example (Celery, ARQ, Temporal, Django and plain modules)."""
    run = lint(_every_case_file(tmp_path), tmp_path)
    facts = list(run.index.modules.values())
    seen: set[type] = set()

    def classes(value: object) -> None:
        if dataclasses.is_dataclass(value) or isinstance(value, enum.Enum):
            seen.add(type(value))
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            for item in dataclasses.fields(value):
                classes(getattr(value, item.name))
        elif isinstance(value, dict):
            for key, item in value.items():
                classes(key)
                classes(item)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                classes(item)

    classes(facts)
    names = {cls.__name__ for cls in seen}
    wanted = {"ModuleFacts", "TaskInfo", "Signature", "ArqFacts", "WorkerInfo", "JobRef"}
    assert wanted | {"TemporalFacts", "WorkflowInfo", "ActivityInfo", "Unknown"} <= names
    decoded = codec.loads(codec.dumps(facts))
    assert decoded == facts
    assert [type(module.extra.get("arq")) for module in decoded] == [type(module.extra.get("arq")) for module in facts]
    assert codec.dumps(decoded) == codec.dumps(facts)


def test_values_round_trip_with_their_types() -> None:
    from jobs_lint.diagnostics import Applicability, Diagnostic, Edit, Fix
    from jobs_lint.semantic.values import UNKNOWN

    value = {
        "tuple": (1, 2.5, None, True),
        "list": [b"\xff\x00", 1j, ..., UNKNOWN, float("inf")],
        ("a", 1): frozenset({"x", "y"}),
        3: {"b", "a"},
        "diagnostic": Diagnostic(
            "JL101", "m", "p.py", 1, 2, 3, 4, Fix("f", (Edit(1, 2, 1, 3, "x"),), Applicability.UNSAFE, (("m", None),))
        ),
    }
    decoded = codec.loads(codec.dumps(value))
    assert decoded == value
    assert decoded["list"][3] is UNKNOWN
    assert [type(v) for v in decoded.values()] == [type(v) for v in value.values()]
    # Sets are written in one order whatever their iteration order: the index digest relies on it.
    assert codec.dumps({"z", "a", "m"}) == '{"s":["a","m","z"]}'


def test_warm_run_reads_what_the_cold_run_wrote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jobs_lint import runner

    files = _every_case_file(tmp_path)
    monkeypatch.chdir(tmp_path)
    settings = load(["."]).with_overrides({"select": ("ALL",)})
    cold = runner.run(["."], settings, cache := Cache.open(str(tmp_path / "cache"), settings.cache_key()))
    cache.save()
    written = (tmp_path / "cache" / __version__ / f"{settings.cache_key()}.json").read_text()
    # Facts are encoded where they were found, and written as they would be with everything else.
    assert written.replace("\n", "") == codec.dumps((codec.schema(), cache.entries, cache.walks))
    warm_cache = Cache.open(str(tmp_path / "cache"), settings.cache_key())
    assert len(warm_cache.entries) >= len(files) and not warm_cache.dirty
    decoded: list[object] = []
    real_loads = codec.loads
    monkeypatch.setattr(codec, "loads", lambda text: decoded.append(text) or real_loads(text))
    warm = runner.run(["."], settings, warm_cache)
    assert warm.diagnostics == cold.diagnostics
    assert decoded == []  # nothing changed: the index digest is known without decoding any facts
    assert warm.index.digest() == cold.index.digest()
    kept = ((entry.module, path, entry.facts_digest) for path, entry in warm_cache.entries.items() if entry.module)
    assert ProjectIndex.digest_of(kept) == cold.index.digest()
    assert json.loads((tmp_path / "cache" / __version__ / f"{settings.cache_key()}.json").read_text())


def test_the_index_digest_is_the_same_in_every_process(tmp_path: Path) -> None:
    """Facts checked in one process are reused by the next only if the digest is stable."""
    import subprocess
    import sys

    from conftest import ROOT

    script = (
        "import sys; sys.path.insert(0, 'tests'); from pathlib import Path; from helpers import lint;"
        f"print(lint([Path('tests/fixtures')], Path({str(tmp_path)!r})).index.digest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1


def test_a_rewritten_cache_encodes_only_the_entries_that_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pre-commit run changes one entry of thousands: the others are written back as read, and
    the file is what encoding everything would give."""
    from jobs_lint import runner
    from jobs_lint.cache import Entry

    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.py").write_text(TASKS)
    monkeypatch.chdir(tmp_path)
    settings = load(["."])
    runner.run(["."], settings, cache := Cache.open(str(tmp_path / "cache"), settings.cache_key()))
    cache.save()
    reread = Cache.open(str(tmp_path / "cache"), settings.cache_key())
    changed = str(tmp_path / "b.py")
    reread.put(changed, Entry(1, 2, "changed", candidate=False))
    encoded = []
    real_dumps = codec.dumps
    monkeypatch.setattr(codec, "dumps", lambda value: encoded.append(value) or real_dumps(value))
    reread.save()
    assert [value.digest for value in encoded if isinstance(value, Entry)] == ["changed"]
    assert reread.walks and reread.walks not in encoded  # unchanged walks are written back as read
    text = (tmp_path / "cache" / __version__ / f"{settings.cache_key()}.json").read_text()
    assert text.replace("\n", "") == real_dumps((codec.schema(), reread.entries, reread.walks))
    assert Cache.open(str(tmp_path / "cache"), settings.cache_key()).entries == reread.entries


def test_an_entry_whose_results_do_not_decode_is_checked_again(jobs_lint, tmp_path: Path) -> None:
    """Each entry's diagnostics and facts are decoded when used, after the file was opened: a
    damaged one then counts as not checked."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "app.py").write_text(TASKS)
    (tmp_path / "other.py").write_text(TASKS)
    assert "app.py:2:38: JL101" in jobs_lint(".", "--output-format", "concise", cwd=tmp_path).out
    cache_file = _cache_files(tmp_path)[1]
    lines = cache_file.read_text().split("\n")
    [number] = [n for n, line in enumerate(lines) if line.startswith(json.dumps(str(tmp_path / "app.py")))]
    cut = lines[number].index('[{"c":"Diagnostic"')
    damaged = lines[number][:cut] + '{"c":"os.system","v":["touch owned"]},null]}'
    cache_file.write_text("\n".join([*lines[:number], damaged, *lines[number + 1 :]]))
    result = jobs_lint(".", "--output-format", "concise", cwd=tmp_path)
    assert "app.py:2:38: JL101" in result.out and result.err == ""
    assert '{"c":"Diagnostic"' in cache_file.read_text()
    # Damaged facts, decoded when an edited file needs the index (an edit that changes no call: the
    # call graph reads no other facts): the line is written anew, and the file read again.
    (tmp_path / "other.py").write_text(f"{TASKS}# edited\n")
    cut = lines[number].rindex(',{"c":"ModuleFacts"')
    cache_file.write_text(
        "\n".join([*lines[:number], lines[number][:cut] + ',{"c":"nope","v":[]}]}', *lines[number + 1 :]])
    )
    result = jobs_lint(".", "--output-format", "concise", cwd=tmp_path)
    assert "app.py:2:38: JL101" in result.out and result.err == ""
    assert '"nope"' not in cache_file.read_text()
    result = jobs_lint(".", "--output-format", "concise", cwd=tmp_path)
    assert "app.py:2:38: JL101" in result.out and result.err == ""
    assert '"nope"' not in cache_file.read_text() and '{"c":"ModuleFacts"' in cache_file.read_text()
    assert not (tmp_path / "owned").exists()


def test_an_edited_rule_does_not_read_results_cached_before_the_edit(tmp_path: Path) -> None:
    """An editable install keeps its version while a developer changes a rule: the cache is keyed
    by the package's source too, so the next run checks again with the rule as it now is."""
    import shutil
    import subprocess
    import sys

    from conftest import ROOT

    installed = tmp_path / "installed"
    shutil.copytree(ROOT / "jobs_lint", installed / "jobs_lint", ignore=shutil.ignore_patterns("__pycache__"))
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (project / "app.py").write_text(TASKS)

    def run() -> str:
        command = [sys.executable, "-c", "from jobs_lint.cli import main; main()", ".", "--output-format", "concise"]
        env = {**os.environ, "PYTHONPATH": str(installed), "NO_COLOR": "1"}
        return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True).stdout

    assert "JL101 [*] `task_serializer` is pickle: a broker message could run code in the worker" in run()
    rule = installed / "jobs_lint" / "rules" / "celery" / "jl101_pickle_serializer.py"
    rule.write_text(rule.read_text().replace("could run code", "could run any code"))
    assert "JL101 [*] `task_serializer` is pickle: a broker message could run any code in the worker" in run()
    assert len(list((project / ".jobs_lint_cache" / __version__).glob("*.json"))) == 2


def test_an_edited_callee_that_moves_no_call_is_summarised_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pre-commit run given a helper module that job code calls into: its summary is made again
    where it is read, and the calls are followed again only when that summary changed; either way
    the findings are those of a run without a cache."""
    from jobs_lint import runner

    files = {
        "proj/__init__.py": "",
        "proj/billing.py": "import requests\n\n\ndef charge(order_id):\n"
        "    return requests.post('https://pay.example', json={'order': order_id}, timeout=5)\n",
        "proj/tasks.py": "from celery import shared_task\n\nfrom proj.billing import charge\n\n\n"
        "@shared_task(acks_late=True)\ndef bill(order_id):\n    charge(order_id)\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    monkeypatch.chdir(tmp_path)
    settings = load(["."]).with_overrides({"select": ("JL104",)})
    cache = Cache.open(str(tmp_path / "cache"), settings.cache_key())
    runner.run(["."], settings, cache)
    cache.save()
    followed: list[int] = []
    real = runner.summarise_callees
    monkeypatch.setattr(runner, "summarise_callees", lambda *a, **k: followed.append(1) or real(*a, **k))

    def run_on_billing() -> list[tuple[str, int, str]]:
        """The findings of a run with the cache (whether it followed the calls is in `followed`)."""
        cache = Cache.open(str(tmp_path / "cache"), settings.cache_key())
        warm = runner.run(["proj/billing.py"], settings, cache)
        cache.save()
        count = len(followed)
        assert warm.diagnostics == runner.run(["proj/billing.py"], settings, Cache.disabled()).diagnostics
        del followed[count:]
        return [(d.path, d.line, d.code) for d in warm.diagnostics]

    billing = tmp_path / "proj" / "billing.py"
    billing.write_text(files["proj/billing.py"] + "# a comment\n")
    assert run_on_billing() == [("proj/billing.py", 5, "JL104")]
    assert followed == []
    billing.write_text("\n" + files["proj/billing.py"])  # every call one line down
    assert run_on_billing() == [("proj/billing.py", 6, "JL104")]
    assert followed == [1]
