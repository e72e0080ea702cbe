{#- The tenant-wide changes of the app's marketplace_tasks table, on the base of
    apply_schema_change.sql. Each is one run-operation:
        dbt run-operation marketplace_tasks_position                          (up)
        dbt run-operation marketplace_tasks_position --args '{direction: down}'
    See _macros.yml. -#}

{% macro marketplace_tasks_position(direction='up', schemas=none, dry_run=false) %}
    {#- The back end's plan: tasks get an execution order within their job. -#}
    {{ return(apply_schema_change({
        'name': 'marketplace_tasks_position',
        'table': 'marketplace_tasks',
        'objects': [
            schema_change_column('position', 'integer'),
            schema_change_index('marketplace_tasks_job_id_position_idx', ['job_id', 'position']),
            schema_change_index('marketplace_tasks_job_id_status_idx', ['job_id', 'status']),
        ],
    }, direction, schemas, dry_run)) }}
{% endmacro %}


{% macro marketplace_tasks_orchestration(direction='up', schemas=none, dry_run=false) %}
    {#- This project's orchestrator's columns (product_images.publish.tasks): the
        idempotency key sent with each request, the attempts made, the lease of a
        PROCESSING task and the worker holding it. -#}
    {{ return(apply_schema_change({
        'name': 'marketplace_tasks_orchestration',
        'table': 'marketplace_tasks',
        'objects': [
            schema_change_column('idempotency_key', 'text'),
            schema_change_column('attempts', 'integer', 'not null default 0'),
            schema_change_column('lease_expires_at', 'timestamp with time zone'),
            schema_change_column('worker', 'text'),
            schema_change_index('marketplace_tasks_idempotency_key_key', ['idempotency_key'], unique=true),
        ],
    }, direction, schemas, dry_run)) }}
{% endmacro %}
