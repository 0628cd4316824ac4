ALTER TABLE `miners` ADD `incentive` real DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `miners` ADD `stake_rao` text DEFAULT '0' NOT NULL;