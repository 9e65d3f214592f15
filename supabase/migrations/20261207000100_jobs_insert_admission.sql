-- longhaul: what an insert into public.jobs must pass before anything else looks at it. A signed-in user reaches this
-- insert through the Data API, and longhaul.jobs_before_insert (security definer) reads balances and idempotency keys:
-- so the owner is checked first, with one answer whether or not the named user exists, then the input's size, then a
-- recording's storage path. Runs as the inserting role (security invoker), reads nothing but the new row and calls
-- nothing in schema longhaul (which the inserting user cannot use).
--
-- Triggers of one event fire in name order: jobs_0_admit runs before jobs_before_insert.

create function longhaul.jobs_admit()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  -- 32 MiB: the HTTP API's body limit. Measured as stored (binary jsonb), so shapes that grow when parsed — millions
  -- of tiny values — are refused even below 32 MiB of text.
  c_max_input_bytes constant integer := 33554432;
  v_url text;
  v_parts text[];
  v_part text;
begin
  -- 1. Ownership, before any lookup: one answer whether or not the named user exists, has credits or used the key.
  if (current_user in ('anon', 'authenticated') or coalesce((select auth.role()), '') in ('anon', 'authenticated'))
     and new.user_id is distinct from (select auth.uid()) then
    raise exception using errcode = '42501', message = 'user_id: a signed-in user can only submit jobs for themselves';
  end if;
  -- 2. Size: what a signed-in user may make the engine hold and read back.
  if pg_column_size(new.input) > c_max_input_bytes then
    raise exception using errcode = 'LH400',
      message = format('input: %s bytes as stored, more than the %s allowed', pg_column_size(new.input), c_max_input_bytes);
  end if;
  -- 3. A recording in Supabase Storage must be the owner's, refused here before it is charged. Storage and fetch()
  -- undo percent-escapes of dots and separators ('%2e%2e' is '..'), so the check reads what they will see.
  if new.kind = 'recording_analysis' and jsonb_typeof(new.input) = 'object' and left(new.input ->> 'url', 10) = 'storage://' then
    v_url := substr(new.input ->> 'url', 11);
    v_url := regexp_replace(v_url, '%2e', '.', 'gi');
    v_url := regexp_replace(v_url, '%2f', '/', 'gi');
    v_url := regexp_replace(v_url, '%5c', '/', 'gi');
    v_parts := string_to_array(replace(v_url, '\', '/'), '/');
    if coalesce(array_length(v_parts, 1), 0) < 3 or v_parts[1] <> 'recordings' or v_parts[2] is distinct from new.user_id::text then
      raise exception using errcode = 'LH400',
        message = 'input.url: a storage:// recording must be storage://recordings/<owner user id>/<file path>';
    end if;
    foreach v_part in array v_parts[3:] loop
      if v_part in ('', '.', '..') then
        raise exception using errcode = 'LH400',
          message = 'input.url: a storage:// path may not contain empty, "." or ".." segments (percent-encoded ones included)';
      end if;
    end loop;
  end if;
  return new;
end
$$;
comment on function longhaul.jobs_admit is 'First BEFORE INSERT check on public.jobs: a signed-in caller may only name themselves (42501), the input is at most 32 MiB as stored (LH400), a storage:// recording lies in recordings/<owner>/ (LH400).';

create trigger jobs_0_admit before insert on public.jobs for each row execute function longhaul.jobs_admit();

revoke all on function longhaul.jobs_admit() from public, anon, authenticated;
