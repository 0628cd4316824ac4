CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`key_hash` text NOT NULL,
	`key_prefix` text NOT NULL,
	`name` text,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash_uq` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_subscriber_idx` ON `api_keys` (`subscriber_id`);--> statement-breakpoint
CREATE TABLE `miners` (
	`hotkey` text PRIMARY KEY NOT NULL,
	`uid` integer NOT NULL,
	`netuid` integer,
	`coldkey` text,
	`axon_url` text NOT NULL,
	`models` text DEFAULT '[]' NOT NULL,
	`source` text NOT NULL,
	`active` integer DEFAULT true NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `miners_uid_idx` ON `miners` (`netuid`,`uid`);--> statement-breakpoint
CREATE TABLE `subscribers` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`email` text,
	`external_id` text,
	`created_at` integer NOT NULL,
	`disabled_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `subscribers_external_id_uq` ON `subscribers` (`external_id`);--> statement-breakpoint
CREATE TABLE `usage_events` (
	`request_id` text PRIMARY KEY NOT NULL,
	`kind` text DEFAULT 'subscriber' NOT NULL,
	`subscriber_id` text,
	`api_key_id` text,
	`endpoint` text NOT NULL,
	`model` text NOT NULL,
	`miner_hotkey` text,
	`status` text NOT NULL,
	`http_status` integer NOT NULL,
	`error_code` text,
	`streamed` integer NOT NULL,
	`attempts` integer NOT NULL,
	`prompt_tokens_reported` integer,
	`completion_tokens_reported` integer,
	`prompt_tokens_counted` integer NOT NULL,
	`completion_tokens_counted` integer NOT NULL,
	`ttft_ms` integer,
	`duration_ms` integer NOT NULL,
	`created_at` integer NOT NULL,
	`day` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `usage_subscriber_day_idx` ON `usage_events` (`subscriber_id`,`day`);--> statement-breakpoint
CREATE INDEX `usage_created_idx` ON `usage_events` (`created_at`);--> statement-breakpoint
CREATE INDEX `usage_miner_idx` ON `usage_events` (`miner_hotkey`,`created_at`);