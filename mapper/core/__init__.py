"""The use cases, one module per noun; each opens and commits its own transaction."""
