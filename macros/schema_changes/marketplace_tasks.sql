{#- The tenant-wide changes of the app's marketplace_tasks table. Both only add
    (columns, indexes), so they run in one go: direction up is start then
    complete, down is rollback.
        dbt run-operation marketplace_tasks_position                          (up)
        dbt run-operation marketplace_tasks_position --args '{direction: down}'
    See _macros.yml. -#}

{% macro marketplace_tasks_position(direction='up', schemas=none, dry_run=false, discard_new_data=false) %}
    {#- The back end's plan: tasks get an execution order within their job. -#}
    {{ return(schema_change_in_one_go({
        'name': 'marketplace_tasks_position',
        'operations': [
            schema_change_add_column('marketplace_tasks', 'position', 'integer'),
            schema_change_create_index('marketplace_tasks', 'marketplace_tasks_job_id_position_idx', ['job_id', 'position']),
            schema_change_create_index('marketplace_tasks', 'marketplace_tasks_job_id_status_idx', ['job_id', 'status']),
        ],
    }, direction, schemas, dry_run, discard_new_data)) }}
{% endmacro %}


{% macro marketplace_tasks_orchestration(direction='up', schemas=none, dry_run=false, discard_new_data=false) %}
    {#- This project's orchestrator's columns (product_images.publish.tasks): the
        idempotency key sent with each request, the attempts made, the lease of a
        PROCESSING task and the worker holding it. -#}
    {{ return(schema_change_in_one_go({
        'name': 'marketplace_tasks_orchestration',
        'operations': [
            schema_change_add_column('marketplace_tasks', 'idempotency_key', 'text'),
            schema_change_add_column('marketplace_tasks', 'attempts', 'integer', default='0', not_null=true),
            schema_change_add_column('marketplace_tasks', 'lease_expires_at', 'timestamp with time zone'),
            schema_change_add_column('marketplace_tasks', 'worker', 'text'),
            schema_change_create_index(
                'marketplace_tasks', 'marketplace_tasks_idempotency_key_key', ['idempotency_key'], unique=true
            ),
        ],
    }, direction, schemas, dry_run, discard_new_data)) }}
{% endmacro %}


{% macro schema_change_in_one_go(change, direction, schemas, dry_run, discard_new_data=false) %}
    {#- A change made only of additions, applied or undone in one command: up runs
        start then complete, down runs rollback (refused where what start added
        holds data, unless discard_new_data). -#}
    {%- if direction not in ['up', 'down'] -%}
        {{ exceptions.raise_compiler_error(change.name ~ ": direction must be one of up, down; got " ~ direction) }}
    {%- endif -%}
    {%- if not schema_change_plan(change).reversible -%}
        {{ exceptions.raise_compiler_error(change.name ~ ": only a change made of additions runs in one go; use start, complete and rollback") }}
    {%- endif -%}
    {%- if direction == 'down' -%}
        {{ return(schema_change(change, 'rollback', schemas, dry_run, discard_new_data)) }}
    {%- endif -%}
    {%- set started = schema_change(change, 'start', schemas, dry_run) -%}
    {%- if dry_run -%}
        {{ return(started) }}
    {%- endif -%}
    {{ return(schema_change(change, 'complete', schemas, dry_run)) }}
{% endmacro %}
