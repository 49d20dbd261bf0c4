"""Weekly HTML reports: rule engine, inline SVG charts, templates, and the week's publishing.

No Dagster import here: the ``weekly_reports`` asset calls :func:`publish_week` (stored features to
files, index page and ``reports`` documents); ``fitness report`` calls :func:`write_user_report`.
"""
