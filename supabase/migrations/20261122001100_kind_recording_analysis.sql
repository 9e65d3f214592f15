-- longhaul kind `recording_analysis`: a recording's length is unknown until it is downloaded, so a recording is priced
-- as one unit at submission.

create function longhaul.units_recording_analysis(p_input jsonb)
returns bigint
language plpgsql
immutable
set search_path = ''
as $$
begin
  if coalesce(p_input ->> 'url', '') !~ '^(https?|storage)://' then
    raise exception using errcode = 'LH400', message = 'input.url: must be an http(s) URL or storage://bucket/path';
  end if;
  return 1;
end
$$;
comment on function longhaul.units_recording_analysis is 'Billable units of a recording: one.';
revoke all on function longhaul.units_recording_analysis(jsonb) from public, anon, authenticated;
grant execute on function longhaul.units_recording_analysis(jsonb) to service_role;

insert into public.job_pricing (kind, unit, credits_per_unit, min_credits, description)
values ('recording_analysis', 'recording', 10, 0, 'Recordings up to MAX_FILE_SIZE_MB: transcription and analysis, 10 credits each.');
