"""A cookie-keeping HTTP client for journeys through a real server: it reads each form's CSRF
token from the page like a browser does, and shows redirects instead of following them."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Response:
    def __init__(self, status: int, body: bytes | str, headers: Message) -> None:
        """*body* as received (bytes: kept in `raw` for PDFs and images) or as text."""
        self.status, self.headers = status, headers
        self.raw = body if isinstance(body, bytes) else body.encode("utf-8")
        self.body = body.decode("utf-8", "replace") if isinstance(body, bytes) else body

    @property
    def location(self) -> str | None:
        location = self.headers.get("Location")
        return urllib.parse.urlsplit(location)._replace(scheme="", netloc="").geturl() if location else None

    @property
    def text(self) -> str:
        """The visible text, tags removed and spaces collapsed."""
        return " ".join(
            re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", self.body, flags=re.S)).split()
        )

    def csrf_token(self) -> str:
        found = re.search(
            r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', self.body
        )
        assert found, "no CSRF token on the page"
        return found.group(1) or found.group(2)


class Client:
    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects)

    def request(self, path: str, data: dict | None = None, headers: dict | None = None) -> Response:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers=headers or {})  # noqa: S310 - ours
        try:
            with self.opener.open(request, timeout=30) as response:
                return Response(response.status, response.read(), response.headers)
        except urllib.error.HTTPError as error:
            with error:
                return Response(error.code, error.read(), error.headers)

    def get(self, path: str, **kwargs) -> Response:
        return self.request(path, **kwargs)

    def post(self, path: str, data: dict, *, form_page: str | None = None, token: bool = True) -> Response:
        """POST *data* with the CSRF token of the form on *form_page* (default: the same path)."""
        fields = dict(data)
        if token:
            fields.setdefault("csrf_token", self.get(form_page or path).csrf_token())
        return self.request(path, data=fields)

    def cookie(self, name: str) -> str | None:
        return next((cookie.value for cookie in self.cookies if cookie.name == name), None)
