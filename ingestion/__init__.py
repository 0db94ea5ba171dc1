"""Extract the log API and the `Orders` table unchanged into the DuckDB warehouse and the lake."""
