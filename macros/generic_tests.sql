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
