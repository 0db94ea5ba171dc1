"""Whether an S3 lake's bucket answers, within seconds: the loader asks before it loads into the lake,
and each of dbt's exports before it writes there. One try with short timeouts, so that a lake that
does not answer costs seconds, not the minute that S3's retries of every request would add up to.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from settings import Settings

PROBE_CONFIG = {"connect_timeout": 3, "read_timeout": 3, "retries": {"max_attempts": 1, "mode": "standard"}}


def lake_problem(settings: Settings) -> str | None:
    """Why the lake's bucket cannot be reached now (the error, in one line), or None when it answers or is local."""
    if not settings.lake_is_s3:
        return None
    import fsspec

    bucket = urlsplit(settings.lake_url).netloc
    options = settings.s3_filesystem_options()
    options["config_kwargs"] = {**options["config_kwargs"], **PROBE_CONFIG}
    filesystem = fsspec.filesystem("s3", skip_instance_cache=True, **options)
    filesystem.retries = 1
    try:
        filesystem.ls(bucket, refresh=True)
    except Exception as error:  # noqa: BLE001 (any failure means the same: not now)
        lines = str(error).strip().splitlines()
        return f"{type(error).__name__}: {lines[0] if lines else 'no answer'}"
    return None
