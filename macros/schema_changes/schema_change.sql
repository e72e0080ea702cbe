{#- Expand/contract schema changes of the app's tables, tenant-wide: a change is
    a name and a list of operations (operations/*.sql, one file per kind, each
    with its start, complete and rollback); schema_change runs one action of it
    (start, complete, rollback, status) in public and every tenant schema, one
    transaction per schema and step, under the lock discipline, with its state
    per schema in <target schema>.product_images_schema_changes and each run in
    the operations log. See _macros.yml and the README's "Tenant-wide schema
    changes". -#}

{% macro schema_change(change, action, schemas=none, dry_run=false) %}
    {#- Runs action (start, complete, rollback, status) of change in every schema;
        logs one line per schema and a summary; raises naming the failed or
        refused schemas, the others being done. Returns the log rows. -#}
    {%- set actions = ['start', 'complete', 'rollback', 'status'] -%}
    {%- if action not in actions -%}
        {{ exceptions.raise_compiler_error(change.name ~ ": action must be one of " ~ actions | join(", ") ~ "; got " ~ action) }}
    {%- endif -%}
    {%- if dry_run not in [true, false] -%}
        {{ exceptions.raise_compiler_error(change.name ~ ": dry_run must be true or false; got " ~ dry_run) }}
    {%- endif -%}
    {%- set plan = schema_change_plan(change) -%}
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
        lock_target=plan.tables[0], lock_relations=plan.tables, report=false,
        phase_kwargs={'plan': plan, 'action': action}
    ) -%}
    {%- set outcomes = {} -%}
    {%- for row in rows -%}
        {%- do outcomes.update({row['tenant_schema']: {
            'status': row['status'], 'message': row['message'] or '', 'sqlstate': row['error_sqlstate']
        }}) -%}
    {%- endfor -%}
    {%- do schema_change_record_failures(plan, action, outcomes) -%}
    {%- if action == 'start' -%}
        {%- for schema in chosen if outcomes[schema].status in ['done', 'would_do'] -%}
            {%- set built = schema_change_build_indexes(plan, schema, dry_run) -%}
            {%- if built.changed or built.unchanged -%}
                {%- do schema_change_merge_message(outcomes[schema], built, dry_run) -%}
                {% do adapter.execute(
                    "update " ~ product_images_operations_relation() ~ " set message = " ~ quote_literal(outcomes[schema].message)
                    ~ ", status = " ~ quote_literal(outcomes[schema].status)
                    ~ ", rows_affected = coalesce(rows_affected, 0) + " ~ built.changed | length
                    ~ " where invocation_id = " ~ quote_literal(invocation_id) ~ " and operation = " ~ quote_literal(plan.name ~ ':start')
                    ~ " and tenant_schema = " ~ quote_literal(schema), auto_begin=True) %}
                {% do adapter.commit() %}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(schema_change_report(plan, action, chosen, outcomes, dry_run)) }}
{% endmacro %}


{% macro schema_change_merge_message(outcome, built, dry_run) %}
    {#- Adds the index builds (built: {changed, unchanged}) to a schema's start
        message ("<done>; already there: <kept>" or "would run: <statements>"). -#}
    {%- set separator = '; already there: ' -%}
    {%- set parts = (outcome.message ~ separator).split(separator) -%}
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
    {%- do outcome.update({
        'message': message | join('; '),
        'status': 'would_do' if dry_run and built.changed else outcome.status,
    }) -%}
{% endmacro %}


{% macro schema_change_plan(change) %}
    {#- change ({name, operations}) checked, with what the steps need: every table
        it names (tables), the tables it needs before it starts (required), the
        views of the previous version (old_views) and whether a rollback after
        complete is allowed (reversible). -#}
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
    {%- for operation in change.operations -%}
        {%- if operation.kind not in kinds -%}
            {{ exceptions.raise_compiler_error(change.name ~ ": operation kind must be one of " ~ kinds | join(", ") ~ "; got " ~ operation.kind) }}
        {%- endif -%}
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
    {#- Creates the state table when missing: one row per (change, schema). -#}
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
            primary key (change_name, schema_name)
        )", auto_begin=True) %}
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
    {%- if not dry_run -%}
    insert into {{ schema_change_state_relation() }} as states (
        change_name, schema_name, state, previous_state, last_action, message, invocation_id, updated_at
    ) values (
        {{ quote_literal(plan.name) }}, {{ quote_literal(schema) }}, {{ quote_literal(state) }}, null,
        {{ quote_literal(action) }}, null, {{ quote_literal(invocation_id) }}, clock_timestamp()
    )
    on conflict (change_name, schema_name) do update
    set
        state = excluded.state, previous_state = null, last_action = excluded.last_action, message = null,
        invocation_id = excluded.invocation_id, updated_at = excluded.updated_at;
    {%- endif -%}
{%- endmacro %}


{% macro schema_change_lock_tables_sql(schema, plan) -%}
    {#- plpgsql: takes every lock the step needs before its first DDL, tables
        that reference others first (as an app's insert does: the row, then the
        key it points at), so the step never holds one table while an app holds
        the next and waits for the first. ACCESS EXCLUSIVE on the tables the
        change alters, SHARE ROW EXCLUSIVE on those it only references (a new
        foreign key). Each wait is bounded by lock_timeout, and a timeout rolls
        all of them back for the next attempt (with_lock_retries). -#}
    {%- set referenced = [] -%}
    {%- for operation in plan.operations -%}
        {%- for column in operation.get('columns', []) if column is mapping and column.get('references') -%}
            {%- do referenced.append(column.references.table) -%}
        {%- endfor -%}
        {%- if operation.get('references') -%}{%- do referenced.append(operation.references.table) -%}{%- endif -%}
        {%- if operation.get('references_table') -%}{%- do referenced.append(operation.references_table) -%}{%- endif -%}
    {%- endfor %}
        for v_sql in
            with recursive

            wanted (relation, lock_mode) as (
                select distinct on (relation) relation, lock_mode
                from (
                    {%- for table in plan.tables %}
                    select to_regclass({{ quote_literal(tenant_relation(schema, table)) }}), 'access exclusive'
                    union all
                    {%- endfor %}
                    {%- for table in referenced | unique if table not in plan.tables %}
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
        operation's rollback in reverse order; the state becomes rolled_back. A
        change made only of additions (plan.reversible) is undone whatever its
        state; one with renames or drops only where it was started, not completed. -#}
    declare
        v_changed text[] := '{}';
        v_unchanged text[] := '{}';
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
            {{ schema_change_lock_tables_sql(schema, plan) }}
            {%- call schema_change_dry_run(dry_run) %}
            {{ schema_change_drop_old_views_sql(schema, plan, dry_run) }}
            {%- for operation in plan.operations | reverse %}
            {{ schema_change_step(operation, 'rollback', schema, dry_run) }}
            {%- endfor %}
            {%- endcall %}
            {{ schema_change_set_state(schema, plan, 'rollback', 'rolled_back', dry_run) }}
            {{ schema_change_finish_sql(dry_run, 'already gone') }}
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
                case when cardinality(v_unchanged) > 0 then {{ quote_literal(unchanged_word ~ ': ') }} || array_to_string(v_unchanged, ', ') end
            );
{%- endmacro %}


{% macro schema_change_old_views_sql(schema, plan, dry_run) -%}
    {#- plpgsql: the previous version's schema (<schema>__before_<change>) and in
        it, for each table renamed or with a column renamed, a view under the
        table's old name with its old columns (the columns this change added left
        out), auto-updatable, granted to whoever the table and the schema are
        granted to. -#}
    {%- if plan.old_views %}
    {%- set previous = schema_change_previous_schema(schema, plan) %}
    if to_regnamespace({{ quote_literal(quote_identifier(previous)) }}) is null then
        {{ schema_change_ddl(dry_run, 'create schema ' ~ quote_identifier(previous), 'created schema ' ~ previous) }}
        {%- if true %}
        v_found := (
            select string_agg(format('grant usage on schema %I to %s', {{ quote_literal(previous) }},
                case when acl.grantee = 0 then 'public' else acl.grantee::regrole::text end), '; ')
            from pg_catalog.pg_namespace as namespaces, aclexplode(namespaces.nspacl) as acl
            where namespaces.nspname = {{ quote_literal(schema) }} and acl.privilege_type = 'USAGE' and acl.grantee <> namespaces.nspowner
        );
        if v_found is not null then
            execute v_found;
        end if;
        {%- endif %}
    end if;
    {%- for view in plan.old_views %}
    {%- set view_relation = tenant_relation(previous, view.name) %}
    {%- set table_relation = tenant_relation(schema, view.table) %}
    v_found := (
        select classes.relkind::text from pg_catalog.pg_class as classes
        where classes.oid = to_regclass({{ quote_literal(view_relation) }})
    );
    if v_found is null then
        v_found := (
            select
                'create view ' || {{ quote_literal(view_relation) }} || ' as select '
                || string_agg(
                    case
                        when {{ quote_literal(tojson(view.columns)) }}::jsonb ? attributes.attname
                            then format('%I as %I', attributes.attname, {{ quote_literal(tojson(view.columns)) }}::jsonb ->> attributes.attname)
                        else format('%I', attributes.attname)
                    end,
                    ', ' order by attributes.attnum
                )
                || ' from ' || {{ quote_literal(table_relation) }}
            from pg_catalog.pg_attribute as attributes
            where
                attributes.attrelid = coalesce(
                    to_regclass({{ quote_literal(table_relation) }}), to_regclass({{ quote_literal(tenant_relation(schema, view.name)) }})
                )
                and attributes.attnum > 0
                and not attributes.attisdropped
                and not {{ quote_literal(tojson(view.added)) }}::jsonb ? attributes.attname
        );
        execute v_found;
        {%- if dry_run %}
        v_changed := array_append(v_changed, v_found);
        {%- else %}
        v_found := (
            select string_agg(format('grant %s on %s to %s', acl.privilege_type, {{ quote_literal(view_relation) }},
                case when acl.grantee = 0 then 'public' else acl.grantee::regrole::text end), '; ')
            from pg_catalog.pg_class as classes, aclexplode(classes.relacl) as acl
            where classes.oid = to_regclass({{ quote_literal(table_relation) }}) and acl.grantee <> classes.relowner
        );
        if v_found is not null then
            execute v_found;
        end if;
        v_changed := array_append(v_changed, {{ quote_literal('created view ' ~ previous ~ '.' ~ view.name) }}::text);
        {%- endif %}
    elsif v_found <> 'v' then
        raise exception '% exists and is not a view: rename it or leave this schema out', {{ quote_literal(view_relation) }};
    else
        v_unchanged := array_append(v_unchanged, {{ quote_literal('view ' ~ previous ~ '.' ~ view.name) }}::text);
    end if;
    {%- endfor %}
    {%- endif %}
{%- endmacro %}


{% macro schema_change_drop_old_views_sql(schema, plan, dry_run) -%}
    {#- plpgsql: drops the previous version's views and then its schema, which
        must hold nothing else (else the schema fails, naming what is there). -#}
    {%- if plan.old_views %}
    {%- set previous = schema_change_previous_schema(schema, plan) %}
    {%- for view in plan.old_views %}
    if to_regclass({{ quote_literal(tenant_relation(previous, view.name)) }}) is not null then
        {{ schema_change_ddl(dry_run, 'drop view ' ~ tenant_relation(previous, view.name), 'dropped view ' ~ previous ~ '.' ~ view.name) }}
    end if;
    {%- endfor %}
    if to_regnamespace({{ quote_literal(quote_identifier(previous)) }}) is not null then
        v_found := (
            select string_agg(classes.relname, ', ' order by classes.relname)
            from pg_catalog.pg_class as classes
            where
                classes.relnamespace = to_regnamespace({{ quote_literal(quote_identifier(previous)) }})
                {%- for view in plan.old_views %}
                and classes.relname <> {{ quote_literal(view.name) }}
                {%- endfor %}
        );
        if v_found is not null then
            raise exception '% holds objects this change did not make (%): move them, then rerun', {{ quote_literal(previous) }}, v_found;
        end if;
        {{ schema_change_ddl(dry_run, 'drop schema ' ~ quote_identifier(previous), 'dropped schema ' ~ previous) }}
    end if;
    {%- endif %}
{%- endmacro %}


{% macro schema_change_record_failures(plan, action, outcomes) %}
    {#- Each schema where the action failed: state failed, with the state it kept
        (previous_state: the failed step's transaction was rolled back). -#}
    {%- for schema, outcome in outcomes.items() if outcome.status == 'error' -%}
        {% do adapter.execute(
            "insert into " ~ schema_change_state_relation() ~ " as states (change_name, schema_name, state, previous_state, last_action, message, invocation_id, updated_at)
            values (" ~ quote_literal(plan.name) ~ ", " ~ quote_literal(schema) ~ ", 'failed', null, " ~ quote_literal(action) ~ ", "
            ~ quote_literal(outcome.message) ~ ", " ~ quote_literal(invocation_id) ~ ", clock_timestamp())
            on conflict (change_name, schema_name) do update set
                previous_state = case when states.state = 'failed' then states.previous_state else states.state end,
                state = 'failed', last_action = excluded.last_action, message = excluded.message,
                invocation_id = excluded.invocation_id, updated_at = excluded.updated_at", auto_begin=True) %}
        {% do adapter.commit() %}
    {%- endfor -%}
{% endmacro %}


{% macro schema_change_build_indexes(plan, schema, dry_run) %}
    {#- start's last step, outside any transaction: every index the operations
        build on an existing table, CREATE INDEX CONCURRENTLY (SHARE UPDATE
        EXCLUSIVE: the app keeps reading and writing; it waits for older
        transactions, up to var index_lock_timeout). A valid index of the name, or
        an equivalent one, is kept; an invalid one (a build that failed) is
        dropped concurrently and built again. Returns the labels of what it did. -#}
    {%- set done = {'changed': [], 'unchanged': []} -%}
    {%- for operation in plan.operations -%}
        {%- set indexes_macro = context.get('schema_change_' ~ operation.kind ~ '__indexes') -%}
        {%- for index in (indexes_macro(operation) if indexes_macro is not none else []) -%}
            {%- set found = adapter.execute(schema_change_index_lookup_sql(schema, index), auto_begin=False, fetch=True)[1] -%}
            {%- set row = found.rows[0] -%}
            {%- set relation = tenant_relation(schema, index.name) -%}
            {%- set statement = schema_change_index_ddl(schema, index, concurrently=true) -%}
            {%- if row['valid'] -%}
                {%- do done.unchanged.append('index ' ~ index.name) -%}
            {%- elif row['equivalent'] and not index.get('exact') -%}
                {%- do done.unchanged.append('index ' ~ index.name ~ ' (as ' ~ row['equivalent'] ~ ')') -%}
            {%- elif dry_run -%}
                {%- do done.changed.append(('drop index concurrently ' ~ relation ~ ';\n    ' if row['invalid'] else '') ~ statement) -%}
            {%- elif not row['table_exists'] -%}
                {{ exceptions.raise_compiler_error(plan.name ~ " (start) " ~ schema ~ ": no table " ~ index.table ~ " to build index " ~ index.name ~ " on") }}
            {%- else -%}
                {%- if row['invalid'] -%}
                    {{ log(plan.name ~ " (start) " ~ schema ~ ": index " ~ index.name ~ " is invalid (a build that failed): dropping it", info=True) }}
                    {% do adapter.execute("drop index concurrently if exists " ~ relation, auto_begin=False) %}
                {%- endif -%}
                {{ log(plan.name ~ " (start) " ~ schema ~ ": building index " ~ index.name ~ " concurrently", info=True) }}
                {% do adapter.execute("set lock_timeout = " ~ quote_literal(var('index_lock_timeout', '5min')), auto_begin=False) %}
                {% do adapter.execute(statement, auto_begin=False) %}
                {% do adapter.execute("reset lock_timeout", auto_begin=False) %}
                {%- do done.changed.append(('rebuilt' if row['invalid'] else 'built') ~ ' index ' ~ index.name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(done) }}
{% endmacro %}


{% macro schema_change_index_lookup_sql(schema, index) -%}
    {#- One row: table_exists, valid / invalid (an index of the name on the table),
        equivalent (a valid index of another name with the same key columns, same
        uniqueness, no predicate or expression; only for an index without where). -#}
    {%- set table = tenant_relation(schema, index.table) -%}
    select
        to_regclass({{ quote_literal(table) }}) is not null as table_exists,
        coalesce((
            select indexes.indisvalid from pg_catalog.pg_index as indexes
            where indexes.indexrelid = to_regclass({{ quote_literal(tenant_relation(schema, index.name)) }})
        ), false) as valid,
        coalesce((
            select not indexes.indisvalid from pg_catalog.pg_index as indexes
            where indexes.indexrelid = to_regclass({{ quote_literal(tenant_relation(schema, index.name)) }})
        ), false) as invalid,
        {%- if index.where is none %}
        (
            select indexes.indexrelid::regclass::text
            from pg_catalog.pg_index as indexes
            inner join pg_catalog.pg_class as classes on indexes.indexrelid = classes.oid
            inner join pg_catalog.pg_am as methods on classes.relam = methods.oid
            where
                indexes.indrelid = to_regclass({{ quote_literal(table) }})
                and indexes.indisvalid
                and methods.amname = 'btree'
                and indexes.indisunique = {{ 'true' if index.unique else 'false' }}
                and indexes.indpred is null
                and indexes.indexprs is null
                and indexes.indnkeyatts = {{ index.columns | length }}
                and (
                    select array_agg(attributes.attname::text order by keys.ordinality)
                    from unnest(indexes.indkey::int2 []) with ordinality as keys (attnum, ordinality)
                    inner join pg_catalog.pg_attribute as attributes
                        on indexes.indrelid = attributes.attrelid and keys.attnum = attributes.attnum
                    where keys.ordinality <= {{ index.columns | length }}
                ) = array[{% for column in index.columns %}{{ quote_literal(column) }}{{ ", " if not loop.last }}{% endfor %}]::text []
            order by classes.relname
            limit 1
        ) as equivalent
        {%- else %}
        null::text as equivalent
        {%- endif %}
{%- endmacro %}


{% macro schema_change_index_ddl(schema, index, concurrently) %}
    {#- create [unique] index [concurrently] "name" on "schema"."table" (columns) [where predicate], one line. -#}
    {%- set columns = [] -%}
    {%- for column in index.columns -%}{%- do columns.append(quote_identifier(column)) -%}{%- endfor -%}
    {{ return(
        'create ' ~ ('unique ' if index.unique else '') ~ 'index ' ~ ('concurrently ' if concurrently else '')
        ~ quote_identifier(index.name) ~ ' on ' ~ tenant_relation(schema, index.table) ~ ' (' ~ columns | join(', ') ~ ')'
        ~ (' where ' ~ index.where if index.where is not none else '')
    ) }}
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
