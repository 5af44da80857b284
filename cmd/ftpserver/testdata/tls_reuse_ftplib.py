"""Upload, list and download one file over FTPS with Python's ftplib, as a user of it would.

Usage: tls_reuse_ftplib.py HOST PORT FILE [--reuse-session]

Logs in as test/test, protects data connections (PROT P), lists / with NLST, stores FILE as
/probe.bin, lists / again and downloads /probe.bin, then prints "ok" and the SHA-256 of the downloaded bytes.
On an FTP error reply it prints "reply: " and the reply, and exits 2.

ftplib's FTP_TLS opens each data connection with a new TLS session. With --reuse-session the
data connections resume the control connection's session instead: the workaround for servers
that require it.
"""

import ftplib
import hashlib
import io
import os
import ssl
import sys

# The subclass that resumes the session is the root interoperability test's.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "testdata", "interop"))
from ftplib_tree import SessionReuseFTP_TLS  # noqa: E402


def main():
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the server's certificate is a throw-away one
    cls = SessionReuseFTP_TLS if "--reuse-session" in sys.argv[4:] else ftplib.FTP_TLS
    ftp = cls(context=context, timeout=20)
    ftp.connect(host, port)
    try:
        ftp.login("test", "test")
        ftp.prot_p()
        ftp.nlst("/")
        with open(path, "rb") as fh:
            ftp.storbinary("STOR /probe.bin", fh)
        if "probe.bin" not in [name.rsplit("/", 1)[-1] for name in ftp.nlst("/")]:
            print("probe.bin not listed")
            return 1
        got = io.BytesIO()
        ftp.retrbinary("RETR /probe.bin", got.write)
    except ftplib.Error as err:
        print("reply: " + str(err))
        return 2
    except OSError:
        # The server closed the data connection: its reply says why.
        try:
            ftp.getresp()
        except ftplib.Error as err:
            print("reply: " + str(err))
            return 2
        raise
    finally:
        try:
            ftp.quit()
        except (ftplib.Error, OSError):
            ftp.close()
    print("ok " + hashlib.sha256(got.getvalue()).hexdigest())
    return 0


if __name__ == "__main__":
    sys.exit(main())
