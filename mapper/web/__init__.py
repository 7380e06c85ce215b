"""Blueprints for people: map pages, editors' and admins' pages, sign-in and the map data."""
