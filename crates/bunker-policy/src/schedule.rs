//! `cron(...)` and `rate(...)` schedule expressions.
