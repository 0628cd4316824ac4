-- The web app (src/web, src/http/web): who signed in through which OpenID Connect provider,
-- signed-in browser sessions (so sign-out and blocking end them server-side), and the events that
-- sign-up and key-creation rate limits count. Blocking a subscriber uses subscribers.disabled_at.
CREATE TABLE `oidc_identities` (
	`issuer` text NOT NULL,
	`subject` text NOT NULL,
	`subscriber_id` text NOT NULL,
	`email` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_login_at` integer NOT NULL,
	PRIMARY KEY(`issuer`, `subject`),
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `oidc_identities_subscriber_idx` ON `oidc_identities` (`subscriber_id`);
--> statement-breakpoint
CREATE TABLE `web_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`role` text NOT NULL,
	`subscriber_id` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE INDEX `web_sessions_subscriber_idx` ON `web_sessions` (`subscriber_id`);
--> statement-breakpoint
CREATE TABLE `web_rate_events` (
	`scope` text NOT NULL,
	`key` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `web_rate_events_scope_key_idx` ON `web_rate_events` (`scope`, `key`, `created_at`);
