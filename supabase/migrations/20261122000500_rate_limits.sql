-- longhaul: one rate limit shared by every process and instance, per (provider, model, key) — requests per minute and
-- tokens per minute, as GCRA (generic cell rate algorithm) on two theoretical arrival times. One row per limit; one
-- statement per call, so the database serialises concurrent callers on the row lock and no two get the same slot.

create table longhaul.rate_limits (
  key text primary key,
  -- Theoretical arrival time of the next request / token: requests are spaced 60 s / rpm apart.
  request_tat timestamptz not null default '-infinity',
  token_tat timestamptz not null default '-infinity',
  -- Set from a provider's 429 / Retry-After / x-ratelimit-reset: nobody calls before it.
  paused_until timestamptz not null default '-infinity',
  updated_at timestamptz not null default now()
);
comment on table longhaul.rate_limits is 'Shared rate-limit state per provider, model and API key (the key is a hash, never the secret).';

create function longhaul.rate_acquire(p_key text, p_rpm integer, p_tpm integer, p_tokens integer, p_max_wait_ms integer)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_now timestamptz := clock_timestamp();
  v_row longhaul.rate_limits;
  v_req_interval interval := make_interval(secs => 60.0 / greatest(p_rpm, 1));
  -- A token costs 60 s / tpm of the bucket; one call never costs more than the whole minute (else it could never pass).
  v_tok_interval interval := case when p_tpm > 0 then make_interval(secs => least(60.0, 60.0 * greatest(p_tokens, 0) / p_tpm)) else interval '0' end;
  v_start timestamptz;
  v_wait_ms integer;
begin
  insert into longhaul.rate_limits (key) values (p_key) on conflict (key) do nothing;
  select * into v_row from longhaul.rate_limits where key = p_key for update;
  -- The slot this caller would get: after the previous request's slot, after a pause, and once the token bucket (a
  -- minute's worth of tokens) has room for this call's tokens.
  v_start := greatest(v_now, v_row.request_tat, v_row.paused_until,
                      case when p_tpm > 0 then greatest(v_row.token_tat, v_now) + v_tok_interval - make_interval(secs => 60) else '-infinity'::timestamptz end);
  v_wait_ms := ceil(extract(epoch from (v_start - v_now)) * 1000)::integer;
  if v_wait_ms > p_max_wait_ms then
    return v_wait_ms; -- too long to wait in place: nothing reserved, the caller backs off durably
  end if;
  update longhaul.rate_limits set
    request_tat = v_start + v_req_interval,
    token_tat = case when p_tpm > 0 then greatest(token_tat, v_start) + v_tok_interval else token_tat end,
    updated_at = v_now
  where key = p_key;
  return -greatest(v_wait_ms, 0) - 1;
end
$$;
comment on function longhaul.rate_acquire is 'Reserves the next slot of a shared limit. Returns -(wait_ms + 1) when reserved (sleep wait_ms, then call), or a positive wait_ms when the wait exceeds p_max_wait_ms (nothing reserved).';

create function longhaul.rate_consume(p_key text, p_tpm integer, p_tokens integer)
returns void
language sql
set search_path = ''
as $$
  -- Tokens learnt after the call (the output): they push the token budget forward for everyone.
  update longhaul.rate_limits set token_tat = greatest(token_tat, clock_timestamp())
    + make_interval(secs => least(60.0, 60.0 * greatest(p_tokens, 0) / p_tpm)), updated_at = clock_timestamp()
  where key = p_key and p_tpm > 0
$$;
comment on function longhaul.rate_consume is 'Charges tokens used beyond the reservation (e.g. output tokens) to the shared token budget.';

create function longhaul.rate_pause(p_key text, p_until timestamptz)
returns void
language sql
set search_path = ''
as $$
  insert into longhaul.rate_limits (key, paused_until) values (p_key, p_until)
  on conflict (key) do update set paused_until = greatest(longhaul.rate_limits.paused_until, excluded.paused_until), updated_at = clock_timestamp()
$$;
comment on function longhaul.rate_pause is 'The provider asked everyone to wait (429 Retry-After, exhausted x-ratelimit-remaining): no slot before p_until.';

revoke all on longhaul.rate_limits from public, anon, authenticated;
grant all on longhaul.rate_limits to service_role;
revoke all on function longhaul.rate_acquire(text, integer, integer, integer, integer), longhaul.rate_consume(text, integer, integer), longhaul.rate_pause(text, timestamptz) from public, anon, authenticated;
grant execute on function longhaul.rate_acquire(text, integer, integer, integer, integer), longhaul.rate_consume(text, integer, integer), longhaul.rate_pause(text, timestamptz) to service_role;
