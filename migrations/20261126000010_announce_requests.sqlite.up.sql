-- SQLite has no notifications, and only one process writes it: that
-- process announces what it logs itself (internal/live's local bus).
SELECT 1;
