"""weekly_reports (one HTML page per user and week, an index page, `reports` documents) and its check
(the adapters of ``fitness_assets.reporting``)."""
