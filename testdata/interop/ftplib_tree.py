"""Drive the server with Python's ftplib: upload a tree, list it, download it, check ABOR, delete it.

Usage: ftplib_tree.py HOST PORT SRC DST [--active] [--tls [--reuse-session]] [--abort NAME]

SRC is uploaded to /tree, listed with MLSD, NLST and LIST, downloaded into DST, then removed. With
--abort NAME, a download of /NAME is aborted with ftplib's abort(), which sends ABOR as TCP urgent
data. Exits non-zero with a message on the first failure; the caller compares SRC and DST.

ftplib's FTP_TLS opens each protected data connection with a new TLS session (CPython issue
63699), which servers that require session reuse refuse. --reuse-session resumes the control
connection's session on data connections instead, as curl, lftp and FileZilla do.
"""

import argparse
import ftplib
import os
import ssl
import sys


class SessionReuseFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS that resumes the control connection's TLS session on data connections."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size


def connect(args):
    if args.tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        cls = SessionReuseFTP_TLS if args.reuse_session else ftplib.FTP_TLS
        ftp = cls(context=context, timeout=20)
    else:
        ftp = ftplib.FTP(timeout=20)
    ftp.connect(args.host, args.port)
    ftp.login("test", "test")
    if args.tls:
        ftp.prot_p()
    ftp.set_pasv(not args.active)
    return ftp


def upload(ftp, src):
    ftp.mkd("/tree")
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        remote = "/tree" if rel == "." else "/tree/" + rel.replace(os.sep, "/")
        for d in sorted(dirs):
            ftp.mkd(remote + "/" + d)
        for f in sorted(files):
            with open(os.path.join(root, f), "rb") as fh:
                ftp.storbinary("STOR " + remote + "/" + f, fh)


def download(ftp, remote, local):
    os.makedirs(local, exist_ok=True)
    names = set()
    for name, facts in ftp.mlsd(remote, facts=["type", "size"]):
        if facts["type"] in ("cdir", "pdir"):
            continue
        names.add(name)
        if facts["type"] == "dir":
            download(ftp, remote + "/" + name, os.path.join(local, name))
            continue
        with open(os.path.join(local, name), "wb") as fh:
            ftp.retrbinary("RETR " + remote + "/" + name, fh.write)
        if int(facts["size"]) != os.path.getsize(os.path.join(local, name)):
            sys.exit("size fact of %s/%s does not match the download" % (remote, name))
    nlst = set(n.rsplit("/", 1)[-1] for n in ftp.nlst(remote))
    if nlst != names:
        sys.exit("NLST %s gave %s, MLSD gave %s" % (remote, sorted(nlst), sorted(names)))
    lines = []
    ftp.retrlines("LIST " + remote, lines.append)
    for name in names:
        if not any(line.endswith(" " + name) for line in lines):
            sys.exit("LIST %s lacks %s: %s" % (remote, name, lines))


def remove(ftp, remote):
    for name, facts in ftp.mlsd(remote, facts=["type"]):
        if facts["type"] == "dir":
            remove(ftp, remote + "/" + name)
        elif facts["type"] == "file":
            ftp.delete(remote + "/" + name)
    ftp.rmd(remote)


def abort(ftp, name):
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("RETR /" + name)
    conn.recv(1024)
    resp = ftp.abort()
    if not resp.startswith("426"):
        sys.exit("abort() got %r, want 426" % resp)
    resp = ftp.getresp()
    if not resp.startswith("226"):
        sys.exit("after 426, got %r, want 226" % resp)
    conn.close()
    ftp.voidcmd("NOOP")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--active", action="store_true")
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--reuse-session", action="store_true")
    parser.add_argument("--abort")
    args = parser.parse_args()

    ftp = connect(args)
    upload(ftp, args.src)
    download(ftp, "/tree", args.dst)
    if args.abort:
        abort(ftp, args.abort)
    remove(ftp, "/tree")
    ftp.quit()
    print("ok")


if __name__ == "__main__":
    main()
