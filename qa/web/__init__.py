"""Web plumbing shared by every page: templates, HTMX helpers, CSRF, error rendering."""
