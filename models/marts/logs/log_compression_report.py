"""`log_compression_report`: which form of the log records is smallest, measured on the current data."""

import os
import tempfile

import pyarrow as pa

from transforms import compression_report, lake_export


def model(dbt, session):
    limit = int(dbt.config.get("sample_records") or 100_000)
    compressed = dbt.ref("logs_compressed").sql_query()
    logs = dbt.ref("logs").sql_query()
    sample = f"""
        select * from ({compressed}) as compressed
        order by logged_at desc nulls last, record_id
        limit {limit}
    """
    rows = session.sql(
        f"""
        select logs.payload, sample.user_id, sample.method, compress_in_date(logs.in_date) as in_date
        from ({sample}) as sample inner join ({logs}) as logs using (record_id)
        order by sample.logged_at desc nulls last, sample.record_id
        """
    ).fetchall()
    sizes = compression_report.json_stages(rows)
    with tempfile.TemporaryDirectory() as folder:
        for stage, relation in (
            (
                "Parquet (zstd) of logs",
                f"select * from ({logs}) as logs where record_id in (select record_id from ({sample}) as sample)",
            ),
            ("Parquet (zstd) of logs_compressed", sample),
        ):
            path = os.path.join(folder, "stage.parquet")
            session.execute(f"copy ({relation}) to '{path}' ({lake_export.PARQUET})")
            sizes[stage] = os.path.getsize(path)
    return pa.Table.from_pylist(compression_report.report_rows(sizes, len(rows)))
