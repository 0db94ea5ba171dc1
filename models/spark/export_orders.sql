{#
    `exports/orders/dt=YYYY-MM-DD/*.parquet` in the lake from the `spark` build: `orders` by the date of
    `last_updated_at`, the layout the DuckDB build's `export_orders_manifest` writes. Each build
    rewrites the whole folder, so an order whose date moved leaves its old partition.
#}
{{ config(
    alias='orders',
    location_root=lake_path('exports'),
    partition_by=['dt'],
) }}

-- The partition columns added to the model's own, whichever they are.
select
    *,  -- noqa: AM04
    date_format(last_updated_at, 'yyyy-MM-dd') as dt
from {{ ref('orders') }}
