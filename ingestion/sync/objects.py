"""S3 objects for the sync sources: streamed to disk in bounded pieces, never whole in memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connections import aws

CHUNK_BYTES = 1024 * 1024  # what one read of an S3 body holds in memory


def strip_etag(value: str | None) -> str:
    return (value or "").strip('"')


def download(s3: Any, bucket: str, key: str, dest: Path, *, etag: str = "") -> int:
    """Stream one object to `dest` in CHUNK_BYTES pieces and return its size; with `etag`, only that version
    (a newer one fails with PreconditionFailed). Raises AwsError."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if etag:
        kwargs["IfMatch"] = f'"{etag}"'
    written = 0
    with aws.aws_errors("s3:GetObject"):
        body = s3.get_object(**kwargs)["Body"]
        try:
            with dest.open("wb") as handle:
                for chunk in body.iter_chunks(CHUNK_BYTES):
                    handle.write(chunk)
                    written += len(chunk)
        finally:
            body.close()
    return written
