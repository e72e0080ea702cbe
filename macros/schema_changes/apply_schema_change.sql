{#- A small base for tenant-wide schema changes of the app's tables: one named,
    idempotent, reversible change (columns, indexes, a column renamed with a
    compatibility view...) applied to `public` and to every tenant schema, one
    transaction per schema, under the lock discipline and the operations log of
    run_tenant_operations. A change is data (schema_change_column,
    schema_change_index, schema_change_rename_column, schema_change_view); its
    run-operation is one line: see marketplace_tasks.sql. See _macros.yml. -#}

{% macro schema_change_column(name, type, definition='') %}
    {#- A column: added when missing; an existing one of another type fails the schema. -#}
    {{ return({'kind': 'column', 'name': name, 'type': type, 'definition': definition, 'label': 'column ' ~ name}) }}
{% endmacro %}


{% macro schema_change_index(name, columns, unique=false, where=none) %}
    {#- A btree index on columns (in order); an equivalent index under another name counts as there. -#}
    {{ return({'kind': 'index', 'name': name, 'columns': columns, 'unique': unique, 'where': where, 'label': 'index ' ~ name}) }}
{% endmacro %}


{% macro schema_change_rename_column(old, new) %}
    {#- A column renamed from old to new (down renames it back). -#}
    {{ return({'kind': 'rename_column', 'old': old, 'new': new, 'label': 'column ' ~ old ~ ' renamed ' ~ new}) }}
{% endmacro %}


{% macro schema_change_view(name, select_sql) %}
    {#- A view (e.g. the old shape for the transition); "{schema}" in select_sql is the schema, quoted. -#}
    {{ return({'kind': 'view', 'name': name, 'select_sql': select_sql, 'label': 'view ' ~ name}) }}
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


{% macro apply_schema_change(change, direction='up', schemas=none, dry_run=false) %}
    {#- Applies change ({name, table, objects}) up or down to every schema, one
        transaction each; logs one line per schema (added / already there /
        skipped / failed, or dropped / already gone), records each in the
        operations log and raises naming the failed schemas. Returns the log rows. -#}
    {%- if direction not in ['up', 'down'] -%}
        {{ exceptions.raise_compiler_error(change.name ~ ": direction must be one of up, down; got " ~ direction) }}
    {%- endif -%}
    {%- if dry_run not in [true, false] -%}
        {{ exceptions.raise_compiler_error(change.name ~ ": dry_run must be true or false; got " ~ dry_run) }}
    {%- endif -%}
    {%- for object in change.objects if object.kind not in ['column', 'index', 'rename_column', 'view'] -%}
        {{ exceptions.raise_compiler_error(change.name ~ ": object kind must be one of column, index, rename_column, view; got " ~ object.kind) }}
    {%- endfor -%}
    {%- set chosen = schema_change_schemas(schemas, direction) -%}
    {%- set operation = change.name ~ ':' ~ direction -%}
    {%- set rows = run_tenant_operations(
        operation, chosen, [schema_change_body], dry_run=dry_run, lock_mode='AccessExclusiveLock',
        lock_target=change.table, lock_relations=[change.table], report=false,
        phase_kwargs={'change': change, 'direction': direction}
    ) -%}
    {%- set words = {
        'up': {'changed': 'added', 'unchanged': 'already there', 'would_do': 'would add'},
        'down': {'changed': 'dropped', 'unchanged': 'already gone', 'would_do': 'would drop'},
    }[direction] -%}
    {%- set counts = {} -%}
    {%- set failed = [] -%}
    {%- set by_schema = {} -%}
    {%- for row in rows -%}
        {%- do by_schema.update({row['tenant_schema']: row}) -%}
    {%- endfor -%}
    {%- for schema in chosen -%}
        {%- set row = by_schema[schema] -%}
        {%- if row['status'] == 'error' -%}
            {%- set outcome = 'failed' -%}
            {%- do failed.append(schema ~ " (" ~ (row['error_sqlstate'] ~ ": " if row['error_sqlstate'] else "") ~ row['message'] ~ ")") -%}
        {%- elif row['status'] == 'skipped' -%}
            {%- set outcome = 'skipped' -%}
        {%- elif row['status'] == 'would_do' -%}
            {%- set outcome = words.would_do -%}
        {%- elif row['rows_affected'] -%}
            {%- set outcome = words.changed -%}
        {%- else -%}
            {%- set outcome = words.unchanged -%}
        {%- endif -%}
        {%- do counts.update({outcome: counts.get(outcome, 0) + 1}) -%}
        {%- set message = row['message'] or '' -%}
        {%- if row['status'] == 'error' and row['error_sqlstate'] -%}
            {%- set message = row['error_sqlstate'] ~ ": " ~ message -%}
        {%- endif -%}
        {{ log(change.name ~ " (" ~ direction ~ ") " ~ schema ~ ": "
            ~ (message if message.startswith(outcome) else outcome ~ ": " ~ message), info=True) }}
    {%- endfor -%}
    {%- set summary = [] -%}
    {%- for outcome, count in counts.items() -%}
        {%- do summary.append(count ~ " " ~ outcome) -%}
    {%- endfor -%}
    {{ log(change.name ~ " (" ~ direction ~ "): " ~ chosen | length ~ " schema(s): " ~ summary | join(", "), info=True) }}
    {%- if failed -%}
        {{ exceptions.raise_compiler_error(
            change.name ~ " (" ~ direction ~ ") failed in " ~ failed | length ~ " of " ~ chosen | length
            ~ " schema(s); each was left as it was, the others are done: " ~ failed | join("; ")
        ) }}
    {%- endif -%}
    {{ return(rows) }}
{% endmacro %}


{% macro schema_change_body(schema, dry_run, change, direction) -%}
    {#- plpgsql for one schema (a phase of run_tenant_operations): each object
        checked in the catalog and changed only when needed, in order on the way
        up, in reverse order on the way down. -#}
    {%- set table = tenant_relation(schema, change.table) -%}
    declare
        v_changed text[] := '{}';
        v_unchanged text[] := '{}';
        v_found text;
    begin
        if to_regclass({{ quote_literal(table) }}) is null then
            v_status := 'skipped';
            v_message := {{ quote_literal('no table ' ~ change.table ~ ' in ' ~ schema) }};
        else
        {%- set objects = change.objects if direction == 'up' else change.objects | reverse | list %}
        {%- for object in objects %}
        {{ schema_change_object_sql(schema, table, object, direction, dry_run) }}
        {%- endfor %}
        v_rows := cardinality(v_changed);
        if v_rows > 0 and {{ 'true' if dry_run else 'false' }} then
            v_status := 'would_do';
        end if;
        v_message := concat_ws('; ',
            case when v_rows > 0 then {{ quote_literal(('would add' if direction == 'up' else 'would drop') if dry_run else ('added' if direction == 'up' else 'dropped')) }} || ' ' || array_to_string(v_changed, ', ') end,
            case when cardinality(v_unchanged) > 0 then {{ quote_literal('already there' if direction == 'up' else 'already gone') }} || ': ' || array_to_string(v_unchanged, ', ') end
        );
        end if;
    end;
{%- endmacro %}


{% macro schema_change_object_sql(schema, table, object, direction, dry_run) -%}
    {#- plpgsql for one object: appends its label to v_changed (after its DDL,
        unless dry_run) or to v_unchanged; raises when the catalog holds
        something in the way (a column of another type, a relation of the name). -#}
    {%- set label = quote_literal(object.label) -%}
    {%- if object.kind == 'column' -%}
        v_found := (
            select attributes.atttypid::regtype::text
            from pg_catalog.pg_attribute as attributes
            where
                attributes.attrelid = to_regclass({{ quote_literal(table) }})
                and attributes.attname = {{ quote_literal(object.name) }}
                and not attributes.attisdropped
        );
        {%- if direction == 'up' %}
        if v_found is null then
            {{ schema_change_ddl(dry_run, "alter table " ~ table ~ " add column " ~ quote_identifier(object.name) ~ " " ~ object.type ~ " " ~ object.definition) }}
            v_changed := array_append(v_changed, {{ label }}::text);
        elsif v_found <> {{ quote_literal(object.type) }}::regtype::text then
            raise exception '%.% exists with type %, not %: change it by hand or leave this schema out',
                {{ quote_literal(schema) }}, {{ quote_literal(object.name) }}, v_found, {{ quote_literal(object.type) }}::regtype::text;
        else
            v_unchanged := array_append(v_unchanged, {{ label }}::text);
        end if;
        {%- else %}
        if v_found is not null then
            {{ schema_change_ddl(dry_run, "alter table " ~ table ~ " drop column " ~ quote_identifier(object.name)) }}
            v_changed := array_append(v_changed, {{ label }}::text);
        else
            v_unchanged := array_append(v_unchanged, {{ label }}::text);
        end if;
        {%- endif %}
    {%- elif object.kind == 'index' -%}
        {%- set index = tenant_relation(schema, object.name) -%}
        if to_regclass({{ quote_literal(index) }}) is not null and not exists (
            select 1 from pg_catalog.pg_index as indexes
            where indexes.indexrelid = to_regclass({{ quote_literal(index) }}) and indexes.indrelid = to_regclass({{ quote_literal(table) }})
        ) then
            raise exception '% exists and is not an index on %: rename it or leave this schema out',
                {{ quote_literal(index) }}, {{ quote_literal(table) }};
        end if;
        {%- if direction == 'up' %}
        if to_regclass({{ quote_literal(index) }}) is not null then
            v_unchanged := array_append(v_unchanged, {{ label }}::text);
        else
            {%- if object.where is none %}
            v_found := (
                select indexes.indexrelid::regclass::text
                from pg_catalog.pg_index as indexes
                inner join pg_catalog.pg_class as classes on indexes.indexrelid = classes.oid
                inner join pg_catalog.pg_am as methods on classes.relam = methods.oid
                where
                    indexes.indrelid = to_regclass({{ quote_literal(table) }})
                    and indexes.indisvalid
                    and methods.amname = 'btree'
                    and indexes.indisunique = {{ 'true' if object.unique else 'false' }}
                    and indexes.indpred is null
                    and indexes.indexprs is null
                    and indexes.indnkeyatts = {{ object.columns | length }}
                    and (
                        select array_agg(attributes.attname::text order by keys.ordinality)
                        from unnest(indexes.indkey::int2 []) with ordinality as keys (attnum, ordinality)
                        inner join pg_catalog.pg_attribute as attributes
                            on attributes.attrelid = indexes.indrelid and attributes.attnum = keys.attnum
                        where keys.ordinality <= {{ object.columns | length }}
                    ) = array[{% for column in object.columns %}{{ quote_literal(column) }}{{ ", " if not loop.last }}{% endfor %}]::text []
                order by classes.relname
                limit 1
            );
            {%- else %}
            v_found := null;
            {%- endif %}
            if v_found is not null then
                v_unchanged := array_append(v_unchanged, ({{ label }} || ' (as ' || v_found || ')')::text);
            else
                {%- set column_list = [] -%}
                {%- for column in object.columns -%}
                    {%- do column_list.append(quote_identifier(column)) -%}
                {%- endfor %}
                {{ schema_change_ddl(dry_run,
                    "create " ~ ("unique " if object.unique else "") ~ "index " ~ quote_identifier(object.name) ~ " on " ~ table
                    ~ " (" ~ column_list | join(", ") ~ ")"
                    ~ (" where " ~ object.where if object.where is not none else "")) }}
                v_changed := array_append(v_changed, {{ label }}::text);
            end if;
        end if;
        {%- else %}
        if to_regclass({{ quote_literal(index) }}) is not null then
            {{ schema_change_ddl(dry_run, "drop index " ~ index) }}
            v_changed := array_append(v_changed, {{ label }}::text);
        else
            v_unchanged := array_append(v_unchanged, {{ label }}::text);
        end if;
        {%- endif %}
    {%- elif object.kind == 'rename_column' -%}
        {%- set from_column, to_column = (object.old, object.new) if direction == 'up' else (object.new, object.old) -%}
        v_found := concat_ws(',',
            {%- for column in [from_column, to_column] %}
            (
                select {{ quote_literal(column) }}
                from pg_catalog.pg_attribute as attributes
                where
                    attributes.attrelid = to_regclass({{ quote_literal(table) }})
                    and attributes.attname = {{ quote_literal(column) }}
                    and not attributes.attisdropped
            ){{ "," if not loop.last }}
            {%- endfor %}
        );
        if v_found = {{ quote_literal(from_column) }} then
            {{ schema_change_ddl(dry_run, "alter table " ~ table ~ " rename column " ~ quote_identifier(from_column) ~ " to " ~ quote_identifier(to_column)) }}
            v_changed := array_append(v_changed, {{ label }}::text);
        elsif v_found = {{ quote_literal(to_column) }} then
            v_unchanged := array_append(v_unchanged, {{ label }}::text);
        else
            raise exception '%: expected exactly one of the columns % and %, found %',
                {{ quote_literal(table) }}, {{ quote_literal(from_column) }}, {{ quote_literal(to_column) }},
                coalesce(nullif(v_found, ''), 'neither');
        end if;
    {%- elif object.kind == 'view' -%}
        {%- set view = tenant_relation(schema, object.name) -%}
        v_found := (
            select classes.relkind::text from pg_catalog.pg_class as classes
            where classes.oid = to_regclass({{ quote_literal(view) }})
        );
        if v_found is not null and v_found <> 'v' then
            raise exception '% exists and is not a view: rename it or leave this schema out', {{ quote_literal(view) }};
        end if;
        {%- if direction == 'up' %}
        if v_found is null then
            {{ schema_change_ddl(dry_run, "create view " ~ view ~ " as " ~ object.select_sql | replace('{schema}', quote_identifier(schema))) }}
            v_changed := array_append(v_changed, {{ label }}::text);
        else
            v_unchanged := array_append(v_unchanged, {{ label }}::text);
        end if;
        {%- else %}
        if v_found is not null then
            {{ schema_change_ddl(dry_run, "drop view " ~ view) }}
            v_changed := array_append(v_changed, {{ label }}::text);
        else
            v_unchanged := array_append(v_unchanged, {{ label }}::text);
        end if;
        {%- endif %}
    {%- endif %}
{%- endmacro %}


{% macro schema_change_ddl(dry_run, statement) -%}
    {#- One DDL statement in plpgsql, or nothing in a dry run. -#}
    {%- if dry_run -%}
        null;
    {%- else -%}
        {{ statement }};
    {%- endif -%}
{%- endmacro %}
