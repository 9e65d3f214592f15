-- longhaul: a recording uploaded with `upsert: true` replaces the object in place, which Storage checks against an
-- UPDATE policy (besides SELECT and INSERT): users may replace files in their own folder of the recordings bucket and
-- nowhere else. Also creates the buckets and the earlier policies where they are missing (a database that gained the
-- storage schema after 20261202140000 ran), so every database ends with the same four policies.

do $$
begin
  if to_regclass('storage.objects') is null then
    raise notice 'no storage schema (plain Postgres): storage policies skipped';
    return;
  end if;

  insert into storage.buckets (id, name, public)
  values ('recordings', 'recordings', false), ('longhaul-images', 'longhaul-images', false)
  on conflict (id) do nothing;

  if not exists (select 1 from pg_policies where schemaname = 'storage' and tablename = 'objects' and policyname = 'recordings: users read their own folder') then
    create policy "recordings: users read their own folder" on storage.objects
      for select to authenticated
      using (bucket_id = 'recordings' and (storage.foldername(name))[1] = (select auth.uid())::text);
  end if;
  if not exists (select 1 from pg_policies where schemaname = 'storage' and tablename = 'objects' and policyname = 'recordings: users upload to their own folder') then
    create policy "recordings: users upload to their own folder" on storage.objects
      for insert to authenticated
      with check (bucket_id = 'recordings' and (storage.foldername(name))[1] = (select auth.uid())::text);
  end if;
  if not exists (select 1 from pg_policies where schemaname = 'storage' and tablename = 'objects' and policyname = 'recordings: users delete from their own folder') then
    create policy "recordings: users delete from their own folder" on storage.objects
      for delete to authenticated
      using (bucket_id = 'recordings' and (storage.foldername(name))[1] = (select auth.uid())::text);
  end if;
  -- USING: the row replaced is the user's; WITH CHECK: the row written stays in the user's folder.
  create policy "recordings: users replace files in their own folder" on storage.objects
    for update to authenticated
    using (bucket_id = 'recordings' and (storage.foldername(name))[1] = (select auth.uid())::text)
    with check (bucket_id = 'recordings' and (storage.foldername(name))[1] = (select auth.uid())::text);
end
$$;
