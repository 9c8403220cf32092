"""A user at a browser without JavaScript, played over plain HTTP: follows the authority's
redirects with the cookies it was given, reads the hosted pages' forms with the standard
library's HTML parser, and fills them in as a person would."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import httpx

MAX_STEPS = 10


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # what the form sends as is
    inputs: set[str] = field(default_factory=set)  # every named input, hidden or not
    buttons: list[tuple[str, str]] = field(default_factory=list)  # submit buttons' name, value


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.title = ""
        self.alert = ""  # the text of the page's role="alert" element (an error page's)
        self._form: Form | None = None
        self._in_title = False
        self._in_alert = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "title":
            self._in_title = True
        elif a.get("role") == "alert":
            self._in_alert = True
        elif tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").lower())
        elif self._form is not None and tag in ("input", "button"):
            kind = a.get("type", "text" if tag == "input" else "submit").lower()
            name, value = a.get("name", ""), a.get("value", "")
            if kind == "submit":
                self._form.buttons.append((name, value))
            elif name:
                self._form.inputs.add(name)
                if kind not in ("checkbox", "radio") or "checked" in a:
                    self._form.fields.append((name, value))

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "p":
            self._in_alert = False
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._in_alert:
            self.alert += data


def forms(html: str) -> tuple[str, list[Form]]:
    """The page's title and its forms."""
    parser = _Forms()
    parser.feed(html)
    parser.close()
    return parser.title.strip(), parser.forms


def error_page(html: str) -> tuple[str, str, int]:
    """An error page's title, its alert's text, and how many forms it has."""
    parser = _Forms()
    parser.feed(html)
    parser.close()
    return parser.title.strip(), parser.alert.strip(), len(parser.forms)


def query(url: str) -> dict[str, str]:
    """A URL's query parameters, each present once."""
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    names = [name for name, _ in pairs]
    assert len(names) == len(set(names)), f"a parameter repeated in {url}"
    return dict(pairs)


@dataclass(frozen=True)
class Outcome:
    """Where the authority sent the browser back to the app, and which pages it showed."""

    location: str
    query: dict[str, str]
    pages: list[str]


class User:
    """One browser (one cookie jar) of a person who knows a username and password."""

    def __init__(self, issuer: str, username: str, password: str) -> None:
        self.issuer = issuer
        self.username = username
        self.password = password
        self.http = httpx.Client(follow_redirects=False, timeout=10)

    def close(self) -> None:
        self.http.close()

    def submit(self, page: httpx.Response, form: Form, **values: str) -> httpx.Response:
        """Post ``form`` as the browser would: its fields, ``values`` typed in, and the
        button named in ``values`` (``consent="allow"``) or else its first one."""
        data = [(n, v) for n, v in form.fields if n not in values]
        data += [(n, v) for n, v in values.items() if n in form.inputs]
        pressed = [b for b in form.buttons if b[0] in values and b[1] == values[b[0]]]
        button = pressed[0] if pressed else form.buttons[0] if form.buttons else ("", "")
        assert not (set(values) - form.inputs - {button[0]}), (values, form)
        if button[0]:
            data.append(button)
        action = urljoin(str(page.url), form.action or str(page.url))
        assert form.method == "post", form
        form_type = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.http.post(action, content=urlencode(data), headers=form_type)

    def authorize(self, url: str, consent: str = "allow") -> Outcome:
        """Open an authorization URL and do what the pages ask (log in, answer the consent
        page with ``consent``) until the authority redirects to somewhere else."""
        pages: list[str] = []
        response = self.http.get(url)
        for _ in range(MAX_STEPS):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if not location.startswith(f"{self.issuer}/"):
                    return Outcome(location, query(location), pages)
                response = self.http.get(location)
                continue
            assert response.status_code == 200, (response.status_code, response.text)
            _, [form] = forms(response.text)
            if "password" in form.inputs:
                pages.append("login")
                response = self.submit(
                    response, form, username=self.username, password=self.password
                )
            elif any(name == "consent" for name, _ in form.buttons):
                pages.append("consent")
                response = self.submit(response, form, consent=consent)
            else:
                raise AssertionError(f"a page with an unknown form: {response.text}")
        raise AssertionError(f"no redirect back to the app in {MAX_STEPS} steps")
