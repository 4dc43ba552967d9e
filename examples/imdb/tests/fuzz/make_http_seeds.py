#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_imdb_http (seeds/http/): raw HTTP requests as a client
sends them on one connection. Run from anywhere: python3 make_http_seeds.py"""
import gzip
import json
import os
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "http")
JSON = b"Content-Type: application/json\r\n"


def request(method, path, body=b"", headers=b"", length=True, version=b"HTTP/1.1"):
    head = method + b" " + path + b" " + version + b"\r\nHost: localhost\r\n" + headers
    if length:
        head += b"Content-Length: " + str(len(body)).encode() + b"\r\n"
    return head + b"\r\n" + body


def predict(body, headers=JSON, **kw):
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    return request(b"POST", b"/api/predict", body, headers, **kw)


def chunked(body, size=7):
    out = b""
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"


def brotli_stored(data):
    """A brotli stream holding `data` in one uncompressed meta-block (RFC 7932, 9.2)."""
    bits = [0]  # WBITS 16
    bits += [0]  # ISLAST 0
    bits += [0, 0]  # MNIBBLES 4
    bits += [(len(data) - 1) >> i & 1 for i in range(16)]  # MLEN - 1
    bits += [1]  # ISUNCOMPRESSED
    bits += [0] * (-len(bits) % 8)
    header = bytes(sum(b << i for i, b in enumerate(bits[k:k + 8])) for k in range(0, len(bits), 8))
    return header + data + bytes([0b11])  # ISLAST 1, ISLASTEMPTY 1


one = {"text": "a superb and brilliant film, I loved it"}
one_body = json.dumps(one).encode()
long_text = "caf\u00e9 \u00e9l\u00e9gant \U0001F3AC " * 12 + "the end"
seeds = {
    "predict_text": predict(one),
    "predict_texts": predict({"texts": ["great", "awful film", "superb"]}),
    "explain_false": predict({"text": "a dull mess", "explain": False}),
    "explain_texts": predict({"texts": ["good", "bad"], "explain": True}),
    "unicode_escapes": predict(b'{"text": "superb \\u00e9l\\u00e9gant \\ud83c\\udfac brilliant"}'),
    "long_text_cut": predict({"text": long_text}),
    "long_texts_cut": predict({"texts": [long_text, "x" * 100 + " " + "y" * 100]}),
    "gzip": predict(gzip.compress(one_body, mtime=0), JSON + b"Content-Encoding: gzip\r\n"),
    "deflate": predict(zlib.compress(one_body), JSON + b"Content-Encoding: deflate\r\n"),
    "br": predict(brotli_stored(one_body), JSON + b"Content-Encoding: br\r\n"),
    "chunked": predict(chunked(one_body), JSON + b"Transfer-Encoding: chunked\r\n", length=False),
    "chunked_gzip": predict(chunked(gzip.compress(one_body, mtime=0)),
                            JSON + b"Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n",
                            length=False),
    "gzip_over_limit": predict(
        gzip.compress(json.dumps({"text": "great " * 2000}).encode(), mtime=0),
        JSON + b"Content-Encoding: gzip\r\n"),
    "body_over_limit": predict({"text": "great " * 800}),
    "declared_too_long": request(b"POST", b"/api/predict", one_body,
                                 JSON + b"Content-Length: 99999999999\r\n", length=False),
    "declared_short": request(b"POST", b"/api/predict", one_body,
                              JSON + b"Content-Length: 20\r\n", length=False),
    "no_length_http10": predict(one, length=False, version=b"HTTP/1.0"),
    "too_many_texts": predict({"texts": ["a", "b", "c", "d", "e"]}),
    "bad_json": predict(b'{"text": "unterminated'),
    # nlohmann's out_of_range (not a parse_error) for a number beyond double: was a 500.
    "number_overflow": predict(b'{"text": "great", "explain": 1e400}'),
    "not_object": predict(b'["great"]'),
    "empty_text": predict({"text": " \t\n"}),
    "expect_continue": predict(one, JSON + b"Expect: 100-continue\r\n"),
    "multipart": request(b"POST", b"/api/predict",
                         b"--xx\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\ngreat\r\n--xx--\r\n",
                         b"Content-Type: multipart/form-data; boundary=xx\r\n"),
    "post_other_path": request(b"POST", b"/", gzip.compress(one_body, mtime=0),
                               JSON + b"Content-Encoding: gzip\r\n"),
    "put_healthz": request(b"PUT", b"/healthz", chunked(one_body),
                           b"Transfer-Encoding: chunked\r\n", length=False),
    "pipelined": request(b"GET", b"/healthz", length=False) + predict(one) +
                 request(b"GET", b"/metrics?x=1", length=False) + predict({"texts": ["ok"]}),
    "range": request(b"GET", b"/", headers=b"Range: bytes=0-5,7-\r\n", length=False),
    "not_found": request(b"GET", b"/no/such/page", length=False),
}
os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"wrote {len(seeds)} seeds to {OUT}")
