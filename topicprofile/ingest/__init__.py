"""Ingest: read files, validate and clean rows, quarantine rejects, documents."""
