{#
    `exports/logs/dt=YYYY-MM-DD/hour=HH/*.parquet` in the lake from the `spark` build: `logs_compressed`
    by the log's own `inDate` hour, the layout the DuckDB build's `export_logs_manifest` writes.
    Each build rewrites the whole folder (Spark writes a partitioned table at once).
#}
{{ config(
    alias='logs',
    location_root=lake_path('exports'),
    partition_by=['dt', 'hour'],
) }}

-- The partition columns added to the model's own, whichever they are.
select
    *,  -- noqa: AM04
    date_format(logged_at, 'yyyy-MM-dd') as dt,
    date_format(logged_at, 'HH') as hour  -- noqa: RF04
from {{ ref('logs_compressed') }}
