CREATE TABLE `settlement_chain` (
	`netuid` integer PRIMARY KEY NOT NULL,
	`genesis_hash` text NOT NULL,
	`first_seen_at` integer NOT NULL
);
