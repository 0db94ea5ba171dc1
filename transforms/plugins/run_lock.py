"""A dbt-duckdb plugin: every dbt command that opens the warehouse (`dbt run`, `dbt build`, bare or through
`make`) takes the run lock first, and holds it until dbt exits.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from dbt.adapters.duckdb.plugins import BasePlugin
from dbt.flags import get_flags

from runtime.dbt_artifacts import record_freshness_check, target_folder
from runtime.entry_point import keep_files_private
from runtime.run_lock import acquire, die_with_parent
from settings import REPO_ROOT, Settings


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict) -> None:
        die_with_parent()
        keep_files_private()
        command = "dbt " + shlex.join(sys.argv[1:])
        # Held for the life of the process: the kernel releases it when dbt exits.
        settings = Settings.current()
        settings.prepare_warehouse_folder()
        self.lock = acquire(Path(self.creds.path), command, settings.lock_wait_seconds)
        flags = get_flags()
        if getattr(flags, "WHICH", None) == "freshness":  # `make status` shows its verdict for this warehouse only
            target = REPO_ROOT / (getattr(flags, "TARGET_PATH", None) or target_folder())
            record_freshness_check(target, Path(self.creds.path))
