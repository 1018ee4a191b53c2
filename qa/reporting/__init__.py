"""Reports: the agent feedback report and the manager dashboards, aggregated in SQL."""
