import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPSClient;
import org.apache.commons.net.util.TrustManagerUtils;

/**
 * Uploads, lists and downloads one file over FTPS with Apache Commons Net's FTPSClient, as a
 * user of it would.
 *
 * <p>Usage: java CommonsNetProbe HOST PORT FILE
 *
 * <p>Logs in as test/test after AUTH TLS, protects data connections (PROT P), lists /, stores
 * FILE as /probe.bin, lists / again and downloads /probe.bin, then prints "ok" and the SHA-256 of the
 * downloaded bytes. When the server refuses a step it prints "reply: " and the server's reply,
 * and exits 2. FTPSClient opens each data connection with a new TLS session.
 */
public final class CommonsNetProbe {
    private CommonsNetProbe() {
    }

    public static void main(String[] args) throws Exception {
        FTPSClient ftp = new FTPSClient(false);
        ftp.setTrustManager(TrustManagerUtils.getAcceptAllTrustManager()); // a throw-away certificate
        ftp.setConnectTimeout(20_000);
        ftp.setDefaultTimeout(20_000);
        ftp.connect(args[0], Integer.parseInt(args[1]));

        int status;
        try {
            status = run(ftp, Files.readAllBytes(Paths.get(args[2])));
        } catch (IOException e) {
            // The server closed the data connection: its reply says why.
            ftp.getReply();
            status = refused(ftp);
        } finally {
            if (ftp.isConnected()) {
                ftp.disconnect();
            }
        }

        System.exit(status);
    }

    private static int run(FTPSClient ftp, byte[] content) throws IOException, NoSuchAlgorithmException {
        if (!ftp.login("test", "test")) {
            return refused(ftp);
        }

        ftp.execPBSZ(0);
        ftp.execPROT("P");
        ftp.enterLocalPassiveMode();
        ftp.setFileType(FTP.BINARY_FILE_TYPE);

        if (ftp.listNames("/") == null) {
            return refused(ftp);
        }

        if (!ftp.storeFile("/probe.bin", new ByteArrayInputStream(content))) {
            return refused(ftp);
        }

        String[] names = ftp.listNames("/");
        if (names == null || names.length == 0) {
            return refused(ftp);
        }

        ByteArrayOutputStream got = new ByteArrayOutputStream();
        if (!ftp.retrieveFile("/probe.bin", got)) {
            return refused(ftp);
        }

        ftp.logout();

        StringBuilder hex = new StringBuilder();
        for (byte b : MessageDigest.getInstance("SHA-256").digest(got.toByteArray())) {
            hex.append(String.format("%02x", b));
        }

        System.out.println("ok " + hex);

        return 0;
    }

    private static int refused(FTPSClient ftp) {
        System.out.println("reply: " + ftp.getReplyString().trim());

        return 2;
    }
}
