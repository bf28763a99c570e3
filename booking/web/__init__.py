"""What more than one blueprint uses: URL parameters, forms, the week of times.

No routes here: the site, the manage pages, the staff pages and the API import it; it imports
only services and below (see the import contracts in pyproject.toml).
"""
