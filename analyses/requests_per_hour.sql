-- How many requests did the API log per hour, and how many of them were errors?
select
    date_trunc('hour', logged_at) as logged_hour,
    count(*) as requests,
    count(*) filter (where detail_levelname = 'ERROR') as errors
from {{ ref('logs') }}
group by all
order by logged_hour
