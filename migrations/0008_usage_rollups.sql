CREATE TABLE `usage_batches` (
	`batch_id` text PRIMARY KEY NOT NULL,
	`events` integer NOT NULL,
	`archive_key` text NOT NULL,
	`flushed_at` integer NOT NULL,
	`applied_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `usage_hourly` (
	`subscriber_id` text NOT NULL,
	`hour` integer NOT NULL,
	`api_key_id` text NOT NULL,
	`model` text NOT NULL,
	`kind` text NOT NULL,
	`day` text NOT NULL,
	`requests` integer NOT NULL,
	`succeeded` integer NOT NULL,
	`prompt_tokens` integer NOT NULL,
	`completion_tokens` integer NOT NULL,
	`prompt_tokens_reported` integer NOT NULL,
	`completion_tokens_reported` integer NOT NULL,
	`cached_prompt_tokens_reported` integer NOT NULL,
	`cost_micro_usd` integer NOT NULL,
	PRIMARY KEY(`subscriber_id`, `hour`, `api_key_id`, `model`, `kind`)
);
--> statement-breakpoint
CREATE TABLE `usage_miner_seconds` (
	`second` integer NOT NULL,
	`miner_hotkey` text NOT NULL,
	`model` text NOT NULL,
	`kind` text NOT NULL,
	`requests` integer NOT NULL,
	`counted` integer NOT NULL,
	`prompt_tokens` integer NOT NULL,
	`completion_tokens` integer NOT NULL,
	`served` integer NOT NULL,
	`failed` integer NOT NULL,
	`refused` integer NOT NULL,
	`cancelled_empty` integer NOT NULL,
	`over_reported` integer NOT NULL,
	`reported_tokens` integer NOT NULL,
	`counted_tokens_of_reported` integer NOT NULL,
	`cost_micro_usd` integer NOT NULL,
	PRIMARY KEY(`second`, `miner_hotkey`, `model`, `kind`)
);
--> statement-breakpoint
CREATE TABLE `usage_recent` (
	`subscriber_id` text PRIMARY KEY NOT NULL,
	`events` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
-- Backfill: the per-request rows written before batching (usage_events) folded into the rollups,
-- so /v1/usage and settlement keep their history. Each folded request gets a ledger row
-- 'ev_<request_id>', the batch id the new consumer gives a legacy single-event queue message:
-- such a message redelivered after the upgrade is not counted twice, and running these statements
-- again (after the old consumer wrote more rows) folds in only rows not folded yet.
-- The settlement classes are the expressions of the legacy USAGE_WINDOW_SQL (usage-class.ts).
INSERT INTO `usage_hourly` (`subscriber_id`, `hour`, `api_key_id`, `model`, `kind`, `day`, `requests`, `succeeded`, `prompt_tokens`, `completion_tokens`,
  `prompt_tokens_reported`, `completion_tokens_reported`, `cached_prompt_tokens_reported`, `cost_micro_usd`)
SELECT coalesce(subscriber_id, ''), created_at / 3600000 * 3600000, coalesce(api_key_id, ''), model, kind,
  strftime('%Y-%m-%d', created_at / 3600000 * 3600, 'unixepoch'), count(*), sum(status = 'ok'), sum(prompt_tokens_counted), sum(completion_tokens_counted),
  coalesce(sum(prompt_tokens_reported), 0), coalesce(sum(completion_tokens_reported), 0), coalesce(sum(cached_prompt_tokens_reported), 0), sum(cost_micro_usd)
FROM `usage_events` u
WHERE NOT EXISTS (SELECT 1 FROM `usage_batches` b WHERE b.batch_id = 'ev_' || u.request_id)
GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (`subscriber_id`, `hour`, `api_key_id`, `model`, `kind`) DO UPDATE SET
  `requests` = `requests` + excluded.`requests`,
  `succeeded` = `succeeded` + excluded.`succeeded`,
  `prompt_tokens` = `prompt_tokens` + excluded.`prompt_tokens`,
  `completion_tokens` = `completion_tokens` + excluded.`completion_tokens`,
  `prompt_tokens_reported` = `prompt_tokens_reported` + excluded.`prompt_tokens_reported`,
  `completion_tokens_reported` = `completion_tokens_reported` + excluded.`completion_tokens_reported`,
  `cached_prompt_tokens_reported` = `cached_prompt_tokens_reported` + excluded.`cached_prompt_tokens_reported`,
  `cost_micro_usd` = `cost_micro_usd` + excluded.`cost_micro_usd`;
--> statement-breakpoint
INSERT INTO `usage_miner_seconds` (`second`, `miner_hotkey`, `model`, `kind`, `requests`, `counted`, `prompt_tokens`, `completion_tokens`, `served`, `failed`,
  `refused`, `cancelled_empty`, `over_reported`, `reported_tokens`, `counted_tokens_of_reported`, `cost_micro_usd`)
SELECT second, miner_hotkey, model, kind,
  count(*),
  sum(served AND NOT over),
  sum(CASE WHEN served AND NOT over THEN pc ELSE 0 END),
  sum(CASE WHEN served AND NOT over THEN cc ELSE 0 END),
  sum(served),
  sum(NOT served AND NOT refused AND NOT cancelled_empty),
  sum(refused),
  sum(cancelled_empty),
  sum(over),
  sum(CASE WHEN served AND has_report THEN reported ELSE 0 END),
  sum(CASE WHEN served AND has_report THEN pc + cc ELSE 0 END),
  sum(cost)
FROM (
  SELECT *, (served AND has_report AND reported > ((pc + cc) * 110 + 99) / 100 + 16) AS over
  FROM (
    SELECT created_at / 1000 * 1000 AS second, coalesce(miner_hotkey, '') AS miner_hotkey, model, kind, cost_micro_usd AS cost,
      prompt_tokens_counted AS pc, completion_tokens_counted AS cc,
      (prompt_tokens_reported IS NOT NULL OR completion_tokens_reported IS NOT NULL) AS has_report,
      coalesce(prompt_tokens_reported, prompt_tokens_counted) + coalesce(completion_tokens_reported, completion_tokens_counted) AS reported,
      (status = 'ok' OR (status = 'client_cancelled' AND completion_tokens_counted > 0)) AS served,
      (status = 'miner_error' AND http_status BETWEEN 400 AND 499) AS refused,
      (status = 'client_cancelled' AND completion_tokens_counted = 0) AS cancelled_empty
    FROM `usage_events` u
    WHERE NOT EXISTS (SELECT 1 FROM `usage_batches` b WHERE b.batch_id = 'ev_' || u.request_id)
  )
)
WHERE true
GROUP BY second, miner_hotkey, model, kind
ON CONFLICT (`second`, `miner_hotkey`, `model`, `kind`) DO UPDATE SET
  `requests` = `requests` + excluded.`requests`,
  `counted` = `counted` + excluded.`counted`,
  `prompt_tokens` = `prompt_tokens` + excluded.`prompt_tokens`,
  `completion_tokens` = `completion_tokens` + excluded.`completion_tokens`,
  `served` = `served` + excluded.`served`,
  `failed` = `failed` + excluded.`failed`,
  `refused` = `refused` + excluded.`refused`,
  `cancelled_empty` = `cancelled_empty` + excluded.`cancelled_empty`,
  `over_reported` = `over_reported` + excluded.`over_reported`,
  `reported_tokens` = `reported_tokens` + excluded.`reported_tokens`,
  `counted_tokens_of_reported` = `counted_tokens_of_reported` + excluded.`counted_tokens_of_reported`,
  `cost_micro_usd` = `cost_micro_usd` + excluded.`cost_micro_usd`;
--> statement-breakpoint
-- Last: the ledger rows that make the two statements above fold each legacy row once.
INSERT INTO `usage_batches` (`batch_id`, `events`, `archive_key`, `flushed_at`, `applied_at`)
SELECT 'ev_' || request_id, 1, '', created_at, CAST(strftime('%s', 'now') AS INTEGER) * 1000 FROM `usage_events`
WHERE true
ON CONFLICT (`batch_id`) DO NOTHING;
