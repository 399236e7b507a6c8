"""Catalogue services: the database side of the rules (queries, writes, imports)."""
