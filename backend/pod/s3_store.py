"""Proof files in an S3-compatible bucket: AWS S3, MinIO, Ceph's RADOS Gateway,
Cloudflare R2, Garage... The only module that imports boto3.

Credentials come the AWS way: ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` (or a
profile, or the machine's role). The bucket must exist; the server does not create it.
"""

import base64
import hashlib
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from backend.errors import UnavailableError
from backend.pod.storage import checked_key

_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3ProofStore:
    """One object per proof file, under ``prefix`` in ``bucket``. A put is one PutObject
    with its MD5 (the store refuses a body that arrived damaged): S3 keeps an object
    whole or not at all. Any failure to reach or use the store is an
    :class:`UnavailableError` naming the bucket and what S3 answered."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        prefix: str = "",
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._client = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(
                # S3-compatible servers mostly want bucket names in the path, not the host.
                s3={"addressing_style": "path" if endpoint_url else "auto"},
                # Newer botocore adds CRC checksums some compatible stores refuse; the
                # Content-MD5 below is the check every one of them knows.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
            ),
        )

    def _key(self, key: str) -> str:
        return self.prefix + checked_key(key)

    def _unavailable(self, doing: str, key: str, error: Exception) -> UnavailableError:
        return UnavailableError(
            f"proof storage: could not {doing} {key!r} in bucket {self.bucket!r}: {error}",
            code="proof_storage_unavailable",
        )

    def put(self, key: str, data: bytes) -> None:
        md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        try:
            self._client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, ContentMD5=md5
            )
        except (BotoCoreError, ClientError) as error:
            raise self._unavailable("store", key, error) from error

    def get(self, key: str) -> bytes:
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
            body: bytes = answer["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                raise FileNotFoundError(key) from error
            raise self._unavailable("read", key, error) from error
        except BotoCoreError as error:
            raise self._unavailable("read", key, error) from error
        return body

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as error:
            raise self._unavailable("delete", key, error) from error
