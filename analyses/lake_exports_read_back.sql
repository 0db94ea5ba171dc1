-- Read the exported lake directly (no warehouse table involved): requests per day and hour.
select
    dt,
    hour,
    count(*) as requests,
    count(distinct user_id) as distinct_users
from read_parquet('{{ lake_path("exports/logs/**/*.parquet") }}', hive_partitioning = true)
group by all
order by dt, hour
