"""The Query Lambda: behind the external API, forwards each request to the query service."""
