"""Browser tests run on SpatiaLite, the embedded default; those marked `both_backends` run on
PostGIS too (a whole flow from registration to the gap analysis, the home map).

What a page shows comes from the same queries on both backends, and those are compared by the
HTTP tests of tests/web and tests/api, which all run on both; a second Chromium pass over every
page would double the suite's slowest part and check nothing new. The PostGIS runs left out are
reported as deselected.
"""

HERE = "tests/browser/"


def pytest_collection_modifyitems(config, items):
    """Deselect the PostGIS runs of browser tests not marked `both_backends`."""
    kept, dropped = [], []
    for item in items:
        spec = getattr(item, "callspec", None)
        on_postgis = spec is not None and spec.params.get("database_url") == "postgis"
        single = item.get_closest_marker("both_backends") is None
        (dropped if on_postgis and single and item.nodeid.startswith(HERE) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
