"""Browser tests: the pages in a real headless Chromium."""
