-- What share of requests come from anonymous users (no user_id), per method?
select
    method,
    count(*) as requests,
    count(*) filter (where user_id is null) as anonymous_requests,
    round(100 * count(*) filter (where user_id is null) / count(*), 1) as anonymous_pct
from {{ ref('logs') }}
group by all
order by requests desc
