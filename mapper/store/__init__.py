"""The data layer: engine and sessions, typed models, read-only queries and migrations."""
