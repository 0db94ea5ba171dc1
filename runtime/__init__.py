"""What every command shares while it runs: its start (`entry_point`), the run lock, progress lines,
whether an S3 lake answers, and what dbt left in its target folder that the tools read."""
