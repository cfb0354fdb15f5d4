"""The one rule for keeping credentials out of what trendcast writes: messages, call-log rows, reports, eval files.

`redact_url(url)`: the URL without its user:password@ part, without query parameters whose name looks like a
credential (api_key, key, token, access_token, password, secret, sig, code, …) and without its fragment.
`public_url(url)` is that, normalised for storing and cache keys (no query at all, no trailing slash).
`redact(text, secrets)`: every URL in a text through `redact_url`, every known secret (the API key, the URL's
password, a credential parameter's value) replaced by `***`, and so is every encoding of one that a server may echo
back (`encodings`: base64 — standard and URL-safe, padded or not — of the secret and of the `user:password` pair
HTTP Basic auth sends, percent-encoding), and the token of any `Basic …` / `Bearer …` credential in the text, known or
not (a proxy or debug server echoing the request's Authorization header). `Redactor(url, api_key)` remembers the
secrets of one endpoint; the LLM client passes every message it makes through one.
"""
from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from typing import Any, overload
from urllib.parse import parse_qsl, quote, quote_plus, unquote, unquote_plus, urlsplit, urlunsplit

MASK = "***"
# a query parameter is a credential when its name (lower case, - and . as _) is one of these or contains one of
# the fragments: api_key, x-api-key, subscription-key, access_token, X-Amz-Signature, X-Amz-Credential, …
CREDENTIAL_NAMES = frozenset({"key", "code", "sig", "auth", "pass", "pwd", "passwd", "password", "secret",
                              "token", "session", "jwt", "bearer", "credential", "credentials", "signature"})
CREDENTIAL_PARTS = ("key", "token", "secret", "pass", "pwd", "auth", "sig", "cred", "session", "bearer", "jwt")
MIN_SECRET = 4  # shorter values are not masked in free text (they would mask ordinary words)

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>`]+")
# an HTTP credential as an Authorization header carries it: the scheme as sent, then its token (base64, a JWT, an API
# key) — a token is told from a word by a digit or a sign in it, or for Basic by decoding to "user:password"
_AUTH_TOKEN = re.compile(r"\b(Basic|Bearer)(\s+|%20|\+)([A-Za-z0-9+/_.~=%-]{6,})")


def is_credential_name(name: str) -> bool:
    norm = re.sub(r"[-.\s]", "_", unquote_plus(name).strip().lower())
    return norm in CREDENTIAL_NAMES or any(part in norm for part in CREDENTIAL_PARTS)


def redact_url(url: str) -> str:
    """url without user info, credential-like query parameters or fragment; the rest exactly as written. Never
    raises: a URL that cannot be parsed keeps only its scheme."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        query = "&".join(p for p in parts.query.split("&") if p and not is_credential_name(p.partition("=")[0]))
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except Exception:  # noqa: BLE001 - a malformed URL is shown as no URL at all
        scheme = url.partition("://")[0] if "://" in url else ""
        return f"{scheme}://{MASK}" if scheme.isalnum() else MASK


def public_url(url: str | None) -> str | None:
    """A URL safe to store and to key the cache on: redact_url's, with no query string and no trailing slash (of a
    comma-separated list of servers, each one's)."""
    if not url:
        return url
    if "," in url:
        return ",".join(public_url(u.strip()) or "" for u in url.split(","))
    parts = urlsplit(redact_url(url))
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def url_secrets(url: str | None) -> set[str]:
    """The secret values a URL carries: its password (its user name when there is no password: a token), and the
    values of its credential-like query parameters; raw and percent-decoded (of a comma-separated list: each one's)."""
    found: set[str] = set()
    if not url:
        return found
    if "," in url:
        return {s for u in url.split(",") for s in url_secrets(u.strip())}
    try:
        parts = urlsplit(url)
    except Exception:  # noqa: BLE001
        return found
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    if userinfo:
        user, colon, password = userinfo.partition(":")
        found.update((userinfo, password) if colon and password else (userinfo,))
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if is_credential_name(name):
            found.add(value)
    for raw in [p.partition("=")[2] for p in parts.query.split("&") if is_credential_name(p.partition("=")[0])]:
        found.add(raw)
    found = {s for v in found for s in (v, unquote(v)) if len(s) >= MIN_SECRET}
    if userinfo:  # what HTTP Basic auth sends: base64 of user:password, decoded (a token alone: "token:")
        user, colon, password = userinfo.partition(":")
        found |= {f"{unquote(user)}:{unquote(password)}", f"{user}:{password}"}
    return found


def encodings(secret: str) -> set[str]:
    """The forms a secret may be echoed in: as is, percent-encoded, and base64 (standard and URL-safe, with and
    without padding) of its UTF-8 bytes — of MIN_SECRET characters or more each."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}
    raw = secret.encode("utf-8")
    for b64 in (base64.b64encode(raw).decode("ascii"), base64.urlsafe_b64encode(raw).decode("ascii")):
        forms |= {b64, b64.rstrip("=")}
    return {f for f in forms if len(f) >= MIN_SECRET}


@overload
def redact(text: str, secrets: Iterable[str] = ()) -> str: ...
@overload
def redact(text: None, secrets: Iterable[str] = ()) -> None: ...
def redact(text: str | None, secrets: Iterable[str] = ()) -> str | None:
    """text with every URL through redact_url, every secret (of MIN_SECRET characters or more) and every encoding
    of one masked, and the token of every `Basic …` / `Bearer …` credential in it masked."""
    if not text:
        return text
    out = _URL.sub(_redact_match, text)
    forms = {f for s in secrets if s and len(s) >= MIN_SECRET for f in encodings(s)}
    for secret in sorted(forms, key=len, reverse=True):
        out = out.replace(secret, MASK)
    return _AUTH_TOKEN.sub(_mask_token, out)


def _mask_token(match: re.Match) -> str:
    scheme, gap, token = match.groups()
    return f"{scheme}{gap}{MASK}" if _is_token(scheme, token) else match.group(0)


def _is_token(scheme: str, token: str) -> bool:
    """A credential, not a word ("Basic necessities"): a digit or a sign in it, or base64 of "user:password"."""
    if any(c.isdigit() or c in "+/=_.~%-" for c in token):
        return True
    if scheme == "Basic":
        try:
            return b":" in base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
        except ValueError:
            return False
    return False


def _redact_match(match: re.Match) -> str:
    url = match.group(0)
    core = url.rstrip(".,;:!?)]}")  # punctuation that ends a sentence, not the URL
    return redact_url(core) + url[len(core):]


def redact_json(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A JSON-able value with every string in it through `redact` (dict keys included)."""
    secrets = tuple(secrets)
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {redact_json(k, secrets): redact_json(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_json(v, secrets) for v in value]
    return value


class Redactor:
    """`redact` with the secrets of one endpoint: its URL's and its API key."""

    def __init__(self, url: str | None = None, api_key: str | None = None):
        self.secrets = tuple(url_secrets(url) | ({api_key} if api_key and len(api_key) >= MIN_SECRET else set()))

    def __call__(self, text: str | None) -> str | None:
        return redact(text, self.secrets)
