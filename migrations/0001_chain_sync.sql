CREATE TABLE `chain_sync` (
	`netuid` integer PRIMARY KEY NOT NULL,
	`block` integer NOT NULL,
	`block_hash` text NOT NULL,
	`synced_at` integer NOT NULL,
	`found` integer NOT NULL,
	`kept` integer NOT NULL,
	`skipped` integer NOT NULL,
	`deactivated` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`last_error_code` text,
	`last_error_at` integer
);
