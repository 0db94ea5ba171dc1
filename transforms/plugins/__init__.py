"""dbt-duckdb plugins (profiles.yml's `plugins`), set up on each of dbt's connections: the run lock,
the S3 lake's settings, and the check of FERNET_KEY the decrypting models make first."""
