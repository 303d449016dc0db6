"""Alerts on funnel conversion: rules (a funnel, a scope, a condition), their evaluation over a
rolling window, each alert's lifecycle, notification channels and the history of all of it."""
