"""Bundled official data (QPV boundaries and key figures); see SOURCES.md."""
