-- The recent-requests list rides in the hourly rollup rows (src/billing/usage-writer.ts): each
-- row keeps its newest events while its hour is the newest its subscriber was seen in, and hands
-- them on to usage_recent when a later hour's batch arrives. One row written per subscriber and
-- batch instead of two. Readers see both places through the view below.
ALTER TABLE `usage_hourly` ADD `recent` text;
--> statement-breakpoint
CREATE VIEW `usage_recent_events` AS
  SELECT `subscriber_id`, `events` FROM `usage_recent`
  UNION ALL
  SELECT `subscriber_id`, `recent` AS `events` FROM `usage_hourly` WHERE `recent` IS NOT NULL;
