"""worm.sigv4_sign and worm.presign_url: split the URL, then sign in C++.

The URL is what goes on the wire (percent-encoded). Its path and query are decoded
here and handed to the C++ signer raw; the signer encodes them once, the S3 way, which
gives back the wire form for any canonically encoded URL.
"""

from __future__ import annotations

import datetime as _dt
from typing import Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import quote, unquote_to_bytes, urlsplit

from . import _worm
from .errors import InputError

Headers = Union[Mapping[str, object], Sequence[Tuple[str, object]], None]

# Headers botocore never signs (proxies may change them); the signer adds the rest itself.
_NOT_SIGNED = {"expect", "user-agent", "x-amzn-trace-id"}
_REPLACED = {"authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _split(url: str):
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise InputError(f"URL must be http(s)://host/...: {url!r}", "invalid_argument")
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS[parts.scheme]:
        host = f"{host}:{parts.port}"
    path = unquote_to_bytes(parts.path or "/")
    query = []
    if parts.query:
        for pair in parts.query.split("&"):
            name, _, value = pair.partition("=")
            # Raw bytes to C++ (a %FF byte need not be UTF-8).
            query.append((unquote_to_bytes(name), unquote_to_bytes(value)))
    return parts.scheme, host, path, query


def _when(amz_date) -> Optional[_dt.datetime]:
    if amz_date is None or isinstance(amz_date, _dt.datetime):
        return amz_date
    try:
        return _dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=_dt.timezone.utc)
    except (TypeError, ValueError):
        raise InputError(f"amz_date must be a datetime or 'YYYYMMDDTHHMMSSZ', got {amz_date!r}",
                         "invalid_argument") from None


def _header_items(headers: Headers):
    if headers is None:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(str(k), str(v)) for k, v in items]


def sigv4_sign(method: str, url: str, headers: Headers, payload: Union[bytes, str, None],
               access_key: str, secret_key: str, region: str, service: str = "s3",
               amz_date: Union[str, _dt.datetime, None] = None, session_token: Optional[str] = None,
               unsigned_payload: bool = False) -> dict:
    """Sign a request with AWS Signature Version 4 (S3 rules) and return the headers to add:
    ``Authorization``, ``X-Amz-Date``, ``X-Amz-Content-SHA256`` and, with a session token,
    ``X-Amz-Security-Token``.

    Signs ``host`` (from the URL, unless a Host header is given), every header passed in
    except Expect, User-Agent and X-Amzn-Trace-Id, plus x-amz-date, x-amz-content-sha256
    and x-amz-security-token: the set botocore's S3 signer signs. Any Authorization,
    X-Amz-Date, X-Amz-Content-SHA256 or X-Amz-Security-Token passed in is replaced.
    ``payload`` is hashed (SHA-256) unless ``unsigned_payload`` is true. ``amz_date`` is a
    datetime (naive means UTC) or "20130524T000000Z"; default: now.
    """
    scheme, host, path, query = _split(url)
    signed = []
    for name, value in _header_items(headers):
        lname = name.lower()
        if lname in _NOT_SIGNED or lname in _REPLACED:
            continue
        if lname == "host":
            host = value
            continue
        signed.append((name, value))
    if payload is None:
        payload = b""
    elif isinstance(payload, str):
        payload = payload.encode("utf-8")
    return _worm._sigv4_sign(method.upper(), host, path, query, signed, bytes(payload),
                             bool(unsigned_payload), access_key, secret_key, region, service,
                             _when(amz_date), session_token or "")


def presign_url(method: str, url: str, access_key: str, secret_key: str, region: str,
                expires: int = 3600, amz_date: Union[str, _dt.datetime, None] = None,
                session_token: Optional[str] = None, service: str = "s3") -> str:
    """A presigned URL (query authentication, UNSIGNED-PAYLOAD, signs host only), valid
    for ``expires`` seconds (1 s to 7 days). The query of ``url`` is kept and signed."""
    scheme, host, path, query = _split(url)
    return _worm._presign_url(method.upper(), scheme, host, path, query, access_key, secret_key,
                              region, service, int(expires), _when(amz_date), session_token or "")


def presign_object_url(bucket: str, key: str, expires: int = 3600, method: str = "GET") -> str:
    """A presigned URL for s3://bucket/key (path style) signed with the credentials, endpoint
    and region every libworm S3 store resolves: WORM_S3_ENDPOINT / AWS_ENDPOINT_URL(_S3),
    AWS_REGION, and the default credentials chain (environment, shared profile, container or
    instance role), so it works wherever worm.open_store("s3://...") does."""
    access_key, secret_key, session_token, endpoint, region = _worm._default_s3_signing()
    endpoint = endpoint or f"https://s3.{region}.amazonaws.com"
    url = f"{endpoint.rstrip('/')}/{bucket}/{quote(key, safe='/-_.~')}"
    return presign_url(method, url, access_key, secret_key, region, expires=expires,
                       session_token=session_token or None)

