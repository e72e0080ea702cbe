{#- How this project takes locks on tables the app uses (products; product_images
    after cut-over) while the app keeps writing: a short lock_timeout, a bounded
    number of retries with a growing wait between them (as GitLab's
    with_lock_retries and pgroll's retry on lock_timeout), and, when the retries
    run out, an error that names the lock and the backends holding it.
    See macros/locks/_macros.yml. -#}

{% macro lock_settings() %}
    {#- The vars lock_timeout, lock_retries and lock_retry_wait, checked. -#}
    {%- set lock_timeout = var('lock_timeout', '1s') | string | trim -%}
    {%- if not modules.re.match('^[0-9]+(\\.[0-9]+)?\\s*(us|ms|s|min)?$', lock_timeout) or modules.re.match('^0+(\\.0+)?\\s*[a-z]*$', lock_timeout) -%}
        {{ exceptions.raise_compiler_error(
            "var lock_timeout must be a positive PostgreSQL duration such as '1s', '500ms' or '2min' (0 would wait forever), got "
            ~ lock_timeout
        ) }}
    {%- endif -%}
    {%- set retries = var('lock_retries', 5) -%}
    {%- if retries is not number or retries != retries | int or retries < 0 or retries > 100 -%}
        {{ exceptions.raise_compiler_error("var lock_retries must be an integer 0..100, got " ~ retries) }}
    {%- endif -%}
    {%- set wait = var('lock_retry_wait', 0.5) -%}
    {%- if wait is not number or wait < 0 or wait > 60 -%}
        {{ exceptions.raise_compiler_error("var lock_retry_wait must be a number of seconds 0..60, got " ~ wait) }}
    {%- endif -%}
    {{ return({'lock_timeout': lock_timeout, 'retries': retries | int, 'wait': wait | float}) }}
{% endmacro %}


{% macro conflicting_lock_modes(wanted_mode) %}
    {#- The table lock modes that conflict with wanted_mode (PostgreSQL's table
        "Conflicting Lock Modes"). 'write' stands for an INSERT/UPDATE/DELETE and
        its row locks: it also waits for backends that hold row locks, whose
        table lock is RowShareLock (SELECT ... FOR UPDATE) or RowExclusiveLock. -#}
    {%- set matrix = {
        'AccessShareLock': ['AccessExclusiveLock'],
        'RowShareLock': ['ExclusiveLock', 'AccessExclusiveLock'],
        'RowExclusiveLock': ['ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'],
        'ShareUpdateExclusiveLock': ['ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'],
        'ShareLock': ['RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'],
        'ShareRowExclusiveLock': ['RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'],
        'ExclusiveLock': ['RowShareLock', 'RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'],
        'AccessExclusiveLock': ['AccessShareLock', 'RowShareLock', 'RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'],
        'write': ['RowShareLock', 'RowExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'],
    } -%}
    {%- if wanted_mode not in matrix -%}
        {{ exceptions.raise_compiler_error(
            "conflicting_lock_modes: wanted_mode must be one of " ~ matrix.keys() | list | join(", ") ~ ", got " ~ wanted_mode
        ) }}
    {%- endif -%}
    {{ return(matrix[wanted_mode]) }}
{% endmacro %}


{% macro tenant_lock_key(tenant_literal) -%}
    {#- The bigint key of a tenant's migration advisory lock: the migration and the
        run-operations hold it exclusively, ProductImageService shared. -#}
    hashtextextended('product_images:' || {{ tenant_literal }}, 0)
{%- endmacro %}


{% macro lock_blockers_sql(relations, wanted_mode, tenant_literal=none) -%}
    {#- A text expression: the backends that hold a lock conflicting with
        wanted_mode on one of relations (a regclass[] expression), or the tenant's
        advisory lock, each with pid, lock, state, how long its transaction has
        been open, role, application and the start of its query; null when none.
        A role that is no superuser sees the state, times and query of another
        role's backend only with pg_read_all_stats (PostgreSQL's statistics
        views hide them): the line then says so, and still names pid, role and
        application, which every role sees. -#}
    (
        select
            string_agg(
                format(
                    'pid %s holds %s on %s (%s, transaction open %s s, role %s, application %L): %s',
                    locks.pid,
                    locks.mode,
                    case
                        when locks.locktype = 'advisory' then 'the tenant''s migration lock'
                        else locks.relation::regclass::text
                    end,
                    coalesce(
                        activity.state,
                        case
                            when activity.query = '<insufficient privilege>'
                                then 'state hidden from this role: grant it pg_read_all_stats to see it'
                            else 'unknown state'
                        end
                    ),
                    coalesce(round(extract(epoch from clock_timestamp() - activity.xact_start)::numeric, 1)::text, '?'),
                    coalesce(activity.usename::text, '?'),
                    coalesce(activity.application_name, ''),
                    left(regexp_replace(coalesce(activity.query, ''), '\s+', ' ', 'g'), 120)
                ),
                '; '
                order by activity.xact_start nulls last, locks.pid
            )
        from pg_catalog.pg_locks as locks
        left join pg_catalog.pg_stat_activity as activity on locks.pid = activity.pid
        where
            locks.granted
            and locks.pid <> pg_catalog.pg_backend_pid()
            and (
                (
                    locks.locktype = 'relation'
                    and locks.database = (select oid from pg_catalog.pg_database where datname = current_database())
                    and locks.relation = any({{ relations }})
                    and locks.mode in (
                        {%- for mode in conflicting_lock_modes(wanted_mode) %}
                        {{ quote_literal(mode) }}{{ "," if not loop.last }}
                        {%- endfor %}
                    )
                )
                {%- if tenant_literal is not none %}
                or (
                    locks.locktype = 'advisory'
                    and locks.objsubid = 1
                    and locks.classid = ((({{ tenant_lock_key(tenant_literal) }}) >> 32) & 4294967295)::oid
                    and locks.objid = (({{ tenant_lock_key(tenant_literal) }}) & 4294967295)::oid
                )
                {%- endif %}
            )
    )
{%- endmacro %}


{% macro acquire_tenant_lock(tenant_literal) -%}
    {#- plpgsql: takes the tenant's migration lock (exclusive, until the end of
        the transaction). Another migration run or operation holding it is waited
        for: it finishes its tenant, then this one finds nothing left to do. The
        app's holders (ProductImageService holds it shared) are waited for only
        lock_timeout: a 55P03 from here is retried by with_lock_retries. -#}
    if not pg_catalog.pg_try_advisory_xact_lock({{ tenant_lock_key(tenant_literal) }}) then
        if exists (
            select 1
            from pg_catalog.pg_locks as locks
            where
                locks.locktype = 'advisory'
                and locks.granted
                and locks.mode = 'ExclusiveLock'
                and locks.pid <> pg_catalog.pg_backend_pid()
                and locks.objsubid = 1
                and locks.classid = ((({{ tenant_lock_key(tenant_literal) }}) >> 32) & 4294967295)::oid
                and locks.objid = (({{ tenant_lock_key(tenant_literal) }}) & 4294967295)::oid
        ) then
            perform pg_catalog.set_config('lock_timeout', '0', true);
            perform pg_catalog.pg_advisory_xact_lock({{ tenant_lock_key(tenant_literal) }});
            perform pg_catalog.set_config('lock_timeout', {{ quote_literal(lock_settings().lock_timeout) }}, true);
        else
            perform pg_catalog.pg_advisory_xact_lock({{ tenant_lock_key(tenant_literal) }});
        end if;
    end if;
{%- endmacro %}


{% macro with_lock_retries(lock_description, relations, wanted_mode, tenant_literal=none, attempts_variable=none, also_retry=[]) -%}
    {#- plpgsql, used with {% call %}: runs the caller's body in a subtransaction under the short lock_timeout; when
        it times out on a lock (55P03), or is chosen as a deadlock victim
        (40P01), everything it did is rolled back, it waits and tries again, at
        most lock_retries times, the wait doubling from lock_retry_wait. When the
        retries run out it raises 55P03 with a message naming the lock and the
        backends holding it (see lock_blockers_sql). -#}
    {%- set settings = lock_settings() %}
    declare
        v_lock_attempt integer;
        v_lock_sqlstate text;
        v_lock_message text;
        v_lock_context text;
        v_lock_blockers text;
    begin
        for v_lock_attempt in 1 .. {{ settings.retries + 1 }} loop
            begin
                {%- if attempts_variable %}
                {{ attempts_variable }} := v_lock_attempt;
                {%- endif %}
                perform pg_catalog.set_config('lock_timeout', {{ quote_literal(settings.lock_timeout) }}, true);
                {{ caller() }}
                exit;
            exception when lock_not_available or deadlock_detected
                {%- for condition in also_retry %} or {{ condition }}{% endfor %} then
                get stacked diagnostics
                    v_lock_sqlstate = returned_sqlstate,
                    v_lock_message = message_text,
                    v_lock_context = pg_exception_context;
                -- pg_stat_activity is read once a transaction: without this, the
                -- blockers' state and query would be those of the first attempt.
                perform pg_catalog.pg_stat_clear_snapshot();
                v_lock_blockers := {{ lock_blockers_sql(relations, wanted_mode, tenant_literal) }};
                if v_lock_attempt > {{ settings.retries }} then
                    raise exception using
                        errcode = v_lock_sqlstate,
                        message = format(
                            'gave up after %s attempts (lock_timeout %s, lock_retries %s) waiting for %s: %s; %s',
                            v_lock_attempt,
                            {{ quote_literal(settings.lock_timeout) }},
                            {{ settings.retries }},
                            {{ lock_description }},
                            coalesce('blocked by ' || v_lock_blockers, 'the blocking backend had already finished when the wait ended'),
                            v_lock_message
                        ),
                        detail = coalesce(substring(v_lock_context from 'relation "[^"]+"'), ''),
                        hint = 'Nothing of this step was kept. End or wait for the blocking transaction, then rerun: the rerun resumes here.';
                end if;
                raise notice 'product_images: % (attempt % of %): %; retrying in % s',
                    {{ lock_description }}, v_lock_attempt, {{ settings.retries + 1 }},
                    coalesce('blocked by ' || v_lock_blockers, v_lock_message),
                    {{ settings.wait }} * power(2, v_lock_attempt - 1);
                perform pg_catalog.pg_sleep({{ settings.wait }} * power(2, v_lock_attempt - 1));
            end;
        end loop;
    end;
{%- endmacro %}
