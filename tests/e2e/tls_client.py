"""TLS client for tests/e2e/http_tls_test.cpp, on Python's ssl module (OpenSSL).

tls_client.py PORT CAFILE VERSION [--path PATH] [--alpn LIST] [--pipeline N]
    VERSION: 1.1, 1.2 or 1.3 (the only version offered). Sends GET PATH (default /env)
    with ALPN LIST (default http/1.1) and prints one JSON line: the negotiated version and
    ALPN protocol, the certificate's serial number and subject, the first response's status
    line and body. --pipeline N: N requests in one write (the last with Connection: close),
    "responses" counts the answers. A refused handshake prints {"refused": "<reason>"} and
    exits 3.
"""
import argparse
import json
import re
import socket
import ssl
import sys
import warnings

VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def context(version, cafile, alpn):
    ctx = ssl.create_default_context(cafile=cafile)
    if version == "1.1":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            tls11 = ssl.TLSVersion.TLSv1_1
            ctx.minimum_version = tls11
            ctx.maximum_version = tls11
        # OpenSSL 3 refuses TLS 1.1 on the client side at the default security level:
        # level 0 lets the client offer it, so the refusal seen is the server's.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    else:
        ctx.minimum_version = VERSIONS[version]
        ctx.maximum_version = VERSIONS[version]
    ctx.set_alpn_protocols(alpn.split(","))
    return ctx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("cafile")
    ap.add_argument("version")
    ap.add_argument("--path", default="/env")
    ap.add_argument("--alpn", default="http/1.1")
    ap.add_argument("--pipeline", type=int, default=1)
    args = ap.parse_args()
    ctx = context(args.version, args.cafile, args.alpn)
    with socket.create_connection(("127.0.0.1", args.port), timeout=10) as raw:
        try:
            tls = ctx.wrap_socket(raw, server_hostname="localhost")
        except (ssl.SSLError, ConnectionError) as e:
            print(json.dumps({"refused": str(e)}))
            sys.exit(3)
        with tls:
            keep = f"GET {args.path} HTTP/1.1\r\nHost: localhost\r\n\r\n"
            last = f"GET {args.path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            tls.sendall((keep * (args.pipeline - 1) + last).encode())
            data = b""
            while True:
                piece = tls.recv(65536)
                if not piece:
                    break
                data += piece
            head, _, rest = data.partition(b"\r\n\r\n")
            length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1)) \
                if re.search(rb"(?i)\r\ncontent-length:", head) else len(rest)
            cert = tls.getpeercert()
            print(json.dumps({
                "version": tls.version(),
                "alpn": tls.selected_alpn_protocol(),
                "serial": cert.get("serialNumber"),
                "subject": dict(x[0] for x in cert.get("subject", ())),
                "status": head.split(b"\r\n", 1)[0].decode(),
                "body": rest[:length].decode(errors="replace"),
                "responses": data.count(b"HTTP/1.1 200 OK\r\n"),
            }))


if __name__ == "__main__":
    main()
