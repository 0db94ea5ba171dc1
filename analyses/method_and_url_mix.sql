-- Which endpoints get which methods? (board and product ids folded into one path)
select
    method,
    regexp_replace(url, '/[0-9]+/', '/{id}/', 'g') as endpoint,
    count(*) as requests,
    round(100 * count(*) / sum(count(*)) over (), 1) as share_pct
from {{ ref('logs') }}
group by all
order by requests desc
