ALTER TABLE `stripe_subscriptions` ADD `period_version` text DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE INDEX `stripe_customers_subscriber_idx` ON `stripe_customers` (`subscriber_id`);