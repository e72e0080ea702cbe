{#- What a schema change says and records when a step is done: the failed
    schemas' state, one line per schema and a summary, status, and which schemas
    a run covers. See _macros.yml. -#}

{% macro schema_change_record_failures(plan, action, outcomes) %}
    {#- Each schema where the action failed: state failed, with the state it kept
        (previous_state: the failed step's transaction was rolled back). -#}
    {%- for schema, outcome in outcomes.items() if outcome.status == 'error' -%}
        {% do adapter.execute(
            "insert into " ~ schema_change_state_relation() ~ " as states (change_name, schema_name, state, previous_state, last_action, message, invocation_id, updated_at, created)
            values (" ~ quote_literal(plan.name) ~ ", " ~ quote_literal(schema) ~ ", 'failed', null, " ~ quote_literal(action) ~ ", "
            ~ quote_literal(outcome.message) ~ ", " ~ quote_literal(invocation_id) ~ ", clock_timestamp(), '{}')
            on conflict (change_name, schema_name) do update set
                previous_state = case when states.state = 'failed' then states.previous_state else states.state end,
                state = 'failed', last_action = excluded.last_action, message = excluded.message,
                invocation_id = excluded.invocation_id, updated_at = excluded.updated_at", auto_begin=True) %}
        {% do adapter.commit() %}
    {%- endfor -%}
{% endmacro %}


{% macro schema_change_report(plan, action, chosen, outcomes, dry_run) %}
    {#- One line per schema and a summary; raises naming the failed or refused schemas. -#}
    {%- set words = {'start': 'started', 'complete': 'completed', 'rollback': 'rolled back'} -%}
    {%- set counts = {} -%}
    {%- set failed = [] -%}
    {%- for schema in chosen -%}
        {%- set outcome = outcomes[schema] -%}
        {%- set status = {
            'done': words[action], 'would_do': 'would change', 'skipped': 'skipped', 'refused': 'refused', 'error': 'failed'
        }[outcome.status] -%}
        {%- if outcome.status in ['error', 'refused'] -%}
            {%- do failed.append(schema ~ " (" ~ (outcome.sqlstate ~ ": " if outcome.sqlstate else "") ~ outcome.message ~ ")") -%}
        {%- endif -%}
        {%- do counts.update({status: counts.get(status, 0) + 1}) -%}
        {%- if outcome.status == 'would_do' %}
        {{ log(plan.name ~ " (" ~ action ~ ") " ~ schema ~ ": " ~ outcome.message | replace('would run: ', 'would run:\n    ') ~ ";", info=True) }}
        {%- else %}
        {{ log(plan.name ~ " (" ~ action ~ ") " ~ schema ~ ": " ~ status
            ~ (": " ~ (outcome.sqlstate ~ ": " if outcome.sqlstate else "") ~ outcome.message if outcome.message else ""), info=True) }}
        {%- endif %}
    {%- endfor -%}
    {%- set summary = [] -%}
    {%- for status, count in counts.items() -%}
        {%- do summary.append(count ~ " " ~ status) -%}
    {%- endfor -%}
    {{ log(plan.name ~ " (" ~ action ~ "): " ~ chosen | length ~ " schema(s): " ~ summary | join(", "), info=True) }}
    {%- if failed -%}
        {{ exceptions.raise_compiler_error(
            plan.name ~ " (" ~ action ~ ") failed or was refused in " ~ failed | length ~ " of " ~ chosen | length
            ~ " schema(s); each was left as it was, the others are done: " ~ failed | join("; ")
        ) }}
    {%- endif -%}
    {{ return(outcomes) }}
{% endmacro %}


{% macro schema_change_status(plan, chosen) %}
    {#- status: each schema's state of the change (never started, started,
        completed, rolled_back, or failed with the action and its message). -#}
    {%- set rows = run_query(
        "select schema_name, state, previous_state, last_action, message, updated_at from " ~ schema_change_state_relation()
        ~ " where change_name = " ~ quote_literal(plan.name)
    ) -%}
    {%- set states = {} -%}
    {%- for row in rows -%}
        {%- do states.update({row['schema_name']: row}) -%}
    {%- endfor -%}
    {%- set counts = {} -%}
    {%- for schema in chosen -%}
        {%- set row = states.get(schema) -%}
        {%- if row is none -%}
            {%- set line = 'never started' -%}
            {%- set state = 'never started' -%}
        {%- elif row['state'] == 'failed' -%}
            {%- set state = 'failed' -%}
            {%- set line = 'failed (' ~ row['last_action'] ~ ', still ' ~ (row['previous_state'] or 'never started') ~ ') at ' ~ row['updated_at'] ~ ': ' ~ row['message'] -%}
        {%- else -%}
            {%- set state = row['state'] -%}
            {%- set line = row['state'] ~ ' at ' ~ row['updated_at'] -%}
        {%- endif -%}
        {%- do counts.update({state: counts.get(state, 0) + 1}) -%}
        {{ log(plan.name ~ " (status) " ~ schema ~ ": " ~ line, info=True) }}
    {%- endfor -%}
    {%- set summary = [] -%}
    {%- for state, count in counts.items() -%}
        {%- do summary.append(count ~ " " ~ state) -%}
    {%- endfor -%}
    {{ log(plan.name ~ " (status): " ~ chosen | length ~ " schema(s): " ~ summary | join(", "), info=True) }}
    {{ return(states) }}
{% endmacro %}


{% macro schema_change_schemas(schemas=none, direction='up') %}
    {#- public and every discovered tenant schema (or the named ones, each one of those),
        public first on the way up, last on the way down. -#}
    {%- set known = ['public'] + (discover_tenants() | map(attribute='schema') | reject('equalto', 'public') | list) -%}
    {%- if schemas is none -%}
        {%- set chosen = known -%}
    {%- else -%}
        {%- set chosen = [schemas] if schemas is string else schemas -%}
        {%- if chosen is not iterable or chosen is mapping -%}
            {{ exceptions.raise_compiler_error("schemas must be a schema name or a list of them; got " ~ schemas) }}
        {%- endif -%}
        {%- for schema in chosen if schema not in known -%}
            {{ exceptions.raise_compiler_error(
                "schemas: " ~ schema ~ " is neither public nor a tenant schema (var tenant_schema_regex, extra_tenant_schemas); allowed: "
                ~ known | join(", ")
            ) }}
        {%- endfor -%}
        {%- set chosen = known | select('in', chosen) | list -%}
    {%- endif -%}
    {{ return(chosen | reverse | list if direction == 'down' else chosen) }}
{% endmacro %}
