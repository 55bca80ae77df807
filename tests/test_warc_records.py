"""The crawler's WARC records, read back by warcio with its digests checked."""

from __future__ import annotations

import hashlib
import zlib
from io import BytesIO
from pathlib import Path

from scrapy import Request
from scrapy.http import HtmlResponse
from warcio.archiveiterator import ArchiveIterator

from stepdr.crawl.warc_files import WarcFiles, encode_pair, read_response

URL = "https://docs.example.org/guide/a%C3%A9?page=2"
BODY = "<html><body><p>café</p></body></html>".encode()


def _pair() -> tuple[Request, HtmlResponse]:
    request = Request(URL, headers={"User-Agent": "stepdr-test", "Accept": "text/html"})
    response = HtmlResponse(
        URL,
        status=404,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Length": "9999",  # the decoded body's length replaces it
            "Content-Encoding": "gzip",  # undone by the crawler: dropped
            "Transfer-Encoding": "chunked",
            "Set-Cookie": ["a=1", "b=2"],
            "Server": b"caf\xe9",  # a latin-1 byte stays that byte
        },
        body=BODY,
        request=request,
    )
    return request, response


def test_records_read_back_with_digests_checked() -> None:
    request, response = _pair()
    encoded = encode_pair(request, response)
    records = []
    for record in ArchiveIterator(BytesIO(encoded.data), check_digests="raise"):
        records.append(
            (record.rec_type, dict(record.rec_headers.headers), record.http_headers, record)
        )
        assert record.content_stream().read() == (BODY if record.rec_type == "response" else b"")
    assert [r[0] for r in records] == ["response", "request"]
    (_, resp_warc, resp_http, _), (_, req_warc, req_http, _) = records
    assert resp_warc["WARC-Target-URI"] == req_warc["WARC-Target-URI"] == URL
    assert req_warc["WARC-Concurrent-To"] == resp_warc["WARC-Record-ID"]
    assert req_warc["WARC-Date"] == resp_warc["WARC-Date"]
    assert resp_warc["Content-Type"] == "application/http; msgtype=response"
    assert req_warc["Content-Type"] == "application/http; msgtype=request"
    assert encoded.digest == hashlib.sha1(BODY).hexdigest()
    assert resp_http.get_statuscode() == "404"
    assert resp_http.headers == [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", str(len(BODY))),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("Server", "café"),
    ]
    assert req_http.protocol == "GET" and req_http.statusline.startswith("/guide/a%C3%A9?page=2")
    assert ("User-Agent", "stepdr-test") in req_http.headers


def test_each_record_is_its_own_gzip_member() -> None:
    encoded = encode_pair(*_pair())
    first = zlib.decompressobj(wbits=31)
    head = first.decompress(encoded.data)
    assert head.startswith(b"WARC/1.0\r\nWARC-Type: response\r\n") and head.endswith(b"\r\n\r\n")
    assert zlib.decompress(first.unused_data, wbits=31).startswith(
        b"WARC/1.0\r\nWARC-Type: request"
    )


def test_a_record_without_content_length_gets_one(tmp_path: Path) -> None:
    response = HtmlResponse(URL, body=BODY, headers={"Content-Type": "text/html"})
    files = WarcFiles(tmp_path)
    written = files.write(Request(URL), response)
    stored = read_response(tmp_path, written.warc, written.offset)
    assert stored is not None and stored.body == BODY and stored.status == 200
    assert ("Content-Length", str(len(BODY))) in stored.headers
    files.close()
    assert read_response(tmp_path, written.warc, written.offset) == stored
