"""Queries. Functions take the session's work as arguments and never commit."""
