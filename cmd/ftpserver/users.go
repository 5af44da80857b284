package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"unicode"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/spf13/afero"
	"golang.org/x/crypto/bcrypt"

	"github.com/ftpkit/ftpserver"
	"github.com/ftpkit/ftpserver/rootfs"
)

// The -users file holds one user per line, four fields separated by colons, and an optional
// fifth, the user's own settings (users_policy.go):
//
//	# name:bcrypt-hash:home:access[:settings]
//	alice:$2a$10$...:/alice:rw
//	guest:$2a$10$...:/pub:ro
//	partner:$2a$10$...:/partner:ro:idle=1h,user-down=1MiB,sessions=2
//
// Blank lines and lines starting with # are skipped. The name is case-sensitive, without
// spaces or colons; the hash is a bcrypt hash as -hash-password prints it; home is a directory
// under -root (an S3 key prefix with -s3-bucket, "/" for the whole root), created at the first
// login, that may not hold ".."; access is ro (every command that writes refused with 550
// before the file system is asked) or rw. The format is that of
// /etc/passwd and htpasswd: one line per user, edited with any editor, each error reported with
// its line number, and no colon in a bcrypt hash.

// userFields is the number of colon-separated fields of a -users line, without the optional
// settings.
const userFields = 4

// bcryptHashLength is the length of a bcrypt hash: "$2a$10$", 22 characters of salt and 31 of
// hash.
const bcryptHashLength = 60

// maxPasswordLength is the longest password -hash-password reads; bcrypt uses at most 72 bytes
// and refuses longer ones.
const maxPasswordLength = 1024

var (
	// errBadHashEncoding refuses a hash with bcrypt's prefix but not its length or alphabet,
	// such as one cut or mistyped while copied.
	errBadHashEncoding = errors.New("60 characters, with only . / A-Z a-z 0-9 after the cost, expected")
	// errNoUsers refuses a -users file without a user: nobody could log in.
	errNoUsers = errors.New("no users")
	// errEmptyPassword refuses -hash-password without a password.
	errEmptyPassword = errors.New("empty password")
)

// account is a user of the -users file.
type account struct {
	name     string
	hash     []byte // bcrypt
	home     string // clean, absolute; "/" is the whole root
	readOnly bool
	settings ftpserver.SessionSettings // the settings field, with ReadOnly from access
	line     int                       // where the file defines it, for the message about a duplicate
}

// userTable is the content of one read of the -users file. It is never changed once built: a
// reload builds a new one, so sessions logged in with the old one are not affected.
type userTable struct {
	accounts map[string]*account
	// dummy is the hash an unknown user's password is checked against, so that a wrong name
	// costs the time of a wrong password: it has the highest cost of the file.
	dummy []byte
}

// registerUsersFlags adds -users and -hash-password to flags.
func registerUsersFlags(flags *flag.FlagSet, cfg *config) {
	flags.StringVar(&cfg.usersFile, "users", "",
		"serve the users of `FILE`, one per line name:bcrypt-hash:home:ro|rw[:settings], re-read on SIGHUP, "+
			"instead of -user and -pass (settings: idle=1h,stall=5m,up=10M,down=10M,user-up=20M,user-down=20M,"+
			"sessions=2)")
	flags.BoolVar(&cfg.hashPassword, "hash-password", false,
		"read a password from stdin, print its bcrypt hash for -users, and exit")
}

// validateUsers refuses -users with -user or -pass, which it replaces. flags must be parsed.
func (cfg *config) validateUsers(flags *flag.FlagSet) error {
	var err error

	if cfg.usersFile != "" {
		flags.Visit(func(f *flag.Flag) {
			if f.Name == "user" || f.Name == "pass" {
				err = fmt.Errorf("-users and -%s exclude each other", f.Name)
			}
		})
	}

	return err
}

// loadUsers reads the -users file. Its errors name the file and, for a bad line, its number.
func loadUsers(file string) (*userTable, error) {
	f, err := os.Open(file) //nolint:gosec // G703: the file the administrator named
	if err != nil {
		return nil, fmt.Errorf("-users: %w", err)
	}

	defer f.Close()

	table, err := parseUsers(f, file)
	if err != nil {
		return nil, fmt.Errorf("-users: %w", err)
	}

	return table, nil
}

// parseUsers reads a -users file from r; name is the file's name, for messages.
func parseUsers(r io.Reader, name string) (*userTable, error) {
	table := &userTable{accounts: make(map[string]*account)}
	maxCost := bcrypt.MinCost
	scanner := bufio.NewScanner(r)
	lineNo := 0

	for scanner.Scan() {
		lineNo++

		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}

		acct, cost, err := parseUserLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, lineNo, err)
		}

		if first, dup := table.accounts[acct.name]; dup {
			return nil, fmt.Errorf("%s:%d: user %q is already defined on line %d", name, lineNo, acct.name, first.line)
		}

		acct.line = lineNo
		table.accounts[acct.name] = acct
		maxCost = max(maxCost, cost)
	}

	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, lineNo+1, err)
	}

	if len(table.accounts) == 0 {
		return nil, fmt.Errorf("%s: %w", name, errNoUsers)
	}

	dummy, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), maxCost)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}

	table.dummy = dummy

	return table, nil
}

// parseUserLine parses "name:hash:home:access[:settings]" and returns the account and its
// hash's cost.
func parseUserLine(line string) (*account, int, error) {
	fields := strings.Split(line, ":")
	if len(fields) != userFields && len(fields) != userFields+1 {
		return nil, 0, fmt.Errorf("%d fields separated by ':', want 4 or 5: name:bcrypt-hash:home:ro|rw[:settings]",
			len(fields))
	}

	name, hash, home, access := fields[0], fields[1], fields[2], fields[3]

	badRune := func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }
	if name == "" || strings.ContainsFunc(name, badRune) {
		return nil, 0, fmt.Errorf("user name %q: empty, or with a space or a control character", name)
	}

	cost, err := bcrypt.Cost([]byte(hash))
	if err == nil && (len(hash) != bcryptHashLength || strings.ContainsFunc(hash[len("$2a$10$"):], notBcryptBase64)) {
		err = errBadHashEncoding
	}

	if err != nil {
		return nil, 0, fmt.Errorf("user %q: the password is not a bcrypt hash (make one with -hash-password): %w",
			name, err)
	}

	cleanHome, err := parseHome(home)
	if err != nil {
		return nil, 0, fmt.Errorf("user %q: %w", name, err)
	}

	acct := &account{name: name, hash: []byte(hash), home: cleanHome}

	switch access {
	case "ro":
		acct.readOnly = true
	case "rw":
	default:
		return nil, 0, fmt.Errorf("user %q: access %q: want ro or rw", name, access)
	}

	if len(fields) > userFields {
		if acct.settings, err = parseUserSettings(fields[userFields]); err != nil {
			return nil, 0, fmt.Errorf("user %q: %w", name, err)
		}
	}

	acct.settings.ReadOnly = acct.readOnly
	// Names are case-sensitive here: "Alice" and "alice" are two users, with limits of their own.
	acct.settings.Account = name

	return acct, cost, nil
}

// parseHome checks a home directory and returns it clean and absolute. A ".." element is
// refused even where it would stay under the root: a home reads as the place it is.
func parseHome(home string) (string, error) {
	if home == "" {
		return "", errors.New("home directory: empty (/ is the whole root)")
	}

	for elem := range strings.FieldsFuncSeq(home, func(r rune) bool { return r == '/' || r == '\\' }) {
		if elem == ".." {
			return "", fmt.Errorf("home directory %q: '..' would leave the root", home)
		}
	}

	return path.Clean("/" + home), nil
}

// notBcryptBase64 tells whether r is outside the alphabet of bcrypt's salt and hash.
func notBcryptBase64(r rune) bool {
	return !strings.ContainsRune(bcryptAlphabet, r)
}

// bcryptAlphabet is the base-64 alphabet of bcrypt's salt and hash.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// authenticate returns the account of name when pass is its password. An unknown name is
// checked against the dummy hash, so that it takes as long as a wrong password and a client
// cannot tell the names that exist; bcrypt compares in constant time.
func (t *userTable) authenticate(name, pass string) (*account, error) {
	acct, known := t.accounts[name]

	hash := t.dummy
	if known {
		hash = acct.hash
	}

	if err := bcrypt.CompareHashAndPassword(hash, []byte(pass)); err != nil || !known {
		return nil, errBadCredentials
	}

	return acct, nil
}

// printPasswordHash reads a password, the first line of in, and writes its bcrypt hash and a
// newline to out. A prompt goes to prompt when in is a terminal; the password is echoed.
func printPasswordHash(in io.Reader, out, prompt io.Writer) error {
	if f, ok := in.(*os.File); ok {
		if info, err := f.Stat(); err == nil && info.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(prompt, "Password (shown as typed): ")
		}
	}

	line, err := bufio.NewReader(io.LimitReader(in, maxPasswordLength)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading the password: %w", err)
	}

	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return fmt.Errorf("-hash-password: %w", errEmptyPassword)
	}

	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("-hash-password: %w", err)
	}

	if _, err := fmt.Fprintf(out, "%s\n", hash); err != nil {
		return fmt.Errorf("-hash-password: %w", err)
	}

	return nil
}

// accountDriver returns the file system of a logged-in user of -users: its home, created if
// missing, read-only for an ro user. The home is made on the root file system d.fs, whatever
// back-end serves it, so that a change of back-end changes every home alike. A home under -root
// is opened for the session, and closed when it ends.
func (d *driver) accountDriver(cc ftpserver.ClientContext, acct *account) (ftpserver.ClientDriver, error) {
	if err := d.fs.MkdirAll(acct.home, 0o750); err != nil {
		return nil, fmt.Errorf("home directory of %s: %w", acct.name, err)
	}

	fs, available, err := d.homeFs(acct.home)
	if err != nil {
		return nil, fmt.Errorf("home directory of %s: %w", acct.name, err)
	}

	if closer, ok := fs.(io.Closer); ok {
		d.homes.add(cc, closer)
	}

	if acct.readOnly {
		// The library refuses every command that writes (SessionSettings.ReadOnly), before the
		// file system is asked; ReadOnlyFs, failing writes with EPERM, is there in case one
		// slips through.
		fs = afero.NewReadOnlyFs(fs)
	}

	client := &clientDriver{Fs: fs, available: available, readOnly: acct.readOnly, settings: acct.settings}

	return d.checked(client.withLinks(d.fs)), nil
}

// homeFs returns the file system of a user whose home is home (clean, absolute) on d.fs, the
// directory home seen as "/", and its AVBL. Under -root it is a jail of its own (rootfs.Sub),
// for a path prefix over the jail of -root would leave links to be resolved against the whole
// of -root: a user could make a link, move it up a level and reach the other homes. On S3 it is
// the bucket's Fs under the home's key prefix (s3fs.Sub), whose files still tell a broken upload
// from a finished one, so that it can be resumed. In memory, where there are no links, it is a
// path prefix.
func (d *driver) homeFs(home string) (afero.Fs, func(dirName string) (int64, error), error) {
	if jail, ok := d.fs.(*rootfs.Fs); ok {
		sub, err := jail.Sub(home)
		if err != nil {
			return nil, nil, fmt.Errorf("opening the home: %w", err)
		}

		return sub, availableIn(sub), nil
	}

	available := func(dirName string) (int64, error) { return d.available(path.Join(home, dirName)) }
	if bucket, ok := bucketOf(d.fs); ok {
		return s3Downloads{bucket.Sub(home)}, available, nil
	}

	if home == "/" {
		return d.fs, available, nil
	}

	return afero.NewBasePathFs(d.fs, home), available, nil
}

// sessionHomes are the homes opened for logged-in sessions, each closed when its session ends.
type sessionHomes struct {
	mu   sync.Mutex
	open map[ftpserver.ClientContext][]io.Closer
}

// add records home as opened for the session of cc.
func (h *sessionHomes) add(cc ftpserver.ClientContext, home io.Closer) {
	h.mu.Lock()
	defer h.mu.Unlock()

	if h.open == nil {
		h.open = make(map[ftpserver.ClientContext][]io.Closer)
	}

	h.open[cc] = append(h.open[cc], home)
}

// closeSession closes the homes of the session of cc: it has ended, and uses them no more.
func (h *sessionHomes) closeSession(cc ftpserver.ClientContext) {
	h.mu.Lock()
	homes := h.open[cc]
	delete(h.open, cc)
	h.mu.Unlock()

	for _, home := range homes {
		_ = home.Close()
	}
}

// closeAll closes every home still open.
func (h *sessionHomes) closeAll() {
	h.mu.Lock()
	open := h.open
	h.open = nil
	h.mu.Unlock()

	for _, homes := range open {
		for _, home := range homes {
			_ = home.Close()
		}
	}
}

// reloadUsers reads the -users file again and, if it loads, serves its users to new logins.
func (d *driver) reloadUsers(logger log.Logger) {
	table, err := loadUsers(d.cfg.usersFile)
	if err != nil {
		_ = level.Error(logger).Log("msg", "users file not reloaded, keeping the previous users",
			"file", d.cfg.usersFile, "err", err)

		return
	}

	d.users.Store(table)
	_ = level.Info(logger).Log("msg", "users reloaded", "file", d.cfg.usersFile, "users", len(table.accounts))
}
