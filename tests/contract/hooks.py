"""Schemathesis hooks for lanyard's contract test (tests/cli/contract.rs).

The OpenAPI document marks two strings with formats of their own, because
JSON Schema cannot say what makes them valid:

- ``base64-image``: a person's photo, which must decode as a JPEG or PNG;
- ``age-recipient``: a supplier's age X25519 recipient, whose bech32
  checksum must hold.

Here each format gets a strategy that yields only valid values, so that a
request the schema allows is one the server must take. Nothing else is
changed: every other value is generated from the document alone.
"""

import base64
import struct
import zlib

import schemathesis
from hypothesis import strategies as st


def _png(width: int, height: int, shade: int) -> bytes:
    """A small grey PNG, built with the standard library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes([shade]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PHOTOS = [base64.b64encode(_png(w, h, s)).decode() for (w, h, s) in [(2, 2, 0), (8, 10, 128), (24, 32, 255)]]

# Made with age-keygen; public keys only.
RECIPIENTS = [
    "age1d3yhxpjv7vanta60kn7rwcy4wqk6rrkud00k8nd0urtnf0jrkaps0p7fnz",
    "age1w6pfer5h7l8nhzq4kyv8vl0mg3ts4xcjj4kgvvcq0rqlg6s5halq7cxq3v",
    "age1t5s92y0s7phj0fupgng4fz743gy33dtc5u5qf9lmp3a2ytgfk5dquczc52",
    "age145j0n87zewjd6wlcqcjhgnn4hx0sqxvsuf62gytswl9ata0uevkq05whjy",
    "age15msmc8e8jmflex7pavd6xvfrr7swkl738fectgh2725vty3ecf0sm35ypl",
    "age13cakxrjj97edu0hlsugnke42f4z6fvag2q6wxlea75kk0wmxz4xsrfk43u",
]

schemathesis.openapi.format("base64-image", st.sampled_from(PHOTOS))
schemathesis.openapi.format("age-recipient", st.sampled_from(RECIPIENTS))
