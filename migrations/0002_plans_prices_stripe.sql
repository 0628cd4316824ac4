CREATE TABLE `credit_grants` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`amount_micro_usd` integer NOT NULL,
	`note` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `credit_grants_subscriber_idx` ON `credit_grants` (`subscriber_id`);--> statement-breakpoint
CREATE TABLE `model_prices` (
	`model` text PRIMARY KEY NOT NULL,
	`input_micro_usd_per_mtok` integer NOT NULL,
	`output_micro_usd_per_mtok` integer NOT NULL,
	`cached_input_micro_usd_per_mtok` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `plans` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`price_micro_usd` integer DEFAULT 0 NOT NULL,
	`allowance_micro_usd` integer NOT NULL,
	`requests_per_minute` integer NOT NULL,
	`tokens_per_minute` integer NOT NULL,
	`concurrent_requests` integer NOT NULL,
	`models` text,
	`stripe_price_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `plans_stripe_price_id_unique` ON `plans` (`stripe_price_id`);--> statement-breakpoint
CREATE TABLE `stripe_customers` (
	`customer_id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `stripe_events` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`created` integer NOT NULL,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `stripe_subscriptions` (
	`id` text PRIMARY KEY NOT NULL,
	`customer_id` text,
	`subscriber_id` text,
	`status` text,
	`status_version` text DEFAULT '' NOT NULL,
	`price_id` text,
	`price_version` text DEFAULT '' NOT NULL,
	`period_start` integer,
	`period_end` integer,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `stripe_subscriptions_customer_idx` ON `stripe_subscriptions` (`customer_id`);--> statement-breakpoint
CREATE INDEX `stripe_subscriptions_subscriber_idx` ON `stripe_subscriptions` (`subscriber_id`);--> statement-breakpoint
ALTER TABLE `subscribers` ADD `plan_id` text REFERENCES plans(id);--> statement-breakpoint
ALTER TABLE `usage_events` ADD `cached_prompt_tokens_reported` integer;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `cost_micro_usd` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Seed plans (money in integer micro-USD). 'unlimited' is for operators, dev and tests; never sold.
INSERT INTO `plans` (`id`, `name`, `price_micro_usd`, `allowance_micro_usd`, `requests_per_minute`, `tokens_per_minute`, `concurrent_requests`, `models`, `stripe_price_id`, `created_at`, `updated_at`) VALUES
	('free', 'Free', 0, 200000, 20, 40000, 2, NULL, NULL, CAST(strftime('%s','now') AS INTEGER) * 1000, CAST(strftime('%s','now') AS INTEGER) * 1000),
	('pro', 'Pro', 10000000, 10000000, 600, 1000000, 20, NULL, NULL, CAST(strftime('%s','now') AS INTEGER) * 1000, CAST(strftime('%s','now') AS INTEGER) * 1000),
	('unlimited', 'Unlimited (internal)', 0, 1000000000000, 1000000, 1000000000, 10000, NULL, NULL, CAST(strftime('%s','now') AS INTEGER) * 1000, CAST(strftime('%s','now') AS INTEGER) * 1000);
--> statement-breakpoint
-- The default price of every model without its own row: $0.20 / $0.60 / $0.05 per million input / output / cached-input tokens.
INSERT INTO `model_prices` (`model`, `input_micro_usd_per_mtok`, `output_micro_usd_per_mtok`, `cached_input_micro_usd_per_mtok`, `updated_at`) VALUES
	('*', 200000, 600000, 50000, CAST(strftime('%s','now') AS INTEGER) * 1000);
