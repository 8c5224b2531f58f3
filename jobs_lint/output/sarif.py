"""SARIF 2.1.0, as GitHub code scanning accepts it."""

from __future__ import annotations

import hashlib
import inspect
import json
import urllib.parse
from collections import Counter
from typing import Any

from jobs_lint import __version__
from jobs_lint.diagnostics import Diagnostic
from jobs_lint.output.report import Report

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def sarif(report: Report) -> str:
    from jobs_lint.rules import RULES

    codes = sorted({d.code for d in report.diagnostics} | set(RULES))
    rules = [_rule(RULES[code]) for code in codes if code in RULES]
    index = {code: position for position, code in enumerate(c for c in codes if c in RULES)}
    seen: Counter[str] = Counter()
    results = [_result(report, d, index, seen) for d in report.diagnostics]
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "jobs-lint",
                        "version": __version__,
                        "informationUri": "https://pypi.org/project/jobs-lint/",
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": _root_uri(report.root)}},
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def _rule(rule: Any) -> dict[str, Any]:
    from jobs_lint.rules.docs import rule_url

    doc = inspect.cleandoc(rule.__doc__ or "")
    what = doc.split("## Why is this bad?")[0].replace("## What it does", "").strip()
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": what or rule.summary},
        "help": {"text": rule.docs(), "markdown": rule.docs()},
        "helpUri": rule_url(rule),
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["jobs-lint"]},
    }


def _result(report: Report, d: Diagnostic, index: dict[str, int], seen: Counter[str]) -> dict[str, Any]:
    relative = report.relative(d.path)
    uri = urllib.parse.quote(relative, safe="/")  # a URI reference: `sp ace/c%1#.py` is `sp%20ace/c%251%23.py`
    source = report.source(d.path)
    line_text = source.line(d.line).strip() if source else ""
    key = hashlib.sha256(f"{d.code}:{relative}:{line_text}".encode()).hexdigest()[:32]
    seen[key] += 1
    region = {
        "startLine": d.line,
        "startColumn": d.col,
        "endLine": d.end_line,
        "endColumn": max(d.end_col, d.col),
    }
    location = {"physicalLocation": {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}, "region": region}}
    result: dict[str, Any] = {
        "ruleId": d.code,
        "ruleIndex": index.get(d.code, 0),
        "level": "error",
        "message": {"text": d.message},
        "locations": [location],
        "partialFingerprints": {"primaryLocationLineHash": f"{key}:{seen[key]}"},
    }
    if d.related:
        # A finding reached through calls: each hop is a related location, and the whole chain,
        # from the reported call to the call with the effect, one code flow. A finding reported
        # on the effect itself lists the hops from the job's call on: they are the flow.
        hops = [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": report.relative(path), "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": line},
                },
                "message": {"text": text},
            }
            for path, line, text in d.related
        ]
        result["relatedLocations"] = [{"id": number, **hop} for number, hop in enumerate(hops, 1)]
        at = [(path, line) for path, line, _ in d.related]
        if (d.path, d.line) in at:
            # Up to the effect: hops after it are other jobs' calls that reach it too.
            steps = hops[: at.index((d.path, d.line)) + 1]
        else:
            steps = [{**location, "message": {"text": d.message}}, *hops]
        result["codeFlows"] = [{"threadFlows": [{"locations": [{"location": step} for step in steps]}]}]
    return result


def _root_uri(root: str) -> str:
    from pathlib import Path

    return Path(root).resolve().as_uri() + "/"
