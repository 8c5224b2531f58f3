"""Large results and arguments in an S3-compatible object store (S3, GCS interop, MinIO, SeaweedFS).

A broker and a result backend carry small messages well and large ones badly: a 50 MB result
fills Redis memory and every client that polls it. Values whose JSON is longer than
OBJECT_STORE_THRESHOLD bytes are written to the bucket instead, and only a reference travels:
`{"object_store_key": KEY, "size": BYTES}`. `resolve` turns a reference back into the value,
`download_url` into a link a client can fetch without credentials, for a limited time.

Objects live as long as results do: `sweep` deletes those older than the result expiry, and the
schedule runs it (an S3 lifecycle rule counts whole days, results expire in seconds).
"""

from __future__ import annotations

import json
import time
import uuid
from functools import lru_cache
from typing import Any

import boto3
from botocore.client import Config

from .settings import get_settings

REFERENCE_KEY = "object_store_key"


class ObjectStore:
    """One bucket, one key prefix per service (several services or test runs can share a bucket)."""

    def __init__(self, client: Any, bucket: str, prefix: str, threshold: int) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.threshold = threshold

    def ensure_bucket(self) -> None:
        """Create the bucket if it is missing (production buckets are usually made beforehand)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self.client.exceptions.ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    def put(self, data: bytes, kind: str = "blobs") -> str:
        """Store `data` under a new key of this service and return the key."""
        key = f"{self.prefix}/{kind}/{uuid.uuid4().hex}"
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
        return key

    def get(self, key: str) -> bytes:
        if not key.startswith(f"{self.prefix}/"):
            # A key comes from a message: never read another service's objects on its say-so.
            raise ValueError(f"object key {key!r} is not under this service's prefix {self.prefix!r}")
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.ClientError:
            return False
        return True

    def offload(self, value: Any) -> Any:
        """`value` itself if its JSON fits under the threshold, else a reference to a stored copy."""
        encoded = json.dumps(value, separators=(",", ":")).encode()
        if len(encoded) <= self.threshold:
            return value
        return {REFERENCE_KEY: self.put(encoded, kind="results"), "size": len(encoded)}

    def resolve(self, value: Any) -> Any:
        """The value a reference stands for; anything else unchanged."""
        key = reference_key(value)
        return value if key is None else json.loads(self.get(key))

    def download_url(self, key: str, expires_in: int) -> str:
        """A presigned GET link to the object, valid for `expires_in` seconds."""
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
        )
        return url

    def sweep(self, max_age_seconds: float) -> int:
        """Delete this service's objects older than `max_age_seconds`; returns how many went."""
        cutoff = time.time() - max_age_seconds
        deleted = 0
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=f"{self.prefix}/")
        for page in pages:
            contents = page.get("Contents", [])
            old = [{"Key": item["Key"]} for item in contents if item["LastModified"].timestamp() < cutoff]
            # One request per page of at most 1,000 keys, which is also DeleteObjects' limit.
            if old:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": old, "Quiet": True})
                deleted += len(old)
        return deleted


def reference_key(value: Any) -> str | None:
    """The object key if `value` is a reference `offload` made, else None."""
    if isinstance(value, dict) and set(value) == {REFERENCE_KEY, "size"}:
        key = value[REFERENCE_KEY]
        return key if isinstance(key, str) else None
    return None


@lru_cache(maxsize=1)
def get_object_store() -> ObjectStore:
    """The store of the settings: credentials from OBJECT_STORE_ACCESS_KEY/SECRET_KEY (or the
    standard AWS chain when unset), certificates verified against TLS_CA_FILE or the system store."""
    settings = get_settings()
    access_key = settings.object_store_access_key.get_secret_value() or None
    secret_key = settings.object_store_secret_key.get_secret_value() or None
    client = boto3.client(
        "s3",
        endpoint_url=settings.object_store_url,
        region_name=settings.object_store_region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        verify=settings.tls_ca_file or True,
        # Path-style addressing works on S3, GCS, MinIO and SeaweedFS alike, without DNS per bucket.
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"}),
    )
    return ObjectStore(client, settings.object_store_bucket, settings.key_prefix, settings.object_store_threshold)
