-- longhaul kind `recording_analysis`, priced pro rata: a recording still costs 10 credits at submission, now as ten
-- billable tenths, so a recording cancelled or failed part-way gets back the tenths of its segments that were never
-- transcribed (the length is unknown until download; the segments then carry the ten tenths between them).

create or replace function longhaul.units_recording_analysis(p_input jsonb)
returns bigint
language plpgsql
immutable
set search_path = ''
as $$
begin
  if coalesce(p_input ->> 'url', '') !~ '^(https?|storage)://' then
    raise exception using errcode = 'LH400', message = 'input.url: must be an http(s) URL or storage://bucket/path';
  end if;
  return 10;
end
$$;
comment on function longhaul.units_recording_analysis is 'Billable units of a recording: ten tenths, spread over its transcription segments.';

update public.job_pricing
set unit = 'tenth of a recording',
    credits_per_unit = 1,
    description = 'Recordings up to MAX_FILE_SIZE_MB: 10 credits each; tenths whose segments were not transcribed (cancel, failure) are refunded.'
where kind = 'recording_analysis';
