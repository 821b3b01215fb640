"""The web UI's views: thin doors into the domain services and selectors."""
