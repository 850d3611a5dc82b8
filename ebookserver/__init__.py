"""ebookserver: the web application and the `ebookserver` command."""

from ebookserver.app import create_app

__all__ = ["create_app"]
