"""TLS client for tests/e2e/http_tls_test.cpp, on Python's ssl module (OpenSSL).

tls_client.py PORT CAFILE VERSION [PATH]
    VERSION: 1.1, 1.2 or 1.3 (the only version offered). Sends GET PATH (default /env)
    with ALPN http/1.1 and prints one JSON line: the negotiated version and ALPN
    protocol, the certificate's serial number and subject, the response's status line
    and body. A refused handshake prints {"refused": "<reason>"} and exits 3.
"""
import json
import socket
import ssl
import sys
import warnings

VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def context(version, cafile):
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
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def main():
    port, cafile, version = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    path = sys.argv[4] if len(sys.argv) > 4 else "/env"
    ctx = context(version, cafile)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        try:
            tls = ctx.wrap_socket(raw, server_hostname="localhost")
        except (ssl.SSLError, ConnectionError) as e:
            print(json.dumps({"refused": str(e)}))
            sys.exit(3)
        with tls:
            request = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            tls.sendall(request.encode())
            data = b""
            while True:
                piece = tls.recv(65536)
                if not piece:
                    break
                data += piece
            head, _, body = data.partition(b"\r\n\r\n")
            cert = tls.getpeercert()
            print(json.dumps({
                "version": tls.version(),
                "alpn": tls.selected_alpn_protocol(),
                "serial": cert.get("serialNumber"),
                "subject": dict(x[0] for x in cert.get("subject", ())),
                "status": head.split(b"\r\n", 1)[0].decode(),
                "body": body.decode(errors="replace"),
            }))


if __name__ == "__main__":
    main()
