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
