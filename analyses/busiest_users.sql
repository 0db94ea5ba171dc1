-- Who are the ten busiest signed-in users, and what do they do?
with

requests_per_user as (
    select
        user_id,
        count(*) as requests,
        count(distinct date_trunc('hour', logged_at)) as active_hours,
        mode(method) as usual_method,
        max(logged_at) as last_seen_at,
        row_number() over (order by count(*) desc, user_id asc) as busiest_rank
    from {{ ref('logs') }}
    where user_id is not null
    group by user_id
),

-- No `limit`: `dbt show` adds its own.
final as (
    select
        busiest_rank,
        user_id,
        requests,
        active_hours,
        usual_method,
        last_seen_at
    from requests_per_user
    where busiest_rank <= 10
)

select * from final
order by busiest_rank
