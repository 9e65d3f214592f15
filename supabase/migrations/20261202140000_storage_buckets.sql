-- longhaul: the Supabase Storage buckets the kinds use, and who may touch their objects.
--   recordings       private; apps upload files for recording_analysis as <user id>/<name> and submit
--                    storage://recordings/<user id>/<name>; the Function App reads them with the service role.
--   longhaul-images  private; generated images when they are kept in Supabase Storage instead of Blob Storage.
-- Buckets exist only on a real Supabase project (schema storage). On plain Postgres (the local host, tests) there is
-- no storage schema and this migration does nothing, so the same migrations apply everywhere.

do $$
begin
  if to_regclass('storage.buckets') is null then
    raise notice 'no storage schema (plain Postgres): buckets skipped';
    return;
  end if;

  insert into storage.buckets (id, name, public)
  values ('recordings', 'recordings', false), ('longhaul-images', 'longhaul-images', false)
  on conflict (id) do nothing;

  -- A signed-in user manages the objects under a folder named after their id; nothing else in these buckets is
  -- reachable with a user token (RLS on storage.objects denies by default). The service role bypasses RLS.
  create policy "recordings: users read their own folder" on storage.objects
    for select to authenticated
    using (bucket_id = 'recordings' and (storage.foldername(name))[1] = (select auth.uid())::text);
  create policy "recordings: users upload to their own folder" on storage.objects
    for insert to authenticated
    with check (bucket_id = 'recordings' and (storage.foldername(name))[1] = (select auth.uid())::text);
  create policy "recordings: users delete from their own folder" on storage.objects
    for delete to authenticated
    using (bucket_id = 'recordings' and (storage.foldername(name))[1] = (select auth.uid())::text);
end
$$;
