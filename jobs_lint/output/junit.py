"""JUnit XML: one test suite per file, one failing test case per finding."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from jobs_lint.diagnostics import Diagnostic
from jobs_lint.output.report import Report


def junit(report: Report) -> str:
    by_file: dict[str, list[Diagnostic]] = defaultdict(list)
    for d in report.diagnostics:
        by_file[d.path].append(d)
    count = len(report.diagnostics)
    root = ET.Element("testsuites", name="jobs-lint", tests=str(max(count, 1)), failures=str(count), errors="0")
    if not by_file:
        suite = ET.SubElement(root, "testsuite", name="jobs-lint", tests="1", failures="0", errors="0")
        ET.SubElement(suite, "testcase", name="No errors found", classname="jobs-lint")
    for path, found in by_file.items():
        suite = ET.SubElement(root, "testsuite", name=path, tests=str(len(found)), failures=str(len(found)), errors="0")
        for d in found:
            case = ET.SubElement(
                suite,
                "testcase",
                name=f"jobs-lint.{d.code}",
                classname=path,
                line=str(d.line),
                column=str(d.col),
            )
            failure = ET.SubElement(case, "failure", message=d.message)
            failure.text = f"line {d.line}, col {d.col}, {d.message}"
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
