{# Fails for every order that does not have exactly one row where `is_current` is true. #}
{% test exactly_one_current_row_per(model, column_name) %}

select
    {{ column_name }},
    count(*) filter (where is_current) as current_rows
from {{ model }}
group by {{ column_name }}
having count(*) filter (where is_current) <> 1

{% endtest %}


{#
    Fails for every interval that does not end after it starts. A status overruled at the same
    instant by a tied, later-in-lifecycle status is the one exception: it lasts zero time.
#}
{% test valid_interval(model, valid_from, valid_to) %}

select *
from {{ model }}
where {{ valid_to }} is not null
    and not (
        {{ valid_from }} < {{ valid_to }}
        or ({{ valid_from }} = {{ valid_to }} and not is_current)
    )

{% endtest %}
{# Fails for every combination of `columns` that appears on more than one row. #}
{% test unique_combination(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}


{# Fails for every row that differs between `model`, restored with `restore_logs`, and `original`, both ways. #}
{% test restores_to(model, original) %}

with

restored as (
    {{ restore_logs(model) }}
),

missing_from_restored as (
    select 'missing from the restored rows' as problem, * from (
        select * from {{ original }}
        except all
        select * from restored
    )
),

not_in_original as (
    select 'not in the original' as problem, * from (
        select * from restored
        except all
        select * from {{ original }}
    )
)

select * from missing_from_restored
union all
select * from not_in_original

{% endtest %}
