CREATE TABLE `session_spend` (
	`subscriber_id` text NOT NULL,
	`session_key` text NOT NULL,
	`spent_micro_usd` integer NOT NULL,
	`requests` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`subscriber_id`, `session_key`)
);
--> statement-breakpoint
CREATE INDEX `session_spend_updated_idx` ON `session_spend` (`updated_at`);