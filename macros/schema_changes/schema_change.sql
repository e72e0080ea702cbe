{#- Expand/contract schema changes of the app's tables, tenant-wide: a change is
    a name and a list of operations (operations/*.sql, one file per kind, each
    with its start, complete and rollback); schema_change runs one action of it
    (start, complete, rollback, status) in public and every tenant schema, one
    transaction per schema and step, under the lock discipline, with its state
    per schema in <target schema>.product_images_schema_changes and each run in
    the operations log. See _macros.yml and the README's "Tenant-wide schema
    changes". -#}

{% macro schema_change(change, action, schemas=none, dry_run=false, discard_new_data=false) %}
    {#- Runs action (start, complete, rollback, status) of change in every schema;
        logs one line per schema and a summary; raises naming the failed or
        refused schemas, the others being done. Returns the log rows. -#}
    {%- set actions = ['start', 'complete', 'rollback', 'status'] -%}
    {%- if action not in actions -%}
        {{ exceptions.raise_compiler_error(change.name ~ ": action must be one of " ~ actions | join(", ") ~ "; got " ~ action) }}
    {%- endif -%}
    {%- do check_boolean_arguments(change.name, {'dry_run': dry_run, 'discard_new_data': discard_new_data}) -%}
    {%- do schema_change_index_lock_timeout() -%}
    {%- set plan = schema_change_plan(change) -%}
    {%- do plan.update({'discard_new_data': discard_new_data}) -%}
    {%- set chosen = schema_change_schemas(schemas, 'down' if action == 'rollback' else 'up') -%}
    {%- do schema_change_state_table() -%}
    {%- if action == 'status' -%}
        {{ return(schema_change_status(plan, chosen)) }}
    {%- endif -%}
    {%- set phases = {
        'start': [schema_change_expand_phase, schema_change_validate_phase],
        'complete': [schema_change_contract_phase],
        'rollback': [schema_change_revert_phase],
    }[action] -%}
    {%- set rows = run_tenant_operations(
        plan.name ~ ':' ~ action, chosen, phases, dry_run=dry_run, lock_mode='AccessExclusiveLock',
        lock_target=plan.tables[0], lock_relations=plan.tables + plan.referenced, report=false,
        phase_kwargs={'plan': plan, 'action': action}
    ) -%}
    {%- set outcomes = {} -%}
    {%- for row in rows -%}
        {%- do outcomes.update({row['tenant_schema']: {
            'status': row['status'], 'message': row['message'] or '', 'sqlstate': row['error_sqlstate']
        }}) -%}
    {%- endfor -%}
    {%- if action == 'start' -%}
        {%- set known_blockers = [] -%}
        {%- for schema in chosen if outcomes[schema].status in ['done', 'would_do'] -%}
            {%- set built = schema_change_build_indexes(plan, schema, dry_run, known_blockers) -%}
            {%- if built.changed or built.unchanged or built.error -%}
                {%- do schema_change_merge_message(outcomes[schema], built, dry_run) -%}
                {% do adapter.execute(
                    "update " ~ product_images_operations_relation() ~ " set message = " ~ quote_literal(outcomes[schema].message)
                    ~ ", status = " ~ quote_literal(outcomes[schema].status)
                    ~ ", error_sqlstate = " ~ (quote_literal(outcomes[schema].sqlstate) if outcomes[schema].sqlstate else "null")
                    ~ ", rows_affected = coalesce(rows_affected, 0) + " ~ built.changed | length
                    ~ " where invocation_id = " ~ quote_literal(invocation_id) ~ " and operation = " ~ quote_literal(plan.name ~ ':start')
                    ~ " and tenant_schema = " ~ quote_literal(schema), auto_begin=True) %}
                {% do adapter.commit() %}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- do schema_change_record_failures(plan, action, outcomes) -%}
    {{ return(schema_change_report(plan, action, chosen, outcomes, dry_run)) }}
{% endmacro %}


{% macro schema_change_merge_message(outcome, built, dry_run) %}
    {#- Adds the index builds (built: {changed, unchanged, error}) to a schema's
        start message ("<done>; already there: <kept>" or "would run: <statements>");
        an error fails the schema (55P03), its message appended: "; no index built: <error>". -#}
    {%- set separator = '; already there: ' -%}
    {%- set parts = (('; ' if outcome.message.startswith('already there: ') else '') ~ outcome.message ~ separator).split(separator) -%}
    {%- set changed = [parts[0]] if parts[0] else [] -%}
    {%- set unchanged = [parts[1]] if parts[1] else [] -%}
    {%- set changed = changed + built.changed -%}
    {%- set unchanged = unchanged + built.unchanged -%}
    {%- set joined = changed | join(';\n    ' if dry_run else ', ') -%}
    {%- if dry_run and built.changed and not joined.startswith('would run: ') -%}
        {%- set joined = 'would run: ' ~ joined -%}
    {%- endif -%}
    {%- set message = [joined] if joined else [] -%}
    {%- do message.append('already there: ' ~ unchanged | join(', ')) if unchanged else none -%}
    {%- do message.append('no index built: ' ~ built.error) if built.error else none -%}
    {%- do outcome.update({
        'message': message | join('; '),
        'status': 'error' if built.error else ('would_do' if dry_run and built.changed else outcome.status),
        'sqlstate': '55P03' if built.error else outcome.sqlstate,
    }) -%}
{% endmacro %}


{% macro schema_change_plan(change) %}
    {#- change ({name, operations}) checked, with what the steps need: every table
        it names (tables), the tables it needs before it starts (required), the
        views of the previous version (old_views), whether a rollback after
        complete is allowed (reversible) and the other tables its new foreign
        keys reference (referenced: locked too, their lock holders named). -#}
    {%- if change.name is not string or not modules.re.match('^[a-z][a-z0-9_]*$', change.name) -%}
        {{ exceptions.raise_compiler_error("change name must be lowercase letters, digits and _; got " ~ change.name) }}
    {%- endif -%}
    {%- set kinds = schema_change_operation_kinds() -%}
    {%- set tables = [] -%}
    {%- set required = [] -%}
    {%- set created = [] -%}
    {%- set current = {} -%}
    {%- set views = {} -%}
    {%- set reversible = [] -%}
    {%- set referenced = [] -%}
    {%- for operation in change.operations -%}
        {%- if operation.kind not in kinds -%}
            {{ exceptions.raise_compiler_error(change.name ~ ": operation kind must be one of " ~ kinds | join(", ") ~ "; got " ~ operation.kind) }}
        {%- endif -%}
        {%- for column in operation.get('columns', []) if column is mapping and column.get('references') -%}
            {%- do referenced.append(column.references.table) -%}
        {%- endfor -%}
        {%- if operation.get('references') -%}{%- do referenced.append(operation.references.table) -%}{%- endif -%}
        {%- if operation.get('references_table') -%}{%- do referenced.append(operation.references_table) -%}{%- endif -%}
        {%- set table = operation.table -%}
        {%- do operation.update({'new_table': table in created}) -%}
        {%- if table not in tables -%}{%- do tables.append(table) -%}{%- endif -%}
        {%- if operation.kind == 'create_table' -%}
            {%- do created.append(table) -%}
        {%- elif table not in created and table not in current.values() and table not in required -%}
            {%- do required.append(table) -%}
            {%- do current.update({table: table}) -%}
        {%- endif -%}
        {%- set original = [] -%}
        {%- for before, now in current.items() if now == table -%}{%- do original.append(before) -%}{%- endfor -%}
        {%- if operation.kind == 'rename_table' -%}
            {%- if operation.to not in tables -%}{%- do tables.append(operation.to) -%}{%- endif -%}
            {%- if original -%}
                {%- do current.update({original[0]: operation.to}) -%}
                {%- do views.setdefault(original[0], {'columns': {}, 'added': []}) -%}
            {%- else -%}
                {%- do created.append(operation.to) -%}
            {%- endif -%}
        {%- elif operation.kind == 'rename_column' and original -%}
            {%- set view = views.setdefault(original[0], {'columns': {}, 'added': []}) -%}
            {%- set first_name = [] -%}
            {%- for now_name, old_name in view.columns.items() if now_name == operation.column -%}{%- do first_name.append(old_name) -%}{%- endfor -%}
            {%- do view.columns.update({operation.to: first_name[0] if first_name else operation.column}) -%}
            {%- if first_name -%}{%- do view.columns.pop(operation.column) -%}{%- endif -%}
        {%- elif operation.kind == 'add_column' and original -%}
            {%- do views.setdefault(original[0], {'columns': {}, 'added': []})['added'].append(operation.column) -%}
        {%- endif -%}
        {%- do reversible.append(operation.kind in ['create_table', 'add_column', 'create_index', 'add_unique', 'add_foreign_key']) -%}
    {%- endfor -%}
    {%- set old_views = [] -%}
    {%- for original, view in views.items() if current[original] != original or view.columns -%}
        {%- do old_views.append({'name': original, 'table': current[original], 'columns': view.columns, 'added': view.added}) -%}
    {%- endfor -%}
    {{ return({
        'name': change.name, 'operations': change.operations, 'tables': tables, 'required': required,
        'old_views': old_views, 'reversible': reversible | select | list | length == reversible | length,
        'referenced': referenced | unique | reject('in', tables) | list,
    }) }}
{% endmacro %}


{% macro schema_change_operation_kinds() %}
    {#- The operation kinds there are: one file each under operations/. -#}
    {{ return([
        'create_table', 'rename_table', 'rename_column', 'add_column', 'set_nullable', 'set_not_null',
        'add_foreign_key', 'add_unique', 'create_index', 'drop_column', 'drop_table',
    ]) }}
{% endmacro %}


{% macro schema_change_previous_schema(schema, plan) %}
    {#- The schema of the previous version's views: <schema>__before_<change>. -#}
    {%- set name = schema ~ '__before_' ~ plan.name -%}
    {%- if name | length > 63 -%}
        {{ exceptions.raise_compiler_error(
            plan.name ~ ": the previous version's schema " ~ name ~ " is longer than PostgreSQL's 63 bytes; shorten the change's name"
        ) }}
    {%- endif -%}
    {{ return(name) }}
{% endmacro %}


{% macro schema_change_state_relation() %}
    {{ return(api.Relation.create(
        database=target.database, schema=target.schema, identifier='product_images_schema_changes', type='table'
    )) }}
{% endmacro %}


{% macro schema_change_state_table() %}
    {#- Creates the state table when missing: one row per (change, schema);
        created: what start made there ('column t.c', 'index i', …), which is all
        rollback drops (null on a row an older version wrote: everything the
        change names counts as made by it). -#}
    {% do adapter.execute(
        create_schema_if_missing_sql(target.schema) ~ ";
        create table if not exists " ~ schema_change_state_relation() ~ " (
            change_name text not null,
            schema_name text not null,
            state text not null check (state in ('started', 'completed', 'rolled_back', 'failed')),
            previous_state text check (previous_state in ('started', 'completed', 'rolled_back')),
            last_action text not null check (last_action in ('start', 'complete', 'rollback')),
            message text,
            invocation_id text not null,
            updated_at timestamptz not null,
            created text [],
            primary key (change_name, schema_name)
        );
        do $created$
        begin
            if not exists (
                select 1 from pg_catalog.pg_attribute as attributes
                where attributes.attrelid = " ~ quote_literal(schema_change_state_relation()) ~ "::regclass
                    and attributes.attname = 'created' and not attributes.attisdropped
            ) then
                alter table " ~ schema_change_state_relation() ~ " add column created text [];
            end if;
        end
        $created$", auto_begin=True) %}
    {% do adapter.commit() %}
{% endmacro %}


{% macro schema_change_step(operation, step, schema, dry_run) -%}
    {#- The plpgsql of one operation's step (start, validate, complete, rollback),
        found by its kind: schema_change_<kind>__<step>; nothing when the kind has
        no such step. -#}
    {%- set step_macro = context.get('schema_change_' ~ operation.kind ~ '__' ~ step) -%}
    {%- if step_macro is not none -%}
        {{ step_macro(schema, operation, dry_run) }}
    {%- endif -%}
{%- endmacro %}


{% macro schema_change_ddl(dry_run, statement, label) -%}
    {#- plpgsql: runs one DDL statement and appends label to v_changed (in a dry
        run the statement: a dry run runs everything, then rolls it back, see
        schema_change_dry_run). -#}
        execute {{ quote_literal(statement) }};
        v_changed := array_append(v_changed, {{ quote_literal(statement if dry_run else label) }}::text);
{%- endmacro %}


{% macro schema_change_dry_run(dry_run) -%}
    {#- plpgsql around a step's body (caller()): in a dry run the body runs for
        real in a subtransaction that is then rolled back (its statements stay in
        v_changed), so each statement is checked against the catalog as it would
        run, later operations seeing what earlier ones did. It takes the same
        locks, for a moment. -#}
    {%- if dry_run %}
            begin
                {{ caller() }}
                raise exception using errcode = 'PIDRY', message = 'dry run: rolled back';
            exception when sqlstate 'PIDRY' then
                null;
            end;
    {%- else %}
            {{ caller() }}
    {%- endif %}
{%- endmacro %}


{% macro schema_change_unchanged(label) -%}
    v_unchanged := array_append(v_unchanged, {{ quote_literal(label) }}::text);
{%- endmacro %}


{% macro schema_change_column_attribute_sql(schema, table, column, attribute) -%}
    {#- SQL: attribute (an expression over pg_attribute as attributes) of the
        table's column, or null when there is no such column. -#}
    (
        select {{ attribute }} from pg_catalog.pg_attribute as attributes
        where
            attributes.attrelid = to_regclass({{ quote_literal(tenant_relation(schema, table)) }})
            and attributes.attname = {{ quote_literal(column) }}
            and attributes.attnum > 0
            and not attributes.attisdropped
    )
{%- endmacro %}


{% macro schema_change_has_column(schema, table, column) -%}
    ({{ schema_change_column_attribute_sql(schema, table, column, 'true') }} is not null)
{%- endmacro %}


{% macro schema_change_has_constraint(schema, table, name) -%}
    exists (
        select 1 from pg_catalog.pg_constraint as constraints
        where
            constraints.conrelid = to_regclass({{ quote_literal(tenant_relation(schema, table)) }})
            and constraints.conname = {{ quote_literal(name) }}
    )
{%- endmacro %}


{% macro schema_change_state_sql(schema, plan, action) -%}
    {#- plpgsql: reads the schema's state of the change into v_state (the state a
        failed action left unchanged counts: a step is one transaction). -#}
    v_state := (
        select case when states.state = 'failed' then states.previous_state else states.state end
        from {{ schema_change_state_relation() }} as states
        where states.change_name = {{ quote_literal(plan.name) }} and states.schema_name = {{ quote_literal(schema) }}
    );
{%- endmacro %}


{% macro schema_change_set_state(schema, plan, action, state, dry_run) -%}
    {#- plpgsql: the schema's state after a step. created: start adds what it made
        (v_created) to what earlier starts made (a row an older version wrote, with
        no record, keeps none while started or completed); complete keeps it;
        rollback empties it. -#}
    {%- if not dry_run -%}
    insert into {{ schema_change_state_relation() }} as states (
        change_name, schema_name, state, previous_state, last_action, message, invocation_id, updated_at, created
    ) values (
        {{ quote_literal(plan.name) }}, {{ quote_literal(schema) }}, {{ quote_literal(state) }}, null,
        {{ quote_literal(action) }}, null, {{ quote_literal(invocation_id) }}, clock_timestamp(),
        {{ 'v_created' if action == 'start' else "'{}'::text []" }}
    )
    on conflict (change_name, schema_name) do update
    set
        state = excluded.state, previous_state = null, last_action = excluded.last_action, message = null,
        invocation_id = excluded.invocation_id, updated_at = excluded.updated_at,
        {%- if action == 'start' %}
        created = case
            when states.created is null
                and (case when states.state = 'failed' then states.previous_state else states.state end) in ('started', 'completed')
                then null
            else array(select distinct made.item from unnest(coalesce(states.created, '{}') || excluded.created) as made (item) order by made.item)
        end;
        {%- elif action == 'complete' %}
        created = states.created;
        {%- else %}
        created = '{}';
        {%- endif %}
    {%- endif -%}
{%- endmacro %}


{% macro schema_change_lock_tables_sql(schema, plan) -%}
    {#- plpgsql: takes every lock the step needs before its first DDL, tables
        that reference others first (as an app's insert does: the row, then the
        key it points at), so the step never holds one table while an app holds
        the next and waits for the first. ACCESS EXCLUSIVE on the tables the
        change alters, SHARE ROW EXCLUSIVE on those it only references (a new
        foreign key). Each wait is bounded by lock_timeout, and a timeout rolls
        all of them back for the next attempt (with_lock_retries). First it
        shares the schema's build-running lock (schema_change_index_build_lock_key
        'running') until its end: never while another start's CREATE INDEX
        CONCURRENTLY runs in this schema, which would wait for this transaction's
        snapshot while this one queued behind its table lock, a deadlock
        PostgreSQL may end by cancelling the build; this attempt fails at once
        instead (lock_not_available, retried), and the build waits for it. -#}
        if not pg_catalog.pg_try_advisory_xact_lock_shared({{ schema_change_index_build_lock_key(schema, 'running') }}) then
            raise exception using
                errcode = 'lock_not_available',
                message = 'another start is building the indexes of ' || {{ quote_literal(schema) }} || ' concurrently: '
                    || coalesce({{ schema_change_index_build_lock_holders_sql(schema, 'running') }}, 'it just ended');
        end if;
        for v_sql in
            with recursive

            wanted (relation, lock_mode) as (
                select distinct on (relation) relation, lock_mode
                from (
                    {%- for table in plan.tables %}
                    select to_regclass({{ quote_literal(tenant_relation(schema, table)) }}), 'access exclusive'
                    union all
                    {%- endfor %}
                    {%- for table in plan.referenced %}
                    select to_regclass({{ quote_literal(tenant_relation(schema, table)) }}), 'share row exclusive'
                    union all
                    {%- endfor %}
                    select null::regclass, null
                ) as named (relation, lock_mode)
                where relation is not null
                order by relation, lock_mode
            ),

            levels (relation, level) as (
                select wanted.relation, 0 from wanted
                union all
                select constraints.confrelid::regclass, levels.level + 1
                from levels
                inner join pg_catalog.pg_constraint as constraints
                    on levels.relation = constraints.conrelid and constraints.contype = 'f'
                where
                    constraints.confrelid <> constraints.conrelid
                    and constraints.confrelid::regclass in (select wanted.relation from wanted)
                    and levels.level < 20
            )

            select format('lock table %s in %s mode', wanted.relation, wanted.lock_mode)
            from wanted
            inner join (select levels.relation, max(levels.level) as level from levels group by levels.relation) as ordered
                on wanted.relation = ordered.relation
            order by ordered.level, wanted.relation::text
        loop
            execute v_sql;
        end loop;
{%- endmacro %}


{% macro schema_change_missing_tables_sql(schema, plan) -%}
    {#- plpgsql: an elsif branch skipping a schema that was not started and lacks
        a table the change needs (named). -#}
    {%- if plan.required %}
        elsif v_state is distinct from 'started' and (
            {%- for table in plan.required %}
            to_regclass({{ quote_literal(tenant_relation(schema, table)) }}) is null{{ " or" if not loop.last }}
            {%- endfor %}
        ) then
            v_status := 'skipped';
            v_message := 'no table ' || array_to_string(array_remove(array[
                {%- for table in plan.required %}
                case when to_regclass({{ quote_literal(tenant_relation(schema, table)) }}) is null then {{ quote_literal(table) }} end{{ "," if not loop.last }}
                {%- endfor %}
            ], null), ', ') || {{ quote_literal(' in ' ~ schema) }};
    {%- endif %}
{%- endmacro %}


{% macro schema_change_expand_phase(schema, dry_run, plan, action) -%}
    {#- start, in one transaction: every operation's start in order, then the
        previous version's views; the state becomes started. -#}
    declare
        v_changed text[] := '{}';
        v_unchanged text[] := '{}';
        v_kept text[] := '{}';
        v_created text[] := '{}';
        v_state text;
        v_found text;
        v_sql text;
    begin
        {{ schema_change_state_sql(schema, plan, action) }}
        if v_state = 'completed' then
            v_status := 'skipped';
            v_message := 'already completed';
        {{ schema_change_missing_tables_sql(schema, plan) }}
        else
            {{ schema_change_lock_tables_sql(schema, plan) }}
            {%- call schema_change_dry_run(dry_run) %}
            {%- for operation in plan.operations %}
            {{ schema_change_step(operation, 'start', schema, dry_run) }}
            {%- endfor %}
            {{ schema_change_old_views_sql(schema, plan, dry_run) }}
            {%- if dry_run %}
            {%- for operation in plan.operations %}
            {{ schema_change_step(operation, 'validate', schema, dry_run) }}
            {%- endfor %}
            {%- endif %}
            {%- endcall %}
            {{ schema_change_set_state(schema, plan, 'start', 'started', dry_run) }}
            {{ schema_change_finish_sql(dry_run, 'already there') }}
        end if;
    end;
{%- endmacro %}


{% macro schema_change_validate_phase(schema, dry_run, plan, action) -%}
    {#- start's second transaction: constraints added NOT VALID are validated
        (SHARE UPDATE EXCLUSIVE: the app keeps reading and writing). -#}
    declare
        v_changed text[] := '{}';
        v_unchanged text[] := '{}';
        v_found text;
    begin
        {%- for operation in plan.operations %}
        {{ schema_change_step(operation, 'validate', schema, dry_run) }}
        {%- endfor %}
        if cardinality(v_changed) > 0 then
            select operations.message, operations.rows_affected into v_found, v_count
            from {{ product_images_operations_relation() }} as operations
            where
                operations.invocation_id = {{ quote_literal(invocation_id) }}
                and operations.operation = {{ quote_literal(plan.name ~ ':start') }}
                and operations.tenant_schema = {{ quote_literal(schema) }};
            v_message := concat_ws('; ', nullif(v_found, ''),
                {{ quote_literal('would run: ' if dry_run else '') }} || array_to_string(v_changed, {{ "E';\\n    '" if dry_run else "', '" }}));
            v_rows := coalesce(v_count, 0) + cardinality(v_changed);
            {%- if dry_run %}
            v_status := 'would_do';
            {%- endif %}
        end if;
    end;
{%- endmacro %}


{% macro schema_change_contract_phase(schema, dry_run, plan, action) -%}
    {#- complete, in one transaction, only where start finished: the previous
        version's views go, then every operation's complete in order; the state
        becomes completed. -#}
    declare
        v_changed text[] := '{}';
        v_unchanged text[] := '{}';
        v_kept text[] := '{}';
        v_created text[] := '{}';
        v_state text;
        v_found text;
        v_sql text;
    begin
        {{ schema_change_state_sql(schema, plan, action) }}
        if v_state = 'completed' then
            v_status := 'skipped';
            v_message := 'already completed';
        {{ schema_change_missing_tables_sql(schema, plan) }}
        elsif v_state is distinct from 'started' then
            v_status := 'refused';
            v_message := {{ quote_literal(plan.name ~ ' was not started in ' ~ schema ~ ' (state: ') }}
                || coalesce(v_state, 'none') || '): run start first';
        else
            {{ schema_change_lock_tables_sql(schema, plan) }}
            {%- call schema_change_dry_run(dry_run) %}
            {%- for operation in plan.operations %}
            {{ schema_change_step(operation, 'check', schema, dry_run) }}
            {%- endfor %}
            {{ schema_change_drop_old_views_sql(schema, plan, dry_run) }}
            {%- for operation in plan.operations %}
            {{ schema_change_step(operation, 'complete', schema, dry_run) }}
            {%- endfor %}
            {%- endcall %}
            {{ schema_change_set_state(schema, plan, 'complete', 'completed', dry_run) }}
            {{ schema_change_finish_sql(dry_run, 'nothing left to do') }}
        end if;
    end;
{%- endmacro %}


{% macro schema_change_revert_phase(schema, dry_run, plan, action) -%}
    {#- rollback, in one transaction: the previous version's views go, then every
        operation's rollback in reverse order, each undoing only what start made
        here (the state's created); the state becomes rolled_back. Refused while a
        table or column start added holds data, unless plan.discard_new_data
        (counted before the locks, and again under them). A
        change made only of additions (plan.reversible) is undone whatever its
        state; one with renames or drops only where it was started, not completed. -#}
    declare
        v_changed text[] := '{}';
        v_unchanged text[] := '{}';
        v_kept text[] := '{}';
        v_created text[] := '{}';
        v_state text;
        v_found text;
        v_sql text;
    begin
        {{ schema_change_state_sql(schema, plan, action) }}
        {%- if not plan.reversible %}
        if v_state is null or v_state = 'rolled_back' then
            v_status := 'skipped';
            v_message := case when v_state is null then 'never started here' else 'already rolled back' end;
        elsif v_state = 'completed' then
            v_status := 'refused';
            v_message := {{ quote_literal(
                plan.name ~ ' is completed in ' ~ schema ~ ': its renames or drops are final; undo them with a new change'
            ) }};
        else
        {%- else %}
        if false then
            null;
        {{ schema_change_missing_tables_sql(schema, plan) }}
        else
        {%- endif %}
            {{ schema_change_load_created_sql(schema, plan) }}
            {%- if not plan.discard_new_data %}
            {{ schema_change_new_data_sql(schema, plan) }}
            {%- else %}
            v_found := null;
            {%- endif %}
            if v_found is null then
            {{ schema_change_lock_tables_sql(schema, plan) }}
            {%- if not plan.discard_new_data %}
            -- counted again under the locks: a value the new version committed while
            -- this waited for them is not dropped (the app waits for this count)
            {{ schema_change_new_data_sql(schema, plan) }}
            {%- endif %}
            end if;
            if v_found is not null then
                v_status := 'refused';
                v_message := 'rollback would drop data written since start: ' || v_found
                    || '; stop the new version and keep that data elsewhere, or pass discard_new_data: true to drop it';
            else
            {%- call schema_change_dry_run(dry_run) %}
            {{ schema_change_drop_old_views_sql(schema, plan, dry_run) }}
            {%- for operation in plan.operations | reverse %}
            {{ schema_change_step(operation, 'rollback', schema, dry_run) }}
            {%- endfor %}
            {%- endcall %}
            {{ schema_change_set_state(schema, plan, 'rollback', 'rolled_back', dry_run) }}
            {{ schema_change_finish_sql(dry_run, 'already gone') }}
            end if;
        end if;
    end;
{%- endmacro %}


{% macro schema_change_finish_sql(dry_run, unchanged_word) -%}
    {#- plpgsql: v_rows, v_status and v_message from v_changed and v_unchanged. -#}
            v_rows := cardinality(v_changed);
            {%- if dry_run %}
            if v_rows > 0 then
                v_status := 'would_do';
            end if;
            {%- endif %}
            v_message := concat_ws('; ',
                {{ quote_literal('would run: ' if dry_run else '') }} || nullif(array_to_string(v_changed, {{ "E';\\n    '" if dry_run else "', '" }}), ''),
                case when cardinality(v_unchanged) > 0 then {{ quote_literal(unchanged_word ~ ': ') }} || array_to_string(v_unchanged, ', ') end,
                case when cardinality(v_kept) > 0 then 'left alone (there before start): ' || array_to_string(v_kept, ', ') end
            );
{%- endmacro %}
