CREATE TABLE `settlement_extrinsics` (
	`id` text PRIMARY KEY NOT NULL,
	`settlement_id` text NOT NULL,
	`kind` text NOT NULL,
	`signer` text NOT NULL,
	`nonce` integer NOT NULL,
	`tx_hash` text NOT NULL,
	`tx_hex` text NOT NULL,
	`birth_block` integer NOT NULL,
	`death_block` integer NOT NULL,
	`status` text NOT NULL,
	`block_number` integer,
	`block_hash` text,
	`error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `settlement_extrinsics_hash_uq` ON `settlement_extrinsics` (`tx_hash`);--> statement-breakpoint
CREATE INDEX `settlement_extrinsics_settlement_idx` ON `settlement_extrinsics` (`settlement_id`);--> statement-breakpoint
CREATE TABLE `settlement_locks` (
	`netuid` integer PRIMARY KEY NOT NULL,
	`owner` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `settlement_miners` (
	`settlement_id` text NOT NULL,
	`hotkey` text NOT NULL,
	`uid` integer,
	`coldkey` text,
	`requests_counted` integer NOT NULL,
	`requests_excluded` integer NOT NULL,
	`prompt_tokens` integer NOT NULL,
	`completion_tokens` integer NOT NULL,
	`value_pusd` text NOT NULL,
	`success_ppm` integer NOT NULL,
	`honesty_ppm` integer NOT NULL,
	`canary_ppm` integer NOT NULL,
	`quality_ppm` integer NOT NULL,
	`work` text NOT NULL,
	`weight` integer NOT NULL,
	`payout_rao` text NOT NULL,
	`payout_status` text NOT NULL,
	PRIMARY KEY(`settlement_id`, `hotkey`)
);
--> statement-breakpoint
CREATE TABLE `settlements` (
	`id` text PRIMARY KEY NOT NULL,
	`netuid` integer NOT NULL,
	`epoch` integer NOT NULL,
	`epoch_blocks` integer NOT NULL,
	`planned_at_block` integer NOT NULL,
	`window_start` integer NOT NULL,
	`window_end` integer NOT NULL,
	`validator_hotkey` text NOT NULL,
	`validator_uid` integer,
	`mode` text NOT NULL,
	`version_key` integer NOT NULL,
	`weights_status` text NOT NULL,
	`weights` text NOT NULL,
	`salt` text,
	`commit_hash` text,
	`commit_block` integer,
	`payout_status` text NOT NULL,
	`revenue_micro_usd` integer NOT NULL,
	`payout_pool_rao` text NOT NULL,
	`formula` text NOT NULL,
	`last_error` text,
	`last_error_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `settlements_netuid_epoch_uq` ON `settlements` (`netuid`,`epoch`);