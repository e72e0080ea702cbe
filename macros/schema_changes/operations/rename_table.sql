{#- Operation rename_table: ALTER TABLE … RENAME, never drop and create. start
    renames the table and what carries its name (indexes, the constraints they
    back, check and foreign key constraints, owned sequences: old_… becomes
    new_…); foreign keys that point at it follow by themselves. The previous
    version keeps the old name as a view (see schema_change_old_views_sql).
    complete has nothing left; rollback renames everything back. -#}

{% macro schema_change_rename_table(table, to) %}
    {{ return({'kind': 'rename_table', 'table': table, 'to': to}) }}
{% endmacro %}


{% macro schema_change_rename_table__start(schema, operation, dry_run) -%}
    {{ schema_change_rename_table_sql(schema, operation.table, operation.to, dry_run) }}
{%- endmacro %}


{% macro schema_change_rename_table__rollback(schema, operation, dry_run) -%}
    {{ schema_change_rename_table_sql(schema, operation.to, operation.table, dry_run) }}
{%- endmacro %}


{% macro schema_change_rename_table_sql(schema, from_table, to_table, dry_run) -%}
    {#- plpgsql: renames from_table to to_table and its objects named from_table_…;
        nothing when to_table is there and from_table is not; raises when both or
        neither are. -#}
    {%- set from_relation = tenant_relation(schema, from_table) -%}
    {%- set to_relation = tenant_relation(schema, to_table) -%}
    {%- set label = 'renamed table ' ~ from_table ~ ' to ' ~ to_table %}
    if to_regclass({{ quote_literal(from_relation) }}) is not null and to_regclass({{ quote_literal(to_relation) }}) is null then
        {{ schema_change_ddl(dry_run, 'alter table ' ~ from_relation ~ ' rename to ' ~ quote_identifier(to_table), label) }}
        for v_sql in
            with

            renamed_table as (
                select coalesce(to_regclass({{ quote_literal(to_relation) }}), to_regclass({{ quote_literal(from_relation) }})) as oid
            ),

            named_objects as (
                select 'index' as object_kind, indexes.indexrelid::regclass::text as object_name, classes.relname as local_name
                from pg_catalog.pg_index as indexes
                inner join pg_catalog.pg_class as classes on indexes.indexrelid = classes.oid
                where indexes.indrelid = (select renamed_table.oid from renamed_table)
                union all
                select 'sequence', sequences.oid::regclass::text, sequences.relname
                from pg_catalog.pg_depend as dependencies
                inner join pg_catalog.pg_class as sequences on dependencies.objid = sequences.oid
                where
                    dependencies.refobjid = (select renamed_table.oid from renamed_table)
                    and dependencies.classid = 'pg_catalog.pg_class'::regclass
                    and dependencies.deptype in ('a', 'i')
                    and sequences.relkind = 'S'
                union all
                select 'constraint', constraints.conname, constraints.conname
                from pg_catalog.pg_constraint as constraints
                where
                    constraints.conrelid = (select renamed_table.oid from renamed_table)
                    and constraints.contype in ('c', 'f')
            )

            select
                case named_objects.object_kind
                    when 'constraint' then format('alter table %s rename constraint %I to %I',
                        {{ quote_literal(to_relation) }}, named_objects.local_name,
                        {{ quote_literal(to_table) }} || substr(named_objects.local_name, {{ from_table | length + 1 }}))
                    else format('alter %s %s rename to %I', named_objects.object_kind, named_objects.object_name,
                        {{ quote_literal(to_table) }} || substr(named_objects.local_name, {{ from_table | length + 1 }}))
                end
            from named_objects
            where left(named_objects.local_name, {{ from_table | length + 1 }}) = {{ quote_literal(from_table ~ '_') }}
            order by 1
        loop
            execute v_sql;
            {%- if dry_run %}
            v_changed := array_append(v_changed, v_sql);
            {%- endif %}
        end loop;
    elsif to_regclass({{ quote_literal(to_relation) }}) is not null and to_regclass({{ quote_literal(from_relation) }}) is null then
        {{ schema_change_unchanged('table ' ~ from_table ~ ' renamed ' ~ to_table) }}
    else
        raise exception '%: expected exactly one of the tables % and %, found %', {{ quote_literal(schema) }},
            {{ quote_literal(from_table) }}, {{ quote_literal(to_table) }},
            case when to_regclass({{ quote_literal(from_relation) }}) is null then 'neither' else 'both' end;
    end if;
{%- endmacro %}
