"""crawlers/forges package."""
