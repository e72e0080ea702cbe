{#- start's last step: the indexes on existing tables, built CONCURRENTLY outside
    any transaction, each schema on its own: a schema whose builds would wait
    past index_lock_timeout for an older transaction fails alone, naming it, and
    the others go on. See _macros.yml. -#}

{% macro schema_change_index_lock_timeout() %}
    {#- var index_lock_timeout (default 5min), checked: a positive duration with
        its unit (0 would let a build wait forever; without a unit the build's
        lock_timeout would read milliseconds and the wait before it seconds). -#}
    {%- set timeout = var('index_lock_timeout', '5min') | string | trim -%}
    {%- if not modules.re.match('^[0-9]+(\\.[0-9]+)?\\s*(us|ms|s|min|h)$', timeout) or modules.re.match('^0+(\\.0+)?\\s*[a-z]*$', timeout) -%}
        {{ exceptions.raise_compiler_error(
            "var index_lock_timeout must be a positive PostgreSQL duration with its unit (us, ms, s, min, h) such as '5min' or '30s' (0 would wait forever), got "
            ~ timeout
        ) }}
    {%- endif -%}
    {{ return(timeout) }}
{% endmacro %}


{% macro schema_change_build_indexes(plan, schema, dry_run, known_blockers=[]) %}
    {#- Every index the operations build on an existing table, CREATE INDEX
        CONCURRENTLY (SHARE UPDATE EXCLUSIVE: the app keeps reading and writing).
        A valid index of the name, or an equivalent one, is kept; an invalid one
        (a build that failed) is dropped concurrently and built again. When one is
        to build, it takes the schema's index-build lock (one start at a time
        builds a schema's indexes: schema_change_lock_index_builds, waited for up
        to var index_lock_timeout) and looks again: an index another start built
        meanwhile is kept. Before the first build it waits, up to var
        index_lock_timeout, for the transactions a build would wait for; when some
        are still there, it builds nothing and returns them in error (at once when
        one of them is in known_blockers, the pids an earlier schema already
        waited for, which it extends). Each index it builds is recorded first in
        the schema's state (created), for rollback. The builds themselves run
        under the schema's build-running lock too (the schema's transactions of
        other runs do not queue behind them, see schema_change_lock_tables_sql).
        The locks are released before it returns or raises (a build that fails
        stops the run: dbt closes its connection, which releases them). Returns
        {changed, unchanged, error}. -#}
    {%- set done = {'changed': [], 'unchanged': [], 'error': none, 'missing': []} -%}
    {%- set wanted = schema_change_indexes_to_build(plan, schema, dry_run, done) -%}
    {%- if not wanted or done.missing -%}
        {{ return(schema_change_indexes_built(plan, schema, done)) }}
    {%- endif -%}
    {%- set lock = schema_change_lock_index_builds(plan, schema) -%}
    {%- if lock.error -%}
        {%- do done.update({'error': lock.error}) -%}
        {{ return(schema_change_indexes_built(plan, schema, done)) }}
    {%- endif -%}
    {%- set done = {'changed': [], 'unchanged': [], 'error': none, 'missing': []} -%}
    {%- set wanted = schema_change_indexes_to_build(plan, schema, dry_run, done, wanted | map(attribute='index.name') | list) -%}
    {%- if wanted and not done.missing -%}
        {%- do done.update({'error': schema_change_wait_for_older_transactions(schema, wanted | map(attribute='index') | list, known_blockers)}) -%}
    {%- endif -%}
    {%- set running = {'held': false} -%}
    {%- if wanted and not done.missing and done.error is none -%}
        {%- set taken = schema_change_lock_index_builds(plan, schema, 'running') -%}
        {%- do done.update({'error': taken.error}) -%}
        {%- do running.update({'held': taken.error is none}) -%}
    {%- endif -%}
    {%- for build in wanted if running.held -%}
        {%- do schema_change_build_index(plan, schema, build.index, build.invalid) -%}
        {%- do done.changed.append(('rebuilt' if build.invalid else 'built') ~ ' index ' ~ build.index.name) -%}
    {%- endfor -%}
    {%- do schema_change_unlock_index_builds(plan, schema, 'running') if running.held else none -%}
    {%- do schema_change_unlock_index_builds(plan, schema) -%}
    {{ return(schema_change_indexes_built(plan, schema, done)) }}
{% endmacro %}


{% macro schema_change_indexes_to_build(plan, schema, dry_run, done, wanted_before=[]) %}
    {#- Looks each index the operations build on an existing table up in the
        catalog: a valid one, or an equivalent one, goes to done.unchanged (named
        "built meanwhile by another start" when in wanted_before, the names an
        earlier look found to build); in a dry run the statements to done.changed;
        an index whose table is missing to done.missing. Returns the others,
        [{index, invalid}]: to build (invalid: drop the failed build first). -#}
    {%- set wanted = [] -%}
    {%- for operation in plan.operations -%}
        {%- set indexes_macro = context.get('schema_change_' ~ operation.kind ~ '__indexes') -%}
        {%- for index in (indexes_macro(operation) if indexes_macro is not none else []) -%}
            {%- set row = adapter.execute(schema_change_index_lookup_sql(schema, index), auto_begin=False, fetch=True)[1].rows[0] -%}
            {%- set meanwhile = ' (built meanwhile by another start)' if index.name in wanted_before else '' -%}
            {%- if row['valid'] -%}
                {%- do done.unchanged.append('index ' ~ index.name ~ meanwhile) -%}
            {%- elif row['equivalent'] and not index.get('exact') -%}
                {%- do done.unchanged.append('index ' ~ index.name ~ ' (as ' ~ row['equivalent'] ~ ')' ~ meanwhile) -%}
            {%- elif dry_run -%}
                {%- do done.changed.append(('drop index concurrently ' ~ tenant_relation(schema, index.name) ~ ';\n    ' if row['invalid'] else '')
                    ~ schema_change_index_ddl(schema, index, concurrently=true)) -%}
            {%- elif not row['table_exists'] -%}
                {%- do done.missing.append(plan.name ~ " (start) " ~ schema ~ ": no table " ~ index.table ~ " to build index " ~ index.name ~ " on") -%}
            {%- else -%}
                {%- do wanted.append({'index': index, 'invalid': row['invalid']}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(wanted) }}
{% endmacro %}


{% macro schema_change_indexes_built(plan, schema, done) %}
    {#- done without its missing tables: raises naming the first one (the
        schema's index-build lock already released). -#}
    {%- if done.missing -%}
        {{ exceptions.raise_compiler_error(done.missing[0]) }}
    {%- endif -%}
    {{ return({'changed': done.changed, 'unchanged': done.unchanged, 'error': done.error}) }}
{% endmacro %}


{% macro schema_change_index_build_lock_key(schema, which='builds') -%}
    {#- SQL: the bigint key of one of the schema's advisory locks (other keys
        than the tenant's migration lock, tenant_lock_key): 'builds', its
        index-build lock, held by the start building its indexes from its first
        look to its last build; 'running', its build-running lock, held by that
        start while its CREATE INDEX CONCURRENTLY run, and shared by the
        schema's transactions (schema_change_lock_tables_sql). -#}
    hashtextextended({{ quote_literal('product_images:' ~ {'builds': 'index_builds', 'running': 'index_build_running'}[which] ~ ':' ~ schema) }}, 0)
{%- endmacro %}


{% macro schema_change_index_build_lock_holders_sql(schema, which='builds') -%}
    {#- SQL: a text expression, the other backends holding one of the schema's
        advisory locks (which: schema_change_index_build_lock_key) ("pid N
        (role R, application 'A', state S, query Q)"), or null. -#}
    (
        select string_agg(format(
            'pid %s (role %s, application %L, %s): %s',
            locks.pid,
            coalesce(activity.usename::text, '?'),
            coalesce(activity.application_name, ''),
            coalesce(activity.state, 'state hidden from this role: grant it pg_read_all_stats to see it'),
            left(regexp_replace(regexp_replace(coalesce(activity.query, ''), '^\s*/\*[^*]*\*/\s*', ''), '\s+', ' ', 'g'), 120)
        ), '; ' order by locks.pid)
        from pg_catalog.pg_locks as locks
        left join pg_catalog.pg_stat_activity as activity on locks.pid = activity.pid
        where
            {{ schema_change_index_build_lock_match_sql(schema, 'locks', which) }}
            and locks.pid <> pg_catalog.pg_backend_pid()
    )
{%- endmacro %}


{% macro schema_change_index_build_lock_match_sql(schema, locks, which='builds') -%}
    {#- SQL: a condition on pg_locks (alias locks), a granted hold of one of the
        schema's advisory locks (which: schema_change_index_build_lock_key) in
        this database. -#}
    {{ locks }}.locktype = 'advisory'
            and {{ locks }}.granted
            and {{ locks }}.database = (select databases.oid from pg_catalog.pg_database as databases where databases.datname = current_database())
            and {{ locks }}.objsubid = 1
            and {{ locks }}.classid = ((({{ schema_change_index_build_lock_key(schema, which) }}) >> 32) & 4294967295)::oid
            and {{ locks }}.objid = (({{ schema_change_index_build_lock_key(schema, which) }}) & 4294967295)::oid
{%- endmacro %}


{% macro schema_change_lock_index_builds(plan, schema, which='builds') %}
    {#- Takes one of the schema's session advisory locks
        (schema_change_index_build_lock_key): 'builds', so that two starts at
        once do not build one index twice (the second would fail with "relation
        already exists"); 'running', which the schema's transactions of other
        runs share while they run. Polled: pg_try_advisory_lock, then 0.2 s of
        pg_sleep, each a short statement of its own, up to var
        index_lock_timeout; never waited for in one statement (pg_advisory_lock),
        which would hold a snapshot the holder's CREATE INDEX CONCURRENTLY waits
        for: a deadlock. Returns {error: null, or the holders when the time ran
        out}. -#}
    {%- set timeout = schema_change_index_lock_timeout() -%}
    {%- set polls = adapter.execute(
        "select (clock_timestamp() + " ~ quote_literal(timeout) ~ "::interval)::text as deadline,"
        ~ " ceil(extract(epoch from " ~ quote_literal(timeout) ~ "::interval) / 0.2)::integer + 1 as count",
        auto_begin=False, fetch=True
    )[1].rows[0] -%}
    {%- set poll -%}
with tried as (select pg_catalog.pg_try_advisory_lock({{ schema_change_index_build_lock_key(schema, which) }}) as locked)

select
    tried.locked,
    clock_timestamp() >= {{ quote_literal(polls['deadline']) }}::timestamptz as expired,
    case when not tried.locked then {{ schema_change_index_build_lock_holders_sql(schema, which) }} end as holders
from tried
cross join lateral pg_catalog.pg_sleep(case when tried.locked then 0 else 0.2 end) as slept
    {%- endset -%}
    {%- set state = {'locked': false, 'expired': false, 'holders': none} -%}
    {%- for attempt in range(polls['count']) if not state.locked and not state.expired -%}
        {%- set row = adapter.execute(poll, auto_begin=False, fetch=True)[1].rows[0] -%}
        {%- if loop.first and not row['locked'] and which == 'builds' -%}
            {{ log(plan.name ~ " (start) " ~ schema ~ ": waiting (index_lock_timeout " ~ timeout ~ ") for another start building this schema's indexes: "
                ~ (row['holders'] or 'the holder just let go'), info=True) }}
        {%- endif -%}
        {%- do state.update({'locked': row['locked'], 'expired': row['expired'], 'holders': row['holders'] or state.holders}) -%}
    {%- endfor -%}
    {%- if state.locked -%}
        {{ return({'error': none}) }}
    {%- endif -%}
    {{ return({'error': "after index_lock_timeout " ~ timeout ~ (
            " another start is still building this schema's indexes: " if which == 'builds'
            else " the start, complete or rollback transaction of another run still holds this schema: "
        ) ~ (state.holders or 'the holder just let go') ~ "; rerun start once it ends"}) }}
{% endmacro %}


{% macro schema_change_unlock_index_builds(plan, schema, which='builds') %}
    {#- Releases one of the schema's advisory locks (schema_change_lock_index_builds). -#}
    {%- set row = adapter.execute(
        "select pg_catalog.pg_advisory_unlock(" ~ schema_change_index_build_lock_key(schema, which) ~ ") as unlocked", auto_begin=False, fetch=True
    )[1].rows[0] -%}
    {%- if not row['unlocked'] -%}
        {{ log(plan.name ~ " (start) " ~ schema ~ ": its " ~ which ~ " lock was not held when released", info=True) }}
    {%- endif -%}
{% endmacro %}


{% macro schema_change_build_index(plan, schema, index, invalid) %}
    {#- Records the index in the schema's state (created: rollback drops only what
        start made), drops the invalid index of its name if any, then builds it
        CONCURRENTLY under lock_timeout = var index_lock_timeout. -#}
    {%- set relation = tenant_relation(schema, index.name) -%}
    {% do adapter.execute(
        "update " ~ schema_change_state_relation() ~ " set created = case when created is null then null"
        ~ " else array_append(array_remove(created, " ~ quote_literal('index ' ~ index.name) ~ "), " ~ quote_literal('index ' ~ index.name) ~ ") end"
        ~ " where change_name = " ~ quote_literal(plan.name) ~ " and schema_name = " ~ quote_literal(schema), auto_begin=False) %}
    {%- if invalid -%}
        {{ log(plan.name ~ " (start) " ~ schema ~ ": index " ~ index.name ~ " is invalid (a build that failed): dropping it", info=True) }}
        {% do adapter.execute("drop index concurrently if exists " ~ relation, auto_begin=False) %}
    {%- endif -%}
    {{ log(plan.name ~ " (start) " ~ schema ~ ": building index " ~ index.name ~ " concurrently", info=True) }}
    {% do adapter.execute("set lock_timeout = " ~ quote_literal(schema_change_index_lock_timeout()), auto_begin=False) %}
    {% do adapter.execute(schema_change_index_ddl(schema, index, concurrently=true), auto_begin=False) %}
    {% do adapter.execute("reset lock_timeout", auto_begin=False) %}
{% endmacro %}


{% macro schema_change_wait_for_older_transactions(schema, indexes, known_blockers) %}
    {#- Waits, up to var index_lock_timeout, until no other backend of this
        database whose transaction began before the wait holds a snapshot (a
        concurrent build waits for every older snapshot, whatever it reads) or a
        lock on a table to index that a build waits for; at once when one of them
        is in known_blockers (pids an earlier schema waited for: a session left
        open fails every schema fast, not each after the timeout), to which it
        adds the ones left. Returns null when none is left, else what each one is
        doing (pid, role, application, state, how long its transaction has been
        open, its query). -#}
    {%- set timeout = schema_change_index_lock_timeout() -%}
    {%- set tables = [] -%}
    {%- for index in indexes -%}{%- do tables.append(quote_literal(tenant_relation(schema, index.table)) ~ '::regclass') -%}{%- endfor -%}
    {%- set block -%}
do $wait$
declare
    v_began timestamptz := clock_timestamp();
    v_blockers text;
    v_pids integer[];
begin
    loop
        perform pg_catalog.pg_stat_clear_snapshot();
        select
            string_agg({{ schema_change_older_transaction_line_sql() }}, '; ' order by activity.xact_start, activity.pid),
            array_agg(activity.pid)
        into v_blockers, v_pids
        {{ schema_change_older_transactions_sql('array[' ~ tables | unique | join(', ') ~ ']') }};
        exit when v_blockers is null
            or clock_timestamp() >= v_began + {{ quote_literal(timeout) }}::interval
            or v_pids && array[{{ known_blockers | join(', ') }}]::integer [];
        perform pg_catalog.pg_sleep(0.1);
    end loop;
    perform pg_catalog.set_config('product_images.index_build_blockers', coalesce(v_blockers, ''), false);
    perform pg_catalog.set_config('product_images.index_build_blocker_pids', coalesce(array_to_string(v_pids, ','), ''), false);
end
$wait$
    {%- endset -%}
    {% do adapter.execute(block, auto_begin=False) %}
    {%- set found = adapter.execute(
        "select current_setting('product_images.index_build_blockers', true) as blockers,"
        ~ " current_setting('product_images.index_build_blocker_pids', true) as pids", auto_begin=False, fetch=True
    )[1].rows[0] -%}
    {%- if not found['blockers'] -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set pids = found['pids'].split(',') | map('int') | list -%}
    {%- set known = pids | select('in', known_blockers) | list -%}
    {%- do known_blockers.extend(pids | reject('in', known_blockers) | list) -%}
    {{ return(
        ("a concurrent build would wait for transactions an earlier schema waited index_lock_timeout " ~ timeout ~ " for: "
            if known else "after index_lock_timeout " ~ timeout ~ " a concurrent build would still wait for: ")
        ~ found['blockers'] ~ "; rerun start once they end"
    ) }}
{% endmacro %}


{% macro schema_change_older_transaction_line_sql() -%}
    {#- A text expression over pg_stat_activity (activity): one backend the
        wait found, "pid N holds a snapshot (state, transaction open S s, role R,
        application 'A'): query". -#}
    format(
        'pid %s holds %s (%s, transaction open %s s, role %s, application %L): %s',
        activity.pid,
        case when activity.backend_xmin is not null then 'a snapshot' else 'a write lock on a table to index' end,
        coalesce(activity.state, 'state hidden from this role: grant it pg_read_all_stats to see it'),
        coalesce(round(extract(epoch from clock_timestamp() - activity.xact_start)::numeric, 1)::text, '?'),
        coalesce(activity.usename::text, '?'),
        coalesce(activity.application_name, ''),
        left(regexp_replace(coalesce(activity.query, ''), '\s+', ' ', 'g'), 120)
    )
{%- endmacro %}


{% macro schema_change_older_transactions_sql(tables) -%}
    {#- The from and where of the wait's query (v_began its start):
        pg_stat_activity as activity, the other backends of this database whose
        transaction began before v_began and that hold a snapshot, or a lock
        conflicting with a build's ShareLock on one of tables (a regclass[]
        expression). -#}
        from pg_catalog.pg_stat_activity as activity
        where
            activity.datname = current_database()
            and activity.pid <> pg_catalog.pg_backend_pid()
            and activity.backend_type is distinct from 'autovacuum worker'
            and activity.xact_start < v_began
            and (
                activity.backend_xmin is not null
                or exists (
                    select 1 from pg_catalog.pg_locks as locks
                    where
                        locks.pid = activity.pid
                        and locks.granted
                        and locks.locktype = 'relation'
                        and locks.relation = any({{ tables }})
                        and locks.mode in (
                            {%- for mode in conflicting_lock_modes('ShareLock') %}
                            {{ quote_literal(mode) }}{{ "," if not loop.last }}
                            {%- endfor %}
                        )
                )
            )
{%- endmacro %}


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


