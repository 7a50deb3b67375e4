"""Fixtures for the ingestion tests: the binary fixtures (gzip, Parquet, S3 layouts) built into tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures import make_fixtures as mf


@pytest.fixture
def cur_csv_gz_manifest(tmp_path: Path) -> Path:
    """June 2026 as a gzip-CSV CUR 2.0 export in the S3 layout; the manifest's path."""
    return mf.write_cur_export(tmp_path / "bucket-csv", sources=[mf.CUR_JUNE_CSV], period="2026-06")


@pytest.fixture
def cur_parquet_manifest(tmp_path: Path) -> Path:
    """June 2026 as a Parquet CUR 2.0 export in the S3 layout; the manifest's path."""
    return mf.write_cur_export(tmp_path / "bucket-parquet", sources=[mf.CUR_JUNE_CSV], period="2026-06", fmt="parquet")


@pytest.fixture
def log_bucket(tmp_path: Path) -> Path:
    """Invocation logs as Bedrock delivers them to S3 (two hourly .json.gz, data/ objects, permission check)."""
    return mf.write_log_delivery(tmp_path / "bucket-logs")
