"""Blueprints for machines: /api/v1, OGC API – Features, Open Referral UK, the OpenAPI document."""
