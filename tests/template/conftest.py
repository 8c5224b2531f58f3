from __future__ import annotations

from pathlib import Path

import pytest

from tests.template.rendering import tagged_copy


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tagged_copy(tmp_path_factory.mktemp("template-repo"))
