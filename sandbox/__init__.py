"""Local stand-ins for the real sources: the log API server and a seeded `Orders` table."""
