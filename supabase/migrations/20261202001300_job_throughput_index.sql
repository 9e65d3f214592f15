-- longhaul: the operator's throughput figure (GET /api/stats: jobs completed and failed per minute over the last hour)
-- reads job_events by time. Without an index that is a scan of every transition ever recorded; this partial index
-- holds only the terminal transitions, so the last hour is a short range scan however large the log grows.

create index job_events_finished_at on public.job_events (created_at) where to_status in ('completed', 'failed');
comment on index public.job_events_finished_at is 'Terminal transitions by time: throughput per minute for GET /api/stats and the dashboard.';
