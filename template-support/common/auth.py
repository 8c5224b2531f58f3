"""Bearer-token authentication for the job API.

Enqueuing, aborting and reading jobs need `Authorization: Bearer <API_TOKEN>`; `make env` writes
a fresh API_TOKEN into .env. Health stays open for load balancers. With no token configured the
API refuses every protected request (503) rather than serve them to anyone.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .settings import get_settings

_bearer = HTTPBearer(auto_error=False)


def expected_token() -> str:
    return get_settings().api_token.get_secret_value()


def require_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    expected: Annotated[str, Depends(expected_token)],
) -> None:
    if not expected:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "API_TOKEN is not set (make env writes one)")
    given = credentials.credentials if credentials is not None else ""
    # compare_digest takes as long whatever the first difference: the token cannot be guessed by timing.
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )


AUTHENTICATED = [Depends(require_token)]
