-- Who are the ten busiest signed-in users, and what do they do?
select
    user_id,
    count(*) as requests,
    count(distinct date_trunc('hour', logged_at)) as active_hours,
    mode(method) as usual_method,
    max(logged_at) as last_seen_at
from {{ ref('logs') }}
where user_id is not null
group by user_id
order by requests desc, user_id asc
limit 10
